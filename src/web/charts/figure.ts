// A chart as a page shows it: title, legend, the drawing at a wide and a narrow size, and the numbers as a table.
import { type BarsData, barsSvg } from './bars.js';
import { type ColumnsData, columnsSvg } from './columns.js';
import { esc, legend, num, type Series } from './svg.js';

export interface FigureOptions {
  /** A sentence under the title saying what the chart counts. */
  note?: string | undefined;
  /** Spans the whole grid row (the decisions over time). */
  full?: boolean | undefined;
}

/** The numbers behind a chart, for screen readers and for a person who wants them exact. */
function table(
  head: string,
  series: readonly Series[],
  rows: readonly { label: string; values: readonly number[] }[],
): string {
  const cols = series.map((s) => `<th scope="col">${esc(s.label)}</th>`).join('');
  const total = series.length > 1 ? '<th scope="col">Total</th>' : '';
  const body = rows
    .map((r) => {
      const cells = r.values.map((v) => `<td>${num(v)}</td>`).join('');
      const sum = series.length > 1 ? `<td>${num(r.values.reduce((a, b) => a + b, 0))}</td>` : '';
      return `<tr><th scope="row">${esc(r.label)}</th>${cells}${sum}</tr>`;
    })
    .join('');
  return `<details class="chart-data"><summary>Show the numbers</summary><div class="table-scroll"><table class="data"><thead><tr><th scope="col">${esc(head)}</th>${cols}${total}</tr></thead><tbody>${body}</tbody></table></div></details>`;
}

function frame(id: string, title: string, options: FigureOptions, inner: string): string {
  const note = options.note ? `<p class="chart-note">${esc(options.note)}</p>` : '';
  return `<figure class="chart-card${options.full ? ' full' : ''}" id="${esc(id)}"><figcaption><h2>${esc(title)}</h2>${note}</figcaption>${inner}</figure>`;
}

function empty(message: string): string {
  return `<p class="no-data">${esc(message)}</p>`;
}

/** Columns, or "no data" when every value is zero (an empty box would read as a broken chart). */
export function columnsFigure(data: ColumnsData, options: FigureOptions & { empty: string }): string {
  const rows = data.categories.map((label, i) => ({ label, values: data.values[i] ?? [] }));
  if (!rows.some((r) => r.values.some((v) => v > 0)))
    return frame(data.id, data.title, options, empty(options.empty));
  const wide = columnsSvg(data, { width: options.full ? 960 : 560, height: 260, font: 13 });
  const narrow = columnsSvg(data, { width: 360, height: 240, font: 13 });
  return frame(
    data.id,
    data.title,
    options,
    `${legend(data.id, data.series)}<div class="chart-wide">${wide}</div><div class="chart-narrow">${narrow}</div>${table(data.xLabel, data.series, rows)}`,
  );
}

/** Horizontal bars, or "no data" when there are no rows. */
export function barsFigure(data: BarsData, options: FigureOptions & { empty: string }): string {
  if (!data.rows.some((r) => r.values.some((v) => v > 0))) {
    return frame(data.id, data.title, options, empty(options.empty));
  }
  const wide = barsSvg(data, { width: 560, font: 13 });
  const narrow = barsSvg(data, { width: 360, font: 13 });
  return frame(
    data.id,
    data.title,
    options,
    `${legend(data.id, data.series)}<div class="chart-wide">${wide}</div><div class="chart-narrow">${narrow}</div>${table(data.yLabel, data.series, data.rows)}`,
  );
}

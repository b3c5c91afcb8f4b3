// Stacked columns over categories (time buckets, wait-time bins): d3 scales and stack, markup as a string.
import { scaleBand, scaleLinear } from 'd3-scale';
import { stack } from 'd3-shape';
import { esc, fillDefs, fillId, num, px, type Series, textWidth } from './svg.js';

export interface ColumnsData {
  /** Unique within the page: pattern ids carry it. */
  id: string;
  title: string;
  /** One sentence for screen readers (the figure's table holds the numbers). */
  desc: string;
  xLabel: string;
  yLabel: string;
  series: readonly Series[];
  /** One label per column, left to right. */
  categories: readonly string[];
  /** values[column][series], counts ≥ 0. */
  values: readonly (readonly number[])[];
}

export interface ChartSize {
  width: number;
  height: number;
  /** Font size in viewBox units; the chart is drawn so that it renders near this size on screen. */
  font: number;
}

export const MARGIN = { top: 12, right: 12, left: 52 };

/** A category label on up to two lines: "15–60 min" as "15–60" over "min", so narrow columns keep every label. */
function labelLines(label: string): string[] {
  const cut = label.lastIndexOf(' ');
  return cut <= 0 ? [label] : [label.slice(0, cut), label.slice(cut + 1)];
}

/** Room under the plot: the category labels (one or two lines) and the axis title. */
export function bottomMargin(data: ColumnsData, font: number): number {
  const lines = Math.max(1, ...data.categories.map((c) => labelLines(c).length));
  return 8 + lines * (font + 3) + font + 12;
}

/** The y scale the columns use: also what the tests check the bar heights against. */
export function columnScale(data: ColumnsData, size: ChartSize) {
  const totals = data.values.map((row) => row.reduce((a, b) => a + b, 0));
  const max = Math.max(1, ...totals);
  return scaleLinear()
    .domain([0, max])
    .nice(4)
    .range([size.height - bottomMargin(data, size.font), MARGIN.top]);
}

/** Every `step`-th category label, so labels never overlap however narrow the chart is drawn. */
function labelStep(labels: readonly string[], band: number, font: number): number {
  const widest = Math.max(1, ...labels.flatMap((l) => labelLines(l).map((line) => textWidth(line, font))));
  return Math.max(1, Math.ceil((widest + font / 2) / Math.max(1, band)));
}

export function columnsSvg(data: ColumnsData, size: ChartSize): string {
  const { width, height, font } = size;
  const x = scaleBand<number>()
    .domain(data.categories.map((_, i) => i))
    .range([MARGIN.left, width - MARGIN.right])
    .paddingInner(data.categories.length > 12 ? 0.15 : 0.3)
    .paddingOuter(0.1);
  const y = columnScale(data, size);
  const keys = data.series.map((_, i) => i);
  const layers = stack<readonly number[], number>()
    .keys(keys)
    .value((row, key) => row[key] ?? 0)(data.values);
  const parts: string[] = [];
  parts.push(
    `<svg class="chart" viewBox="0 0 ${width} ${height}" width="100%" role="img" aria-labelledby="${data.id}-${width}-t ${data.id}-${width}-d" font-size="${font}">`,
    `<title id="${data.id}-${width}-t">${esc(data.title)}</title><desc id="${data.id}-${width}-d">${esc(data.desc)}</desc>`,
    fillDefs(`${data.id}-${width}`, data.series),
  );
  // The grid and the y axis: a few round ticks.
  for (const tick of y.ticks(4)) {
    if (!Number.isInteger(tick)) continue;
    const ty = px(y(tick));
    parts.push(
      `<line class="grid" x1="${MARGIN.left}" x2="${width - MARGIN.right}" y1="${ty}" y2="${ty}"/>`,
      `<text class="tick" x="${MARGIN.left - 6}" y="${ty}" text-anchor="end" dominant-baseline="middle">${num(tick)}</text>`,
    );
  }
  parts.push(
    `<text class="axis-label" transform="translate(${font},${px((MARGIN.top + height - bottomMargin(data, font)) / 2)}) rotate(-90)" text-anchor="middle">${esc(data.yLabel)}</text>`,
    `<text class="axis-label" x="${px((MARGIN.left + width - MARGIN.right) / 2)}" y="${height - 4}" text-anchor="middle">${esc(data.xLabel)}</text>`,
  );
  layers.forEach((layer, s) => {
    const series = data.series[s] as Series;
    for (const [i, point] of layer.entries()) {
      const value = point[1] - point[0];
      if (value <= 0) continue;
      const top = y(point[1]);
      const h = y(point[0]) - top;
      parts.push(
        `<rect class="bar" data-series="${esc(series.key)}" data-value="${value}" x="${px(x(i) ?? 0)}" y="${px(top)}" width="${px(x.bandwidth())}" height="${px(h)}" fill="url(#${fillId(`${data.id}-${width}`, series.key)})"><title>${esc(data.categories[i])}: ${num(value)} ${esc(series.label)}</title></rect>`,
      );
    }
  });
  const base = height - bottomMargin(data, font);
  parts.push(
    `<line class="axis" x1="${MARGIN.left}" x2="${width - MARGIN.right}" y1="${base}" y2="${base}"/>`,
  );
  const step = labelStep(data.categories, x.step(), font);
  data.categories.forEach((label, i) => {
    if (i % step !== 0) return;
    const cx = px((x(i) ?? 0) + x.bandwidth() / 2);
    const lines = labelLines(label).map(
      (line, n) => `<tspan x="${cx}" dy="${n === 0 ? 0 : font + 3}">${esc(line)}</tspan>`,
    );
    parts.push(
      `<text class="tick" x="${cx}" y="${base + font + 6}" text-anchor="middle">${lines.join('')}</text>`,
    );
  });
  parts.push('</svg>');
  return parts.join('');
}

// Horizontal bars (top N tools, rules, severities): each label sits above its bar so long names never collide.
import { scaleLinear } from 'd3-scale';
import { stack } from 'd3-shape';
import { clip, esc, fillDefs, fillId, num, px, type Series } from './svg.js';

export interface BarRow {
  label: string;
  /** One value per series. */
  values: readonly number[];
}

export interface BarsData {
  id: string;
  title: string;
  desc: string;
  /** What the bars measure (the x axis). */
  xLabel: string;
  /** What the rows are (shown above the first row). */
  yLabel: string;
  series: readonly Series[];
  rows: readonly BarRow[];
}

export interface BarsSize {
  width: number;
  font: number;
}

const LEFT = 8;
const RIGHT = 56;

/** The rows' geometry: also what the tests check the bar widths against. */
export function barScale(data: BarsData, size: BarsSize) {
  const max = Math.max(1, ...data.rows.map((r) => r.values.reduce((a, b) => a + b, 0)));
  return scaleLinear()
    .domain([0, max])
    .nice(4)
    .range([LEFT, size.width - RIGHT]);
}

export function barsHeight(data: BarsData, size: BarsSize): number {
  return size.font * 2 + data.rows.length * rowHeight(size.font) + size.font * 3.2;
}

function rowHeight(font: number): number {
  return font * 3;
}

export function barsSvg(data: BarsData, size: BarsSize): string {
  const { width, font } = size;
  const height = barsHeight(data, size);
  const x = barScale(data, size);
  const chart = `${data.id}-${width}`;
  const top = font * 2;
  const layers = stack<BarRow, number>()
    .keys(data.series.map((_, i) => i))
    .value((row, key) => row.values[key] ?? 0)(data.rows);
  const maxChars = Math.floor((width - LEFT - RIGHT) / (font * 0.6));
  const parts: string[] = [
    `<svg class="chart" viewBox="0 0 ${width} ${px(height)}" width="100%" role="img" aria-labelledby="${chart}-t ${chart}-d" font-size="${font}">`,
    `<title id="${chart}-t">${esc(data.title)}</title><desc id="${chart}-d">${esc(data.desc)}</desc>`,
    fillDefs(chart, data.series),
    `<text class="axis-label" x="${LEFT}" y="${font}">${esc(data.yLabel)}</text>`,
  ];
  const bottom = top + data.rows.length * rowHeight(font);
  for (const tick of x.ticks(4)) {
    if (!Number.isInteger(tick)) continue;
    const tx = px(x(tick));
    parts.push(
      `<line class="grid" x1="${tx}" x2="${tx}" y1="${top}" y2="${bottom}"/>`,
      `<text class="tick" x="${tx}" y="${px(bottom + font + 2)}" text-anchor="middle">${num(tick)}</text>`,
    );
  }
  parts.push(
    `<text class="axis-label" x="${px((LEFT + width - RIGHT) / 2)}" y="${px(height - 4)}" text-anchor="middle">${esc(data.xLabel)}</text>`,
  );
  data.rows.forEach((row, r) => {
    const y0 = top + r * rowHeight(font);
    const total = row.values.reduce((a, b) => a + b, 0);
    parts.push(
      `<text class="row-label" x="${LEFT}" y="${px(y0 + font)}">${esc(clip(row.label, maxChars))}<title>${esc(row.label)}</title></text>`,
    );
    layers.forEach((layer, s) => {
      const point = layer[r];
      if (!point) return;
      const value = point[1] - point[0];
      if (value <= 0) return;
      const series = data.series[s] as Series;
      parts.push(
        `<rect class="bar" data-series="${esc(series.key)}" data-value="${value}" x="${px(x(point[0]))}" y="${px(y0 + font * 1.35)}" width="${px(x(point[1]) - x(point[0]))}" height="${px(font * 1.2)}" fill="url(#${fillId(chart, series.key)})"><title>${esc(row.label)}: ${num(value)} ${esc(series.label)}</title></rect>`,
      );
    });
    parts.push(`<text class="value" x="${px(x(total) + 4)}" y="${px(y0 + font * 2.3)}">${num(total)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('');
}

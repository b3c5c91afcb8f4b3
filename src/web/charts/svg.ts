// Small helpers the charts share: escaping, number formats, and the fills (colour plus a pattern) of each series.

/** Escapes text for SVG/HTML text and attribute values: the charts build markup as strings. */
export function esc(value: unknown): string {
  return String(value)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** A whole number with thousands separators; fractions to one decimal. */
export function num(value: number): string {
  const rounded = Number.isInteger(value) ? value : Math.round(value * 10) / 10;
  return rounded.toLocaleString('en-US');
}

/** Rounded for SVG coordinates: short markup, and tests can compare exact numbers. */
export function px(value: number): string {
  return String(Math.round(value * 100) / 100);
}

/** A pattern over the colour, so a greyscale print still tells the series apart. */
export type Pattern = 'solid' | 'hatch' | 'dots' | 'cross' | 'vertical';

export interface Series {
  key: string;
  label: string;
  colour: string;
  pattern: Pattern;
}

/** Cuts a long label to `max` characters with an ellipsis (the full text goes in a <title>). */
export function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, Math.max(1, max - 1))}…`;
}

/** A rough width of text in the charts' font: labels are placed so they never overlap. */
export function textWidth(text: string, fontSize: number): number {
  return text.length * fontSize * 0.6;
}

/** The id of a series' fill in a chart: ids must be unique on the page, so they carry the chart's id. */
export function fillId(chart: string, key: string): string {
  return `${chart}-${key}`.replace(/[^A-Za-z0-9_-]/g, '_');
}

function patternMarks(pattern: Pattern): string {
  switch (pattern) {
    case 'hatch':
      return '<path d="M-1,1 l2,-2 M0,6 l6,-6 M5,7 l2,-2" stroke="#fff" stroke-width="1.4" stroke-opacity="0.75"/>';
    case 'dots':
      return '<circle cx="3" cy="3" r="1.3" fill="#fff" fill-opacity="0.8"/>';
    case 'cross':
      return '<path d="M0,0 l6,6 M6,0 l-6,6" stroke="#fff" stroke-width="1" stroke-opacity="0.7"/>';
    case 'vertical':
      return '<path d="M3,0 v6" stroke="#fff" stroke-width="1.4" stroke-opacity="0.7"/>';
    default:
      return '';
  }
}

/** <defs> with one pattern per series: the colour as background, the marks over it. */
export function fillDefs(chart: string, series: readonly Series[]): string {
  const patterns = series.map(
    (s) =>
      `<pattern id="${fillId(chart, s.key)}" width="6" height="6" patternUnits="userSpaceOnUse"><rect width="6" height="6" fill="${esc(s.colour)}"/>${patternMarks(s.pattern)}</pattern>`,
  );
  return `<defs>${patterns.join('')}</defs>`;
}

/** The legend as HTML: a swatch (the same fill as the bars) and the series' name. */
export function legend(chart: string, series: readonly Series[]): string {
  if (series.length < 2) return '';
  const items = series.map((s) => {
    const id = fillId(`${chart}-lg`, s.key);
    return `<li><svg class="swatch" viewBox="0 0 14 14" width="14" height="14" aria-hidden="true">${fillDefs(`${chart}-lg`, [s])}<rect width="14" height="14" rx="2" fill="url(#${id})"/></svg>${esc(s.label)}</li>`;
  });
  return `<ul class="chart-legend" aria-label="Legend">${items.join('')}</ul>`;
}

// Server-rendered SVG charts for the UI pages: stacked columns and horizontal bars, each with a legend and a table.
export { type BarRow, type BarsData, type BarsSize, barScale, barsSvg } from './bars.js';
export {
  bottomMargin,
  type ChartSize,
  type ColumnsData,
  columnScale,
  columnsSvg,
  MARGIN,
} from './columns.js';
export { barsFigure, columnsFigure, type FigureOptions } from './figure.js';
export { esc, fillDefs, fillId, type Pattern, type Series } from './svg.js';

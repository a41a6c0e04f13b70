/**
 * `@joule/viz`: plots for joule as SVG (Vega-Lite, rendered headless) — energy and density
 * heatmaps (one panel per context for conditional models), sample scatter plots against the data,
 * 2-D histograms, training curves — and a self-contained HTML report. PNG output is in
 * `@joule/viz/node`.
 *
 * @packageDocumentation
 */
export {
  type ContextPanel,
  type CurveOptions,
  type CurvePoint,
  energyHeatmap,
  type HeatmapOptions,
  type Histogram2dOptions,
  histogram2d,
  type PlotEnergy,
  type ScatterOptions,
  scatterPlot,
  trainingCurves,
} from './plots.js';
export { renderSvg, type TopLevelSpec } from './render.js';
export {
  htmlReport,
  type PngReportPlot,
  type ReportContent,
  type ReportPlot,
  type SvgReportPlot,
} from './report.js';

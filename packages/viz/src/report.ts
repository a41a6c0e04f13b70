import { JouleError } from '@joule/tensor';

/**
 * A plot of a report: a title and its SVG.
 *
 * @example
 * ```ts
 * const plot: ReportPlot = { title: 'density', svg: await energyHeatmap(energy) };
 * ```
 */
export interface ReportPlot {
  /** Shown above the plot. */
  title: string;
  /** The plot, as rendered by this package (or any SVG). */
  svg: string;
}

/**
 * What {@link htmlReport} shows.
 *
 * @example
 * ```ts
 * const report: ReportContent = { title: 'R-NCE on pinwheel', metrics: { mmd: 0.01 }, config: { steps: 2000 }, plots: [] };
 * ```
 */
export interface ReportContent {
  /** The page title. */
  title: string;
  /** Metric name → value, shown as a table. */
  metrics?: Record<string, number>;
  /** The run's configuration (any JSON-able value), shown as a table of its top-level keys. */
  config?: Record<string, unknown>;
  /** The plots, inlined in order. */
  plots?: ReportPlot[];
  /** A line of text under the title (e.g. the date or the command that ran). */
  subtitle?: string;
}

function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function formatNumber(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (v !== 0 && (Math.abs(v) >= 1e5 || Math.abs(v) < 1e-3)) return v.toExponential(4);
  return Number(v.toPrecision(6)).toString();
}

function table(caption: string, rows: [string, string][]): string {
  const body = rows.map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`).join('\n');
  return `<section><h2>${escapeHtml(caption)}</h2>\n<table>\n${body}\n</table></section>`;
}

const STYLE = `body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:70rem;color:#222}
h1{margin-bottom:.2rem}p.subtitle{color:#666;margin-top:0}
table{border-collapse:collapse;margin:.5rem 0 1.5rem}th,td{border:1px solid #ddd;padding:.25rem .6rem;text-align:left}
th{background:#f5f5f5;font-weight:600}td{font-family:ui-monospace,monospace}
.plots{display:flex;flex-wrap:wrap;gap:1.5rem}figure{margin:0}figcaption{font-weight:600;margin-bottom:.3rem}`;

/**
 * A self-contained HTML page for a run: title, metrics table, configuration table and the plots
 * inlined as SVG (no scripts, no external files), ready to write to `report.html` or show in a
 * browser.
 *
 * @example
 * ```ts
 * import { htmlReport, scatterPlot } from '@joule/viz';
 *
 * const html = htmlReport({
 *   title: 'R-NCE on the conditional pinwheel',
 *   metrics: { mmd: 0.012 },
 *   config: { steps: 2000, seed: 0 },
 *   plots: [{ title: 'samples', svg: await scatterPlot(samples, { data }) }],
 * });
 * ```
 */
export function htmlReport(content: ReportContent): string {
  const op = 'htmlReport';
  if (content === null || typeof content !== 'object' || typeof content.title !== 'string')
    throw new JouleError(op, 'content.title', 'a string', String(content?.title));
  const parts: string[] = [];
  if (content.metrics !== undefined) {
    const rows = Object.entries(content.metrics).map(([k, v]): [string, string] => {
      if (typeof v !== 'number') throw new JouleError(op, `content.metrics.${k}`, 'a number', typeof v);
      return [k, formatNumber(v)];
    });
    parts.push(table('Metrics', rows));
  }
  if (content.config !== undefined) {
    const rows = Object.entries(content.config).map(([k, v]): [string, string] => [
      k,
      typeof v === 'string' ? v : (JSON.stringify(v) ?? String(v)),
    ]);
    parts.push(table('Configuration', rows));
  }
  if (content.plots !== undefined && content.plots.length > 0) {
    const figures = content.plots.map((p, i) => {
      if (typeof p?.svg !== 'string' || !p.svg.trimStart().startsWith('<svg'))
        throw new JouleError(op, `content.plots[${i}].svg`, 'an SVG string', String(p?.svg).slice(0, 40));
      return `<figure><figcaption>${escapeHtml(p.title)}</figcaption>\n${p.svg}\n</figure>`;
    });
    parts.push(`<section><h2>Plots</h2>\n<div class="plots">\n${figures.join('\n')}\n</div></section>`);
  }
  const subtitle = content.subtitle === undefined ? '' : `<p class="subtitle">${escapeHtml(content.subtitle)}</p>\n`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${escapeHtml(content.title)}</title>
<style>${STYLE}</style>
</head>
<body>
<h1>${escapeHtml(content.title)}</h1>
${subtitle}${parts.join('\n')}
</body>
</html>
`;
}

import { JouleError } from '@joule/tensor';

/**
 * A plot of a report: a title and either its SVG (inlined as vector markup) or its PNG bytes
 * (embedded as a base64 `data:` image, much lighter for plots with thousands of marks).
 *
 * @example
 * ```ts
 * const vector: ReportPlot = { title: 'density', svg: await energyHeatmap(energy) };
 * const raster: ReportPlot = { title: 'density', png: svgToPng(await energyHeatmap(energy)) };
 * ```
 */
export type ReportPlot = SvgReportPlot | PngReportPlot;

/**
 * A report plot inlined as SVG.
 *
 * @example
 * ```ts
 * const plot: SvgReportPlot = { title: 'samples', svg: await scatterPlot(samples, { data }) };
 * ```
 */
export interface SvgReportPlot {
  /** Shown above the plot (and used as its accessible label). */
  title: string;
  /** The plot, as rendered by this package (or any SVG). */
  svg: string;
}

/**
 * A report plot embedded as a PNG image (a base64 `data:` URI, so the page stays self-contained).
 *
 * @example
 * ```ts
 * import { svgToPng } from '@joule/viz/node';
 *
 * const plot: PngReportPlot = { title: 'samples', png: svgToPng(await scatterPlot(samples, { data })) };
 * ```
 */
export interface PngReportPlot {
  /** Shown above the plot and used as the image's alt text. */
  title: string;
  /** The PNG file's bytes (e.g. from `svgToPng` of `@joule/viz/node`). */
  png: Uint8Array;
  /**
   * Image pixels per CSS pixel: a PNG rendered at `svgToPng`'s default scale 2 shows at its SVG's
   * size with `pixelRatio: 2` (default 1: one image pixel per CSS pixel).
   */
  pixelRatio?: number;
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

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const BASE64_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** Standard base64 (RFC 4648, with padding), without relying on Node's Buffer or the DOM's btoa. */
function base64(bytes: Uint8Array): string {
  const out: string[] = [];
  for (let i = 0; i < bytes.length; i += 3) {
    const a = bytes[i]!;
    const b = i + 1 < bytes.length ? bytes[i + 1]! : 0;
    const c = i + 2 < bytes.length ? bytes[i + 2]! : 0;
    const triple = (a << 16) | (b << 8) | c;
    out.push(
      BASE64_ALPHABET[(triple >> 18) & 63]!,
      BASE64_ALPHABET[(triple >> 12) & 63]!,
      i + 1 < bytes.length ? BASE64_ALPHABET[(triple >> 6) & 63]! : '=',
      i + 2 < bytes.length ? BASE64_ALPHABET[triple & 63]! : '=',
    );
  }
  return out.join('');
}

function describeValue(v: unknown): string {
  if (v instanceof Uint8Array) return `${v.length} bytes starting ${Array.from(v.subarray(0, 8)).join(',')}`;
  return v === null || typeof v !== 'object' ? String(v).slice(0, 40) : (v.constructor?.name ?? 'object');
}

function figure(op: string, plot: ReportPlot, i: number): string {
  if (plot === null || typeof plot !== 'object' || typeof plot.title !== 'string')
    throw new JouleError(op, `content.plots[${i}].title`, 'a string', String((plot as ReportPlot | null)?.title));
  const caption = `<figcaption>${escapeHtml(plot.title)}</figcaption>`;
  if ('png' in plot) {
    const png = plot.png;
    if (
      !(png instanceof Uint8Array) ||
      png.length <= PNG_SIGNATURE.length ||
      PNG_SIGNATURE.some((b, k) => png[k] !== b)
    )
      throw new JouleError(
        op,
        `content.plots[${i}].png`,
        'PNG bytes (starting 137,80,78,71,13,10,26,10)',
        describeValue(png),
      );
    const { pixelRatio = 1 } = plot;
    if (typeof pixelRatio !== 'number' || !(pixelRatio > 0 && pixelRatio <= 16))
      throw new JouleError(op, `content.plots[${i}].pixelRatio`, 'a number in (0, 16]', String(pixelRatio));
    // the IHDR chunk comes first: its width is the big-endian uint32 at byte 16
    const width = png.length >= 24 ? ((png[16]! << 24) | (png[17]! << 16) | (png[18]! << 8) | png[19]!) >>> 0 : 0;
    const size = pixelRatio === 1 || width === 0 ? '' : ` width="${Math.round(width / pixelRatio)}"`;
    return `<figure>${caption}\n<img src="data:image/png;base64,${base64(png)}"${size} alt="${escapeHtml(plot.title)}">\n</figure>`;
  }
  if (typeof plot.svg !== 'string' || !plot.svg.trimStart().startsWith('<svg'))
    throw new JouleError(op, `content.plots[${i}].svg`, 'an SVG string', String(plot.svg).slice(0, 40));
  return `<figure>${caption}\n${plot.svg}\n</figure>`;
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
.plots{display:flex;flex-wrap:wrap;gap:1.5rem}figure{margin:0}img{max-width:100%;height:auto}figcaption{font-weight:600;margin-bottom:.3rem}`;

/**
 * A self-contained HTML page for a run: title, metrics table, configuration table and the plots,
 * each inlined as SVG or embedded as a base64 PNG `<img>` (no scripts, no external files), ready to
 * write to `report.html` or show in a browser. PNG plots keep the page small when plots have many
 * marks; SVG plots stay vector.
 *
 * @example
 * ```ts
 * import { htmlReport, scatterPlot } from '@joule/viz';
 *
 * const html = htmlReport({
 *   title: 'R-NCE on the conditional pinwheel',
 *   metrics: { mmd: 0.012 },
 *   config: { steps: 2000, seed: 0 },
 *   plots: [
 *     { title: 'samples', svg: await scatterPlot(samples, { data }) },
 *     { title: 'density', png: svgToPng(await energyHeatmap(energy)) }, // svgToPng from '@joule/viz/node'
 *   ],
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
    const figures = content.plots.map((p, i) => figure(op, p, i));
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

import { JouleError, type Tensor, tensor } from '@joule/tensor';
import type { TopLevelSpec } from 'vega-lite';
import { renderSvg } from './render.js';

/**
 * An energy as this package needs it: `[n, 2]` points (and an optional `[n, c]` context) to `[n]`
 * energies, `p(x) ∝ exp(−E(x))`. Any `EnergyFn` of `@joule/core` fits.
 *
 * @example
 * ```ts
 * const energy: PlotEnergy = (x) => x.square().sum([1]).mul(0.5);
 * ```
 */
export type PlotEnergy = (x: Tensor, context?: Tensor) => Tensor;

/**
 * A labelled context, one panel of a conditional plot.
 *
 * @example
 * ```ts
 * const panel: ContextPanel = { label: 'arm 2', context: tensor([[0, 0, 1]]) };
 * ```
 */
export interface ContextPanel {
  /** The panel's title. */
  label: string;
  /** One context row `[1, c]` (or `[c]`), repeated for every grid point. */
  context: Tensor;
}

/**
 * Options of {@link energyHeatmap}.
 *
 * @example
 * ```ts
 * const options: HeatmapOptions = { domain: [-4, 4], resolution: 48, show: 'density' };
 * ```
 */
export interface HeatmapOptions {
  /** The square region `[lo, hi]` on both axes (default `[-4, 4]`). */
  domain?: [number, number];
  /** Grid cells per axis (default 48). */
  resolution?: number;
  /** `'energy'` plots E(x); `'density'` plots exp(−E) normalized over the grid (default `'density'`). */
  show?: 'energy' | 'density';
  /** One panel per context, for conditional energies. */
  contexts?: ContextPanel[];
  /** The plot's title. */
  title?: string;
  /** Width and height of each panel in pixels (default 240). */
  size?: number;
}

function checkDomain(op: string, domain: [number, number]): void {
  if (!Array.isArray(domain) || domain.length !== 2 || !(domain[0] < domain[1]) || !domain.every(Number.isFinite))
    throw new JouleError(op, 'domain', 'finite [lo, hi] with lo < hi', JSON.stringify(domain));
}

function checkPositiveInt(op: string, arg: string, v: number): void {
  if (!Number.isInteger(v) || v <= 0) throw new JouleError(op, arg, 'a positive integer', String(v));
}

function checkPoints(op: string, arg: string, x: Tensor): void {
  if (x === null || typeof x !== 'object' || x.rank !== 2 || x.shape[1] !== 2)
    throw new JouleError(op, arg, 'a tensor [n, 2]', x?.shape ? `shape [${x.shape.join(', ')}]` : String(x));
}

/**
 * A heatmap of a 2-D energy (or its normalized density) on a regular grid, rendered to SVG; with
 * `contexts`, one panel per context (a conditional model's slices side by side).
 *
 * @example
 * ```ts
 * import { energyHeatmap } from '@joule/viz';
 *
 * const svg = await energyHeatmap((x) => x.square().sum([1]).mul(0.5), { domain: [-3, 3] });
 * ```
 */
export async function energyHeatmap(energy: PlotEnergy, options: HeatmapOptions = {}): Promise<string> {
  const op = 'energyHeatmap';
  if (typeof energy !== 'function') throw new JouleError(op, 'energy', 'a function of [n, 2] points', typeof energy);
  const { domain = [-4, 4], resolution = 48, show = 'density', size = 240 } = options;
  checkDomain(op, domain);
  checkPositiveInt(op, 'resolution', resolution);
  checkPositiveInt(op, 'size', size);
  if (show !== 'energy' && show !== 'density') throw new JouleError(op, 'show', "'energy' or 'density'", String(show));
  const cell = (domain[1] - domain[0]) / resolution;
  const grid = new Float32Array(resolution * resolution * 2);
  for (let i = 0; i < resolution; i++) {
    for (let j = 0; j < resolution; j++) {
      const k = 2 * (i * resolution + j);
      grid[k] = domain[0] + (j + 0.5) * cell;
      grid[k + 1] = domain[0] + (i + 0.5) * cell;
    }
  }
  const points = tensor(grid, [resolution * resolution, 2]);
  const panels = options.contexts ?? [{ label: '', context: undefined }];
  const values: { x: number; y: number; x2: number; y2: number; value: number; panel: string }[] = [];
  for (const { label, context } of panels) {
    let repeated: Tensor | undefined;
    if (context !== undefined) {
      const row = context.reshape([1, -1]);
      repeated = row.broadcastTo([resolution * resolution, row.shape[1]!]);
      row.dispose();
    }
    const e = energy(points, repeated);
    const energies = Float32Array.from(await e.data());
    e.dispose();
    repeated?.dispose();
    if (energies.length !== resolution * resolution)
      throw new JouleError(op, 'energy', `[${resolution * resolution}] energies`, `${energies.length} values`);
    let shown: ArrayLike<number> = energies;
    if (show === 'density') {
      const min = energies.reduce((a, b) => Math.min(a, b), Number.POSITIVE_INFINITY);
      const weights = Array.from(energies, (v) => Math.exp(min - v));
      const total = weights.reduce((a, b) => a + b, 0) * cell * cell;
      shown = weights.map((w) => w / total);
    }
    for (let k = 0; k < shown.length; k++) {
      const x = grid[2 * k]!;
      const y = grid[2 * k + 1]!;
      values.push({
        x: x - cell / 2,
        y: y - cell / 2,
        x2: x + cell / 2,
        y2: y + cell / 2,
        value: shown[k]!,
        panel: label,
      });
    }
  }
  points.dispose();
  const scale = { domain, nice: false, zero: false };
  const spec: TopLevelSpec = {
    ...(options.title === undefined ? {} : { title: options.title }),
    data: { values },
    width: size,
    height: size,
    config: { axis: { grid: false } },
    mark: { type: 'rect' },
    encoding: {
      x: { field: 'x', type: 'quantitative', scale, title: 'x₁' },
      x2: { field: 'x2' },
      y: { field: 'y', type: 'quantitative', scale, title: 'x₂' },
      y2: { field: 'y2' },
      color: {
        field: 'value',
        type: 'quantitative',
        title: show === 'density' ? 'density' : 'energy',
        scale: { scheme: show === 'density' ? 'viridis' : 'magma', ...(show === 'energy' ? { reverse: true } : {}) },
      },
      ...(options.contexts === undefined
        ? {}
        : { column: { field: 'panel', type: 'nominal', title: null, sort: panels.map((p) => p.label) } }),
    },
  };
  return renderSvg(spec);
}

/**
 * Options of {@link scatterPlot}.
 *
 * @example
 * ```ts
 * const options: ScatterOptions = { data: trainingPoints, maxPoints: 1000, title: 'samples' };
 * ```
 */
export interface ScatterOptions {
  /** The data to compare with, drawn behind the samples. */
  data?: Tensor;
  /** At most this many points of each set are drawn, the first ones (default 2000). */
  maxPoints?: number;
  /** Fixed axis range for both axes (points outside are clipped); by default it fits the points. */
  domain?: [number, number];
  /** The plot's title. */
  title?: string;
  /** Width and height in pixels (default 300). */
  size?: number;
}

async function rows(t: Tensor, max: number, series: string): Promise<{ x: number; y: number; series: string }[]> {
  const v = await t.data();
  const n = Math.min(t.shape[0]!, max);
  const out: { x: number; y: number; series: string }[] = [];
  for (let i = 0; i < n; i++) out.push({ x: v[2 * i]!, y: v[2 * i + 1]!, series });
  return out;
}

/**
 * A scatter plot of 2-D samples (optionally over the data, in another color), rendered to SVG.
 *
 * @example
 * ```ts
 * import { scatterPlot } from '@joule/viz';
 *
 * const svg = await scatterPlot(samples, { data: trainingPoints, title: 'R-NCE samples' });
 * ```
 */
export async function scatterPlot(samples: Tensor, options: ScatterOptions = {}): Promise<string> {
  const op = 'scatterPlot';
  checkPoints(op, 'samples', samples);
  if (options.data !== undefined) checkPoints(op, 'data', options.data);
  const { maxPoints = 2000, size = 300 } = options;
  checkPositiveInt(op, 'maxPoints', maxPoints);
  checkPositiveInt(op, 'size', size);
  if (options.domain !== undefined) checkDomain(op, options.domain);
  const values = [
    ...(options.data === undefined ? [] : await rows(options.data, maxPoints, 'data')),
    ...(await rows(samples, maxPoints, 'samples')),
  ];
  const scale = options.domain === undefined ? { zero: false } : { domain: options.domain, nice: false, zero: false };
  return renderSvg({
    ...(options.title === undefined ? {} : { title: options.title }),
    data: { values },
    width: size,
    height: size,
    // with a fixed domain, points outside it are clipped rather than drawn over the axes
    mark: { type: 'circle', size: 8, opacity: 0.6, clip: options.domain !== undefined },
    encoding: {
      x: { field: 'x', type: 'quantitative', scale, title: 'x₁' },
      y: { field: 'y', type: 'quantitative', scale, title: 'x₂' },
      color: {
        field: 'series',
        type: 'nominal',
        title: null,
        scale: { domain: ['data', 'samples'], range: ['#9e9e9e', '#d62728'] },
      },
    },
  });
}

/**
 * Options of {@link histogram2d}.
 *
 * @example
 * ```ts
 * const options: Histogram2dOptions = { bins: 40, domain: [-4, 4] };
 * ```
 */
export interface Histogram2dOptions {
  /** Bins per axis (default 40). */
  bins?: number;
  /** The square region `[lo, hi]` on both axes (default `[-4, 4]`); points outside are left out. */
  domain?: [number, number];
  /** The plot's title. */
  title?: string;
  /** Width and height in pixels (default 240). */
  size?: number;
}

/**
 * A 2-D histogram of points (counts per cell of a `bins × bins` grid), rendered to SVG; put one of
 * the samples next to one of the data to compare them.
 *
 * @example
 * ```ts
 * import { histogram2d } from '@joule/viz';
 *
 * const svg = await histogram2d(samples, { bins: 50, domain: [-4, 4], title: 'samples' });
 * ```
 */
export async function histogram2d(points: Tensor, options: Histogram2dOptions = {}): Promise<string> {
  const op = 'histogram2d';
  checkPoints(op, 'points', points);
  const { bins = 40, domain = [-4, 4], size = 240 } = options;
  checkPositiveInt(op, 'bins', bins);
  checkPositiveInt(op, 'size', size);
  checkDomain(op, domain);
  const counts = new Float64Array(bins * bins);
  const v = await points.data();
  const width = (domain[1] - domain[0]) / bins;
  for (let i = 0; i < points.shape[0]!; i++) {
    const bx = Math.floor((v[2 * i]! - domain[0]) / width);
    const by = Math.floor((v[2 * i + 1]! - domain[0]) / width);
    if (bx >= 0 && bx < bins && by >= 0 && by < bins) counts[by * bins + bx]! += 1;
  }
  const values: { x: number; y: number; x2: number; y2: number; count: number }[] = [];
  for (let by = 0; by < bins; by++) {
    for (let bx = 0; bx < bins; bx++) {
      const count = counts[by * bins + bx]!;
      if (count === 0) continue;
      const x = domain[0] + bx * width;
      const y = domain[0] + by * width;
      values.push({ x, y, x2: x + width, y2: y + width, count });
    }
  }
  const scale = { domain, nice: false, zero: false };
  return renderSvg({
    ...(options.title === undefined ? {} : { title: options.title }),
    data: { values },
    width: size,
    height: size,
    config: { axis: { grid: false } },
    mark: { type: 'rect' },
    encoding: {
      x: { field: 'x', type: 'quantitative', scale, title: 'x₁' },
      x2: { field: 'x2' },
      y: { field: 'y', type: 'quantitative', scale, title: 'x₂' },
      y2: { field: 'y2' },
      color: { field: 'count', type: 'quantitative', title: 'count', scale: { scheme: 'blues' } },
    },
  });
}

/**
 * One logged step: the shape of `StepLog` and `EvalLog` of `@joule/train`.
 *
 * @example
 * ```ts
 * const entry: CurvePoint = { step: 100, values: { loss: 0.52 } };
 * ```
 */
export interface CurvePoint {
  /** The training step. */
  step: number;
  /** Quantity name → value. */
  values: Record<string, number>;
}

/**
 * Options of {@link trainingCurves}.
 *
 * @example
 * ```ts
 * const options: CurveOptions = { quantities: ['loss'], title: 'training' };
 * ```
 */
export interface CurveOptions {
  /** Which quantities to plot (default: every one that appears). */
  quantities?: string[];
  /** The plot's title. */
  title?: string;
  /** Width of each panel in pixels (default 360). */
  width?: number;
  /** Height of each panel in pixels (default 120). */
  height?: number;
}

/**
 * Training curves: one panel per quantity (each with its own y scale) against the step, rendered to
 * SVG. Takes `history` or `evaluations` of a `@joule/train` result directly.
 *
 * @example
 * ```ts
 * import { trainingCurves } from '@joule/viz';
 *
 * const svg = await trainingCurves(result.history, { quantities: ['loss'] });
 * ```
 */
export async function trainingCurves(history: CurvePoint[], options: CurveOptions = {}): Promise<string> {
  const op = 'trainingCurves';
  if (!Array.isArray(history) || history.length === 0)
    throw new JouleError(op, 'history', 'a non-empty array of { step, values }', String(history));
  const { width = 360, height = 120 } = options;
  checkPositiveInt(op, 'width', width);
  checkPositiveInt(op, 'height', height);
  const wanted = options.quantities === undefined ? undefined : new Set(options.quantities);
  const values: { step: number; quantity: string; value: number }[] = [];
  const names: string[] = [];
  for (const entry of history) {
    for (const [quantity, value] of Object.entries(entry.values)) {
      if (wanted !== undefined && !wanted.has(quantity)) continue;
      if (!Number.isFinite(value)) continue;
      if (!names.includes(quantity)) names.push(quantity);
      values.push({ step: entry.step, quantity, value });
    }
  }
  if (values.length === 0)
    throw new JouleError(op, 'quantities', 'quantities present in the history', JSON.stringify(options.quantities));
  return renderSvg({
    ...(options.title === undefined ? {} : { title: options.title }),
    data: { values },
    facet: { row: { field: 'quantity', type: 'nominal', title: null, sort: names } },
    spec: {
      width,
      height,
      mark: { type: 'line', point: values.length <= 60 },
      encoding: {
        x: { field: 'step', type: 'quantitative' },
        y: { field: 'value', type: 'quantitative', scale: { zero: false }, title: null },
      },
    },
    resolve: { scale: { y: 'independent' } },
  });
}

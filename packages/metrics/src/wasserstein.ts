import { assertPositiveInt, JouleError } from '@joule/core';
import type { Rng, Tensor } from '@joule/tensor';
import { readPoints, readValues, rngFrom, sameDim } from './util.js';

function checkOrder(op: string, p: number): void {
  if (typeof p !== 'number' || !(p >= 1) || !Number.isFinite(p)) {
    throw new JouleError(op, 'p', 'a finite order p ≥ 1', String(p));
  }
}

/**
 * `W_p^p` between the empirical distributions of two sorted samples of any sizes: the integral of
 * `|F⁻¹(u) − G⁻¹(u)|^p` over `u ∈ (0, 1)`, summed exactly over the merged quantile breakpoints.
 */
function wassersteinPowSorted(xs: Float64Array, ys: Float64Array, p: number): number {
  const m = xs.length;
  const n = ys.length;
  if (m === n) {
    let s = 0;
    for (let i = 0; i < m; i++) s += Math.abs(xs[i] - ys[i]) ** p;
    return s / m;
  }
  let i = 0;
  let j = 0;
  let prev = 0;
  let s = 0;
  while (i < m && j < n) {
    // next breakpoints (i+1)/m and (j+1)/n, compared exactly in integers
    const left = (i + 1) * n;
    const right = (j + 1) * m;
    const u = left <= right ? (i + 1) / m : (j + 1) / n;
    s += (u - prev) * Math.abs(xs[i] - ys[j]) ** p;
    prev = u;
    if (left <= right) i++;
    if (right <= left) j++;
  }
  return s;
}

/**
 * The exact Wasserstein-p distance between two 1-D empirical distributions (equal weights, any
 * sizes):
 *
 * `W_p = ( ∫₀¹ |F⁻¹(u) − G⁻¹(u)|^p du )^{1/p}`
 *
 * with `F⁻¹`, `G⁻¹` the empirical quantile functions; for equal sizes this is
 * `((1/n) Σᵢ |x₍ᵢ₎ − y₍ᵢ₎|^p)^{1/p}` over sorted samples. `p = 1` agrees with
 * `scipy.stats.wasserstein_distance`.
 *
 * @param x - samples: a tensor of any shape (flattened) or an array of numbers
 * @param y - reference samples, the same
 * @param p - the order, `p ≥ 1`, 1 by default
 *
 * @example
 * ```ts
 * import { wasserstein1d } from '@joule/metrics';
 *
 * await wasserstein1d([0, 1, 3], [5, 6, 8]); // 5
 * await wasserstein1d([0, 1], [0, 1, 2]);    // 0.5
 * ```
 */
export async function wasserstein1d(
  x: Tensor | ArrayLike<number>,
  y: Tensor | ArrayLike<number>,
  p = 1,
): Promise<number> {
  checkOrder('wasserstein1d', p);
  const xs = (await readValues('wasserstein1d', 'x', x)).sort();
  const ys = (await readValues('wasserstein1d', 'y', y)).sort();
  return wassersteinPowSorted(xs, ys, p) ** (1 / p);
}

/**
 * Options of {@link slicedWasserstein}.
 *
 * @example
 * ```ts
 * const options: SlicedWassersteinOptions = { projections: 256, p: 2, rng: new Rng(0) };
 * ```
 */
export interface SlicedWassersteinOptions {
  /** How many random directions; 128 by default. */
  projections?: number;
  /** The order, 1 or 2 (any `p ≥ 1` works); 2 by default. */
  p?: number;
  /** The generator of the directions; `new Rng(0)` when absent, so results are reproducible. */
  rng?: Rng;
}

/**
 * The sliced Wasserstein-p distance (Rabin et al., 2011; Bonneel et al., 2015), a Monte Carlo
 * estimate over `L` random directions `θ_l` uniform on the unit sphere:
 *
 * `SW_p = ( (1/L) Σ_l W_p^p(θ_l·x, θ_l·y) )^{1/p}`
 *
 * with the exact 1-D `W_p` between the projected samples (as in {@link wasserstein1d}). For two
 * Gaussians `N(μ₁, s₁²I)`, `N(μ₂, s₂²I)` in `d` dimensions, `SW₂² = |μ₁ − μ₂|²/d + (s₁ − s₂)²`.
 *
 * @param x - samples, `[m, d]`
 * @param y - reference samples, `[n, d]`
 * @param options - projections (128), p (2), rng (seeded with 0 when absent)
 *
 * @example
 * ```ts
 * import { slicedWasserstein } from '@joule/metrics';
 *
 * const sw = await slicedWasserstein(samples, reference, { projections: 256, rng: new Rng(1) });
 * ```
 */
export async function slicedWasserstein(x: Tensor, y: Tensor, options: SlicedWassersteinOptions = {}): Promise<number> {
  const op = 'slicedWasserstein';
  const px = await readPoints(op, 'x', x);
  const py = await readPoints(op, 'y', y);
  sameDim(op, px, py);
  const projections = options.projections ?? 128;
  assertPositiveInt(op, 'projections', projections);
  const p = options.p ?? 2;
  checkOrder(op, p);
  const rng = rngFrom(op, options.rng);
  const d = px.d;
  const xs = new Float64Array(px.n);
  const ys = new Float64Array(py.n);
  const theta = new Float64Array(d);
  let total = 0;
  for (let l = 0; l < projections; l++) {
    let norm = 0;
    do {
      const z = rng.normal(d);
      norm = 0;
      for (let k = 0; k < d; k++) {
        theta[k] = z[k];
        norm += z[k] * z[k];
      }
    } while (norm === 0);
    norm = Math.sqrt(norm);
    for (let k = 0; k < d; k++) theta[k] /= norm;
    project(px.data, d, theta, xs);
    project(py.data, d, theta, ys);
    total += wassersteinPowSorted(xs.sort(), ys.sort(), p);
  }
  return (total / projections) ** (1 / p);
}

function project(data: Float64Array, d: number, theta: Float64Array, out: Float64Array): void {
  for (let i = 0; i < out.length; i++) {
    let s = 0;
    for (let k = 0; k < d; k++) s += data[i * d + k] * theta[k];
    out[i] = s;
  }
}

import { assertPositiveInt, JouleError } from '@joule/core';
import type { Rng, Tensor } from '@joule/tensor';
import { median, type Points, permutation, readPoints, rngFrom, sameDim } from './util.js';

/**
 * Options of {@link mmd2} and of the MMD {@link permutationTest}.
 *
 * @example
 * ```ts
 * const fixed: MmdOptions = { bandwidths: [0.1, 0.5, 2] };
 * const median: MmdOptions = { bandwidthScales: [0.5, 1, 2] }; // × the median heuristic (default)
 * ```
 */
export interface MmdOptions {
  /**
   * RBF bandwidths `h_b`, each `> 0`; the kernel is the mean of `exp(−|x − y|² / (2 h_b²))` over
   * them. When absent, the bandwidths are `bandwidthScales` times the {@link medianHeuristic}.
   */
  bandwidths?: readonly number[];
  /** Multipliers of the median heuristic used when `bandwidths` is absent; `[0.5, 1, 2]` by default. */
  bandwidthScales?: readonly number[];
}

/** Pooled points `z = [x; y]`, row-major, with `m` rows of x first. */
interface Pooled {
  readonly z: Float64Array;
  readonly m: number;
  readonly n: number;
  readonly d: number;
}

function pool(x: Points, y: Points): Pooled {
  const z = new Float64Array((x.n + y.n) * x.d);
  z.set(x.data, 0);
  z.set(y.data, x.n * x.d);
  return { z, m: x.n, n: y.n, d: x.d };
}

function sqDist(z: Float64Array, d: number, i: number, j: number): number {
  let s = 0;
  const a = i * d;
  const b = j * d;
  for (let k = 0; k < d; k++) {
    const t = z[a + k] - z[b + k];
    s += t * t;
  }
  return s;
}

/** At most this many pooled points enter the median heuristic (an evenly strided subset). */
const MEDIAN_POINTS = 1000;

function medianDistance(op: string, p: Pooled): number {
  const total = p.m + p.n;
  const k = Math.min(total, MEDIAN_POINTS);
  const idx = Array.from({ length: k }, (_, i) => Math.floor((i * total) / k));
  const dists = new Float64Array((k * (k - 1)) / 2);
  let at = 0;
  for (let a = 0; a < k; a++) for (let b = a + 1; b < k; b++) dists[at++] = Math.sqrt(sqDist(p.z, p.d, idx[a], idx[b]));
  const h = median(dists);
  if (!(h > 0)) {
    throw new JouleError(op, 'bandwidths', 'explicit bandwidths when the points coincide', 'a median distance of 0');
  }
  return h;
}

/**
 * The median heuristic for an RBF bandwidth: the median Euclidean distance between distinct points
 * of the pooled sample `[x; y]` (an evenly strided subset of at most 1000 points when larger).
 *
 * @param x - points, `[m, d]`
 * @param y - more points, `[n, d]` (optional)
 *
 * @example
 * ```ts
 * import { medianHeuristic } from '@joule/metrics';
 *
 * const h = await medianHeuristic(samples, reference);
 * ```
 */
export async function medianHeuristic(x: Tensor, y?: Tensor): Promise<number> {
  const px = await readPoints('medianHeuristic', 'x', x);
  const py =
    y === undefined ? { data: new Float64Array(0), n: 0, d: px.d } : await readPoints('medianHeuristic', 'y', y);
  sameDim('medianHeuristic', px, py);
  const pooled = pool(px, py);
  if (pooled.m + pooled.n < 2) throw new JouleError('medianHeuristic', 'x', 'at least 2 points in all', '1');
  return medianDistance('medianHeuristic', pooled);
}

function resolveBandwidths(op: string, p: Pooled, options: MmdOptions): number[] {
  if (options.bandwidths !== undefined) {
    const hs = Array.from(options.bandwidths);
    if (hs.length === 0 || !hs.every((h) => typeof h === 'number' && h > 0 && Number.isFinite(h))) {
      throw new JouleError(op, 'bandwidths', 'a non-empty list of finite numbers > 0', JSON.stringify(hs));
    }
    return hs;
  }
  const scales = Array.from(options.bandwidthScales ?? [0.5, 1, 2]);
  if (scales.length === 0 || !scales.every((s) => typeof s === 'number' && s > 0 && Number.isFinite(s))) {
    throw new JouleError(op, 'bandwidthScales', 'a non-empty list of finite numbers > 0', JSON.stringify(scales));
  }
  const h = medianDistance(op, p);
  return scales.map((s) => s * h);
}

/** A function of the squared distance between two points: a kernel or a distance. */
type PairFn = (sq: number) => number;

function rbfMean(bandwidths: readonly number[]): PairFn {
  const coef = bandwidths.map((h) => -1 / (2 * h * h));
  const b = coef.length;
  return (sq) => {
    let s = 0;
    for (let k = 0; k < b; k++) s += Math.exp(coef[k] * sq);
    return s / b;
  };
}

const euclid: PairFn = (sq) => Math.sqrt(sq);

/** Means of `f` over distinct pairs within x, within y, and over all cross pairs. */
function pairMeans(p: Pooled, f: PairFn): { xx: number; yy: number; xy: number } {
  const { z, m, n, d } = p;
  let xx = 0;
  let yy = 0;
  let xy = 0;
  for (let i = 0; i < m; i++) {
    for (let j = i + 1; j < m; j++) xx += f(sqDist(z, d, i, j));
    for (let j = m; j < m + n; j++) xy += f(sqDist(z, d, i, j));
  }
  for (let i = m; i < m + n; i++) for (let j = i + 1; j < m + n; j++) yy += f(sqDist(z, d, i, j));
  return { xx: (2 * xx) / (m * (m - 1)), yy: (2 * yy) / (n * (n - 1)), xy: xy / (m * n) };
}

async function readPair(op: string, x: Tensor, y: Tensor): Promise<Pooled> {
  const px = await readPoints(op, 'x', x, 2);
  const py = await readPoints(op, 'y', y, 2);
  sameDim(op, px, py);
  return pool(px, py);
}

/**
 * The squared maximum mean discrepancy with an RBF kernel, unbiased U-statistic (Gretton et al.,
 * 2012, eq. 3):
 *
 * `MMD²ᵤ = 1/(m(m−1)) Σ_{i≠j} k(xᵢ, xⱼ) + 1/(n(n−1)) Σ_{i≠j} k(yᵢ, yⱼ) − 2/(mn) Σ_{i,j} k(xᵢ, yⱼ)`
 *
 * with `k(a, b) = (1/B) Σ_b exp(−|a − b|² / (2 h_b²))`, a mean of `B` RBF kernels. It is unbiased
 * for the population MMD², so it can be slightly negative when the distributions are equal.
 * Computed in float64, `O((m + n)² d B)` time, no `(m + n)²` storage.
 *
 * @param x - samples, `[m, d]`, `m ≥ 2`
 * @param y - reference samples, `[n, d]`, `n ≥ 2`
 * @param options - bandwidths, or scales of the median heuristic (`[0.5, 1, 2]` by default)
 *
 * @example
 * ```ts
 * import { mmd2 } from '@joule/metrics';
 *
 * const value = await mmd2(samples, reference, { bandwidths: [0.2, 1] });
 * ```
 */
export async function mmd2(x: Tensor, y: Tensor, options: MmdOptions = {}): Promise<number> {
  const p = await readPair('mmd2', x, y);
  const { xx, yy, xy } = pairMeans(p, rbfMean(resolveBandwidths('mmd2', p, options)));
  return xx + yy - 2 * xy;
}

/**
 * The energy distance (Székely & Rizzo, 2013) with unbiased within-sample terms:
 *
 * `D² = 2/(mn) Σ_{i,j} |xᵢ − yⱼ| − 1/(m(m−1)) Σ_{i≠j} |xᵢ − xⱼ| − 1/(n(n−1)) Σ_{i≠j} |yᵢ − yⱼ|`
 *
 * an unbiased estimate of `2E|X − Y| − E|X − X'| − E|Y − Y'|`, which is 0 exactly when the two
 * distributions are equal (so the estimate can be slightly negative). Float64, `O((m + n)² d)`.
 *
 * @param x - samples, `[m, d]`, `m ≥ 2`
 * @param y - reference samples, `[n, d]`, `n ≥ 2`
 *
 * @example
 * ```ts
 * import { energyDistance } from '@joule/metrics';
 *
 * const value = await energyDistance(samples, reference);
 * ```
 */
export async function energyDistance(x: Tensor, y: Tensor): Promise<number> {
  const p = await readPair('energyDistance', x, y);
  const { xx, yy, xy } = pairMeans(p, euclid);
  return 2 * xy - xx - yy;
}

/**
 * Options of {@link permutationTest}.
 *
 * @example
 * ```ts
 * const options: PermutationTestOptions = { statistic: 'energy', permutations: 500, rng: new Rng(0) };
 * ```
 */
export interface PermutationTestOptions extends MmdOptions {
  /** `'mmd'` ({@link mmd2}, the default) or `'energy'` ({@link energyDistance}). */
  statistic?: 'mmd' | 'energy';
  /** How many random relabelings make the null distribution; 200 by default. */
  permutations?: number;
  /** The generator for the relabelings; `new Rng(0)` when absent. */
  rng?: Rng;
}

/**
 * What {@link permutationTest} measured.
 *
 * @example
 * ```ts
 * const { statistic, pValue, nullStd } = await permutationTest(x, y);
 * ```
 */
export interface PermutationTestResult {
  /** The statistic on the actual split into x and y. */
  readonly statistic: number;
  /** `(1 + #{null ≥ statistic}) / (1 + permutations)`. */
  readonly pValue: number;
  /** Mean of the statistic over random relabelings of the pooled sample. */
  readonly nullMean: number;
  /** Standard deviation of the statistic over the relabelings: its spread when x and y are exchangeable. */
  readonly nullStd: number;
}

/** Pooled samples above this size are rejected by {@link permutationTest} (its matrix is `N²` float32). */
const MAX_PERMUTATION_POINTS = 4096;

/**
 * A two-sample permutation test with the MMD² or energy-distance statistic: the pooled sample
 * `[x; y]` is relabeled at random `permutations` times (first `m` points as x), which gives the
 * statistic's distribution when both samples come from the same distribution. It stores the
 * pooled `N × N` kernel or distance matrix, so `m + n` is limited to 4096.
 *
 * @param x - samples, `[m, d]`, `m ≥ 2`
 * @param y - reference samples, `[n, d]`, `n ≥ 2`
 * @param options - the statistic (`'mmd'`), permutations (200), rng, and the MMD bandwidths
 *
 * @example
 * ```ts
 * import { permutationTest } from '@joule/metrics';
 *
 * const { statistic, pValue } = await permutationTest(samples, reference, { statistic: 'energy' });
 * if (pValue < 0.01) console.log('the samples do not match the reference');
 * ```
 */
export async function permutationTest(
  x: Tensor,
  y: Tensor,
  options: PermutationTestOptions = {},
): Promise<PermutationTestResult> {
  const op = 'permutationTest';
  const p = await readPair(op, x, y);
  const permutations = options.permutations ?? 200;
  assertPositiveInt(op, 'permutations', permutations);
  const statistic = options.statistic ?? 'mmd';
  if (statistic !== 'mmd' && statistic !== 'energy') {
    throw new JouleError(op, 'statistic', "'mmd' or 'energy'", String(statistic));
  }
  const total = p.m + p.n;
  if (total > MAX_PERMUTATION_POINTS) {
    throw new JouleError(op, 'x', `at most ${MAX_PERMUTATION_POINTS} points in x and y together`, `${total}`);
  }
  const rng = rngFrom(op, options.rng);
  const f = statistic === 'mmd' ? rbfMean(resolveBandwidths(op, p, options)) : euclid;
  // sign of (within-x, within-y, cross) means in the statistic
  const [a, c] = statistic === 'mmd' ? [1, -2] : [-1, 2];
  const matrix = new Float32Array(total * total);
  for (let i = 0; i < total; i++) {
    for (let j = i + 1; j < total; j++) {
      const v = f(sqDist(p.z, p.d, i, j));
      matrix[i * total + j] = v;
      matrix[j * total + i] = v;
    }
  }
  const isX = new Uint8Array(total);
  const evaluate = (): number => {
    let xx = 0;
    let yy = 0;
    let xy = 0;
    for (let i = 0; i < total; i++) {
      const row = i * total;
      const gi = isX[i];
      for (let j = i + 1; j < total; j++) {
        const v = matrix[row + j];
        if (gi !== isX[j]) xy += v;
        else if (gi) xx += v;
        else yy += v;
      }
    }
    return a * ((2 * xx) / (p.m * (p.m - 1)) + (2 * yy) / (p.n * (p.n - 1))) + (c * xy) / (p.m * p.n);
  };
  for (let i = 0; i < p.m; i++) isX[i] = 1;
  const observed = evaluate();
  let above = 0;
  let sum = 0;
  let sumSq = 0;
  for (let r = 0; r < permutations; r++) {
    const perm = permutation(total, rng);
    isX.fill(0);
    for (let i = 0; i < p.m; i++) isX[perm[i]] = 1;
    const v = evaluate();
    if (v >= observed) above++;
    sum += v;
    sumSq += v * v;
  }
  const nullMean = sum / permutations;
  const nullVar = permutations > 1 ? Math.max(0, (sumSq - permutations * nullMean * nullMean) / (permutations - 1)) : 0;
  return { statistic: observed, pValue: (1 + above) / (1 + permutations), nullMean, nullStd: Math.sqrt(nullVar) };
}

import { JouleError, type Rng } from '@joule/tensor';
import { type LogWeightsLike, normalizeChecked, readLogWeights } from './weights.js';

const TWO_POW_53 = 9007199254740992;

/** `n` uniform draws on (0, 1] with 53 random bits each, from two 32-bit words per draw. */
function uniformsOpenClosed(rng: Rng, n: number): Float64Array {
  const words = rng.uint32(2 * n);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const k = (words[2 * i] >>> 5) * 67108864 + (words[2 * i + 1] >>> 6);
    out[i] = (k + 1) / TWO_POW_53;
  }
  return out;
}

function checkRng(op: string, rng: Rng): void {
  if (!rng || typeof (rng as Rng).uint32 !== 'function') throw new JouleError(op, 'rng', 'an Rng', String(rng));
}

function checkCount(op: string, count: number): void {
  if (!Number.isInteger(count) || count <= 0) throw new JouleError(op, 'count', 'a positive integer', String(count));
}

/**
 * Cumulative normalized weights `P_m = Σ_{i≤m} w̃ᵢ` (eq. 37 of the Jarzynski paper) in float64, with
 * every entry from the last positive weight on clamped to exactly 1, so a draw `u ∈ (0, 1]` always
 * lands on a particle of positive weight.
 */
function cumulativeWeights(weights: Float64Array): Float64Array {
  const n = weights.length;
  const cdf = new Float64Array(n);
  let acc = 0;
  let lastPositive = 0;
  for (let i = 0; i < n; i++) {
    acc += weights[i];
    cdf[i] = acc;
    if (weights[i] > 0) lastPositive = i;
  }
  for (let i = lastPositive; i < n; i++) cdf[i] = 1;
  return cdf;
}

/** Prepares a scheme: checks inputs and returns the normalized weights and the output count. */
function prepare(op: string, logWeights: LogWeightsLike, rng: Rng, count: number | undefined) {
  const lw = readLogWeights(op, logWeights);
  checkRng(op, rng);
  const n = count ?? lw.length;
  checkCount(op, n);
  return { weights: normalizeChecked(lw).weights, n };
}

/** Ancestors for sorted draws `u₁ ≤ … ≤ u_n` in (0, 1]: particle m with `P_{m−1} < u ≤ P_m`, one merge pass. */
function selectSorted(cdf: Float64Array, sortedU: Float64Array): Int32Array {
  const out = new Int32Array(sortedU.length);
  let m = 0;
  for (let k = 0; k < sortedU.length; k++) {
    while (cdf[m] < sortedU[k]) m++;
    out[k] = m;
  }
  return out;
}

/** The smallest m with `P_m ≥ u` (binary search). */
function selectOne(cdf: Float64Array, u: number): number {
  let lo = 0;
  let hi = cdf.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (cdf[mid] < u) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Multinomial resampling: each of the `count` ancestors is drawn independently with probability
 * `w̃ᵢ` (`uₖ ~ U(0, 1]` i.i.d., ancestor m with `P_{m−1} < uₖ ≤ P_m`). Unbiased, offspring counts
 * are Multinomial(count, w̃); the highest-variance scheme.
 *
 * Matches `Resampler` of `@joule/core`. Weights are handled in float64; the draws have 53 random bits.
 *
 * @param logWeights - unnormalized log-weights, shape `[n]`
 * @param rng - the random generator
 * @param count - how many ancestors to draw, `n` by default
 * @returns ancestor indices into the particles, length `count`
 *
 * @example
 * ```ts
 * import { multinomial } from '@joule/resampling';
 *
 * const ancestors = multinomial([0, Math.log(3)], new Rng(0)); // Int32Array of 2 indices
 * const x = particles.indexSelect(ancestors);
 * ```
 */
export function multinomial(logWeights: LogWeightsLike, rng: Rng, count?: number): Int32Array {
  const { weights, n } = prepare('multinomial', logWeights, rng, count);
  const cdf = cumulativeWeights(weights);
  const u = uniformsOpenClosed(rng, n);
  const out = new Int32Array(n);
  for (let k = 0; k < n; k++) out[k] = selectOne(cdf, u[k]);
  return out;
}

/**
 * Stratified resampling: one draw per stratum, `uₖ ~ U((k−1)/count, k/count]`, ancestor m with
 * `P_{m−1} < uₖ ≤ P_m`. Unbiased; a particle gets within 2 of `count · w̃ᵢ` copies.
 *
 * @param logWeights - unnormalized log-weights, shape `[n]`
 * @param rng - the random generator
 * @param count - how many ancestors to draw, `n` by default
 * @returns ancestor indices in increasing order, length `count`
 *
 * @example
 * ```ts
 * import { stratified } from '@joule/resampling';
 *
 * const ancestors = stratified(logWeights, new Rng(1));
 * ```
 */
export function stratified(logWeights: LogWeightsLike, rng: Rng, count?: number): Int32Array {
  const { weights, n } = prepare('stratified', logWeights, rng, count);
  const v = uniformsOpenClosed(rng, n);
  const u = new Float64Array(n);
  for (let k = 0; k < n; k++) u[k] = (k + v[k]) / n;
  return selectSorted(cumulativeWeights(weights), u);
}

/**
 * Systematic resampling: a single draw `v ~ U(0, 1]` and `uₖ = (k − 1 + v)/count`, ancestor m with
 * `P_{m−1} < uₖ ≤ P_m`. Unbiased; a particle gets `⌊count·w̃ᵢ⌋` or `⌈count·w̃ᵢ⌉` copies. The
 * scheme the Jarzynski paper recommends (smallest error, one random number).
 *
 * @param logWeights - unnormalized log-weights, shape `[n]`
 * @param rng - the random generator
 * @param count - how many ancestors to draw, `n` by default
 * @returns ancestor indices in increasing order, length `count`
 *
 * @example
 * ```ts
 * import { systematic } from '@joule/resampling';
 *
 * const ancestors = systematic(logWeights, new Rng(2));
 * ```
 */
export function systematic(logWeights: LogWeightsLike, rng: Rng, count?: number): Int32Array {
  const { weights, n } = prepare('systematic', logWeights, rng, count);
  const v = uniformsOpenClosed(rng, 1)[0];
  const u = new Float64Array(n);
  for (let k = 0; k < n; k++) u[k] = (k + v) / n;
  return selectSorted(cumulativeWeights(weights), u);
}

/**
 * Residual resampling: particle i first gets `⌊count·w̃ᵢ⌋` copies deterministically; the remaining
 * `R = count − Σᵢ ⌊count·w̃ᵢ⌋` ancestors are drawn multinomially with probabilities proportional to
 * the residuals `count·w̃ᵢ − ⌊count·w̃ᵢ⌋`. Unbiased, with lower variance than multinomial.
 *
 * @param logWeights - unnormalized log-weights, shape `[n]`
 * @param rng - the random generator
 * @param count - how many ancestors to draw, `n` by default
 * @returns ancestor indices (the deterministic copies first), length `count`
 *
 * @example
 * ```ts
 * import { residual } from '@joule/resampling';
 *
 * const ancestors = residual(logWeights, new Rng(3));
 * ```
 */
export function residual(logWeights: LogWeightsLike, rng: Rng, count?: number): Int32Array {
  const { weights, n } = prepare('residual', logWeights, rng, count);
  const out = new Int32Array(n);
  const residuals = new Float64Array(weights.length);
  let filled = 0;
  let residualSum = 0;
  for (let i = 0; i < weights.length; i++) {
    const expected = n * weights[i];
    const copies = Math.min(Math.floor(expected), n - filled);
    for (let c = 0; c < copies; c++) out[filled++] = i;
    residuals[i] = expected - copies;
    residualSum += residuals[i];
  }
  const remaining = n - filled;
  if (remaining === 0) return out;
  for (let i = 0; i < residuals.length; i++) residuals[i] /= residualSum;
  const cdf = cumulativeWeights(residuals);
  const u = uniformsOpenClosed(rng, remaining);
  for (let k = 0; k < remaining; k++) out[filled + k] = selectOne(cdf, u[k]);
  return out;
}

/**
 * The names of the resampling schemes: `'multinomial'`, `'stratified'`, `'systematic'`, `'residual'`.
 *
 * @example
 * ```ts
 * import type { ResamplingScheme } from '@joule/resampling';
 *
 * const scheme: ResamplingScheme = 'systematic';
 * ```
 */
export type ResamplingScheme = 'multinomial' | 'stratified' | 'systematic' | 'residual';

/**
 * The resampling functions by name; each has the shape of `Resampler` in `@joule/core`.
 *
 * @example
 * ```ts
 * import { resamplers } from '@joule/resampling';
 *
 * const ancestors = resamplers.stratified(logWeights, rng);
 * ```
 */
export const resamplers: Readonly<
  Record<ResamplingScheme, (logWeights: LogWeightsLike, rng: Rng, count?: number) => Int32Array>
> = Object.freeze({ multinomial, stratified, systematic, residual });

/**
 * Resamples with the named scheme (systematic by default).
 *
 * @param logWeights - unnormalized log-weights, shape `[n]`
 * @param rng - the random generator
 * @param scheme - which scheme, `'systematic'` by default
 * @param count - how many ancestors to draw, `n` by default
 * @returns ancestor indices, length `count`
 *
 * @example
 * ```ts
 * import { resample } from '@joule/resampling';
 *
 * const ancestors = resample(logWeights, rng, 'residual');
 * ```
 */
export function resample(
  logWeights: LogWeightsLike,
  rng: Rng,
  scheme: ResamplingScheme = 'systematic',
  count?: number,
): Int32Array {
  const fn = resamplers[scheme];
  if (!fn) {
    throw new JouleError('resample', 'scheme', `one of ${Object.keys(resamplers).join(', ')}`, String(scheme));
  }
  return fn(logWeights, rng, count);
}

/**
 * How many times each of `n` particles appears among `ancestors`.
 *
 * @param ancestors - ancestor indices, each in `[0, n)`
 * @param n - the number of particles
 *
 * @example
 * ```ts
 * import { offspringCounts } from '@joule/resampling';
 *
 * offspringCounts(new Int32Array([0, 0, 2]), 3); // Int32Array [2, 0, 1]
 * ```
 */
export function offspringCounts(ancestors: ArrayLike<number>, n: number): Int32Array {
  if (!Number.isInteger(n) || n <= 0) throw new JouleError('offspringCounts', 'n', 'a positive integer', String(n));
  const counts = new Int32Array(n);
  for (let k = 0; k < ancestors.length; k++) {
    const a = ancestors[k];
    if (!Number.isInteger(a) || a < 0 || a >= n) {
      throw new JouleError('offspringCounts', 'ancestors', `integers in [0, ${n})`, `${a} at index ${k}`);
    }
    counts[a]++;
  }
  return counts;
}

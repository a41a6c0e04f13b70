import { JouleError, Tensor } from '@joule/tensor';

/**
 * Log-weights as the functions of this package accept them: a rank-1 `Tensor` of shape `[n]`
 * (read synchronously, so on a backend without synchronous reads pass `await t.data()` instead) or
 * any array of numbers. They need not be normalized.
 *
 * @example
 * ```ts
 * import type { LogWeightsLike } from '@joule/resampling';
 *
 * const a: LogWeightsLike = [0, -1, -2];
 * const b: LogWeightsLike = tensor([0, -1, -2]);
 * ```
 */
export type LogWeightsLike = Tensor | ArrayLike<number>;

/**
 * Log-weights normalized in log space, in float64.
 *
 * @example
 * ```ts
 * import { normalizeLogWeights } from '@joule/resampling';
 *
 * const { weights, logMean } = normalizeLogWeights([0, Math.log(3)]);
 * // weights: [0.25, 0.75]; logMean = log((1 + 3) / 2)
 * ```
 */
export interface NormalizedWeights {
  /** `log wᵢ − log Σⱼ wⱼ`: normalized log-weights (−∞ stays −∞). */
  readonly logWeights: Float64Array;
  /** `wᵢ / Σⱼ wⱼ`: normalized weights, summing to 1. */
  readonly weights: Float64Array;
  /** `log Σᵢ wᵢ` of the input weights. */
  readonly logSum: number;
  /** `log((1/n) Σᵢ wᵢ)`: the log mean weight, the factor an SMC estimate of `log Z` accumulates. */
  readonly logMean: number;
}

/** Reads log-weights into float64 and checks them; `op` names the caller in errors. */
export function readLogWeights(op: string, logWeights: LogWeightsLike): Float64Array {
  let values: ArrayLike<number>;
  if (logWeights instanceof Tensor) {
    if (logWeights.rank !== 1) {
      throw new JouleError(op, 'logWeights', 'a tensor of shape [n]', `shape [${logWeights.shape.join(', ')}]`);
    }
    values = logWeights.dataSync();
  } else if (logWeights !== null && typeof logWeights === 'object' && typeof logWeights.length === 'number') {
    values = logWeights;
  } else {
    throw new JouleError(op, 'logWeights', 'a tensor of shape [n] or an array of numbers', String(logWeights));
  }
  const n = values.length;
  if (n === 0) throw new JouleError(op, 'logWeights', 'at least one log-weight', 'an empty array');
  const out = new Float64Array(n);
  let anyFinite = false;
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (typeof v !== 'number' || Number.isNaN(v)) {
      throw new JouleError(op, 'logWeights', 'numbers that are not NaN', `${String(v)} at index ${i}`);
    }
    if (v === Number.POSITIVE_INFINITY) {
      throw new JouleError(
        op,
        'logWeights',
        'log-weights below +Infinity (an overflowed weight)',
        `+Infinity at index ${i}`,
      );
    }
    if (v !== Number.NEGATIVE_INFINITY) anyFinite = true;
    out[i] = v;
  }
  if (!anyFinite) {
    throw new JouleError(op, 'logWeights', 'at least one finite log-weight', `all ${n} entries are -Infinity`);
  }
  return out;
}

/** `log Σ exp(values)` in float64; `values` has at least one finite entry. */
export function logSumExp(values: Float64Array): number {
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < values.length; i++) if (values[i] > max) max = values[i];
  let s = 0;
  for (let i = 0; i < values.length; i++) s += Math.exp(values[i] - max);
  return max + Math.log(s);
}

/**
 * Normalizes log-weights in log space: `log w̃ᵢ = log wᵢ − log Σⱼ exp(log wⱼ)`, computed in float64
 * with the max-shift, so weights far below or above float range are handled.
 *
 * `−∞` entries are particles of zero weight. Rejected with a `JouleError`: an empty input, any NaN,
 * `+∞` (an overflowed weight, whose normalized value ∞/∞ is undefined) and all entries `−∞` (no
 * particle carries weight).
 *
 * @param logWeights - unnormalized log-weights, shape `[n]`
 * @returns the normalized log-weights and weights, `log Σ w` and `log mean w`
 *
 * @example
 * ```ts
 * import { normalizeLogWeights } from '@joule/resampling';
 *
 * const { weights, logMean } = normalizeLogWeights([1000, 1000 + Math.log(3)]);
 * // weights [0.25, 0.75], logMean = 1000 + log 2
 * ```
 */
export function normalizeLogWeights(logWeights: LogWeightsLike): NormalizedWeights {
  const lw = readLogWeights('normalizeLogWeights', logWeights);
  return normalizeChecked(lw);
}

/** {@link normalizeLogWeights} on already-checked float64 log-weights. */
export function normalizeChecked(lw: Float64Array): NormalizedWeights {
  const n = lw.length;
  const logSum = logSumExp(lw);
  const logW = new Float64Array(n);
  const w = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    logW[i] = lw[i] - logSum;
    w[i] = Math.exp(logW[i]);
  }
  return { logWeights: logW, weights: w, logSum, logMean: logSum - Math.log(n) };
}

/**
 * The effective sample size as a particle count, `ESS = 1 / Σᵢ w̃ᵢ²` with normalized weights `w̃`.
 * It lies in `[1, n]`: `n` for equal weights, 1 when one particle holds all the weight.
 *
 * @param logWeights - unnormalized log-weights, shape `[n]` (checked as in {@link normalizeLogWeights})
 *
 * @example
 * ```ts
 * import { ess } from '@joule/resampling';
 *
 * ess([0, 0, 0, 0]);                  // 4
 * ess([0, -Infinity, -Infinity]);     // 1
 * ```
 */
export function ess(logWeights: LogWeightsLike): number {
  const lw = readLogWeights('ess', logWeights);
  return Math.exp(-logSumSquaredNormalized(lw));
}

/**
 * The effective sample size as a fraction of the particle count, the form of eq. 13 of the
 * Jarzynski paper (Carbone et al., 2023):
 * `ESS = ((1/n) Σᵢ e^{Aᵢ})² / ((1/n) Σᵢ e^{2Aᵢ}) = 1 / (n Σᵢ w̃ᵢ²)`, in `(0, 1]`; the effective
 * particle count is `n · ESS`. Computed in log space as `exp(2 LSE(A) − LSE(2A) − log n)`.
 *
 * @param logWeights - unnormalized log-weights `A`, shape `[n]`
 *
 * @example
 * ```ts
 * import { essFraction } from '@joule/resampling';
 *
 * essFraction([0, 0, 0, 0]);          // 1
 * essFraction([0, -Infinity]);        // 0.5
 * ```
 */
export function essFraction(logWeights: LogWeightsLike): number {
  const lw = readLogWeights('essFraction', logWeights);
  return essFractionChecked(lw);
}

/** {@link essFraction} on already-checked float64 log-weights. */
export function essFractionChecked(lw: Float64Array): number {
  return Math.exp(-logSumSquaredNormalized(lw) - Math.log(lw.length));
}

/** `log Σᵢ w̃ᵢ²` for normalized weights, `LSE(2A) − 2 LSE(A)`, clamped to its range `[−log n, 0]`. */
function logSumSquaredNormalized(lw: Float64Array): number {
  const doubled = new Float64Array(lw.length);
  for (let i = 0; i < lw.length; i++) doubled[i] = 2 * lw[i];
  const value = logSumExp(doubled) - 2 * logSumExp(lw);
  return Math.min(0, Math.max(-Math.log(lw.length), value));
}

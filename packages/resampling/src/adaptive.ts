import { JouleError, type Rng } from '@joule/tensor';
import { type ResamplingScheme, resample } from './schemes.js';
import { essFractionChecked, type LogWeightsLike, normalizeChecked, readLogWeights } from './weights.js';

function checkThreshold(op: string, threshold: number): void {
  if (typeof threshold !== 'number' || !(threshold >= 0 && threshold <= 1)) {
    throw new JouleError(op, 'threshold', 'a number in [0, 1] (a fraction of the particle count)', String(threshold));
  }
}

/**
 * The adaptive trigger: true when the effective sample size fraction (eq. 13 of the Jarzynski
 * paper, {@link essFraction}) is strictly below `threshold`. A threshold of 0 never resamples, and
 * 1 resamples whenever the weights are not all equal.
 *
 * @param logWeights - unnormalized log-weights, shape `[n]`
 * @param threshold - the ESS fraction in `[0, 1]` below which to resample (0.5 is common)
 *
 * @example
 * ```ts
 * import { shouldResample } from '@joule/resampling';
 *
 * shouldResample([0, 0, 0, 0], 0.5);                       // false: ESS = 1
 * shouldResample([0, -Infinity, -Infinity, -Infinity], 0.5); // true: ESS = 0.25
 * ```
 */
export function shouldResample(logWeights: LogWeightsLike, threshold: number): boolean {
  checkThreshold('shouldResample', threshold);
  return essFractionChecked(readLogWeights('shouldResample', logWeights)) < threshold;
}

/**
 * Converts the Jarzynski paper's squared-coefficient-of-variation rule "resample when
 * `E[w²]/E[w]² − 1 > c`" to the equivalent ESS-fraction threshold `1 / (1 + c)` (since
 * `1/ESS − 1 = CV²`).
 *
 * @param c - the CV² level, `c ≥ 0`
 *
 * @example
 * ```ts
 * import { thresholdFromCvSquared } from '@joule/resampling';
 *
 * thresholdFromCvSquared(1); // 0.5
 * ```
 */
export function thresholdFromCvSquared(c: number): number {
  if (typeof c !== 'number' || !(c >= 0) || c === Number.POSITIVE_INFINITY) {
    throw new JouleError('thresholdFromCvSquared', 'c', 'a finite number ≥ 0', String(c));
  }
  return 1 / (1 + c);
}

/**
 * What {@link resampleIfNeeded} did.
 *
 * @example
 * ```ts
 * const { resampled, ancestors, logMean } = resampleIfNeeded(logW, rng, { threshold: 0.5 });
 * if (resampled) logZ += logMean; // fold the pre-reset weights into a running log Z
 * ```
 */
export interface AdaptiveResult {
  /** Whether the ESS fraction was below the threshold and the particles were resampled. */
  readonly resampled: boolean;
  /** Ancestor indices; the identity `0, 1, …, n−1` when nothing was resampled. */
  readonly ancestors: Int32Array;
  /** The ESS fraction of the input weights (before any resampling). */
  readonly essFraction: number;
  /** `log((1/n) Σᵢ wᵢ)` of the input weights, the factor a running `log Z` estimate accumulates. */
  readonly logMean: number;
  /**
   * The log-weights to carry on with: all 0 (equal weights, the reset `A := 0`) after resampling,
   * else the input log-weights unchanged (in float64).
   */
  readonly logWeights: Float64Array;
}

/**
 * Options of {@link resampleIfNeeded}.
 *
 * @example
 * ```ts
 * const options: AdaptiveOptions = { threshold: 0.5, scheme: 'systematic' };
 * ```
 */
export interface AdaptiveOptions {
  /** Resample when the ESS fraction is strictly below this, in `[0, 1]`; 0.5 by default. */
  threshold?: number;
  /** Which scheme, `'systematic'` by default. */
  scheme?: ResamplingScheme;
}

/**
 * Resamples when the ESS fraction falls below a threshold (the adaptive SMC step of the Jarzynski
 * paper, §3.2): after resampling the particles carry equal weights; otherwise the weights are kept.
 *
 * @param logWeights - unnormalized log-weights, shape `[n]`
 * @param rng - the random generator (not advanced when nothing is resampled)
 * @param options - the threshold (0.5) and the scheme (`'systematic'`)
 *
 * @example
 * ```ts
 * import { resampleIfNeeded } from '@joule/resampling';
 *
 * const step = resampleIfNeeded(logW, rng, { threshold: 0.5 });
 * const x = particles.indexSelect(step.ancestors);
 * logW = step.logWeights;
 * ```
 */
export function resampleIfNeeded(logWeights: LogWeightsLike, rng: Rng, options: AdaptiveOptions = {}): AdaptiveResult {
  const threshold = options.threshold ?? 0.5;
  checkThreshold('resampleIfNeeded', threshold);
  const lw = readLogWeights('resampleIfNeeded', logWeights);
  const n = lw.length;
  const fraction = essFractionChecked(lw);
  const { logMean } = normalizeChecked(lw);
  if (fraction < threshold) {
    return {
      resampled: true,
      ancestors: resample(lw, rng, options.scheme ?? 'systematic'),
      essFraction: fraction,
      logMean,
      logWeights: new Float64Array(n),
    };
  }
  const ancestors = new Int32Array(n);
  for (let i = 0; i < n; i++) ancestors[i] = i;
  return { resampled: false, ancestors, essFraction: fraction, logMean, logWeights: lw };
}

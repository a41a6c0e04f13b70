import { JouleError } from '@joule/core';
import type { Tensor } from '@joule/tensor';
import { readPoints, sameDim } from './util.js';

/**
 * Estimated mixture weights from nearest-mode assignment.
 *
 * @example
 * ```ts
 * const { weights, standardErrors } = await modeWeights(samples, modes);
 * ```
 */
export interface ModeWeights {
  /** Fraction of all samples assigned to each mode, `countₖ / n`. */
  readonly weights: Float64Array;
  /** Samples assigned to each mode. */
  readonly counts: Int32Array;
  /** Binomial standard errors `√(wₖ (1 − wₖ) / n)`. */
  readonly standardErrors: Float64Array;
  /** Fraction of samples farther than `radius` from every mode (0 without a radius). */
  readonly unassigned: number;
}

/**
 * Options of {@link modeWeights}.
 *
 * @example
 * ```ts
 * const options: ModeWeightOptions = { radius: 0.5 };
 * ```
 */
export interface ModeWeightOptions {
  /** Samples farther than this (Euclidean) from every mode count as unassigned; none by default. */
  radius?: number;
}

/**
 * Mode weights of a sample from a mixture: each sample is assigned to its nearest mode (Euclidean
 * distance; ties go to the lower index), and mode `k` gets weight `wₖ = #{i : nearest(xᵢ) = k} / n`.
 * With a `radius`, samples farther than it from every mode are left unassigned, so the weights sum
 * to `1 − unassigned` (a sign of samples between modes).
 *
 * @param samples - points, `[n, d]`
 * @param modes - the mode centres, `[k, d]`
 * @param options - an optional radius
 *
 * @example
 * ```ts
 * import { modeWeights } from '@joule/metrics';
 * import { tensor } from '@joule/tensor';
 *
 * const { weights } = await modeWeights(samples, tensor([[-2, 0], [2, 0]]));
 * // e.g. [0.31, 0.69]: the sampler puts 69% of its mass on the right mode
 * ```
 */
export async function modeWeights(
  samples: Tensor,
  modes: Tensor,
  options: ModeWeightOptions = {},
): Promise<ModeWeights> {
  const op = 'modeWeights';
  const x = await readPoints(op, 'samples', samples);
  const m = await readPoints(op, 'modes', modes);
  sameDim(op, x, m);
  const radius = options.radius;
  if (radius !== undefined && !(radius > 0)) throw new JouleError(op, 'radius', 'a number > 0', String(radius));
  const r2 = radius === undefined ? Number.POSITIVE_INFINITY : radius * radius;
  const { d } = x;
  const counts = new Int32Array(m.n);
  let unassigned = 0;
  for (let i = 0; i < x.n; i++) {
    let best = -1;
    let bestSq = Number.POSITIVE_INFINITY;
    for (let k = 0; k < m.n; k++) {
      let s = 0;
      for (let c = 0; c < d; c++) {
        const t = x.data[i * d + c] - m.data[k * d + c];
        s += t * t;
      }
      if (s < bestSq) {
        bestSq = s;
        best = k;
      }
    }
    if (bestSq > r2) unassigned++;
    else counts[best]++;
  }
  const weights = Float64Array.from(counts, (c) => c / x.n);
  const standardErrors = weights.map((w) => Math.sqrt((w * (1 - w)) / x.n));
  return { weights, counts, standardErrors, unassigned: unassigned / x.n };
}

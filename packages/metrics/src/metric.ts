import { assertPositiveInt, type Distribution, JouleError, type Metric } from '@joule/core';
import { Rng, type Tensor, tidy } from '@joule/tensor';
import { energyDistance, type MmdOptions, mmd2 } from './discrepancy.js';
import { type BhattacharyyaOptions, bhattacharyya } from './grid.js';
import { isDistribution } from './util.js';
import { type SlicedWassersteinOptions, slicedWasserstein } from './wasserstein.js';

/**
 * How a sample-based {@link Metric} draws reference samples when it is given a distribution.
 *
 * @example
 * ```ts
 * const options: ReferenceSampling = { referenceSize: 4096, seed: 1 };
 * ```
 */
export interface ReferenceSampling {
  /** Reference samples to draw from a distribution; as many as the samples by default. */
  referenceSize?: number;
  /** Seed of the generator used for each draw (a fresh `new Rng(seed)` per call); 0 by default. */
  seed?: number;
}

function named(name: string, fn: (samples: Tensor, reference: Tensor | Distribution) => Promise<number>): Metric {
  Object.defineProperty(fn, 'name', { value: name });
  return fn as Metric;
}

function sampleBased(
  name: string,
  options: ReferenceSampling,
  compute: (samples: Tensor, reference: Tensor) => Promise<number>,
): Metric {
  if (options.referenceSize !== undefined) assertPositiveInt(name, 'referenceSize', options.referenceSize);
  const seed = options.seed ?? 0;
  if (!Number.isSafeInteger(seed) || seed < 0) throw new JouleError(name, 'seed', 'an integer ≥ 0', String(seed));
  return named(name, async (samples, reference) => {
    if (!isDistribution(reference)) return compute(samples, reference);
    const size = options.referenceSize ?? samples.shape[0];
    const drawn = tidy(() => reference.sample(size, new Rng(seed)));
    try {
      return await compute(samples, drawn);
    } finally {
      drawn.dispose();
    }
  });
}

/**
 * The unbiased MMD² ({@link mmd2}) as a `Metric` named `'mmd2'`; a distribution reference is
 * sampled with a fixed seed.
 *
 * @param options - MMD bandwidths and how to sample a distribution reference
 *
 * @example
 * ```ts
 * import { mmdMetric } from '@joule/metrics';
 *
 * const metric = mmdMetric({ bandwidths: [0.5, 1] });
 * console.log(metric.name, await metric(samples, truth));
 * ```
 */
export function mmdMetric(options: MmdOptions & ReferenceSampling = {}): Metric {
  return sampleBased('mmd2', options, (s, r) => mmd2(s, r, options));
}

/**
 * The energy distance ({@link energyDistance}) as a `Metric` named `'energyDistance'`.
 *
 * @param options - how to sample a distribution reference
 *
 * @example
 * ```ts
 * import { energyDistanceMetric } from '@joule/metrics';
 *
 * const value = await energyDistanceMetric()(samples, referenceSamples);
 * ```
 */
export function energyDistanceMetric(options: ReferenceSampling = {}): Metric {
  return sampleBased('energyDistance', options, (s, r) => energyDistance(s, r));
}

/**
 * The sliced Wasserstein distance ({@link slicedWasserstein}) as a `Metric` named
 * `'slicedWasserstein'`; on every call the projections come from a stream split off a fresh
 * `new Rng(seed)` (so they differ from the draws of a distribution reference).
 *
 * @param options - projections, p, and reference sampling (the seed also seeds the projections)
 *
 * @example
 * ```ts
 * import { slicedWassersteinMetric } from '@joule/metrics';
 *
 * const metric = slicedWassersteinMetric({ projections: 256, p: 1 });
 * ```
 */
export function slicedWassersteinMetric(
  options: Omit<SlicedWassersteinOptions, 'rng'> & ReferenceSampling = {},
): Metric {
  const seed = options.seed ?? 0;
  return sampleBased('slicedWasserstein', options, (s, r) =>
    slicedWasserstein(s, r, { ...options, rng: new Rng(seed).split() }),
  );
}

/**
 * The Bhattacharyya coefficient by the R-NCE protocol ({@link bhattacharyya}) as a `Metric` named
 * `'bhattacharyya'`: a distribution reference is evaluated exactly on the grid, reference samples
 * through the KDE.
 *
 * @param options - grid, bandwidth, normalize
 *
 * @example
 * ```ts
 * import { bhattacharyyaMetric } from '@joule/metrics';
 *
 * const bc = await bhattacharyyaMetric()(modelSamples, trueSamples);
 * ```
 */
export function bhattacharyyaMetric(options: BhattacharyyaOptions = {}): Metric {
  return named('bhattacharyya', (samples, reference) => bhattacharyya(samples, reference, options));
}

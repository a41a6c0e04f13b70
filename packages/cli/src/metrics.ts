import { bhattacharyya, energyDistance, mmd2, slicedWasserstein } from '@joule/metrics';
import { Rng, type Tensor } from '@joule/tensor';

/**
 * A sample-quality metric the CLI computes between model samples and true samples.
 *
 * @example
 * ```ts
 * const bc = await metricRegistry.bhattacharyya!.compute(samples, truth);
 * ```
 */
export interface MetricEntry {
  /** The name on the command line and in reports. */
  name: string;
  /** One line for `joule list`. */
  description: string;
  /** Whether larger is better (for the reader; nothing is optimized on it). */
  higherIsBetter: boolean;
  /** The metric between model samples `[n, d]` and true samples `[m, d]`. */
  compute(samples: Tensor, truth: Tensor): Promise<number>;
}

/**
 * The metrics `joule train --metrics a,b` and `joule eval` know, by name (from `@joule/metrics`).
 *
 * @example
 * ```ts
 * import { metricRegistry } from '@joule/cli';
 *
 * for (const m of Object.values(metricRegistry)) console.log(m.name, m.description);
 * ```
 */
export const metricRegistry: Readonly<Record<string, MetricEntry>> = Object.freeze({
  bhattacharyya: {
    name: 'bhattacharyya',
    description: 'Bhattacharyya coefficient of KDEs on the R-NCE 256×256 grid on [-4, 4]² (1 = identical; 2-D only)',
    higherIsBetter: true,
    compute: (s, t) => bhattacharyya(s, t),
  },
  mmd2: {
    name: 'mmd2',
    description: 'squared MMD with a Gaussian kernel, median-heuristic bandwidth (0 = identical)',
    higherIsBetter: false,
    compute: (s, t) => mmd2(s, t),
  },
  energyDistance: {
    name: 'energyDistance',
    description: 'energy distance between the two samples (0 = identical)',
    higherIsBetter: false,
    compute: (s, t) => energyDistance(s, t),
  },
  slicedWasserstein: {
    name: 'slicedWasserstein',
    description: 'sliced 1-Wasserstein distance over random projections, seed 0 (0 = identical)',
    higherIsBetter: false,
    compute: (s, t) => slicedWasserstein(s, t, { rng: new Rng(0) }),
  },
});

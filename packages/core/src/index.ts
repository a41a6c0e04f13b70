/**
 * The small interfaces every joule package agrees on — energies, distributions, MCMC kernels,
 * resamplers, estimators and metrics — and the input checks that throw {@link JouleError}.
 *
 * @packageDocumentation
 */
export { JouleError } from '@joule/tensor';
export type {
  ConditionalBatch,
  ConditionalDistribution,
  Distribution,
  EnergyFn,
  Estimator,
  Kernel,
  Metric,
  Resampler,
  SampleWithLogProb,
} from './interfaces.js';
export {
  assertFinite,
  assertInRange,
  assertPositiveInt,
  assertShape,
  type Bounds,
  type DimPattern,
  type ShapeLike,
} from './validate.js';

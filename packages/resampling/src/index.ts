/**
 * Sequential Monte Carlo resampling from log-weights: log-space normalization, effective sample
 * size (as a count and as the fraction of eq. 13 of the Jarzynski paper), multinomial, stratified,
 * systematic and residual schemes returning ancestor indices, and an adaptive trigger.
 *
 * @packageDocumentation
 */
export {
  type AdaptiveOptions,
  type AdaptiveResult,
  resampleIfNeeded,
  shouldResample,
  thresholdFromCvSquared,
} from './adaptive.js';
export {
  multinomial,
  offspringCounts,
  type ResamplingScheme,
  resample,
  resamplers,
  residual,
  stratified,
  systematic,
} from './schemes.js';
export { ess, essFraction, type LogWeightsLike, type NormalizedWeights, normalizeLogWeights } from './weights.js';

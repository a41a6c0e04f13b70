/**
 * Ranking noise-contrastive estimation (R-NCE, Singh, Tu & Sindhwani 2023) for conditional and
 * unconditional energies `p(y | context) ∝ exp(−E(y, context))`: the ranking loss against `K`
 * negatives from any sampler with exact log-densities; an `Estimator` with a fixed, pretrained,
 * jointly trained (Algorithm 1) or adversarial (Section 4.3.2) negative sampler; the IBC baseline;
 * Algorithm 2's sampler-plus-MCMC sampling with best-of-ℓ ranking; and interpolating EBMs
 * (Section 5.2: Algorithm 3 training, Algorithm 4 sampling).
 *
 * @packageDocumentation
 */
export type { EnergyModel } from '@joule/nn';
export { type Box, type RnceBatch, RnceEstimator, type RnceOptions } from './estimator.js';
export {
  type InterpolantPath,
  InterpolatingRnceEstimator,
  type InterpolatingRnceOptions,
  type InterpolatingSampleOptions,
  sampleInterpolating,
  type TimeIndexedSampler,
  type VelocityField,
} from './interpolating.js';
export {
  drawNegatives,
  type NegativeSampler,
  type Negatives,
  type RnceLossResult,
  rnceLoss,
  uniformBoxNegatives,
} from './loss.js';
export {
  type LangevinRefineOptions,
  type PositionState,
  rankCandidates,
  sampleWithLangevin,
} from './sample.js';
export {
  type AdversarialTraining,
  type JointTraining,
  type LogDensityModel,
  maximumLikelihood,
  type ReparameterizedSampler,
  type SamplerObjective,
  type Schedule,
} from './sampler.js';

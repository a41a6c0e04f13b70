/**
 * Ranking noise-contrastive estimation (R-NCE, Singh, Tu & Sindhwani 2023) for conditional and
 * unconditional energies `p(y | x) ∝ exp(−E(y, x))`: the ranking loss against `K` negatives from
 * any sampler with exact log-densities, an `Estimator` with a pretrained or fixed negative sampler,
 * the IBC baseline (uniform negatives on a box), and Algorithm 2's sampler-plus-Langevin sampling.
 *
 * @packageDocumentation
 */
export {
  type Box,
  type ConditionalBatch,
  type EnergyModel,
  type RnceBatch,
  RnceEstimator,
  type RnceOptions,
} from './estimator.js';
export {
  drawNegatives,
  type NegativeSampler,
  type Negatives,
  type RnceLossResult,
  rnceLoss,
  uniformBoxNegatives,
} from './loss.js';
export { type LangevinRefineOptions, rankCandidates, sampleWithLangevin } from './sample.js';

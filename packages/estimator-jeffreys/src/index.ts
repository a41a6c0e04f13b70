/**
 * Adaptive symmetrization of the KL divergence (Ben-Dov & Chamon): a normalizing flow and an
 * energy-based model trained together so that the main model has a small Jeffreys divergence
 * `KL(π ‖ p) + KL(p ‖ π)` to the data, with the other model as a proxy for the data density in
 * the reverse term; posed as a resilient constrained problem and solved by primal–dual updates.
 * Includes the paper's baselines (maximum-likelihood flow, fixed-weight penalty P-W) and an EBM
 * trained alone by persistent short-run Langevin.
 *
 * @packageDocumentation
 */

export type { EnergyModel } from '@joule/nn';
export {
  EnergyMaximumLikelihood,
  type EnergyMaximumLikelihoodOptions,
  type EnergyMaximumLikelihoodState,
  FlowMaximumLikelihood,
  type FlowMaximumLikelihoodOptions,
  type FlowMaximumLikelihoodState,
} from './baselines.js';
export {
  type ConstraintValues,
  type DualOptions,
  dualAscent,
  type Multipliers,
  type ResilientSlack,
  type ResolvedDualOptions,
  resilientFixedPoint,
  resilientSlack,
  resolveDualOptions,
  type ZetaViolation,
  zetaViolations,
} from './dual.js';
export {
  JeffreysEstimator,
  type JeffreysOptions,
  type JeffreysState,
  type LangevinSettings,
  type PenaltyWeights,
} from './estimator.js';
export type { TrainableDensity } from './models.js';
export {
  ebmMainLagrangian,
  flowMainLagrangian,
  type LagrangianResult,
  type LagrangianTerms,
  logPartition,
  scoreFunctionSurrogate,
} from './objective.js';
export {
  GaussianDensity,
  type GaussianDensityOptions,
  RadialBasisEnergy,
  type RadialBasisEnergyOptions,
} from './simple.js';

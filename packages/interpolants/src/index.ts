/**
 * Stochastic interpolants for joule: `x_t = α(t) x0 + β(t) x1 + γ(t) z` with linear,
 * trigonometric and variance-preserving schedules and a choice of `γ`, the R-NCE paper's time
 * law, velocity / denoiser / score losses (optionally conditional), and the probability-flow ODE
 * as a (conditional) distribution with `sample`, `logProb` and `sampleAndLogProb`.
 *
 * @packageDocumentation
 */
export {
  type TimeFeaturesOptions,
  timeFeatures,
  timeFeatureWidth,
  VelocityNet,
  type VelocityNetOptions,
} from './features.js';
export { ConditionalInterpolantFlow, type FlowOptions, InterpolantFlow } from './flow.js';
export {
  type Coefficients,
  type InterpolantOptions,
  type InterpolantPoint,
  StochasticInterpolant,
  sampleTimes,
} from './interpolant.js';
export { denoiserLoss, type InterpolantLossOptions, scoreLoss, type TimeField, velocityLoss } from './losses.js';
export {
  type Gamma,
  linearSchedule,
  quadraticGamma,
  type Schedule,
  sqrtGamma,
  trigonometricSchedule,
  vpSchedule,
  zeroGamma,
} from './schedules.js';
export {
  type DriftOptions,
  driftFromScore,
  type ScoreDrift,
  scoreFromEnergy,
  type TimeEnergy,
  velocityFromScore,
} from './score.js';
export { type SdeSampleOptions, sampleSde } from './sde.js';

/**
 * `@joule/estimator-cnce`: conditional noise-contrastive estimation of energy-based models with
 * local, global (mode-jumping) and mixed noise (paper 001), and binary NCE.
 *
 * @packageDocumentation
 */
export type { AdamSettings, EnergyModel, OptimizerChoice, StepOptimizer } from '@joule/nn';
export { CNCE, type CNCEOptions, NCE, type NCEOptions } from './estimator.js';
export { cnceLogOdds, cnceLoss, type NoisePairs, nceLoss, sampleNoisePairs, TWO_LOG_2 } from './loss.js';
export {
  type CnceNoise,
  globalNoise,
  kdeNoise,
  localNoise,
  mixedNoise,
  mixtureKernel,
  type NoiseComponent,
} from './noise.js';

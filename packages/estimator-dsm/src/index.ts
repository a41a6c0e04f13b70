/**
 * `@joule/estimator-dsm`: denoising score matching for energy-based models, single- and
 * multi-level ("EBM diffusion"), with paper 001's CNCE global-jump regularizer.
 *
 * @packageDocumentation
 */
export {
  type AdamSettings,
  DSM,
  type DSMOptions,
  type GlobalJumpRegularizer,
  type LevelEnergyModel,
  type OptimizerChoice,
  type StepOptimizer,
} from './estimator.js';
export { cosineSchedule, dsmLoss, geometricLevels, type NoiseLevels } from './loss.js';

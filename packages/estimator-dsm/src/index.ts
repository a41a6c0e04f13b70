/**
 * `@joule/estimator-dsm`: denoising score matching for energy-based models, single- and
 * multi-level ("EBM diffusion"), with paper 001's CNCE global-jump regularizer.
 *
 * @packageDocumentation
 */
export type { AdamSettings, EnergyModel, OptimizerChoice, StepOptimizer } from '@joule/nn';
export { DSM, type DSMOptions, type GlobalJumpRegularizer, type LevelEnergyModel } from './estimator.js';
export { cosineSchedule, dsmLoss, geometricLevels, type NoiseLevels } from './loss.js';

/**
 * Generalized contrastive divergence (GCD, Yoon et al. 2023): an energy-based model trained jointly
 * with a few-step Gaussian diffusion sampler, plus the plain few-step DDPM baseline.
 *
 * @packageDocumentation
 */
export { DDPMTrainer, type DDPMTrainerOptions, GaussianDiffusion, linearBetas, type StepFn } from './diffusion.js';
export { GCD, type GCDOptions, type GCDState, gcdEnergyLoss, type ParametricEnergy, type ValueFn } from './gcd.js';
export { knnEntropy, knnLogDistances } from './knn.js';

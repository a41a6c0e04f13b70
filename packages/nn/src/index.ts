/**
 * Neural-network building blocks for joule: modules with named parameter trees, layers (linear,
 * MLP, layer norm, embeddings, conditional MLP, spectral norm), seeded initializations, optimizers
 * (SGD, Adam, AdamW) with clipping, parameter groups and learning-rate schedules, parameter EMA,
 * and safetensors checkpoints. Node file helpers live in `@joule/nn/node`.
 *
 * @packageDocumentation
 */
export { type ActivationFn, type ActivationName, activation, activations } from './activations.js';
export { ConditionalMLP, type ConditionalMLPOptions } from './conditional.js';
export { EMA, type EMAOptions, type EMAState } from './ema.js';
export {
  RandomFourierFeatures,
  type RandomFourierFeaturesOptions,
  SinusoidalEmbedding,
  type SinusoidalEmbeddingOptions,
  TimeEmbedding,
  type TimeEmbeddingOptions,
} from './embeddings.js';
export {
  type AdamSettings,
  assertEnergyModel,
  type EnergyModel,
  energyVector,
  type OptimizerChoice,
  resolveOptimizer,
  type StepOptimizer,
} from './energy-model.js';
export {
  type Fans,
  fans,
  gain,
  type Initializer,
  type InitName,
  initializer,
  type KaimingOptions,
  kaimingNormal,
  kaimingUniform,
  lecunUniform,
  xavierNormal,
  xavierUniform,
  zerosInit,
} from './init.js';
export {
  Activation,
  LayerNorm,
  type LayerNormOptions,
  Linear,
  type LinearOptions,
  MLP,
  type MLPOptions,
  Sequential,
} from './layers.js';
export { type LoadOptions, Module, Parameter, type ParameterOptions } from './module.js';
export {
  Adam,
  type AdamHyper,
  type AdamOptions,
  AdamW,
  type BaseHyper,
  type ClippedGrads,
  type CommonOptions,
  clipGradNorm,
  clipGradValue,
  type GroupSelector,
  Optimizer,
  type OptimizerState,
  type ParamGroup,
  SGD,
  type SGDHyper,
  type SGDOptions,
  type StepResult,
} from './optim.js';
export {
  type CheckpointParts,
  decodeSafetensors,
  encodeSafetensors,
  loadCheckpoint,
  loadModule,
  type SafetensorsContents,
  saveCheckpoint,
  saveModule,
} from './safetensors.js';
export {
  constantSchedule,
  cosineSchedule,
  linearSchedule,
  linearWarmup,
  productSchedule,
  type Schedule,
  stepSchedule,
} from './schedules.js';
export { SpectralNorm, type SpectralNormOptions } from './spectral.js';
export { descend, type ParamOwner, snapshot } from './step.js';
export { namedLeaves, type ParamTree, treeFromNamed } from './tree.js';

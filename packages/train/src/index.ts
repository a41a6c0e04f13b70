/**
 * `@joule/train`: the training loop for any joule `Estimator` — seeded mini-batches, evaluation,
 * progress, checkpoints through a storage adapter, exact resume and a NaN/Inf guard.
 *
 * @packageDocumentation
 */
export { decodeState, type EncodeStateOptions, encodeState } from './state.js';
export { type CheckpointStorage, type MemoryStorage, memoryStorage } from './storage.js';
export {
  type CheckpointRngStates,
  type DataWithContext,
  type EvalLog,
  type Evaluate,
  type Progress,
  readCheckpoint,
  type StepLog,
  type TrainCheckpoint,
  type TrainData,
  type TrainOptions,
  type TrainResult,
  train,
} from './train.js';

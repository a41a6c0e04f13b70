/**
 * The papers' synthetic data, deterministic given a seed and returned as tensors, with the exact
 * density as a `Distribution` where one exists: the 2-D toys, the R-NCE conditional pinwheel and
 * spiral, the CNCE 20-D mixture and 25-mode grid, the Jarzynski two-mode mixture; an IDX (MNIST)
 * decoder; seeded mini-batches. Node-only file loading lives in `@joule/datasets/node`.
 *
 * @packageDocumentation
 */
export {
  type ConditionalPinwheelOptions,
  type ConditionalSpiralOptions,
  type ConditionalToy,
  conditionalPinwheel,
  conditionalSpiral,
  sinusoidalEmbedding,
} from './conditional.js';
export {
  decodeIdx,
  type IdxArray,
  type IdxDataType,
  type IdxToTensorOptions,
  idxToTensor,
  isGzip,
  parseIdx,
} from './idx.js';
export { type Batch, type BatchOptions, miniBatches, permutation, randomBatch } from './loader.js';
export { type CnceMixtureOptions, cnceMixture, TwoModeMixture, type TwoModeMixtureOptions } from './mixtures.js';
export {
  Checkerboard,
  eightGaussians,
  gaussianGrid,
  moons,
  type PinwheelOptions,
  pinwheel,
  rings,
  type SpiralOptions,
  swissRoll,
  type Toy2d,
  type ToyName,
  toy2d,
  twoSpirals,
} from './toys.js';

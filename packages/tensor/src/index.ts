export {
  dispose,
  type FlatTree,
  flattenTree,
  grad,
  keep,
  noGrad,
  type TensorTree,
  type TreeLike,
  tidy,
  type ValueAndGrad,
  type VjpResult,
  valueAndGrad,
  vjp,
} from './autodiff.js';
export type { Backend, BackendData, BinaryOp, ReduceOp, UnaryOp } from './backend.js';
export { CpuBackend, type CpuBackendOptions, type MatmulKernel, type SiluKernels } from './cpu.js';
export {
  arange,
  eye,
  full,
  linspace,
  ones,
  onesLike,
  rand,
  randint,
  randn,
  tensor,
  zeros,
  zerosLike,
} from './creation.js';
export { getBackend, type MemoryInfo, memory, memoryGrowth, setBackend, setDebug } from './engine.js';
export { JouleError } from './errors.js';
export * from './ops.js';
export { Rng, type RngState } from './rng.js';
export {
  broadcastShapes,
  broadcastStrides,
  type Coalesced,
  coalesce,
  type Shape,
  sizeOf,
  stridesOf,
} from './shape.js';
export { type Axes, type NestedArray, Tensor, type TensorLike } from './tensor.js';

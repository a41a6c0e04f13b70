/**
 * Normalizing flows with exact log-densities: affine coupling (RealNVP), masked autoregressive
 * flows (MAF) and their inverses (IAF), ActNorm, elementwise affine maps and permutations,
 * conditional versions taking a context, and maximum-likelihood training. Every flow is a
 * `Distribution` from `@joule/core` with one-pass `sampleAndLogProb`.
 *
 * @packageDocumentation
 */
export { Bijector, type BijectorResult } from './bijector.js';
export {
  ConcatSquashField,
  type ConcatSquashFieldOptions,
  ContinuousFlow,
  type ContinuousFlowOptions,
  type VectorFieldModule,
} from './continuous.js';
export { AffineCoupling, type AffineCouplingOptions } from './coupling.js';
export { ActNorm, ElementwiseAffine } from './elementwise.js';
export { Flow, FlowDistribution, type FlowOptions, type FlowSamples, type PushResult } from './flow.js';
export { LULinear, Sigmoid } from './linear.js';
export { Inverse, Made, type MadeOptions, MaskedAutoregressive, type MaskedAutoregressiveOptions } from './made.js';
export { Permutation } from './permutation.js';
export {
  RationalQuadraticAutoregressive,
  type RationalQuadraticAutoregressiveOptions,
  RationalQuadraticCoupling,
  type RationalQuadraticCouplingOptions,
} from './spline.js';
export { type FitFlowOptions, type FitFlowResult, fitFlow } from './train.js';

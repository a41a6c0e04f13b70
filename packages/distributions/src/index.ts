/**
 * Probability distributions with exact log-densities and reparameterized sampling, all
 * implementing `Distribution` from `@joule/core`: Normal, DiagNormal, MultivariateNormal,
 * Uniform, Categorical, Mixture, GaussianMixture, Independent, GaussianKDE, and the `Conditional`
 * wrapper and `withLogProb` adapter for context-dependent distributions.
 *
 * @packageDocumentation
 */
export { Categorical, type CategoricalParams, PROBABILITY_TOLERANCE } from './categorical.js';
export { Conditional, withLogProb } from './conditional.js';
export { Independent } from './independent.js';
export { type Bandwidth, GaussianKDE, type GaussianKDEOptions } from './kde.js';
export { GaussianMixture, Mixture } from './mixture.js';
export { type CovarianceSpec, MultivariateNormal } from './mvn.js';
export { DiagNormal, Normal } from './normal.js';
export { Uniform } from './uniform.js';
export type { ParamLike } from './util.js';

/**
 * Gradient-based MCMC for energies, `p(x) ∝ exp(−E(x))`: unadjusted and Metropolis-adjusted
 * Langevin, HMC, NUTS, underdamped and annealed Langevin and gradient descent as `Kernel`s of
 * `@joule/core`, vectorized over a batch of chains `[n, d]`; a `sample` driver; step-size and
 * mass-matrix adaptation; a replay buffer for persistent chains; and diagnostics (ESS, split R̂).
 *
 * @packageDocumentation
 */
export {
  type AdaptedParams,
  DualAveraging,
  type DualAveragingOptions,
  RunningVariance,
  type WarmupOptions,
  type WarmupResult,
  warmup,
} from './adaptation.js';
export {
  acceptanceRate,
  autocovariance,
  type Chains,
  chainSeries,
  effectiveSampleSize,
  type Summary,
  splitRHat,
  summarize,
} from './diagnostics.js';
export { type HmcInfo, type HmcOptions, hmc, type NutsInfo, type NutsOptions, nuts } from './hmc.js';
export {
  type AnnealedInfo,
  type AnnealedLangevinOptions,
  type AnnealedState,
  annealedLangevin,
  type GradientDescentOptions,
  gradientDescent,
  type LangevinOptions,
  mala,
  malaLogAcceptance,
  ula,
} from './langevin.js';
export { type ChainInitializer, type ReplayBatch, ReplayBuffer, type ReplayBufferOptions } from './replay.js';
export { type SampleOptions, type SampleResult, sample } from './sample.js';
export type { ChainState, StepInfo, Target } from './state.js';
export { type UnderdampedLangevinOptions, type UnderdampedState, underdampedLangevin } from './underdamped.js';

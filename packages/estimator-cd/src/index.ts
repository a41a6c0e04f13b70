/**
 * Contrastive divergence for energy-based models: CD-k (chains restarted at the data) and
 * persistent CD (persistent chains initialised at data points, optionally moved in mini-batches
 * and restarted replay-buffer style), with any MCMC `Kernel` from `@joule/mcmc`.
 *
 * @packageDocumentation
 */
export {
  type ChainPositions,
  ContrastiveDivergence,
  type ContrastiveDivergenceOptions,
  type ContrastiveDivergenceSampleOptions,
  type ContrastiveDivergenceState,
  type ParametricEnergy,
} from './cd.js';

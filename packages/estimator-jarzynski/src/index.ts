/**
 * Jarzynski-weighted sequential Monte Carlo training of energy-based models (Carbone, Hua, Coste,
 * Vanden-Eijnden 2023): ULA walkers with exact log-weights (eqs. 5–6), the weighted cross-entropy
 * gradient (eq. 11), ESS-triggered resampling (eq. 13) and running `log Z` / cross-entropy
 * estimates (eq. 12); full-batch (Algorithm 1) and mini-batched walkers (Algorithm 2). Also the
 * paper's two-mode student energy (eq. 15) with its exact `log Z` and sampler.
 *
 * @packageDocumentation
 */
export {
  type MixtureParams,
  mixtureEnergy,
  mixtureLogZ,
  type ParametricEnergy,
  sampleMixture,
} from './energy.js';
export { JarzynskiEstimator, type JarzynskiOptions, type JarzynskiState } from './jarzynski.js';

/**
 * Honest evaluation for energy-based models and samplers: MMD, energy distance, sliced and exact
 * 1-D Wasserstein, the Bhattacharyya coefficient and KL / total variation on grids through a
 * Gaussian KDE (the R-NCE protocol), importance-sampled and annealed log-partition estimates,
 * normalized NLL, the CNCE paper's three measures and mode weights. Every formula is in the doc
 * comment of the function that computes it; sums are done in float64.
 *
 * @packageDocumentation
 */
export { type CnceMeasures, type CnceOptions, cnceMeasures } from './cnce.js';
export {
  energyDistance,
  type MmdOptions,
  medianHeuristic,
  mmd2,
  type PermutationTestOptions,
  type PermutationTestResult,
  permutationTest,
} from './discrepancy.js';
export {
  type BhattacharyyaOptions,
  bhattacharyya,
  bhattacharyyaOnGrid,
  densityOnGrid,
  type Grid2D,
  type GridDensity,
  type GridOptions,
  gridPoints,
  type KdeBandwidth,
  type KdeGridOptions,
  kdeOnGrid,
  klOnGrid,
  rnceGrid,
  scottFactor,
  silvermanFactor,
  totalVariationOnGrid,
} from './grid.js';
export {
  type AisOptions,
  type AisResult,
  type AnnealingSchedule,
  annealedImportanceSampling,
  annealingBetas,
  type ChainState,
  type ImportanceOptions,
  importanceLogZ,
  type LogZEstimate,
  logZFromLogWeights,
  normalizedNll,
} from './logz.js';
export {
  bhattacharyyaMetric,
  energyDistanceMetric,
  mmdMetric,
  type ReferenceSampling,
  slicedWassersteinMetric,
} from './metric.js';
export { type ModeWeightOptions, type ModeWeights, modeWeights } from './modes.js';
export { type SlicedWassersteinOptions, slicedWasserstein, wasserstein1d } from './wasserstein.js';

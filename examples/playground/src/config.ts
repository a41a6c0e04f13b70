/** The choices the page offers; kept free of heavy imports so the page bundle stays small. */
import type { ToyName } from '@joule/datasets';

/** The estimators the page offers. */
export type EstimatorName = 'rnce' | 'cd' | 'jarzynski';

/** The estimators with the label the page shows and the quantity plotted as the loss. */
export const ESTIMATORS: readonly { name: EstimatorName; label: string; lossKey: string }[] = [
  { name: 'rnce', label: 'R-NCE (Gaussian negatives)', lossKey: 'loss' },
  { name: 'cd', label: 'Persistent contrastive divergence', lossKey: 'loss' },
  { name: 'jarzynski', label: 'Jarzynski-weighted SMC', lossKey: 'crossEntropy' },
];

/** The 2-D toys the page offers. */
export const DATASETS: readonly ToyName[] = [
  'eightGaussians',
  'pinwheel',
  'moons',
  'rings',
  'twoSpirals',
  'checkerboard',
  'swissRoll',
  'gaussianGrid',
];

/** The square `[-EXTENT, EXTENT]²` the page draws. */
export const EXTENT = 4;

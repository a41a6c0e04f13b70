/** Messages between the page and the training worker. */
import type { ToyName } from '@joule/datasets';
import type { BackendName } from './backends.js';
import type { EstimatorName } from './config.js';

/** Page → worker: the one run this worker trains (the page terminates the worker to stop it). */
export interface Command {
  dataset: ToyName;
  estimator: EstimatorName;
  backend: BackendName;
  seed: number;
  /** Hidden units per layer of the MLP energy. */
  width: number;
  /** Data points per step. */
  batchSize: number;
}

/** Worker → page. */
export type Report =
  /** Training started on this backend (the name `getBackend()` reports). */
  | { type: 'started'; backend: string }
  /** Losses of the steps since the last report, and the steps per second of wall time since then. */
  | { type: 'progress'; step: number; losses: number[]; stepsPerSecond: number }
  /** A fresh picture: energies on a `resolution²` grid and model samples (flat x, y pairs). */
  | {
      type: 'frame';
      step: number;
      resolution: number;
      energies: Float32Array;
      samples: Float32Array;
      data: Float32Array;
    }
  | { type: 'error'; message: string };

/**
 * The training side of the playground: builds one of the estimators on a 2-D toy with an MLP
 * energy, takes steps, and reads back what the page draws (the energy on a grid, model samples).
 * It runs wherever `@joule/*` runs: in the page's Web Worker, and in Node for the unit tests.
 */
import { randomBatch, type ToyName, toy2d } from '@joule/datasets';
import { DiagNormal } from '@joule/distributions';
import { ContrastiveDivergence } from '@joule/estimator-cd';
import { JarzynskiEstimator } from '@joule/estimator-jarzynski';
import { RnceEstimator } from '@joule/estimator-rnce';
import { type ChainState, ula } from '@joule/mcmc';
import { Adam, MLP, type ParamTree } from '@joule/nn';
import { noGrad, Rng, randn, type Tensor, tensor, tidy } from '@joule/tensor';
import { DATASETS, ESTIMATORS, type EstimatorName, EXTENT } from './config.js';

/** What a training run is made of. */
export interface TrainerConfig {
  dataset: ToyName;
  estimator: EstimatorName;
  seed: number;
  /** Data points per step. */
  batchSize?: number;
  /** Hidden width of the MLP energy. */
  width?: number;
  /** Adam/SGD learning rate. */
  lr?: number;
}

/**
 * Standard deviation of the Gaussian confinement `|x|² / (2 σ²)` added to the MLP. With the MLP's
 * last layer initialised at zero the initial model is exactly `N(0, σ² I)`, so Jarzynski's walkers
 * start as exact draws from `ρ_θ₀` and every sampler starts from a proper density.
 */
export const CONFINEMENT_STD = 3;

const DATA_POINTS = 4096;

/** One live training run. */
export class Trainer {
  /** The configuration this run was built from. */
  readonly config: Required<TrainerConfig>;
  /** The training points, `[DATA_POINTS, 2]`. */
  readonly data: Tensor;
  /** Steps taken so far. */
  steps = 0;
  private readonly rng: Rng;
  private readonly mlp: MLP;
  private readonly estimator:
    | RnceEstimator
    | ContrastiveDivergence<ParamTree, ChainState>
    | JarzynskiEstimator<ParamTree>;
  private readonly lossKey: string;

  constructor(config: TrainerConfig) {
    this.config = { batchSize: 256, width: 64, lr: 3e-3, ...config };
    const { dataset, estimator, seed, width, lr } = this.config;
    const entry = ESTIMATORS.find((e) => e.name === estimator);
    if (!entry) throw new Error(`unknown estimator "${estimator}"`);
    if (!DATASETS.includes(dataset)) throw new Error(`unknown dataset "${dataset}"`);
    this.lossKey = entry.lossKey;
    this.rng = new Rng(seed);
    this.data = toy2d(dataset).sample(DATA_POINTS, this.rng.split());
    this.mlp = new MLP(2, 1, { rng: this.rng.split(), width, depth: 3, activation: 'silu', zeroInitLast: true });
    const mlp = this.mlp;
    const energy = (p: ParamTree, x: Tensor): Tensor =>
      mlp
        .apply(p, x)
        .sum(1)
        .add(
          x
            .square()
            .sum(1)
            .mul(0.5 / CONFINEMENT_STD ** 2),
        );
    const params = mlp.parameters();
    switch (estimator) {
      case 'rnce':
        this.estimator = new RnceEstimator(
          { parameters: () => mlp.parameters(), apply: (p, y) => energy(p, y), load: (p) => mlp.load(p) },
          {
            negatives: new DiagNormal([0, 0], [CONFINEMENT_STD / 1.5, CONFINEMENT_STD / 1.5]),
            k: 15,
            lr,
            sampling: { steps: 40, stepSize: 0.01 },
          },
        );
        break;
      case 'cd':
        this.estimator = new ContrastiveDivergence({
          energy,
          params,
          optimizer: new Adam(params, { lr }),
          kernel: ula({ stepSize: 0.01 }),
          mcmcSteps: 10,
          mode: 'pcd',
          numChains: 1024,
          chainBatch: 256,
          reinitProb: 0.02,
        });
        break;
      case 'jarzynski':
        this.estimator = new JarzynskiEstimator({
          energy,
          params,
          optimizer: new Adam(params, { lr }),
          walkers: randn([1024, 2], this.rng.split(), 0, CONFINEMENT_STD),
          stepSize: 0.01,
          walkerBatch: 256,
        });
        break;
    }
  }

  /** One training step on a fresh random batch; returns the plotted loss. */
  async step(): Promise<number> {
    const { x: batch } = randomBatch(this.data, this.rng, { batchSize: this.config.batchSize });
    const info = await this.estimator.step(batch, this.rng);
    batch.dispose();
    this.steps += 1;
    const loss = info[this.lossKey];
    if (loss === undefined || !Number.isFinite(loss)) {
      throw new Error(`${this.lossKey} went non-finite (${loss}) at step ${this.steps}`);
    }
    return loss;
  }

  /** The current energy of points `[n, 2]`, `[n]`. */
  energy(x: Tensor): Tensor {
    return this.estimator.energy(x);
  }

  /**
   * The energy on a `resolution × resolution` grid over `[-EXTENT, EXTENT]²`, row 0 at the top
   * (y = +EXTENT), as a flat row-major array.
   */
  async energyGrid(resolution: number): Promise<Float32Array> {
    const grid = gridPoints(resolution);
    const e = noGrad(() => tidy(() => this.energy(grid)));
    grid.dispose();
    const values = Float32Array.from(await e.data());
    e.dispose();
    return values;
  }

  /**
   * `n` model samples, flat `[x0, y0, x1, y1, …]`: the estimator's own sampler, or before the first
   * step exact draws of the initial model `N(0, σ² I)` (persistent CD has no chains until then).
   */
  async samples(n: number): Promise<Float32Array> {
    const x =
      this.steps === 0 ? randn([n, 2], this.rng, 0, CONFINEMENT_STD) : await this.estimator.sample!(n, this.rng);
    const values = Float32Array.from(await x.data());
    x.dispose();
    return values;
  }
}

/** Cell centres of the drawn grid, `[resolution², 2]`, row-major from the top-left corner. */
export function gridPoints(resolution: number): Tensor {
  const pts = new Float32Array(resolution * resolution * 2);
  const cell = (2 * EXTENT) / resolution;
  for (let row = 0; row < resolution; row++) {
    for (let col = 0; col < resolution; col++) {
      const i = row * resolution + col;
      pts[2 * i] = -EXTENT + (col + 0.5) * cell;
      pts[2 * i + 1] = EXTENT - (row + 0.5) * cell;
    }
  }
  return tensor(pts, [resolution * resolution, 2]);
}

import { type EnergyFn, type Estimator, JouleError } from '@joule/core';
import {
  Adam,
  assertEnergyModel,
  type EnergyModel,
  energyVector,
  type OptimizerState,
  type ParamTree,
  snapshot,
} from '@joule/nn';
import { noGrad, type Rng, randn, type Tensor, tensor, valueAndGrad } from '@joule/tensor';
import { type LangevinSettings, langevinChain, resolveLangevin } from './estimator.js';
import { checkBatch, checkDensity, type TrainableDensity } from './models.js';

/**
 * Options of {@link FlowMaximumLikelihood}.
 *
 * @example
 * ```ts
 * const options: FlowMaximumLikelihoodOptions = { lr: 1e-3 };
 * ```
 */
export interface FlowMaximumLikelihoodOptions {
  /** Adam learning rate (default 1e-3, as the paper's NF baseline). */
  lr?: number;
  /** Adam betas (default `[0, 0.9]`). */
  betas?: [number, number];
}

/**
 * The paper's "pure NF" baseline: the flow trained by maximum likelihood alone (forward KL,
 * `min −mean log p_θ(x)`), with the same optimizer as the Jeffreys estimator. `energy` is
 * `−log p_θ`. `step` returns `nll`.
 *
 * @example
 * ```ts
 * import { FlowMaximumLikelihood } from '@joule/estimator-jeffreys';
 *
 * const nf = new FlowMaximumLikelihood(flow, { lr: 1e-3 });
 * const { nll } = await nf.step(data, rng);
 * ```
 */
export class FlowMaximumLikelihood implements Estimator<Tensor> {
  /** `'flow-mle'`. */
  readonly name = 'flow-mle';
  /** `−log p_θ(x)`. */
  readonly energy: EnergyFn;
  /** The flow. */
  readonly flow: TrainableDensity;
  private readonly opt: Adam;
  private iteration = 0;

  /** Maximum likelihood for `flow`. */
  constructor(flow: TrainableDensity, options: FlowMaximumLikelihoodOptions = {}) {
    const op = 'FlowMaximumLikelihood';
    checkDensity(op, 'flow', flow);
    const lr = options?.lr ?? 1e-3;
    if (!(typeof lr === 'number' && lr > 0 && Number.isFinite(lr)))
      throw new JouleError(op, 'options.lr', 'a finite number > 0', String(lr));
    this.flow = flow;
    this.opt = new Adam(flow.parameters(), { lr, betas: options?.betas ?? [0, 0.9] });
    this.energy = (x: Tensor) => this.flow.apply(this.flow.parameters(), x).neg();
  }

  /**
   * One Adam step on the NLL of the batch `[n, d]`.
   *
   * @example
   * ```ts
   * const { nll } = await nf.step(data, rng);
   * ```
   */
  async step(batch: Tensor, _rng: Rng): Promise<Record<string, number>> {
    const op = 'FlowMaximumLikelihood.step';
    checkBatch(op, batch);
    const { value, grad } = valueAndGrad((p: ParamTree) => this.flow.apply(p, batch).mean().neg())(
      this.flow.parameters(),
    );
    const nll = value.dataSync()[0] as number;
    if (!Number.isFinite(nll))
      throw new JouleError(op, 'nll', `a finite value at iteration ${this.iteration}`, String(nll));
    this.flow.load(this.opt.step(this.flow.parameters(), grad));
    this.iteration++;
    return { nll };
  }

  /**
   * `n` flow samples.
   *
   * @example
   * ```ts
   * const x = await nf.sample(1000, rng);
   * ```
   */
  async sample(n: number, rng: Rng): Promise<Tensor> {
    if (!Number.isInteger(n) || n <= 0)
      throw new JouleError('FlowMaximumLikelihood.sample', 'n', 'a positive integer', String(n));
    return noGrad(() => this.flow.sampleAndLogProb(n, rng).x);
  }

  /**
   * Parameters, optimizer state and iteration.
   *
   * @example
   * ```ts
   * const saved = nf.state();
   * ```
   */
  state(): FlowMaximumLikelihoodState {
    return { iteration: this.iteration, params: snapshot(this.flow.parameters()), optimizer: this.opt.state() };
  }

  /**
   * Restores {@link FlowMaximumLikelihood.state}.
   *
   * @example
   * ```ts
   * nf.load(saved);
   * ```
   */
  load(state: object): void {
    const s = state as Partial<FlowMaximumLikelihoodState> | null;
    if (!s?.params || !s.optimizer || !Number.isInteger(s.iteration))
      throw new JouleError('FlowMaximumLikelihood.load', 'state', 'a FlowMaximumLikelihood state', String(state));
    this.flow.load(s.params);
    this.opt.load(s.optimizer);
    this.iteration = s.iteration as number;
  }
}

/**
 * What {@link FlowMaximumLikelihood.state} returns.
 *
 * @example
 * ```ts
 * const saved: FlowMaximumLikelihoodState = nf.state();
 * ```
 */
export type FlowMaximumLikelihoodState = {
  /** Iterations taken. */
  iteration: number;
  /** The flow's parameters. */
  params: ParamTree;
  /** The Adam state. */
  optimizer: OptimizerState;
};

/**
 * What {@link EnergyMaximumLikelihood.state} returns.
 *
 * @example
 * ```ts
 * const saved: EnergyMaximumLikelihoodState = ebmAlone.state();
 * ```
 */
export type EnergyMaximumLikelihoodState = {
  /** Iterations taken. */
  iteration: number;
  /** The EBM's parameters. */
  params: ParamTree;
  /** The Adam state. */
  optimizer: OptimizerState;
  /** The persistent chains, row-major `[chains, d]` (empty before the first step). */
  chains: number[];
  /** The Gaussian fitted to the first batch that restarts chains (null before the first step). */
  fit: {
    /** Per-coordinate mean. */
    mean: number[];
    /** Per-coordinate standard deviation. */
    std: number[];
  } | null;
};

/**
 * Options of {@link EnergyMaximumLikelihood}.
 *
 * @example
 * ```ts
 * const options: EnergyMaximumLikelihoodOptions = { chains: 512, langevin: { steps: 20, stepSize: 1e-3 } };
 * ```
 */
export interface EnergyMaximumLikelihoodOptions {
  /** Adam learning rate (default 1e-4, the paper's EBM rate). */
  lr?: number;
  /** Adam betas (default `[0, 0.9]`). */
  betas?: [number, number];
  /** Number of persistent chains (default: the first batch's size). */
  chains?: number;
  /** Probability of restarting a chain from the Gaussian fitted to the batch each step (default 0.05). */
  reinit?: number;
  /** ULA steps per iteration (default 20 steps of 1e-3). */
  langevin?: LangevinSettings;
}

/**
 * The "EBM trained alone" baseline: maximum likelihood for `q_ψ ∝ exp(−E_ψ)` by eq. 7,
 * `∇ = mean ∇E(x) − mean ∇E(z)`, with the negatives `z` from persistent short-run ULA chains
 * (PCD), restarted at random from a Gaussian fitted to the data. `step` returns `loss`
 * (`mean E(x) − mean E(z)`).
 *
 * @example
 * ```ts
 * import { EnergyMaximumLikelihood } from '@joule/estimator-jeffreys';
 *
 * const ebmAlone = new EnergyMaximumLikelihood(ebm, { langevin: { steps: 20, stepSize: 1e-3 } });
 * const { loss } = await ebmAlone.step(data, rng);
 * ```
 */
export class EnergyMaximumLikelihood implements Estimator<Tensor> {
  /** `'ebm-pcd'`. */
  readonly name = 'ebm-pcd';
  /** `E_ψ`. */
  readonly energy: EnergyFn;
  /** The EBM. */
  readonly energyModel: EnergyModel;
  private readonly opt: Adam;
  private readonly langevin: Required<LangevinSettings>;
  private readonly chainCount: number | undefined;
  private readonly reinit: number;
  private chains: Float32Array | null = null;
  private fit: { mean: number[]; std: number[] } | null = null;
  private iteration = 0;

  /** PCD maximum likelihood for `energyModel`. */
  constructor(energyModel: EnergyModel, options: EnergyMaximumLikelihoodOptions = {}) {
    const op = 'EnergyMaximumLikelihood';
    assertEnergyModel(op, 'energyModel', energyModel);
    const lr = options?.lr ?? 1e-4;
    if (!(typeof lr === 'number' && lr > 0 && Number.isFinite(lr)))
      throw new JouleError(op, 'options.lr', 'a finite number > 0', String(lr));
    if (options.chains !== undefined && (!Number.isInteger(options.chains) || options.chains <= 0))
      throw new JouleError(op, 'options.chains', 'a positive integer', String(options.chains));
    const reinit = options.reinit ?? 0.05;
    if (!(typeof reinit === 'number' && reinit >= 0 && reinit <= 1))
      throw new JouleError(op, 'options.reinit', 'a number in [0, 1]', String(reinit));
    this.energyModel = energyModel;
    this.opt = new Adam(energyModel.parameters(), { lr, betas: options.betas ?? [0, 0.9] });
    this.langevin = resolveLangevin(op, options.langevin);
    this.chainCount = options.chains;
    this.reinit = reinit;
    this.energy = (x: Tensor) => energyVector(this.energyModel.apply(this.energyModel.parameters(), x));
  }

  private fresh(k: number, rng: Rng): Float32Array {
    const { mean, std } = this.fit as { mean: number[]; std: number[] };
    const d = mean.length;
    const z = randn([k, d], rng).dataSync();
    const out = new Float32Array(k * d);
    for (let i = 0; i < k * d; i++) out[i] = (mean[i % d] as number) + (std[i % d] as number) * (z[i] as number);
    return out;
  }

  /**
   * One PCD step on the batch `[n, d]`.
   *
   * @example
   * ```ts
   * const { loss } = await ebmAlone.step(data, rng);
   * ```
   */
  async step(batch: Tensor, rng: Rng): Promise<Record<string, number>> {
    const op = 'EnergyMaximumLikelihood.step';
    checkBatch(op, batch, this.fit ? this.fit.mean.length : undefined);
    const [n, d] = batch.shape as [number, number];
    if (!this.fit) {
      const v = batch.dataSync();
      const mean = Array.from({ length: d }, (_, j) => {
        let s = 0;
        for (let i = 0; i < n; i++) s += v[i * d + j] as number;
        return s / n;
      });
      const std = mean.map((m, j) => {
        let s = 0;
        for (let i = 0; i < n; i++) s += ((v[i * d + j] as number) - m) ** 2;
        return Math.sqrt(s / n);
      });
      this.fit = { mean, std };
    }
    const k = this.chainCount ?? n;
    if (!this.chains) this.chains = this.fresh(k, rng);
    const u = rng.uniform(k);
    const restart = this.fresh(k, rng);
    for (let i = 0; i < k; i++) {
      if ((u[i] as number) < this.reinit) this.chains.set(restart.subarray(i * d, (i + 1) * d), i * d);
    }
    const z = langevinChain(this.energy, tensor(this.chains, [k, d]), rng, this.langevin);
    this.chains = Float32Array.from(z.dataSync());
    const { value, grad } = valueAndGrad((p: ParamTree) => {
      const e = (x: Tensor) => energyVector(this.energyModel.apply(p, x)).mean();
      return e(batch).sub(e(z));
    })(this.energyModel.parameters());
    const loss = value.dataSync()[0] as number;
    if (!Number.isFinite(loss))
      throw new JouleError(op, 'loss', `a finite value at iteration ${this.iteration}`, String(loss));
    this.energyModel.load(this.opt.step(this.energyModel.parameters(), grad));
    this.iteration++;
    return { loss };
  }

  /**
   * `n` of the persistent chains' current points (drawn with replacement).
   *
   * @example
   * ```ts
   * const x = await ebmAlone.sample(1000, rng);
   * ```
   */
  async sample(n: number, rng: Rng): Promise<Tensor> {
    const op = 'EnergyMaximumLikelihood.sample';
    if (!Number.isInteger(n) || n <= 0) throw new JouleError(op, 'n', 'a positive integer', String(n));
    if (!this.chains || !this.fit)
      throw new JouleError(op, 'this', 'an estimator after its first step', 'no chains yet');
    const d = this.fit.mean.length;
    const k = this.chains.length / d;
    const u = rng.uniform(n);
    const out = new Float32Array(n * d);
    for (let i = 0; i < n; i++) {
      const j = Math.min(k - 1, Math.floor((u[i] as number) * k));
      out.set(this.chains.subarray(j * d, (j + 1) * d), i * d);
    }
    return tensor(out, [n, d]);
  }

  /**
   * Parameters, optimizer state, chains and iteration.
   *
   * @example
   * ```ts
   * const saved = ebmAlone.state();
   * ```
   */
  state(): EnergyMaximumLikelihoodState {
    return {
      iteration: this.iteration,
      params: snapshot(this.energyModel.parameters()),
      optimizer: this.opt.state(),
      chains: this.chains ? Array.from(this.chains) : [],
      fit: this.fit,
    };
  }

  /**
   * Restores {@link EnergyMaximumLikelihood.state}.
   *
   * @example
   * ```ts
   * ebmAlone.load(saved);
   * ```
   */
  load(state: object): void {
    const s = state as Partial<EnergyMaximumLikelihoodState> | null;
    if (!s?.params || !s.optimizer || !Array.isArray(s.chains) || !Number.isInteger(s.iteration))
      throw new JouleError('EnergyMaximumLikelihood.load', 'state', 'an EnergyMaximumLikelihood state', String(state));
    this.energyModel.load(s.params);
    this.opt.load(s.optimizer);
    this.chains = s.chains.length > 0 ? Float32Array.from(s.chains) : null;
    this.fit = s.fit ?? null;
    this.iteration = s.iteration as number;
  }
}

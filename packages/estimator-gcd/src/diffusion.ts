import { assertFinite, assertPositiveInt, JouleError } from '@joule/core';
import type { BaseHyper, Optimizer, OptimizerState, ParamTree } from '@joule/nn';
import { dispose, noGrad, type Rng, randn, type Tensor, tensor, tidy, valueAndGrad } from '@joule/tensor';
import { Ownership, snapshot } from './ownership.js';

/**
 * A time-conditioned network `(params, x, t) => [n, d]` with `x` `[n, d]` and `t` `[n, 1]` holding
 * the paper's step index (0 = the noise side, `T − 1` = the last step). Used both as a policy mean
 * `μ_φ(x_t, t)` and as a DDPM noise predictor `ε_φ(x_t, t)`.
 *
 * @example
 * ```ts
 * const net: StepFn<ParamTree> = (p, x, t) => mlp.apply(p, concat([x, t], 1));
 * ```
 */
export type StepFn<P extends ParamTree = ParamTree> = (params: P, x: Tensor, t: Tensor) => Tensor;

/**
 * The linear variance schedule `β = linspace(start, end, steps)`, ordered from the data side to the
 * noise side (DDPM order). The GCD paper uses 1e-5 … 1e-2 with `steps = 5`.
 *
 * @example
 * ```ts
 * linearBetas(5); // [1e-5, 2.5075e-3, 5.005e-3, 7.5025e-3, 1e-2]
 * ```
 */
export function linearBetas(steps: number, start = 1e-5, end = 1e-2): number[] {
  assertPositiveInt('linearBetas', 'steps', steps);
  if (!(start > 0 && end < 1 && start <= end))
    throw new JouleError('linearBetas', 'start, end', '0 < start ≤ end < 1', `${start}, ${end}`);
  if (steps === 1) return [end];
  return Array.from({ length: steps }, (_, i) => start + ((end - start) * i) / (steps - 1));
}

/**
 * A few-step Gaussian diffusion in the paper's (RL) time direction: `x_0 ~ N(0, I)` is noise and
 * step `t = 0 … T − 1` draws `x_{t+1} ~ N(μ(x_t, t), σ_t² I)` with `σ_t² = β_{T−1−t}` (the largest
 * variance on the noise side). Noise is added at every step, the last one included, so each
 * transition has a density. Also holds the DDPM forward process for the ε-parameterisation.
 *
 * @example
 * ```ts
 * const diffusion = new GaussianDiffusion(linearBetas(5));
 * const traj = diffusion.trajectory(policy, params, 256, 2, new Rng(0)); // T + 1 tensors [256, 2]
 * ```
 */
export class GaussianDiffusion {
  /** Number of steps `T`. */
  readonly steps: number;
  /** `β_s`, DDPM order (index 0 on the data side). */
  readonly betas: readonly number[];
  /** `ᾱ_s = Π_{j ≤ s} (1 − β_j)`, DDPM order. */
  readonly alphaBars: readonly number[];

  /** A diffusion with the given `β` (DDPM order, each in (0, 1)). */
  constructor(betas: readonly number[]) {
    if (!Array.isArray(betas) || betas.length === 0)
      throw new JouleError('GaussianDiffusion', 'betas', 'a non-empty array of numbers in (0, 1)', String(betas));
    betas.forEach((b, i) => {
      if (!(b > 0 && b < 1)) throw new JouleError('GaussianDiffusion', `betas[${i}]`, 'a number in (0, 1)', String(b));
    });
    this.steps = betas.length;
    this.betas = [...betas];
    let a = 1;
    this.alphaBars = betas.map((b) => {
      a *= 1 - b;
      return a;
    });
  }

  /**
   * `σ_t²` of the paper's step `t` (`β_{T−1−t}`).
   *
   * @example
   * ```ts
   * new GaussianDiffusion(linearBetas(5)).variance(0); // 0.01
   * ```
   */
  variance(t: number): number {
    this.checkStep('GaussianDiffusion.variance', t);
    return this.betas[this.steps - 1 - t];
  }

  /**
   * The `[n, 1]` column holding the step index `t`, the network's time input.
   *
   * @example
   * ```ts
   * diffusion.timeColumn(3, 1); // [[1], [1], [1]]
   * ```
   */
  timeColumn(n: number, t: number): Tensor {
    return tensor(new Float32Array(n).fill(t), [n, 1]);
  }

  /**
   * Turns a noise predictor `ε_φ` into a policy mean (DDPM, Ho et al. 2020 eq. 11):
   * `μ(x, t) = (x − β_s/√(1 − ᾱ_s) · ε_φ(x, t)) / √(1 − β_s)` with DDPM index `s = T − t`.
   *
   * @example
   * ```ts
   * const mean = diffusion.epsilonMean(epsNet);
   * ```
   */
  epsilonMean<P extends ParamTree>(epsNet: StepFn<P>): StepFn<P> {
    return (params, x, t) => {
      const ts = t.dataSync();
      const n = ts.length;
      const scale = new Float32Array(n);
      const coef = new Float32Array(n);
      for (let i = 0; i < n; i++) {
        const s = this.steps - 1 - ts[i];
        const b = this.betas[s];
        scale[i] = 1 / Math.sqrt(1 - b);
        coef[i] = b / Math.sqrt(1 - this.alphaBars[s]);
      }
      const eps = epsNet(params, x, t);
      return x.sub(eps.mul(tensor(coef, [n, 1]))).mul(tensor(scale, [n, 1]));
    };
  }

  /**
   * Draws `n` trajectories `[x_0, …, x_T]` (each `[n, dim]`) of the policy with mean `mean` at
   * `params`; no gradient is recorded.
   *
   * @example
   * ```ts
   * const traj = diffusion.trajectory(mean, params, 128, 2, rng);
   * const samples = traj[traj.length - 1];
   * ```
   */
  trajectory<P extends ParamTree>(mean: StepFn<P>, params: P, n: number, dim: number, rng: Rng): Tensor[] {
    assertPositiveInt('GaussianDiffusion.trajectory', 'n', n);
    assertPositiveInt('GaussianDiffusion.trajectory', 'dim', dim);
    return noGrad(() => {
      let x = randn([n, dim], rng);
      const states = [x];
      for (let t = 0; t < this.steps; t++) {
        const mu = mean(params, x, this.timeColumn(n, t));
        x = mu.add(randn([n, dim], rng, 0, Math.sqrt(this.variance(t))));
        states.push(x);
      }
      return states;
    });
  }

  /**
   * `log π(x_{t+1} | x_t, t) = −‖x_{t+1} − μ‖²/(2σ_t²) − (d/2)·log(2πσ_t²)`, summed over dimensions, `[n]`.
   *
   * @example
   * ```ts
   * const lp = diffusion.transitionLogProb(mean, params, traj[0], traj[1], 0); // [n]
   * ```
   */
  transitionLogProb<P extends ParamTree>(mean: StepFn<P>, params: P, x: Tensor, next: Tensor, t: number): Tensor {
    this.checkStep('GaussianDiffusion.transitionLogProb', t);
    const v = this.variance(t);
    const [n, d] = x.shape;
    const mu = mean(params, x, this.timeColumn(n, t));
    return next
      .sub(mu)
      .square()
      .sum(1)
      .mul(-0.5 / v)
      .sub(0.5 * d * Math.log(2 * Math.PI * v));
  }

  /**
   * The DDPM `L_simple` loss `E‖ε − ε_φ(√ᾱ_s x + √(1 − ᾱ_s) ε, t)‖²` (mean over the batch and the
   * dimensions), with `s` uniform in `1 … T` and `t = T − s` passed to the network.
   *
   * @example
   * ```ts
   * const { value, grad } = valueAndGrad((p) => diffusion.ddpmLoss(epsNet, p, batch, rng))(params);
   * ```
   */
  ddpmLoss<P extends ParamTree>(epsNet: StepFn<P>, params: P, x0: Tensor, rng: Rng): Tensor {
    if (x0.rank !== 2) throw new JouleError('GaussianDiffusion.ddpmLoss', 'x0', 'shape [n, d]', `[${x0.shape}]`);
    const [n, d] = x0.shape;
    const u = rng.uniform(n);
    const t = new Float32Array(n);
    const a = new Float32Array(n);
    const b = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const s = Math.min(this.steps - 1, Math.floor(u[i] * this.steps));
      t[i] = this.steps - 1 - s;
      a[i] = Math.sqrt(this.alphaBars[s]);
      b[i] = Math.sqrt(1 - this.alphaBars[s]);
    }
    const eps = randn([n, d], rng);
    const xs = x0.mul(tensor(a, [n, 1])).add(eps.mul(tensor(b, [n, 1])));
    return epsNet(params, xs, tensor(t, [n, 1]))
      .sub(eps)
      .square()
      .mean();
  }

  private checkStep(op: string, t: number): void {
    if (!Number.isInteger(t) || t < 0 || t >= this.steps)
      throw new JouleError(op, 't', `an integer in [0, ${this.steps - 1}]`, String(t));
  }
}

/**
 * Options of {@link DDPMTrainer}.
 *
 * @example
 * ```ts
 * const options: DDPMTrainerOptions<ParamTree> = { diffusion, epsNet, params, optimizer: new Adam(params, { lr: 1e-3 }) };
 * ```
 */
export interface DDPMTrainerOptions<P extends ParamTree> {
  /** The schedule. */
  diffusion: GaussianDiffusion;
  /** The noise predictor `ε_φ(x, t)`. */
  epsNet: StepFn<P>;
  /** Its initial parameters. */
  params: P;
  /** The optimizer of `params`. */
  optimizer: Optimizer<BaseHyper>;
}

/**
 * The plain few-step DDPM baseline: trains `ε_φ` by `L_simple` and samples by ancestral sampling
 * with `σ_t² = β`. Its `policyMean` is the starting point of GCD fine-tuning (GCD-FT).
 *
 * @example
 * ```ts
 * const ddpm = new DDPMTrainer({ diffusion, epsNet, params, optimizer });
 * for (let i = 0; i < 1000; i++) await ddpm.step(batch, rng);
 * const x = await ddpm.sample(500, rng);
 * ```
 */
export class DDPMTrainer<P extends ParamTree> {
  /** The schedule. */
  readonly diffusion: GaussianDiffusion;
  /** The policy mean built from `ε_φ`. */
  readonly policyMean: StepFn<P>;
  private readonly epsNet: StepFn<P>;
  private readonly optimizer: Optimizer<BaseHyper>;
  private phi: P;
  private dim = 0;
  private readonly ownership = new Ownership();

  /** Builds the trainer. */
  constructor(options: DDPMTrainerOptions<P>) {
    if (!(options?.diffusion instanceof GaussianDiffusion))
      throw new JouleError('DDPMTrainer', 'options.diffusion', 'a GaussianDiffusion', String(options?.diffusion));
    if (typeof options.epsNet !== 'function')
      throw new JouleError(
        'DDPMTrainer',
        'options.epsNet',
        'a function (params, x, t) => [n, d]',
        typeof options.epsNet,
      );
    this.diffusion = options.diffusion;
    this.epsNet = options.epsNet;
    this.policyMean = options.diffusion.epsilonMean(options.epsNet);
    this.phi = options.params;
    this.optimizer = options.optimizer;
  }

  /**
   * The current parameters of `ε_φ`.
   *
   * @example
   * ```ts
   * const p = ddpm.params;
   * ```
   */
  get params(): P {
    return this.phi;
  }

  /**
   * One Adam/SGD step on `L_simple` for the batch `[n, d]`; returns `{ loss }`.
   *
   * @example
   * ```ts
   * const { loss } = await ddpm.step(batch, rng);
   * ```
   */
  async step(batch: Tensor, rng: Rng): Promise<Record<string, number>> {
    if (batch?.rank !== 2)
      throw new JouleError('DDPMTrainer.step', 'batch', 'a tensor [n, d]', batch ? `[${batch.shape}]` : String(batch));
    this.dim = batch.shape[1];
    const { value, grad } = tidy(() =>
      valueAndGrad((p: P) => this.diffusion.ddpmLoss(this.epsNet, p, batch, rng))(this.phi),
    );
    let loss: number;
    try {
      loss = (await value.data())[0];
    } finally {
      value.dispose();
    }
    if (!Number.isFinite(loss)) dispose(grad);
    assertFinite('DDPMTrainer.step', 'loss', loss);
    const previous = this.phi;
    this.phi = tidy(() => this.optimizer.step(previous, grad as ParamTree) as P);
    dispose(grad);
    this.ownership.adopt(this.phi, previous);
    this.ownership.retire(previous, this.phi);
    return { loss };
  }

  /**
   * `n` samples `[n, d]` by ancestral sampling (`d` from the last batch, or `dim`).
   *
   * @example
   * ```ts
   * const x = await ddpm.sample(1000, rng);
   * ```
   */
  async sample(n: number, rng: Rng, dim = this.dim): Promise<Tensor> {
    if (!(dim > 0))
      throw new JouleError('DDPMTrainer.sample', 'dim', 'a positive dimension (train first)', String(dim));
    return tidy(() => {
      const traj = this.diffusion.trajectory(this.policyMean, this.phi, n, dim, rng);
      return traj[traj.length - 1];
    });
  }

  /**
   * `{ params, optimizer }` for {@link DDPMTrainer.load}; the parameter tensors are new handles on the
   * current values that outlive later steps (dispose them when done).
   *
   * @example
   * ```ts
   * const saved = ddpm.state();
   * ```
   */
  state(): {
    /** The sampler network's parameters. */
    params: P;
    /** The optimizer's state. */
    optimizer: OptimizerState;
    /** The data dimension. */
    dim: number;
  } {
    return { params: snapshot(this.phi), optimizer: this.optimizer.state(), dim: this.dim };
  }

  /**
   * Restores what {@link DDPMTrainer.state} returned.
   *
   * @example
   * ```ts
   * ddpm.load(saved);
   * ```
   */
  load(state: { params: P; optimizer: OptimizerState; dim: number }): void {
    this.ownership.retire(this.phi, state.params);
    this.phi = state.params;
    this.optimizer.load(state.optimizer);
    this.dim = state.dim;
  }
}

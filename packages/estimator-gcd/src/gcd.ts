import { assertFinite, assertInRange, assertPositiveInt, type EnergyFn, type Estimator, JouleError } from '@joule/core';
import type { BaseHyper, Optimizer, OptimizerState, ParamTree } from '@joule/nn';
import {
  clamp,
  concat,
  dispose,
  exp,
  keep,
  minimum,
  type Rng,
  stopGradient,
  type Tensor,
  tensor,
  tidy,
  valueAndGrad,
} from '@joule/tensor';
import { GaussianDiffusion, type StepFn } from './diffusion.js';
import { knnEntropy, knnLogDistances } from './knn.js';
import { Ownership, snapshot } from './ownership.js';

/**
 * An energy with explicit parameters `(params, x) => [n]` (the paper's `E_θ`, before dividing by τ).
 *
 * @example
 * ```ts
 * const energy: ParametricEnergy = (p, x) => mlp.apply(p, x).reshape([-1]);
 * ```
 */
export type ParametricEnergy<P extends ParamTree = ParamTree> = (params: P, x: Tensor) => Tensor;

/**
 * A state-value network `(params, x, t) => [n]` for steps `t = 0 … T − 1` (`t` is `[n, 1]`);
 * `V(·, T) = −E_θ` is not part of it.
 *
 * @example
 * ```ts
 * const value: ValueFn = (p, x, t) => mlp.apply(p, concat([x, t], 1)).reshape([-1]);
 * ```
 */
export type ValueFn<P extends ParamTree = ParamTree> = (params: P, x: Tensor, t: Tensor) => Tensor;

/**
 * The GCD energy loss, eq. 8 of the paper: `mean E_θ(data) − mean E_θ(sg(samples))`, plus the
 * optional (not in the GCD paper; Du et al. / DxMI) `γ·(mean E(data)² + mean E(samples)²)`.
 * Its gradient in `θ` is `E_p[∇E] − E_π[∇E]` (+ the γ term).
 *
 * @example
 * ```ts
 * const { grad } = valueAndGrad((p) => gcdEnergyLoss(energy, p, data, samples))(theta);
 * ```
 */
export function gcdEnergyLoss<P extends ParamTree>(
  energy: ParametricEnergy<P>,
  params: P,
  data: Tensor,
  samples: Tensor,
  gamma = 0,
): Tensor {
  const eData = energy(params, data);
  const eSamp = energy(params, stopGradient(samples));
  const loss = eData.mean().sub(eSamp.mean());
  return gamma === 0 ? loss : loss.add(eData.square().mean().add(eSamp.square().mean()).mul(gamma));
}

/**
 * Options of {@link GCD}.
 *
 * @example
 * ```ts
 * const options: GCDOptions<ParamTree, ParamTree, ParamTree> = {
 *   diffusion, policy, policyParams, policyOptimizer, energy, energyParams, energyOptimizer,
 *   value, valueParams, valueOptimizer, tau: 0.05,
 * };
 * ```
 */
export interface GCDOptions<PE extends ParamTree, PV extends ParamTree, PP extends ParamTree> {
  /** The sampler's schedule (T steps). */
  diffusion: GaussianDiffusion;
  /** The policy mean `μ_φ(x_t, t)` (direct, or `diffusion.epsilonMean(ε)` to fine-tune a DDPM). */
  policy: StepFn<PP>;
  /** The initial `φ`. */
  policyParams: PP;
  /** The optimizer of `φ` (PPO steps). */
  policyOptimizer: Optimizer<BaseHyper>;
  /** The energy `E_θ` (paper scale: the model density is `exp(−E_θ/τ)`). */
  energy: ParametricEnergy<PE>;
  /** The initial `θ`. */
  energyParams: PE;
  /** The optimizer of `θ`; omit to keep the energy fixed (fine-tuning against a given reward). */
  energyOptimizer?: Optimizer<BaseHyper>;
  /** The value `V_ψ(x_t, t)`, `t < T`. */
  value: ValueFn<PV>;
  /** The initial `ψ`. */
  valueParams: PV;
  /** The optimizer of `ψ` (TD steps). */
  valueOptimizer: Optimizer<BaseHyper>;
  /** Temperature / entropy weight τ ≥ 0 (τ = 0: IPM critic, no density). */
  tau: number;
  /** Trajectories drawn per iteration `m` (default: the batch size). */
  samples?: number;
  /** Sampler update period `n_sampler` (default 1). */
  samplerPeriod?: number;
  /** PPO updates per sampler update `n_PPO` (default 1). */
  ppoUpdates?: number;
  /** PPO clip range ε (default 0.2; `Infinity` gives plain REINFORCE). */
  clip?: number;
  /** k of the kNN entropy estimator (default 1, as in Du et al.). */
  k?: number;
  /** Decay of the entropy-baseline EMA (default 0.9). */
  entropyDecay?: number;
  /** Data dimension (needed only to sample before the first step). */
  dim?: number;
  /** Energy-magnitude regulariser γ (default 0 = the paper; γ > 0 is from Du et al./DxMI, not GCD). */
  gamma?: number;
}

/**
 * Everything {@link GCD.load} needs to continue a run.
 *
 * @example
 * ```ts
 * const saved: GCDState<ParamTree, ParamTree, ParamTree> = gcd.state();
 * ```
 */
export type GCDState<PE extends ParamTree, PV extends ParamTree, PP extends ParamTree> = {
  /** θ. */
  energyParams: PE;
  /** ψ. */
  valueParams: PV;
  /** φ. */
  policyParams: PP;
  /** Optimizer states (energy is null when frozen). */
  optimizers: {
    /** The energy's optimizer state (`null` when the energy is fixed). */
    energy: OptimizerState | null;
    /** The value network's optimizer state. */
    value: OptimizerState;
    /** The sampler policy's optimizer state. */
    policy: OptimizerState;
  };
  /** The entropy-baseline EMA (null before the first sampler update). */
  entropyEma: number | null;
  /** Trajectories buffered since the last sampler update, each `T + 1` row-major arrays. */
  buffer: number[][][];
  /** Data dimension. */
  dim: number;
  /** Iterations done. */
  iteration: number;
};

/**
 * Generalized contrastive divergence (Yoon et al. 2023, Algorithm 1): an EBM `E_θ` and a few-step
 * Gaussian diffusion sampler `π_φ` trained by gradient descent–ascent on
 * `E_p[E] − E_π[E] + τ·H(π)`. Each `step(batch)`:
 * 1. draws `m` trajectories and buffers them;
 * 2. one energy step on eq. 8 with the newest `m` samples;
 * 3. TD on the value, backward `t = T−1 … 0`, semi-gradient, target `V(x_{t+1}, t+1)` with
 *    `V(·, T) = −E_θ`;
 * 4. every `samplerPeriod` iterations: `n_PPO` PPO-clip steps on the buffer with advantage
 *    `A_t = −E_θ(x_T) + τ·d·(log ε_k(x_T) − EMA[Ĥ-part]) − V(x_t, t)` (the kNN `−τ log π̂(x_T)`
 *    exploration reward minus its EMA baseline), then empties the buffer.
 *
 * `energy` is `E_θ/τ` (the library's `p ∝ exp(−E)`) for τ > 0; for τ = 0 it is the raw critic.
 *
 * @example
 * ```ts
 * const gcd = new GCD({ diffusion, policy, policyParams, policyOptimizer, energy, energyParams,
 *   energyOptimizer, value, valueParams, valueOptimizer, tau: 0.05 });
 * for (let i = 0; i < 1000; i++) await gcd.step(batch, rng);
 * const x = await gcd.sample(1000, rng);
 * ```
 */
export class GCD<PE extends ParamTree, PV extends ParamTree, PP extends ParamTree> implements Estimator<Tensor> {
  /** `'gcd'`. */
  readonly name = 'gcd';
  /** τ. */
  readonly tau: number;
  /** The sampler's schedule. */
  readonly diffusion: GaussianDiffusion;
  private readonly opts: GCDOptions<PE, PV, PP>;
  private readonly period: number;
  private readonly nPPO: number;
  private readonly clip: number;
  private readonly k: number;
  private readonly decay: number;
  private readonly gamma: number;
  private theta: PE;
  private psi: PV;
  private phi: PP;
  private hEma: number | null = null;
  private buffer: Tensor[][] = [];
  private dim = 0;
  private iter = 0;
  private readonly ownership = new Ownership();

  /** Builds the estimator. */
  constructor(options: GCDOptions<PE, PV, PP>) {
    const op = 'GCD';
    if (options === null || typeof options !== 'object')
      throw new JouleError(op, 'options', 'an object', String(options));
    if (!(options.diffusion instanceof GaussianDiffusion))
      throw new JouleError(op, 'options.diffusion', 'a GaussianDiffusion', String(options.diffusion));
    for (const key of ['policy', 'energy', 'value'] as const)
      if (typeof options[key] !== 'function')
        throw new JouleError(op, `options.${key}`, 'a function', typeof options[key]);
    if (!(options.tau >= 0 && Number.isFinite(options.tau)))
      throw new JouleError(op, 'options.tau', 'a finite number ≥ 0', String(options.tau));
    if (options.samples !== undefined) assertPositiveInt(op, 'options.samples', options.samples);
    this.period = options.samplerPeriod ?? 1;
    assertPositiveInt(op, 'options.samplerPeriod', this.period);
    this.nPPO = options.ppoUpdates ?? 1;
    assertPositiveInt(op, 'options.ppoUpdates', this.nPPO);
    this.clip = options.clip ?? 0.2;
    if (!(this.clip > 0))
      throw new JouleError(op, 'options.clip', 'a positive number (or Infinity)', String(this.clip));
    this.k = options.k ?? 1;
    assertPositiveInt(op, 'options.k', this.k);
    this.decay = options.entropyDecay ?? 0.9;
    assertInRange(op, 'options.entropyDecay', this.decay, 0, 1);
    this.gamma = options.gamma ?? 0;
    if (!(this.gamma >= 0)) throw new JouleError(op, 'options.gamma', 'a number ≥ 0', String(this.gamma));
    this.opts = options;
    this.tau = options.tau;
    this.diffusion = options.diffusion;
    this.theta = options.energyParams;
    this.psi = options.valueParams;
    this.phi = options.policyParams;
    if (options.dim !== undefined) {
      assertPositiveInt(op, 'options.dim', options.dim);
      this.dim = options.dim;
    }
  }

  /**
   * The library energy `E_θ/τ` (τ > 0) or the raw critic `E_θ` (τ = 0), `[n, d]` to `[n]`.
   *
   * @example
   * ```ts
   * const logDensityUpToConstant = gcd.energy(x).neg();
   * ```
   */
  get energy(): EnergyFn {
    return (x: Tensor) => {
      const e = this.opts.energy(this.theta, x);
      return this.tau > 0 ? e.div(this.tau) : e;
    };
  }

  /**
   * The raw critic `E_θ(x)` (paper scale), `[n]`.
   *
   * @example
   * ```ts
   * const score = gcd.critic(x).neg(); // higher = more data-like
   * ```
   */
  critic(x: Tensor): Tensor {
    return this.opts.energy(this.theta, x);
  }

  /**
   * Current parameters `{ energy: θ, value: ψ, policy: φ }`.
   *
   * @example
   * ```ts
   * const { policy } = gcd.params;
   * ```
   */
  get params(): {
    /** The energy's parameters. */
    energy: PE;
    /** The value network's parameters. */
    value: PV;
    /** The sampler policy's parameters. */
    policy: PP;
  } {
    return { energy: this.theta, value: this.psi, policy: this.phi };
  }

  /**
   * One iteration of Algorithm 1 on the data batch `[n, d]`. Returns `energyLoss`, `energyData`,
   * `energySamples`, `valueLoss`, and on sampler updates `entropy` (KL estimate, nats),
   * `ppoObjective` and `reward` (mean `−E_θ(x_T)`).
   *
   * @example
   * ```ts
   * const info = await gcd.step(batch, rng);
   * ```
   */
  async step(batch: Tensor, rng: Rng): Promise<Record<string, number>> {
    const op = 'GCD.step';
    if (batch?.rank !== 2)
      throw new JouleError(op, 'batch', 'a tensor [n, d]', batch ? `[${batch.shape}]` : String(batch));
    const d = batch.shape[1];
    if (this.dim !== 0 && d !== this.dim) throw new JouleError(op, 'batch', `dimension ${this.dim}`, String(d));
    this.dim = d;
    const start = { theta: this.theta, psi: this.psi, phi: this.phi };
    let info: Record<string, number> = {};
    let next: typeof start;
    try {
      // Everything made here is freed but the new parameters (and the buffered trajectory, kept).
      next = tidy(() => {
        info = this.update(batch, rng, op);
        return { theta: this.theta, psi: this.psi, phi: this.phi };
      });
    } catch (e) {
      // The intermediate parameters were freed with the rest: continue from the last good ones.
      this.theta = start.theta;
      this.psi = start.psi;
      this.phi = start.phi;
      throw e;
    }
    this.ownership.adopt(next, start);
    this.ownership.retire(start, next);
    this.iter++;
    return info;
  }

  /** The synchronous body of {@link GCD.step}: the EBM, value and (periodic) sampler updates. */
  private update(batch: Tensor, rng: Rng, op: string): Record<string, number> {
    const [n, d] = batch.shape;
    const m = this.opts.samples ?? n;
    const T = this.diffusion.steps;
    const traj = this.diffusion.trajectory(this.opts.policy, this.phi, m, d, rng).map((x) => keep(x));
    this.buffer.push(traj);
    const xT = traj[T];
    const info: Record<string, number> = {};

    // EBM update, eq. 8
    const eLoss = valueAndGrad((p: PE) => gcdEnergyLoss(this.opts.energy, p, batch, xT, this.gamma))(this.theta);
    info.energyLoss = eLoss.value.dataSync()[0];
    assertFinite(op, `energyLoss at iteration ${this.iter}`, info.energyLoss);
    info.energySamples = this.opts.energy(this.theta, xT).mean().dataSync()[0];
    info.energyData = this.opts.energy(this.theta, batch).mean().dataSync()[0];
    if (this.opts.energyOptimizer)
      this.theta = this.opts.energyOptimizer.step(this.theta, eLoss.grad as ParamTree) as PE;

    // value update: semi-gradient TD, backward order; V(·, T) = −E_θ is never moved here
    let valueLoss = 0;
    for (let t = T - 1; t >= 0; t--) {
      const target = stopGradient(
        t === T - 1
          ? this.opts.energy(this.theta, traj[T]).neg()
          : this.opts.value(this.psi, traj[t + 1], this.diffusion.timeColumn(m, t + 1)),
      );
      const tcol = this.diffusion.timeColumn(m, t);
      const v = valueAndGrad((p: PV) => this.opts.value(p, traj[t], tcol).sub(target).square().mean())(this.psi);
      valueLoss += v.value.dataSync()[0];
      this.psi = this.opts.valueOptimizer.step(this.psi, v.grad as ParamTree) as PV;
    }
    info.valueLoss = valueLoss / T;
    assertFinite(op, `valueLoss at iteration ${this.iter}`, info.valueLoss);

    if (this.iter % this.period === 0) Object.assign(info, this.samplerUpdate(op));
    return info;
  }

  /** PPO on the buffered trajectories (Algorithm 1's sampler update), then empties the buffer. */
  private samplerUpdate(op: string): Record<string, number> {
    const T = this.diffusion.steps;
    const d = this.dim;
    const rewards: Tensor[] = [];
    let entropySum = 0;
    let rewardSum = 0;
    let count = 0;
    const logds: Float64Array[] = [];
    for (const traj of this.buffer) {
      const xT = traj[T];
      const r = this.opts.energy(this.theta, xT).neg();
      rewardSum += r.sum().dataSync()[0];
      count += xT.shape[0];
      rewards.push(r);
      if (this.tau > 0) {
        logds.push(knnLogDistances(xT, this.k));
        entropySum += knnEntropy(xT, this.k);
      }
    }
    const out: Record<string, number> = { reward: rewardSum / count };
    if (this.tau > 0) {
      // the entropy part of the terminal reward, −τ log π̂(x_T) = τ·d·log ε_k + c, minus its EMA baseline
      let meanLogd = 0;
      for (const l of logds) for (const v of l) meanLogd += v;
      meanLogd /= count;
      this.hEma = this.hEma === null ? meanLogd : this.decay * this.hEma + (1 - this.decay) * meanLogd;
      const base = this.hEma;
      for (let b = 0; b < rewards.length; b++) {
        const bonus = Float32Array.from(logds[b], (l) => this.tau * d * (l - base));
        rewards[b] = rewards[b].add(tensor(bonus, [bonus.length]));
      }
      out.entropy = entropySum / this.buffer.length;
    }
    // advantages and old log-probs, frozen for the PPO loop; transitions stacked over (trajectory, t)
    const xs: Tensor[] = [];
    const nexts: Tensor[] = [];
    const advs: Tensor[] = [];
    const steps: number[] = [];
    this.buffer.forEach((traj, b) => {
      const mb = traj[0].shape[0];
      for (let t = 0; t < T; t++) {
        const v = this.opts.value(this.psi, traj[t], this.diffusion.timeColumn(mb, t));
        advs.push(stopGradient(rewards[b].sub(v)));
        xs.push(traj[t]);
        nexts.push(traj[t + 1]);
        steps.push(t);
      }
    });
    const logProbs = (p: PP) =>
      xs.map((x, i) => this.diffusion.transitionLogProb(this.opts.policy, p, x, nexts[i], steps[i]));
    const oldLp = logProbs(this.phi).map((l) => stopGradient(l));
    const adv = concat(advs, 0);
    const old = concat(oldLp, 0);
    const lo = 1 - this.clip;
    const hi = 1 + this.clip;
    let objective = 0;
    for (let j = 0; j < this.nPPO; j++) {
      const { value, grad } = valueAndGrad((p: PP) => {
        const ratio = exp(concat(logProbs(p), 0).sub(old));
        const surrogate = Number.isFinite(this.clip)
          ? minimum(ratio.mul(adv), clamp(ratio, Math.max(lo, 0), hi).mul(adv))
          : ratio.mul(adv);
        return surrogate.mean().neg();
      })(this.phi);
      objective = -value.dataSync()[0];
      assertFinite(op, `ppoObjective at iteration ${this.iter}`, objective);
      this.phi = this.opts.policyOptimizer.step(this.phi, grad as ParamTree) as PP;
    }
    out.ppoObjective = objective;
    for (const traj of this.buffer) dispose(traj);
    this.buffer = [];
    return out;
  }

  /**
   * `n` samples `[n, d]` from the sampler (`d` from `options.dim` or the last batch).
   *
   * @example
   * ```ts
   * const x = await gcd.sample(1000, rng);
   * ```
   */
  async sample(n: number, rng: Rng): Promise<Tensor> {
    if (!(this.dim > 0))
      throw new JouleError('GCD.sample', 'dim', 'a known dimension (options.dim or a step first)', String(this.dim));
    return tidy(() => {
      const traj = this.diffusion.trajectory(this.opts.policy, this.phi, n, this.dim, rng);
      return traj[traj.length - 1];
    });
  }

  /**
   * A snapshot for {@link GCD.load}. Its parameter tensors are new handles on the current values that
   * outlive later steps (dispose them when done).
   *
   * @example
   * ```ts
   * const saved = gcd.state();
   * ```
   */
  state(): GCDState<PE, PV, PP> {
    return {
      energyParams: snapshot(this.theta),
      valueParams: snapshot(this.psi),
      policyParams: snapshot(this.phi),
      optimizers: {
        energy: this.opts.energyOptimizer ? this.opts.energyOptimizer.state() : null,
        value: this.opts.valueOptimizer.state(),
        policy: this.opts.policyOptimizer.state(),
      },
      entropyEma: this.hEma,
      buffer: this.buffer.map((traj) => traj.map((x) => Array.from(x.dataSync()))),
      dim: this.dim,
      iteration: this.iter,
    };
  }

  /**
   * Restores what {@link GCD.state} returned.
   *
   * @example
   * ```ts
   * gcd.load(saved);
   * ```
   */
  load(state: object): void {
    const s = state as GCDState<PE, PV, PP>;
    if (!s || typeof s !== 'object' || !s.optimizers || !Array.isArray(s.buffer))
      throw new JouleError('GCD.load', 'state', 'an object from GCD.state()', String(state));
    const previous = { theta: this.theta, psi: this.psi, phi: this.phi };
    this.theta = s.energyParams;
    this.psi = s.valueParams;
    this.phi = s.policyParams;
    this.ownership.retire(previous, { theta: this.theta, psi: this.psi, phi: this.phi });
    if (this.opts.energyOptimizer && s.optimizers.energy) this.opts.energyOptimizer.load(s.optimizers.energy);
    this.opts.valueOptimizer.load(s.optimizers.value);
    this.opts.policyOptimizer.load(s.optimizers.policy);
    this.hEma = s.entropyEma;
    this.dim = s.dim;
    this.iter = s.iteration;
    for (const traj of this.buffer) dispose(traj);
    this.buffer = s.buffer.map((traj) => traj.map((x) => keep(tensor(x, [x.length / s.dim, s.dim]))));
  }
}

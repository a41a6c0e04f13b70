import { type EnergyFn, type Estimator, JouleError, type Kernel } from '@joule/core';
import { ula } from '@joule/mcmc';
import {
  Adam,
  assertEnergyModel,
  descend,
  type EnergyModel,
  energyVector,
  type OptimizerState,
  type ParamTree,
  snapshot,
} from '@joule/nn';
import { concat, full, grad, noGrad, type Rng, randn, Tensor, valueAndGrad } from '@joule/tensor';
import { type RnceBatch, splitBatch } from './estimator.js';
import { drawNegatives, type NegativeSampler, rnceLoss } from './loss.js';
import { type PositionState, runKernel } from './sample.js';
import { checkSchedule, type JointTraining } from './sampler.js';

/**
 * The path of an interpolant between noise `z ~ N(0, I)` (t = 0) and data `y` (t = 1): `I_t(z, y)`
 * (Section 5.2; `@joule/interpolants`' `StochasticInterpolant.interpolate(t, z, y).xt` fits). `t` is
 * `[n, 1]`.
 *
 * @example
 * ```ts
 * import type { InterpolantPath } from '@joule/estimator-rnce';
 *
 * const linear: InterpolantPath = (t, z, y) => z.mul(t.neg().add(1)).add(y.mul(t));
 * ```
 */
export type InterpolantPath = (t: Tensor, z: Tensor, y: Tensor) => Tensor;

/**
 * The truncated negative sampler `p^t_ξ` of the interpolating EBMs: for a time `t ∈ (0, 1]`, a
 * {@link NegativeSampler} of the interpolant's marginal at `t` (e.g. `@joule/interpolants`'
 * `ConditionalInterpolantFlow` with `t1: t`).
 *
 * @example
 * ```ts
 * import type { TimeIndexedSampler } from '@joule/estimator-rnce';
 *
 * const sampler: TimeIndexedSampler = (t) => new ConditionalInterpolantFlow(field, 2, { steps: 16, t1: t });
 * ```
 */
export type TimeIndexedSampler = (t: number) => NegativeSampler;

/**
 * A velocity field `v(y, t, context?)` (`t` is `[n, 1]`), the probability-flow drift of the
 * interpolant: `@joule/interpolants`' `TimeField` shape.
 *
 * @example
 * ```ts
 * import type { VelocityField } from '@joule/estimator-rnce';
 *
 * const v: VelocityField = (y, t, c) => net.apply(params, concat([y, t, c], 1));
 * ```
 */
export type VelocityField = (y: Tensor, t: Tensor, context?: Tensor) => Tensor;

/**
 * Options of {@link InterpolatingRnceEstimator}.
 *
 * @example
 * ```ts
 * import type { InterpolatingRnceOptions } from '@joule/estimator-rnce';
 *
 * const options: InterpolatingRnceOptions = { sampler: (t) => flowAt(t), path: linearPath, k: 15, power: 2 };
 * ```
 */
export interface InterpolatingRnceOptions {
  /** The truncated negative sampler `p^t_ξ`. */
  sampler: TimeIndexedSampler;
  /** The interpolant `I_t(z, y)` that makes the positives `y_t`. */
  path: InterpolantPath;
  /** Negatives per positive, `K` (default 15). */
  k?: number;
  /** Adam learning rate of the energy (default 1e-3). */
  lr?: number;
  /** `Λ`: `t = tMin + (1 − tMin) u^{1/power}`, `u ~ U(0, 1)` (default power 2, the paper's α). */
  power?: number;
  /** The smallest training time (default 0.05; the truncated flow needs `t > 0`). */
  tMin?: number;
  /** Algorithm 3's joint training of the sampler (its own loss, e.g. the velocity loss). */
  joint?: JointTraining;
}

/** `[t | context]`, `[n, 1 + c]`: the context the time-indexed energy model receives. */
function withTime(t: number, n: number, context?: Tensor): Tensor {
  const tt = full([n, 1], t);
  return context === undefined ? tt : concat([tt, context], 1);
}

/**
 * Interpolating EBMs trained by I-R-NCE (Section 5.2, Algorithm 3): one energy `E_θ(y, t, context)`
 * for the whole family of interpolant marginals `p^t(y | context)`, `t ∈ (0, 1]`. The model is an
 * ordinary {@link EnergyModel} whose context is `[t | context]` (`[n, 1 + c]`; `[n, 1]` when
 * unconditional). Each energy step draws one time `t ~ Λ` for the batch, makes the positives
 * `y_t = I_t(z, y)` with fresh noise `z`, draws `K` negatives per positive from `p^t_ξ`, and takes an
 * Adam step on the R-NCE loss (5.4). With `joint`, the schedule of Algorithm 3 alternates
 * `samplerSteps` sampler updates (its own loss) and `rnceSteps` energy updates.
 *
 * `energy` is the member at `t = 1` (the data model); {@link InterpolatingRnceEstimator.energyAt}
 * gives any other member; {@link sampleInterpolating} is Algorithm 4.
 *
 * @example
 * ```ts
 * import { InterpolatingRnceEstimator } from '@joule/estimator-rnce';
 * import { ConditionalMLP } from '@joule/nn';
 *
 * const model = new ConditionalMLP(2, 1 + c, 1, { rng, width: 64, depth: 3 }); // context = [t | c]
 * const est = new InterpolatingRnceEstimator(model, { sampler: flowAt, path, k: 15 });
 * await est.step({ x, context }, rng);
 * ```
 */
export class InterpolatingRnceEstimator implements Estimator<RnceBatch> {
  /** `'irnce'`. */
  readonly name = 'irnce';
  /** The data energy `E_θ(y, 1, context?)`. */
  readonly energy: EnergyFn;
  private readonly model: EnergyModel;
  private readonly options: InterpolatingRnceOptions;
  private readonly k: number;
  private readonly power: number;
  private readonly tMin: number;
  private readonly opt: Adam;
  private readonly samplerOpt: Adam | undefined;
  private readonly schedule: [number, number] | undefined;
  private iteration = 0;

  /** An I-R-NCE estimator training the time-indexed energy `model`. */
  constructor(model: EnergyModel, options: InterpolatingRnceOptions) {
    const op = 'InterpolatingRnceEstimator';
    assertEnergyModel(op, 'model', model);
    if (!options || typeof options.sampler !== 'function') {
      throw new JouleError(op, 'options.sampler', 'a function t => NegativeSampler', String(options?.sampler));
    }
    if (typeof options.path !== 'function') {
      throw new JouleError(op, 'options.path', 'a function (t, z, y) => y_t', String(options.path));
    }
    const k = options.k ?? 15;
    if (!Number.isInteger(k) || k < 1) throw new JouleError(op, 'options.k', 'a positive integer', String(k));
    const lr = options.lr ?? 1e-3;
    if (!(lr > 0) || !Number.isFinite(lr))
      throw new JouleError(op, 'options.lr', 'a finite positive number', String(lr));
    const power = options.power ?? 2;
    if (!(power > 0) || !Number.isFinite(power))
      throw new JouleError(op, 'options.power', 'a finite positive number', String(power));
    const tMin = options.tMin ?? 0.05;
    if (!(tMin > 0 && tMin < 1)) throw new JouleError(op, 'options.tMin', 'a number in (0, 1)', String(tMin));
    if (options.joint !== undefined) {
      const objective = options.joint?.objective;
      if (!objective || typeof objective.loss !== 'function' || typeof objective.parameters !== 'function') {
        throw new JouleError(op, 'options.joint.objective', 'a SamplerObjective (parameters, load, loss)', '');
      }
      const [samplerSteps, rnceSteps, samplerLr] = checkSchedule(op, 'options.joint', options.joint);
      this.schedule = [samplerSteps, rnceSteps];
      this.samplerOpt = new Adam(objective.parameters(), { lr: samplerLr });
    }
    this.model = model;
    this.options = options;
    this.k = k;
    this.power = power;
    this.tMin = tMin;
    this.opt = new Adam(model.parameters(), { lr });
    this.energy = this.energyAt(1);
  }

  /**
   * The member `E_θ(·, t, ·)` of the family at time `t ∈ (0, 1]`, with the current parameters.
   *
   * @example
   * ```ts
   * const e = est.energyAt(0.5)(y, context); // [n]
   * ```
   */
  energyAt(t: number): EnergyFn {
    if (!(t > 0 && t <= 1))
      throw new JouleError('InterpolatingRnceEstimator.energyAt', 't', 'a number in (0, 1]', String(t));
    return (y: Tensor, context?: Tensor) =>
      energyVector(this.model.apply(this.model.parameters(), y, withTime(t, y.shape[0] as number, context)));
  }

  /** A time from `Λ`. */
  private drawTime(rng: Rng): number {
    const u = rng.uniform(1)[0] as number;
    return this.tMin + (1 - this.tMin) * u ** (1 / this.power);
  }

  /** One iteration of Algorithm 3 on a batch (`[n, d]` or `{ x, context }`). */
  async step(batch: RnceBatch, rng: Rng): Promise<Record<string, number>> {
    const op = 'InterpolatingRnceEstimator.step';
    const { y, context } = splitBatch(op, batch);
    const sched = this.schedule;
    const inSamplerPhase = sched !== undefined && this.iteration % (sched[0] + sched[1]) < sched[0];
    this.iteration += 1;
    if (inSamplerPhase) {
      const objective = (this.options.joint as JointTraining).objective;
      const params = objective.parameters();
      const v = await descend(op, 'samplerLoss', objective, this.samplerOpt as Adam, () => {
        const { value, grad: g } = valueAndGrad((q: ParamTree) => objective.loss(q, y, context, rng))(params);
        return { value, grad: g as ParamTree };
      });
      return { samplerLoss: v };
    }
    const [n, d] = y.shape as [number, number];
    const t = this.drawTime(rng);
    const params = this.model.parameters();
    let accuracy = 0;
    const loss = await descend(op, 'loss', this.model, this.opt, () => {
      const yt = noGrad(() => this.options.path(full([n, 1], t), randn([n, d], rng), y));
      const negs = drawNegatives(this.options.sampler(t), yt, this.k, rng, context);
      const ctx = withTime(t, n, context);
      const { value, grad: g } = valueAndGrad((p: ParamTree) => {
        const out = rnceLoss((u, c) => energyVector(this.model.apply(p, u, c)), yt, negs, ctx);
        accuracy = out.accuracy;
        return out.loss;
      })(params);
      return { value, grad: g as ParamTree };
    });
    return { loss, accuracy, lossGap: loss - Math.log(this.k + 1), t };
  }

  /**
   * The parameters, optimizer states and schedule position. The parameter tensors are new handles
   * on the current values that outlive later steps (dispose them when done).
   */
  state(): Record<string, unknown> {
    const out: Record<string, unknown> = {
      params: snapshot(this.model.parameters()),
      optimizer: this.opt.state(),
      iteration: this.iteration,
    };
    if (this.samplerOpt !== undefined && this.options.joint !== undefined) {
      out.samplerParams = snapshot(this.options.joint.objective.parameters());
      out.samplerOptimizer = this.samplerOpt.state();
    }
    return out;
  }

  /** Restores what {@link InterpolatingRnceEstimator.state} returned. */
  load(state: Record<string, unknown>): void {
    if (!state || typeof state !== 'object' || state.params === undefined || state.optimizer === undefined) {
      throw new JouleError('InterpolatingRnceEstimator.load', 'state', '{ params, optimizer }', String(state));
    }
    this.model.load(state.params as ParamTree);
    this.opt.load(state.optimizer as OptimizerState);
    if (typeof state.iteration === 'number') this.iteration = state.iteration;
    if (this.samplerOpt !== undefined && this.options.joint !== undefined && state.samplerParams !== undefined) {
      this.options.joint.objective.load(state.samplerParams as ParamTree);
      this.samplerOpt.load(state.samplerOptimizer as OptimizerState);
    }
  }
}

/**
 * Options of {@link sampleInterpolating} (Algorithm 4).
 *
 * @example
 * ```ts
 * import type { InterpolatingSampleOptions } from '@joule/estimator-rnce';
 *
 * const options: InterpolatingSampleOptions = { tLow: 0.5, sdeSteps: 100, eta: 0.01, mcmcSteps: 20 };
 * ```
 */
export interface InterpolatingSampleOptions {
  /** Where the flow hands over to the SDE, `t_low ∈ (0, 1)` (default 0.5). */
  tLow?: number;
  /** Euler–Maruyama steps of the SDE over `[t_low, 1]` (default 100). */
  sdeSteps?: number;
  /** The SDE noise level `η`: diffusion `√(2η)`, drift `v + η ∇ log p^t` (default 0.01). */
  eta?: number;
  /** MCMC transitions on `E(·, 1)` after the SDE (default 20). */
  mcmcSteps?: number;
  /** The MCMC kernel (default ULA with step size `eta`; `@joule/mcmc`'s `hmc` is the paper's). */
  kernel?: Kernel<PositionState, unknown>;
  /** The context `[n, c]` for a conditional family. */
  context?: Tensor;
}

/**
 * Algorithm 4 (Section 5.2.2): sample an interpolating EBM in three stages. (1) `y ~ p^{t_low}_ξ` from
 * the truncated sampler; (2) Euler–Maruyama on the SDE (5.7) from `t_low` to 1,
 * `y ← y + h [v(y, t) − η ∇_y E(y, t)] + √(2ηh) ξ` (the energy supplies the score
 * `∇ log p^t = −∇E` in joule's sign); (3) `mcmcSteps` transitions of a kernel on `E(·, 1)`.
 * `energyAt(t)` is the family (e.g. {@link InterpolatingRnceEstimator.energyAt}). Returns `[n, d]`.
 *
 * @example
 * ```ts
 * import { sampleInterpolating } from '@joule/estimator-rnce';
 *
 * const y = await sampleInterpolating((t) => est.energyAt(t), velocity, flowAt, 1000, rng, { tLow: 0.5, eta: 0.01 });
 * ```
 */
export async function sampleInterpolating(
  energyAt: (t: number) => EnergyFn,
  velocity: VelocityField,
  sampler: TimeIndexedSampler,
  n: number,
  rng: Rng,
  options: InterpolatingSampleOptions = {},
): Promise<Tensor> {
  const op = 'sampleInterpolating';
  if (typeof energyAt !== 'function') throw new JouleError(op, 'energyAt', 'a function t => EnergyFn', typeof energyAt);
  if (typeof velocity !== 'function')
    throw new JouleError(op, 'velocity', 'a function (y, t, context?)', typeof velocity);
  if (typeof sampler !== 'function')
    throw new JouleError(op, 'sampler', 'a function t => NegativeSampler', typeof sampler);
  if (!Number.isInteger(n) || n < 1) throw new JouleError(op, 'n', 'a positive integer', String(n));
  const tLow = options.tLow ?? 0.5;
  if (!(tLow > 0 && tLow < 1)) throw new JouleError(op, 'options.tLow', 'a number in (0, 1)', String(tLow));
  const sdeSteps = options.sdeSteps ?? 100;
  if (!Number.isInteger(sdeSteps) || sdeSteps < 0)
    throw new JouleError(op, 'options.sdeSteps', 'a non-negative integer', String(sdeSteps));
  const eta = options.eta ?? 0.01;
  if (!(eta >= 0) || !Number.isFinite(eta)) throw new JouleError(op, 'options.eta', 'a finite number ≥ 0', String(eta));
  const mcmcSteps = options.mcmcSteps ?? 20;
  if (!Number.isInteger(mcmcSteps) || mcmcSteps < 0)
    throw new JouleError(op, 'options.mcmcSteps', 'a non-negative integer', String(mcmcSteps));
  const { context } = options;
  if (context !== undefined && (!(context instanceof Tensor) || context.rank !== 2 || context.shape[0] !== n)) {
    throw new JouleError(op, 'options.context', `a Tensor of shape [${n}, c]`, String(context));
  }
  const start = sampler(tLow);
  let y: Tensor;
  if (typeof (start as { given?: unknown }).given === 'function') {
    if (context === undefined)
      throw new JouleError(op, 'options.context', 'a context for a conditional sampler', 'undefined');
    y = noGrad(() =>
      (start as { given(c: Tensor): { sample(n: number, rng: Rng): Tensor } }).given(context).sample(n, rng),
    );
  } else {
    y = noGrad(() => (start as { sample(n: number, rng: Rng): Tensor }).sample(n, rng));
  }
  const d = y.shape[1] as number;
  const h = sdeSteps === 0 ? 0 : (1 - tLow) / sdeSteps;
  for (let i = 0; i < sdeSteps; i++) {
    const t = tLow + i * h;
    const energy = energyAt(t);
    const scoreTerm = grad((u: Tensor) => energy(u, context).sum())(y) as Tensor;
    y = noGrad(() =>
      y
        .add(
          velocity(y, full([n, 1], t), context)
            .sub(scoreTerm.mul(eta))
            .mul(h),
        )
        .add(randn([n, d], rng).mul(Math.sqrt(2 * eta * h))),
    );
  }
  if (mcmcSteps === 0) return y;
  return runKernel(options.kernel ?? ula({ stepSize: Math.max(eta, 1e-6) }), y, energyAt(1), mcmcSteps, rng, context);
}

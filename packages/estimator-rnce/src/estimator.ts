import { type ConditionalBatch, type EnergyFn, type Estimator, JouleError } from '@joule/core';
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
import { concat, type Rng, Tensor, tidy, valueAndGrad } from '@joule/tensor';
import {
  checkBox,
  drawNegatives,
  type NegativeSampler,
  type Negatives,
  rnceLoss,
  uniformBox,
  uniformBoxNegatives,
} from './loss.js';
import { type LangevinRefineOptions, rankCandidates, refineDraws } from './sample.js';
import { type AdversarialTraining, checkSchedule, type JointTraining } from './sampler.js';

/**
 * A training batch: points `[n, d]` for an unconditional energy, or core's
 * `ConditionalBatch`, `{ x: points [n, d], context: [n, c] }`, for a conditional energy
 * `E(x | context)` (what `@joule/train` builds; the paper's event y is joule's `x`, the paper's
 * context x is joule's `context`).
 *
 * @example
 * ```ts
 * import type { RnceBatch } from '@joule/estimator-rnce';
 *
 * const batch: RnceBatch = { x: actions, context: observations }; // [n, d], [n, c]
 * ```
 */
export type RnceBatch = Tensor | ConditionalBatch;

/**
 * The box `[low, high]` of IBC's uniform negatives.
 *
 * @example
 * ```ts
 * import type { Box } from '@joule/estimator-rnce';
 *
 * const box: Box = { low: [-1, -1], high: [1, 1] };
 * ```
 */
export interface Box {
  /** The lower corner, `d` numbers. */
  low: readonly number[];
  /** The upper corner, `d` numbers, each above `low`. */
  high: readonly number[];
}

/**
 * Options of {@link RnceEstimator}.
 *
 * @example
 * ```ts
 * import type { RnceOptions } from '@joule/estimator-rnce';
 * import { DiagNormal } from '@joule/distributions';
 *
 * const options: RnceOptions = { negatives: new DiagNormal([0], [2]), k: 15, lr: 1e-3 };
 * ```
 */
export interface RnceOptions {
  /**
   * The negative sampler `q` (pretrained or fixed, or, with `joint` / `adversarial`, a view that
   * reads the parameters those options train), or `{ low, high }` for IBC's uniform negatives on a
   * box (eq. 4.3), where `log q` is dropped from the logits (see `ibc`).
   */
  negatives: NegativeSampler | Box;
  /**
   * IBC with this sampler's negatives (eq. 4.3): drop `log q` from the logits (default false;
   * always true for a box). By Prop. 4.7 this learns the ratio `p_data / q`, not `p_data`.
   */
  ibc?: boolean;
  /** Negatives per data point, `K` (default 15). */
  k?: number;
  /** Adam learning rate on the energy's parameters (default 1e-3). */
  lr?: number;
  /** Algorithm 2's refinement used by `sample` (default 20 ULA steps of size 1e-3; any `kernel`). */
  sampling?: LangevinRefineOptions;
  /** Algorithm 1: train the sampler jointly by its own objective (maximum likelihood, Remark 3.1). */
  joint?: JointTraining;
  /** Section 4.3.2: train the sampler adversarially, ascending the R-NCE loss. */
  adversarial?: AdversarialTraining;
}

function isBox(s: RnceOptions['negatives']): s is Box {
  return s !== null && typeof s === 'object' && Array.isArray((s as { low?: unknown }).low);
}

/** The points and the optional context of a batch. */
export function splitBatch(op: string, batch: RnceBatch): { y: Tensor; context?: Tensor } {
  if (batch instanceof Tensor) return { y: batch };
  if (batch && typeof batch === 'object' && batch.x instanceof Tensor && batch.context instanceof Tensor) {
    return { y: batch.x, context: batch.context };
  }
  throw new JouleError(op, 'batch', 'a Tensor [n, d] or { x: [n, d], context: [n, c] }', String(batch));
}

/** What the sampler phase trains: the objective's or the adversary's parameters. */
interface SamplerPhase {
  kind: 'joint' | 'adversarial';
  samplerSteps: number;
  rnceSteps: number;
  opt: Adam;
}

/**
 * Ranking noise-contrastive estimation (Singh, Tu & Sindhwani 2023). Each energy step draws `K`
 * negatives per data point from `q` and takes one Adam step on {@link rnceLoss}, whose logits are
 * `−E(y) − log q(y)`. The sampler is:
 * - fixed or pretrained (the default; the paper's pretrained-sampler variant);
 * - trained jointly (`joint`, Algorithm 1): every outer iteration is `samplerSteps` (`T_samp`)
 *   calls of `step` updating the sampler by its own objective, then `rnceSteps` (`T_rnce`) calls
 *   updating the energy, one batch each, so `T_outer` is the number of `step` calls divided by
 *   `T_samp + T_rnce`;
 * - trained adversarially (`adversarial`, Section 4.3.2) on the same schedule, ascending the loss.
 *
 * With `negatives: { low, high }` it is the IBC baseline (uniform negatives on a box, logits
 * `−E(y)`), which the paper shows is biased.
 *
 * An energy step reports `loss`, `accuracy` (share of data points ranked first) and `lossGap`
 * (`loss − log(K + 1)`, about 0 when the energy cannot tell data from negatives); a sampler step
 * reports `samplerLoss`. `sample` is Algorithm 2: draw from `q` (uniform on the box for IBC), then Langevin (or any kernel's)
 * steps on the energy; `sampleBest` ranks `l` such candidates by relative log-likelihood.
 *
 * @example
 * ```ts
 * import { RnceEstimator } from '@joule/estimator-rnce';
 * import { DiagNormal } from '@joule/distributions';
 * import { MLP } from '@joule/nn';
 *
 * const model = new MLP(1, 1, { rng, width: 32, depth: 2 });
 * const est = new RnceEstimator(model, { negatives: new DiagNormal([0], [2]), k: 15 });
 * const { loss } = await est.step(batch, rng);
 * const y = await est.sample(1000, rng);
 * ```
 */
export class RnceEstimator implements Estimator<RnceBatch> {
  /** `'rnce'`, or `'ibc'` with box negatives or `ibc: true`. */
  readonly name: 'rnce' | 'ibc';
  /** The current energy `E_θ(y, context?)`. */
  readonly energy: EnergyFn;
  private readonly model: EnergyModel;
  private readonly negatives: RnceOptions['negatives'];
  private readonly k: number;
  private readonly opt: Adam;
  private readonly sampling: LangevinRefineOptions | undefined;
  private readonly joint: JointTraining | undefined;
  private readonly adversarial: AdversarialTraining | undefined;
  private readonly phase: SamplerPhase | undefined;
  private iteration = 0;

  /** An R-NCE (or IBC) estimator training `model`. */
  constructor(model: EnergyModel, options: RnceOptions) {
    const op = 'RnceEstimator';
    assertEnergyModel(op, 'model', model);
    if (!options || options.negatives === undefined || options.negatives === null) {
      throw new JouleError(op, 'options.negatives', 'a negative sampler or a { low, high } box', 'nothing');
    }
    const k = options.k ?? 15;
    if (!Number.isInteger(k) || k < 1) throw new JouleError(op, 'options.k', 'a positive integer', String(k));
    const lr = options.lr ?? 1e-3;
    if (!(lr > 0) || !Number.isFinite(lr))
      throw new JouleError(op, 'options.lr', 'a finite positive number', String(lr));
    if (isBox(options.negatives)) {
      const { low, high } = options.negatives;
      checkBox(op, low, high, low.length);
    }
    if (options.ibc !== undefined && typeof options.ibc !== 'boolean') {
      throw new JouleError(op, 'options.ibc', 'a boolean', String(options.ibc));
    }
    const { joint, adversarial } = options;
    if (joint !== undefined && adversarial !== undefined) {
      throw new JouleError(op, 'options.adversarial', 'at most one of joint and adversarial', 'both');
    }
    if (joint !== undefined) {
      if (!joint || typeof joint.objective?.loss !== 'function' || typeof joint.objective.parameters !== 'function') {
        throw new JouleError(
          op,
          'options.joint.objective',
          'a SamplerObjective (parameters, load, loss)',
          String(joint),
        );
      }
      const [samplerSteps, rnceSteps, samplerLr] = checkSchedule(op, 'options.joint', joint);
      const opt = new Adam(joint.objective.parameters(), { lr: samplerLr });
      this.phase = { kind: 'joint', samplerSteps, rnceSteps, opt };
    }
    if (adversarial !== undefined) {
      const s = adversarial?.sampler;
      if (!s || typeof s.sampleAndLogProb !== 'function' || typeof s.logProb !== 'function') {
        throw new JouleError(
          op,
          'options.adversarial.sampler',
          'a ReparameterizedSampler (parameters, load, sampleAndLogProb, logProb)',
          String(s),
        );
      }
      const [samplerSteps, rnceSteps, samplerLr] = checkSchedule(op, 'options.adversarial', adversarial);
      this.phase = { kind: 'adversarial', samplerSteps, rnceSteps, opt: new Adam(s.parameters(), { lr: samplerLr }) };
    }
    if (this.phase !== undefined && isBox(options.negatives)) {
      throw new JouleError(op, 'options.negatives', 'the trained sampler, not a box', 'a box');
    }
    this.name = isBox(options.negatives) || options.ibc === true ? 'ibc' : 'rnce';
    this.model = model;
    this.negatives = options.negatives;
    this.k = k;
    this.sampling = options.sampling;
    this.joint = joint;
    this.adversarial = adversarial;
    this.opt = new Adam(model.parameters(), { lr });
    this.energy = (y: Tensor, context?: Tensor) => energyVector(this.model.apply(this.model.parameters(), y, context));
  }

  private dropLogq(negs: Negatives): Negatives {
    if (this.name === 'rnce') return negs;
    return { ...negs, logqNegatives: negs.logqNegatives.mul(0), logqPositives: negs.logqPositives.mul(0) };
  }

  private draw(y: Tensor, rng: Rng, context?: Tensor): Negatives {
    const s = this.negatives;
    if (isBox(s)) return uniformBoxNegatives(s.low, s.high, y, this.k, rng);
    return this.dropLogq(drawNegatives(s, y, this.k, rng, context));
  }

  /**
   * One training iteration on a batch (`[n, d]`, or `{ x, context }` for a conditional energy): an
   * Adam step on the energy, or, with `joint` / `adversarial`, on the sampler when the schedule is in
   * its sampler phase.
   */
  async step(batch: RnceBatch, rng: Rng): Promise<Record<string, number>> {
    const { y, context } = splitBatch('RnceEstimator.step', batch);
    const phase = this.phase;
    const inSamplerPhase =
      phase !== undefined && this.iteration % (phase.samplerSteps + phase.rnceSteps) < phase.samplerSteps;
    this.iteration += 1;
    if (inSamplerPhase) return this.samplerStep(y, context, rng);
    const params = this.model.parameters();
    let accuracy = 0;
    const loss = await descend('RnceEstimator.step', 'loss', this.model, this.opt, () => {
      const negs = this.draw(y, rng, context);
      const { value, grad } = valueAndGrad((p: ParamTree) => {
        const out = rnceLoss((u, c) => energyVector(this.model.apply(p, u, c)), y, negs, context);
        accuracy = out.accuracy;
        return out.loss;
      })(params);
      return { value, grad: grad as ParamTree };
    });
    return { loss, accuracy, lossGap: loss - Math.log(this.k + 1) };
  }

  private async samplerStep(y: Tensor, context: Tensor | undefined, rng: Rng): Promise<Record<string, number>> {
    const phase = this.phase as SamplerPhase;
    let objective: (q: ParamTree) => Tensor;
    let owner: { parameters(): ParamTree; load(p: ParamTree): unknown };
    if (this.joint !== undefined) {
      const joint = this.joint.objective;
      owner = joint;
      objective = (q) => joint.loss(q, y, context, rng);
    } else {
      const adversary = (this.adversarial as AdversarialTraining).sampler;
      owner = adversary;
      const n = y.shape[0] as number;
      const theta = this.model.parameters();
      objective = (q) => {
        const { x, logProb } = adversary.sampleAndLogProb(q, this.k, n, rng, context);
        const negs = this.dropLogq({
          negatives: x,
          logqNegatives: logProb,
          logqPositives: adversary.logProb(q, y, context),
        });
        // The sampler minimizes the ranking objective, i.e. ascends the R-NCE loss.
        return rnceLoss((u, c) => energyVector(this.model.apply(theta, u, c)), y, negs, context).loss.neg();
      };
    }
    const params = owner.parameters();
    const v = await descend('RnceEstimator.step', 'samplerLoss', owner, phase.opt, () => {
      const { value, grad } = valueAndGrad(objective)(params);
      return { value, grad: grad as ParamTree };
    });
    return { samplerLoss: phase.kind === 'adversarial' ? -v : v };
  }

  /** Where Algorithm 2 starts: the negative sampler, or the uniform box for IBC (the paper's 2-D IBC). */
  private proposal(): NegativeSampler {
    const s = this.negatives;
    return isBox(s) ? uniformBox(s.low, s.high) : s;
  }

  /**
   * Algorithm 2: `n` draws from the negative sampler (given `context` `[n, c]` when conditional;
   * uniform on the box for IBC), refined by Langevin steps (or the configured kernel's) on the energy.
   */
  async sample(n: number, rng: Rng, context?: Tensor): Promise<Tensor> {
    return refineDraws(this.energy, this.proposal(), n, rng, { ...this.sampling, context });
  }

  /**
   * Algorithm 2 with ranking: for each of `n` contexts (or `n` times unconditionally), `l`
   * candidates from {@link RnceEstimator.sample}, keeping the one of highest relative
   * log-likelihood `−E` (the paper's best-of-ℓ policy step). Returns `[n, d]`.
   */
  async sampleBest(n: number, l: number, rng: Rng, context?: Tensor): Promise<Tensor> {
    const op = 'RnceEstimator.sampleBest';
    if (!Number.isInteger(l) || l < 1) throw new JouleError(op, 'l', 'a positive integer', String(l));
    if (!Number.isInteger(n) || n < 1) throw new JouleError(op, 'n', 'a positive integer', String(n));
    return tidy(() => {
      const tiled = context === undefined ? undefined : concat(new Array<Tensor>(l).fill(context), 0);
      const draws = refineDraws(this.energy, this.proposal(), l * n, rng, { ...this.sampling, context: tiled });
      return rankCandidates(this.energy, draws.reshape([l, n, draws.shape[1] as number]), context);
    });
  }

  /**
   * The parameters and optimizer states (and the sampler's, when it is trained here). The parameter
   * tensors are new handles on the current values that outlive later steps (dispose them when done).
   */
  state(): Record<string, unknown> {
    const out: Record<string, unknown> = {
      params: snapshot(this.model.parameters()),
      optimizer: this.opt.state(),
      iteration: this.iteration,
    };
    const owner = this.joint?.objective ?? this.adversarial?.sampler;
    if (owner !== undefined && this.phase !== undefined) {
      out.samplerParams = snapshot(owner.parameters());
      out.samplerOptimizer = this.phase.opt.state();
    }
    return out;
  }

  /** Restores what {@link RnceEstimator.state} returned. */
  load(state: Record<string, unknown>): void {
    if (!state || typeof state !== 'object' || state.params === undefined || state.optimizer === undefined) {
      throw new JouleError('RnceEstimator.load', 'state', '{ params, optimizer }', String(state));
    }
    this.model.load(state.params as ParamTree);
    this.opt.load(state.optimizer as OptimizerState);
    if (typeof state.iteration === 'number') this.iteration = state.iteration;
    const owner = this.joint?.objective ?? this.adversarial?.sampler;
    if (owner !== undefined && this.phase !== undefined && state.samplerParams !== undefined) {
      owner.load(state.samplerParams as ParamTree);
      this.phase.opt.load(state.samplerOptimizer as OptimizerState);
    }
  }
}

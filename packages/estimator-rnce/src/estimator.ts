import { type EnergyFn, type Estimator, JouleError } from '@joule/core';
import { Adam, type OptimizerState, type ParamTree } from '@joule/nn';
import { type Rng, Tensor, valueAndGrad } from '@joule/tensor';
import {
  checkBox,
  drawNegatives,
  type NegativeSampler,
  type Negatives,
  rnceLoss,
  uniformBoxNegatives,
} from './loss.js';
import { type LangevinRefineOptions, sampleWithLangevin } from './sample.js';

/**
 * A trainable energy: a parameter tree and a pure function of it (an `@joule/nn` `Module` such as
 * `MLP` or `ConditionalMLP` fits). `apply(params, y, context?)` returns energies `[n]` or `[n, 1]`.
 *
 * @example
 * ```ts
 * import type { EnergyModel } from '@joule/estimator-rnce';
 * import { ConditionalMLP } from '@joule/nn';
 *
 * const model: EnergyModel = new ConditionalMLP(2, 1, 1, { rng, width: 64, depth: 3 });
 * ```
 */
export interface EnergyModel {
  /** The current parameters. */
  parameters(): ParamTree;
  /** The energy of `y` (`[n, d]`, with a context `[n, c]` when conditional) under `params`. */
  apply(params: ParamTree, y: Tensor, context?: Tensor): Tensor;
  /** Replaces the parameters. */
  load(params: ParamTree): unknown;
}

/**
 * A training batch: data points `[n, d]`, or `{ x: context [n, c], y: events [n, d] }` for a
 * conditional energy `E(y | x)` (the paper's x is the context, y the event).
 *
 * @example
 * ```ts
 * import type { RnceBatch } from '@joule/estimator-rnce';
 *
 * const batch: RnceBatch = { x: contexts, y: actions };
 * ```
 */
export type RnceBatch = Tensor | ConditionalBatch;

/**
 * A conditional batch: contexts and events.
 *
 * @example
 * ```ts
 * import type { ConditionalBatch } from '@joule/estimator-rnce';
 *
 * const batch: ConditionalBatch = { x: contexts, y: actions }; // [n, c], [n, d]
 * ```
 */
export interface ConditionalBatch {
  /** The contexts, `[n, c]`. */
  x: Tensor;
  /** The events, `[n, d]`. */
  y: Tensor;
}

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
   * The negative sampler `q` (pretrained or fixed; it is not trained here), or `{ low, high }` for
   * IBC's uniform negatives on a box (eq. 4.3), where `log q` is dropped from the logits (see `ibc`).
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
  /** Algorithm 2's Langevin refinement used by `sample` (default 20 ULA steps of size 1e-3). */
  sampling?: LangevinRefineOptions;
}

function isBox(s: RnceOptions['negatives']): s is Box {
  return s !== null && typeof s === 'object' && Array.isArray((s as { low?: unknown }).low);
}

function flatEnergy(e: Tensor): Tensor {
  return e.rank === 2 && e.shape[1] === 1 ? e.reshape([e.shape[0] as number]) : e;
}

function splitBatch(batch: RnceBatch): { y: Tensor; context?: Tensor } {
  if (batch instanceof Tensor) return { y: batch };
  if (batch && typeof batch === 'object' && batch.y instanceof Tensor && batch.x instanceof Tensor) {
    return { y: batch.y, context: batch.x };
  }
  throw new JouleError('RnceEstimator.step', 'batch', 'a Tensor [n, d] or { x: [n, c], y: [n, d] }', String(batch));
}

/**
 * Ranking noise-contrastive estimation (Singh, Tu & Sindhwani 2023) with a pretrained or fixed
 * negative sampler (the paper's pretrained-sampler variant): each step draws `K` negatives per data
 * point from `q`, and takes one Adam step on {@link rnceLoss}, whose logits are
 * `−E(y) − log q(y)`. With `negatives: { low, high }` it is the IBC baseline (uniform negatives on
 * a box, logits `−E(y)`), which the paper shows is biased.
 *
 * `step` reports `loss`, `accuracy` (share of data points ranked first) and `lossGap`
 * (`loss − log(K + 1)`, about 0 when the energy cannot tell data from negatives). `sample` is
 * Algorithm 2: draw from `q`, then Langevin steps on the energy (not available for IBC).
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
  /** `'rnce'`, or `'ibc'` with box negatives. */
  readonly name: 'rnce' | 'ibc';
  /** The current energy `E_θ(y, context?)`. */
  readonly energy: EnergyFn;
  private readonly model: EnergyModel;
  private readonly negatives: RnceOptions['negatives'];
  private readonly k: number;
  private readonly opt: Adam;
  private readonly sampling: LangevinRefineOptions | undefined;

  /** An R-NCE (or IBC) estimator training `model`. */
  constructor(model: EnergyModel, options: RnceOptions) {
    const op = 'RnceEstimator';
    if (!model || typeof model.apply !== 'function' || typeof model.parameters !== 'function') {
      throw new JouleError(op, 'model', 'an EnergyModel (parameters, apply, load)', String(model));
    }
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
    this.name = isBox(options.negatives) || options.ibc === true ? 'ibc' : 'rnce';
    this.model = model;
    this.negatives = options.negatives;
    this.k = k;
    this.sampling = options.sampling;
    this.opt = new Adam(model.parameters(), { lr });
    this.energy = (y: Tensor, context?: Tensor) => flatEnergy(this.model.apply(this.model.parameters(), y, context));
  }

  private draw(y: Tensor, rng: Rng, context?: Tensor): Negatives {
    const s = this.negatives;
    if (isBox(s)) return uniformBoxNegatives(s.low, s.high, y, this.k, rng);
    const negs = drawNegatives(s, y, this.k, rng, context);
    if (this.name === 'rnce') return negs;
    return { ...negs, logqNegatives: negs.logqNegatives.mul(0), logqPositives: negs.logqPositives.mul(0) };
  }

  /** One Adam step on a batch (`[n, d]`, or `{ x: context, y }` for a conditional energy). */
  async step(batch: RnceBatch, rng: Rng): Promise<Record<string, number>> {
    const { y, context } = splitBatch(batch);
    const negs = this.draw(y, rng, context);
    const params = this.model.parameters();
    let accuracy = 0;
    const { value, grad } = valueAndGrad((p: ParamTree) => {
      const out = rnceLoss((u, c) => flatEnergy(this.model.apply(p, u, c)), y, negs, context);
      accuracy = out.accuracy;
      return out.loss;
    })(params);
    const loss = (await value.data())[0] as number;
    if (!Number.isFinite(loss)) throw new JouleError('RnceEstimator.step', 'loss', 'a finite value', String(loss));
    this.model.load(this.opt.step(params, grad as ParamTree));
    return { loss, accuracy, lossGap: loss - Math.log(this.k + 1) };
  }

  /**
   * Algorithm 2: `n` draws from the negative sampler (given `context` `[n, c]` when conditional),
   * refined by Langevin steps on the energy.
   */
  async sample(n: number, rng: Rng, context?: Tensor): Promise<Tensor> {
    const s = this.negatives;
    if (isBox(s)) {
      throw new JouleError('RnceEstimator.sample', 'negatives', 'a negative sampler (IBC has none)', 'a box');
    }
    return sampleWithLangevin(this.energy, s, n, rng, { ...this.sampling, context });
  }

  /** The parameters and optimizer state. */
  state(): Record<string, unknown> {
    return { params: this.model.parameters(), optimizer: this.opt.state() };
  }

  /** Restores what {@link RnceEstimator.state} returned. */
  load(state: Record<string, unknown>): void {
    if (!state || typeof state !== 'object' || state.params === undefined || state.optimizer === undefined) {
      throw new JouleError('RnceEstimator.load', 'state', '{ params, optimizer }', String(state));
    }
    this.model.load(state.params as ParamTree);
    this.opt.load(state.optimizer as OptimizerState);
  }
}

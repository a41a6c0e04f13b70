import { type Distribution, type EnergyFn, type Estimator, JouleError } from '@joule/core';
import { Adam, descend, type OptimizerState, type ParamTree, snapshot } from '@joule/nn';
import { keep, noGrad, type Rng, Tensor, valueAndGrad, zeros } from '@joule/tensor';
import { cnceLogOdds, nceLoss, sampleNoisePairs } from './loss.js';
import type { CnceNoise } from './noise.js';

/**
 * A trainable energy: a parameter tree and a pure function of it (an `@joule/nn` `Module` fits:
 * `parameters()`, `apply(params, x)`, `load(params)`). `apply` returns energies `[n]` or `[n, 1]`.
 *
 * @example
 * ```ts
 * import type { EnergyModel } from '@joule/estimator-cnce';
 * import { MLP } from '@joule/nn';
 *
 * const model: EnergyModel = new MLP(2, 1, { rng, width: 64, depth: 2 });
 * ```
 */
export interface EnergyModel {
  /** The current parameters. */
  parameters(): ParamTree;
  /** The energy of `x` (`[n, d]`) under `params`. */
  apply(params: ParamTree, x: Tensor): Tensor;
  /** Replaces the parameters. */
  load(params: ParamTree): unknown;
}

/**
 * The optimizer an estimator uses: a ready `@joule/nn` `Optimizer` of the estimator's parameter
 * tree, or the learning rate of a default Adam.
 *
 * @example
 * ```ts
 * import type { OptimizerChoice } from '@joule/estimator-cnce';
 *
 * const choice: OptimizerChoice = { lr: 3e-4 };
 * ```
 */
export type OptimizerChoice = StepOptimizer | AdamSettings;

/**
 * What an estimator needs of an optimizer (every `@joule/nn` `Optimizer` has it): a functional
 * `step(params, grads) → params` and its state for checkpoints.
 *
 * @example
 * ```ts
 * import type { StepOptimizer } from '@joule/estimator-cnce';
 * import { SGD } from '@joule/nn';
 *
 * const opt: StepOptimizer = new SGD(model.parameters(), { lr: 0.1 });
 * ```
 */
export interface StepOptimizer {
  /** The updated parameters after one step on `grads`. */
  step(params: ParamTree, grads: ParamTree): ParamTree;
  /** The optimizer's state. */
  state(): OptimizerState;
  /** Restores a state from `state()`. */
  load(state: OptimizerState): void;
}

/**
 * The settings of the default Adam optimizer.
 *
 * @example
 * ```ts
 * import type { AdamSettings } from '@joule/estimator-cnce';
 *
 * const adam: AdamSettings = { lr: 1e-3 };
 * ```
 */
export interface AdamSettings {
  /** The learning rate (default 1e-3). */
  lr?: number;
}

function checkModel(op: string, model: EnergyModel): void {
  if (
    !model ||
    typeof model.apply !== 'function' ||
    typeof model.parameters !== 'function' ||
    typeof model.load !== 'function'
  ) {
    throw new JouleError(op, 'model', 'an EnergyModel (parameters, apply, load)', String(model));
  }
}

function flatEnergy(e: Tensor): Tensor {
  return e.rank === 2 && e.shape[1] === 1 ? e.reshape([e.shape[0] as number]) : e;
}

function checkBatch(op: string, x: unknown): asserts x is Tensor {
  if (!(x instanceof Tensor) || x.rank !== 2 || x.shape[0] === 0) {
    throw new JouleError(
      op,
      'batch',
      'a Tensor of shape [n, d] with n ≥ 1',
      x instanceof Tensor ? `shape [${x.shape}]` : typeof x,
    );
  }
}

function makeOptimizer(params: ParamTree, choice: OptimizerChoice | undefined): StepOptimizer {
  if (choice && typeof (choice as StepOptimizer).step === 'function') return choice as StepOptimizer;
  return new Adam(params, { lr: (choice as { lr?: number } | undefined)?.lr ?? 1e-3 });
}

/** Options of {@link CNCE}. */
export interface CNCEOptions {
  /** The noise `p_n(y|x)`: one conditional distribution or a mixture (see `mixedNoise`). */
  noise: CnceNoise;
  /** Noise points per data point (default 1). */
  k?: number;
  /** An optimizer of the model's parameters, or Adam options (default Adam, lr 1e-3). */
  optimizer?: OptimizerChoice;
}

/**
 * Conditional noise-contrastive estimation (Ceylan & Gutmann 2018; paper 001): each step draws
 * `k` noise points per data point from `p_n(y|x)` and takes one optimizer step on the loss of
 * eq. 13, `2·mean softplus(−F)`, `F = E(y) − E(x) + log p_n(y|x) − log p_n(x|y)`. With
 * `localNoise` this is "CNCE local", with `kdeNoise` "CNCE global" and with `mixedNoise` the
 * paper's "CNCE mix".
 *
 * `step` reports `loss`, `accuracy` (share of pairs with `F > 0`) and `lossGap` (loss − 2 log 2).
 *
 * @example
 * ```ts
 * import { CNCE, mixedNoise } from '@joule/estimator-cnce';
 * import { MLP } from '@joule/nn';
 *
 * const model = new MLP(1, 1, { rng, width: 32, depth: 2 });
 * const est = new CNCE(model, { noise: mixedNoise(data, { sigmaLocal: 0.1, sigmaGlobal: 0.2, localFraction: 0.5 }) });
 * const { loss } = await est.step(batch, rng);
 * ```
 */
export class CNCE implements Estimator<Tensor> {
  /** `'cnce'`. */
  readonly name = 'cnce';
  /** The current energy `E_θ` (`[n, d] → [n]`). */
  readonly energy: EnergyFn;
  private readonly model: EnergyModel;
  private readonly noise: CnceNoise;
  private readonly k: number;
  private readonly opt: StepOptimizer;

  /** A CNCE estimator training `model`. */
  constructor(model: EnergyModel, options: CNCEOptions) {
    checkModel('CNCE', model);
    if (!options || options.noise === undefined)
      throw new JouleError('CNCE', 'options.noise', 'a CNCE noise', 'nothing');
    const k = options.k ?? 1;
    if (!Number.isInteger(k) || k < 1) throw new JouleError('CNCE', 'options.k', 'a positive integer', String(k));
    this.model = model;
    this.noise = options.noise;
    this.k = k;
    this.opt = makeOptimizer(model.parameters(), options.optimizer);
    this.energy = (x: Tensor) => flatEnergy(this.model.apply(this.model.parameters(), x));
  }

  /** One optimizer step on a data batch `[n, d]`. */
  async step(batch: Tensor, rng: Rng): Promise<Record<string, number>> {
    checkBatch('CNCE.step', batch);
    const params = this.model.parameters();
    let accuracy = 0;
    const loss = await descend('CNCE.step', 'loss', this.model, this.opt, () => {
      const pairs = sampleNoisePairs(this.noise, batch, this.k, rng);
      const { value, grad } = valueAndGrad((p: ParamTree) => {
        const f = cnceLogOdds((x) => flatEnergy(this.model.apply(p, x)), pairs);
        accuracy = noGrad(() => f.gt(0).mean().dataSync()[0] as number);
        return f.neg().softplus().mean().mul(2);
      })(params);
      return { value, grad: grad as ParamTree };
    });
    return { loss, accuracy, lossGap: loss - 2 * Math.log(2) };
  }

  /**
   * The parameters and optimizer state. The parameter tensors are new handles on the current values
   * that outlive later steps (dispose them when done).
   */
  state(): Record<string, unknown> {
    return { params: snapshot(this.model.parameters()), optimizer: this.opt.state() };
  }

  /** Restores what {@link CNCE.state} returned. */
  load(state: Record<string, unknown>): void {
    this.model.load(state.params as ParamTree);
    this.opt.load(state.optimizer as OptimizerState);
  }
}

/** Options of {@link NCE}. */
export interface NCEOptions {
  /** The noise distribution `p_n` (e.g. a Gaussian, or a `GaussianKDE` for "NCE GMM"). */
  noise: Distribution;
  /** Noise points per data point, `ν` (default 1). */
  noiseRatio?: number;
  /** An optimizer of the parameters, or Adam options (default Adam, lr 1e-3). */
  optimizer?: OptimizerChoice;
}

/**
 * Binary noise-contrastive estimation (Gutmann & Hyvärinen 2012), the NCE baseline of paper 001:
 * data against `ν·n` independent noise points, with a learned log-normalizer `c` so that the
 * estimator's `energy(x) = E_θ(x) + c` is self-normalized (`−energy` is a log-density).
 *
 * @example
 * ```ts
 * import { NCE } from '@joule/estimator-cnce';
 * import { DiagNormal } from '@joule/distributions';
 *
 * const est = new NCE(model, { noise: new DiagNormal([0, 0], [1, 1]) });
 * const { loss } = await est.step(batch, rng);
 * ```
 */
export class NCE implements Estimator<Tensor> {
  /** `'nce'`. */
  readonly name = 'nce';
  /** The self-normalized energy `E_θ(x) + c`. */
  readonly energy: EnergyFn;
  private readonly model: EnergyModel;
  private readonly noise: Distribution;
  private readonly ratio: number;
  private logNormalizer: Tensor = keep(zeros([]));
  private readonly opt: StepOptimizer;

  /** An NCE estimator training `model` and a log-normalizer. */
  constructor(model: EnergyModel, options: NCEOptions) {
    checkModel('NCE', model);
    const noise = options?.noise;
    if (!noise || typeof noise.sample !== 'function' || typeof noise.logProb !== 'function') {
      throw new JouleError('NCE', 'options.noise', 'a Distribution', String(noise));
    }
    const ratio = options.noiseRatio ?? 1;
    if (typeof ratio !== 'number' || !(ratio > 0) || !Number.isFinite(ratio)) {
      throw new JouleError('NCE', 'options.noiseRatio', 'a finite positive number', String(ratio));
    }
    this.model = model;
    this.noise = noise;
    this.ratio = ratio;
    this.opt = makeOptimizer(this.tree(), options.optimizer);
    this.energy = (x: Tensor) => this.energyOf(this.tree(), x);
  }

  private tree(): ParamTree {
    return { model: this.model.parameters(), logNormalizer: this.logNormalizer };
  }

  private energyOf(p: ParamTree, x: Tensor): Tensor {
    return flatEnergy(this.model.apply(p.model as ParamTree, x)).add(p.logNormalizer as Tensor);
  }

  /** One optimizer step on a data batch `[n, d]`. */
  async step(batch: Tensor, rng: Rng): Promise<Record<string, number>> {
    checkBatch('NCE.step', batch);
    const n = batch.shape[0] as number;
    const m = Math.max(1, Math.round(this.ratio * n));
    const params = this.tree();
    const owner = {
      parameters: () => this.tree(),
      load: (next: ParamTree) => {
        this.model.load(next.model as ParamTree);
        this.logNormalizer = next.logNormalizer as Tensor;
      },
    };
    const loss = await descend('NCE.step', 'loss', owner, this.opt, () => {
      const { y, lx, ly } = noGrad(() => {
        const y = this.noise.sample(m, rng);
        return { y, lx: this.noise.logProb(batch), ly: this.noise.logProb(y) };
      });
      const { value, grad } = valueAndGrad((p: ParamTree) => nceLoss((u) => this.energyOf(p, u), batch, y, lx, ly))(
        params,
      );
      return { value, grad: grad as ParamTree };
    });
    return { loss, logNormalizer: this.logNormalizer.dataSync()[0] as number };
  }

  /**
   * The parameters (model and log-normalizer) and optimizer state. The parameter tensors are new
   * handles on the current values that outlive later steps (dispose them when done).
   */
  state(): Record<string, unknown> {
    return { params: snapshot(this.tree()), optimizer: this.opt.state() };
  }

  /** Restores what {@link NCE.state} returned. */
  load(state: Record<string, unknown>): void {
    const p = state.params as ParamTree;
    this.model.load(p.model as ParamTree);
    this.logNormalizer = p.logNormalizer as Tensor;
    this.opt.load(state.optimizer as OptimizerState);
  }
}

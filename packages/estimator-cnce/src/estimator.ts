import { type Distribution, type EnergyFn, type Estimator, JouleError } from '@joule/core';
import {
  assertEnergyModel,
  descend,
  type EnergyModel,
  energyVector,
  type OptimizerChoice,
  type OptimizerState,
  type ParamTree,
  resolveOptimizer,
  type StepOptimizer,
  snapshot,
} from '@joule/nn';
import { keep, noGrad, type Rng, Tensor, valueAndGrad, zeros } from '@joule/tensor';
import { cnceLogOdds, nceLoss, sampleNoisePairs } from './loss.js';
import type { CnceNoise } from './noise.js';

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
    assertEnergyModel('CNCE', 'model', model);
    if (!options || options.noise === undefined)
      throw new JouleError('CNCE', 'options.noise', 'a CNCE noise', 'nothing');
    const k = options.k ?? 1;
    if (!Number.isInteger(k) || k < 1) throw new JouleError('CNCE', 'options.k', 'a positive integer', String(k));
    this.model = model;
    this.noise = options.noise;
    this.k = k;
    this.opt = resolveOptimizer(model.parameters(), options.optimizer);
    this.energy = (x: Tensor) => energyVector(this.model.apply(this.model.parameters(), x));
  }

  /** One optimizer step on a data batch `[n, d]`. */
  async step(batch: Tensor, rng: Rng): Promise<Record<string, number>> {
    checkBatch('CNCE.step', batch);
    const params = this.model.parameters();
    let accuracy = 0;
    const loss = await descend('CNCE.step', 'loss', this.model, this.opt, () => {
      const pairs = sampleNoisePairs(this.noise, batch, this.k, rng);
      const { value, grad } = valueAndGrad((p: ParamTree) => {
        const f = cnceLogOdds((x) => energyVector(this.model.apply(p, x)), pairs);
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
    assertEnergyModel('NCE', 'model', model);
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
    this.opt = resolveOptimizer(this.tree(), options.optimizer);
    this.energy = (x: Tensor) => this.energyOf(this.tree(), x);
  }

  private tree(): ParamTree {
    return { model: this.model.parameters(), logNormalizer: this.logNormalizer };
  }

  private energyOf(p: ParamTree, x: Tensor): Tensor {
    return energyVector(this.model.apply(p.model as ParamTree, x)).add(p.logNormalizer as Tensor);
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

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
import { noGrad, type Rng, randint, randn, Tensor, tensor, valueAndGrad, zeros } from '@joule/tensor';
import { dsmLoss, type NoiseLevels } from './loss.js';

/**
 * The trainable energy of {@link DSM}: `@joule/nn`'s `EnergyModel`, whose context here is the noise
 * level: `apply(params, x, context)` with `context` the level index `t` as a `[n, 1]` float tensor
 * (absent in single-level DSM). An `@joule/nn` `Module` (e.g. `ConditionalMLP`) fits. `apply`
 * returns energies `[n]` or `[n, 1]`.
 *
 * @example
 * ```ts
 * import type { LevelEnergyModel } from '@joule/estimator-dsm';
 * import { MLP } from '@joule/nn';
 *
 * const model: LevelEnergyModel = new MLP(2, 1, { rng, width: 64, depth: 2 }); // single level
 * ```
 */
export type LevelEnergyModel = EnergyModel;

/**
 * The CNCE regularizer of paper 001 (§4, "EBM diff reg"): `weight · 2·mean softplus(−F)` with
 * global jumps `y ~ q`, `F = E_0(y) − E_0(x) + log q(y) − log q(x)`, on the clean-data energy
 * `E_0` (level 0). `q` is typically a `GaussianKDE` of the training data.
 *
 * @example
 * ```ts
 * import type { GlobalJumpRegularizer } from '@joule/estimator-dsm';
 * import { GaussianKDE } from '@joule/distributions';
 *
 * const reg: GlobalJumpRegularizer = { noise: new GaussianKDE(data, { bandwidth: { std: 0.1 } }), weight: 1 };
 * ```
 */
export interface GlobalJumpRegularizer {
  /** The jump distribution `q`. */
  noise: Distribution;
  /** The weight `λ` of the CNCE term, ≥ 0. */
  weight: number;
}

/** Options of {@link DSM}. */
export interface DSMOptions {
  /** Single-level DSM: the noise standard deviation (give this or `levels`). */
  sigma?: number;
  /** Multi-level DSM ("EBM diffusion"): the levels; each row draws a level uniformly. */
  levels?: NoiseLevels;
  /** Add paper 001's CNCE global-jump regularizer on the level-0 energy. */
  regularizer?: GlobalJumpRegularizer;
  /** An optimizer of the parameters, or Adam options (default Adam, lr 1e-3). */
  optimizer?: OptimizerChoice;
}

/**
 * Denoising score matching for an energy `E_θ` (Vincent 2011), whose score is `−∇_x E_θ`: single
 * noise level, or many levels sharing one level-conditioned network ("EBM diffusion", paper 001
 * eq. 2), optionally plus the CNCE global-jump regularizer that paper 001 proposes. `energy` is the
 * level-0 energy `E_0` (the learned clean density); `step` reports `loss`, `dsm` and, with the
 * regularizer, `cnce`.
 *
 * @example
 * ```ts
 * import { DSM, cosineSchedule } from '@joule/estimator-dsm';
 *
 * const est = new DSM(model, { levels: cosineSchedule(100), regularizer: { noise: kde, weight: 1 } });
 * const { loss } = await est.step(batch, rng);
 * ```
 */
export class DSM implements Estimator<Tensor> {
  /** `'dsm'`. */
  readonly name = 'dsm';
  /** The level-0 (clean-data) energy. */
  readonly energy: EnergyFn;
  private readonly model: LevelEnergyModel;
  private readonly levels: NoiseLevels | undefined;
  private readonly sigma: number;
  private readonly regularizer: GlobalJumpRegularizer | undefined;
  private readonly opt: StepOptimizer;

  /** A DSM estimator training `model`. */
  constructor(model: LevelEnergyModel, options: DSMOptions) {
    const op = 'DSM';
    assertEnergyModel(op, 'model', model);
    const { sigma, levels, regularizer } = options ?? {};
    if ((sigma === undefined) === (levels === undefined)) {
      throw new JouleError(op, 'options', 'exactly one of sigma or levels', sigma === undefined ? 'neither' : 'both');
    }
    if (sigma !== undefined && !(typeof sigma === 'number' && sigma > 0 && Number.isFinite(sigma))) {
      throw new JouleError(op, 'options.sigma', 'a finite positive number', String(sigma));
    }
    if (levels !== undefined) {
      const ok =
        Array.isArray(levels.alpha) &&
        Array.isArray(levels.sigma) &&
        levels.sigma.length > 0 &&
        levels.alpha.length === levels.sigma.length &&
        levels.sigma.every((s) => s > 0 && Number.isFinite(s)) &&
        levels.alpha.every((a) => Number.isFinite(a));
      if (!ok)
        throw new JouleError(
          op,
          'options.levels',
          'alpha and sigma of one nonzero length, sigma > 0',
          JSON.stringify(levels),
        );
    }
    if (regularizer !== undefined) {
      if (
        !regularizer.noise ||
        typeof regularizer.noise.sample !== 'function' ||
        typeof regularizer.noise.logProb !== 'function'
      ) {
        throw new JouleError(op, 'options.regularizer.noise', 'a Distribution', String(regularizer.noise));
      }
      if (!(regularizer.weight >= 0) || !Number.isFinite(regularizer.weight)) {
        throw new JouleError(op, 'options.regularizer.weight', 'a finite number ≥ 0', String(regularizer.weight));
      }
    }
    this.model = model;
    this.levels = levels;
    this.sigma = sigma ?? Number.NaN;
    this.regularizer = regularizer;
    this.opt = resolveOptimizer(model.parameters(), options.optimizer);
    this.energy = (x: Tensor) => this.levelZero(this.model.parameters(), x);
  }

  private levelZero(p: ParamTree, x: Tensor): Tensor {
    const ctx = this.levels ? zeros([x.shape[0] as number, 1]) : undefined;
    return energyVector(this.model.apply(p, x, ctx));
  }

  /** One optimizer step on a data batch `[n, d]`. */
  async step(batch: Tensor, rng: Rng): Promise<Record<string, number>> {
    if (!(batch instanceof Tensor) || batch.rank !== 2 || batch.shape[0] === 0) {
      throw new JouleError(
        'DSM.step',
        'batch',
        'a Tensor of shape [n, d] with n ≥ 1',
        batch instanceof Tensor ? `shape [${batch.shape}]` : typeof batch,
      );
    }
    const n = batch.shape[0] as number;
    const params = this.model.parameters();
    let dsm = 0;
    let cnce = 0;
    const loss = await descend('DSM.step', 'loss', this.model, this.opt, () => {
      const draws = noGrad(() => {
        const eps = randn(batch.shape, rng);
        let alpha: number | Tensor = 1;
        let sigma: number | Tensor = this.sigma;
        let context: Tensor | undefined;
        if (this.levels) {
          const t = Array.from(randint([n], 0, this.levels.sigma.length, rng).dataSync());
          context = tensor(t, [n, 1]);
          alpha = tensor(
            t.map((i) => this.levels?.alpha[i] as number),
            [n, 1],
          );
          sigma = tensor(
            t.map((i) => this.levels?.sigma[i] as number),
            [n, 1],
          );
        }
        const reg = this.regularizer;
        const jumps = reg ? reg.noise.sample(n, rng) : undefined;
        const logRatio = reg && jumps ? reg.noise.logProb(jumps).sub(reg.noise.logProb(batch)) : undefined;
        return { eps, alpha, sigma, context, jumps, logRatio };
      });
      const { value, grad } = valueAndGrad((p: ParamTree) => {
        const energy: EnergyFn = (u, c) => energyVector(this.model.apply(p, u, c));
        const sm = dsmLoss(energy, batch, draws.eps, draws.alpha, draws.sigma, draws.context);
        dsm = noGrad(() => sm.dataSync()[0] as number);
        if (!this.regularizer || !draws.jumps || !draws.logRatio) return sm;
        const f = this.levelZero(p, draws.jumps).sub(this.levelZero(p, batch)).add(draws.logRatio);
        const c = f.neg().softplus().mean().mul(2);
        cnce = noGrad(() => c.dataSync()[0] as number);
        return sm.add(c.mul(this.regularizer.weight));
      })(params);
      return { value, grad: grad as ParamTree };
    });
    return this.regularizer ? { loss, dsm, cnce } : { loss, dsm };
  }

  /**
   * The parameters and optimizer state. The parameter tensors are new handles on the current values
   * that outlive later steps (dispose them when done).
   */
  state(): Record<string, unknown> {
    return { params: snapshot(this.model.parameters()), optimizer: this.opt.state() };
  }

  /** Restores what {@link DSM.state} returned. */
  load(state: Record<string, unknown>): void {
    this.model.load(state.params as ParamTree);
    this.opt.load(state.optimizer as OptimizerState);
  }
}

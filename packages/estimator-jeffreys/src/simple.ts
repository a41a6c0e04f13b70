import { JouleError } from '@joule/core';
import type { EnergyModel, ParamTree } from '@joule/nn';
import { noGrad, type Rng, randn, type Tensor, tensor } from '@joule/tensor';
import type { TrainableDensity } from './models.js';

function finiteArray(op: string, arg: string, v: unknown, length: number): number[] {
  if (!Array.isArray(v) || v.length !== length || !v.every((e) => typeof e === 'number' && Number.isFinite(e))) {
    throw new JouleError(op, arg, `an array of ${length} finite numbers`, Array.isArray(v) ? `[${v}]` : String(v));
  }
  return v;
}

function paramOfShape(op: string, tree: unknown, name: string, size: number): Tensor {
  const t = (tree as Record<string, unknown> | null)?.[name] as Tensor | undefined;
  if (!t || !Array.isArray(t.shape) || t.shape.length !== 1 || t.shape[0] !== size) {
    throw new JouleError(
      op,
      `params.${name}`,
      `a tensor of shape [${size}]`,
      t && Array.isArray(t.shape) ? `shape [${t.shape.join(', ')}]` : String(t),
    );
  }
  return t;
}

function checkPoints(op: string, x: unknown, d: number): Tensor {
  const t = x as Tensor | null;
  if (!t || !Array.isArray(t.shape) || t.shape.length !== 2 || t.shape[1] !== d) {
    throw new JouleError(
      op,
      'x',
      `a tensor of shape [n, ${d}]`,
      t && Array.isArray(t.shape) ? `shape [${t.shape.join(', ')}]` : String(x),
    );
  }
  return t;
}

/**
 * Options of {@link GaussianDensity}.
 *
 * @example
 * ```ts
 * import type { GaussianDensityOptions } from '@joule/estimator-jeffreys';
 *
 * const options: GaussianDensityOptions = { mean: [0.3], logStd: [0] };
 * ```
 */
export interface GaussianDensityOptions {
  /** Initial mean, `d` numbers (default zeros). */
  mean?: number[];
  /** Initial log standard deviations, `d` numbers (default zeros: unit variance). */
  logStd?: number[];
}

/**
 * A diagonal Gaussian `N(μ, diag(σ²))` with trainable `μ` and `log σ`: the simplest
 * {@link TrainableDensity}, a deliberately capacity-limited stand-in for the paper's flow (it
 * cannot represent more than one mode, so the forward- and reverse-KL fits differ). Parameters
 * `{ mean: [d], logStd: [d] }`.
 *
 * @example
 * ```ts
 * import { GaussianDensity, JeffreysEstimator, RadialBasisEnergy } from '@joule/estimator-jeffreys';
 *
 * const p = new GaussianDensity(1, { mean: [0.3], logStd: [0] });
 * const q = new RadialBasisEnergy([[-1], [0], [1]], { bandwidth: 0.5, confinement: 1 / 50 });
 * const est = new JeffreysEstimator(p, q);
 * ```
 */
export class GaussianDensity implements TrainableDensity {
  /** The dimension `d`. */
  readonly dim: number;
  private params: { mean: Tensor; logStd: Tensor };

  /** A `d`-dimensional diagonal Gaussian. */
  constructor(dim: number, options: GaussianDensityOptions = {}) {
    const op = 'GaussianDensity';
    if (!Number.isInteger(dim) || dim <= 0) throw new JouleError(op, 'dim', 'a positive integer', String(dim));
    if (options === null || typeof options !== 'object')
      throw new JouleError(op, 'options', 'an object', String(options));
    this.dim = dim;
    const zeros = new Array<number>(dim).fill(0);
    this.params = {
      mean: tensor(finiteArray(op, 'options.mean', options.mean ?? zeros, dim)),
      logStd: tensor(finiteArray(op, 'options.logStd', options.logStd ?? zeros, dim)),
    };
  }

  /**
   * The current parameters `{ mean, logStd }`.
   *
   * @example
   * ```ts
   * const { mean, logStd } = p.parameters();
   * ```
   */
  parameters(): ParamTree {
    return { ...this.params };
  }

  /**
   * `log N(x; μ, diag(σ²))` for `x` `[n, d]` under `params`, `[n]`.
   *
   * @example
   * ```ts
   * const logp = p.apply(p.parameters(), x);
   * ```
   */
  apply(params: ParamTree, x: Tensor): Tensor {
    const op = 'GaussianDensity.apply';
    const d = this.dim;
    const mean = paramOfShape(op, params, 'mean', d);
    const logStd = paramOfShape(op, params, 'logStd', d);
    const z = checkPoints(op, x, d).sub(mean).mul(logStd.neg().exp());
    return z
      .square()
      .sum(1)
      .mul(-0.5)
      .sub(logStd.sum())
      .sub((d / 2) * Math.log(2 * Math.PI));
  }

  /**
   * Replaces the parameters (a tree `{ mean: [d], logStd: [d] }`).
   *
   * @example
   * ```ts
   * p.load({ mean: tensor([0]), logStd: tensor([Math.log(2)]) });
   * ```
   */
  load(params: ParamTree): this {
    const op = 'GaussianDensity.load';
    this.params = {
      mean: paramOfShape(op, params, 'mean', this.dim),
      logStd: paramOfShape(op, params, 'logStd', this.dim),
    };
    return this;
  }

  /**
   * `k` samples `μ + σ ⊙ z`, `z ~ N(0, I)`, `[k, d]`, with their log-density `[k]`.
   *
   * @example
   * ```ts
   * const { x, logProb } = p.sampleAndLogProb(1000, new Rng(0));
   * ```
   */
  sampleAndLogProb(
    k: number,
    rng: Rng,
  ): {
    /** The samples, `[k, d]`. */
    x: Tensor;
    /** Their log-density, `[k]`. */
    logProb: Tensor;
  } {
    if (!Number.isInteger(k) || k <= 0)
      throw new JouleError('GaussianDensity.sampleAndLogProb', 'k', 'a positive integer', String(k));
    return noGrad(() => {
      const x = randn([k, this.dim], rng).mul(this.params.logStd.exp()).add(this.params.mean);
      return { x, logProb: this.apply(this.params, x) };
    });
  }
}

/**
 * Options of {@link RadialBasisEnergy}.
 *
 * @example
 * ```ts
 * import type { RadialBasisEnergyOptions } from '@joule/estimator-jeffreys';
 *
 * const options: RadialBasisEnergyOptions = { bandwidth: 0.5, confinement: 1 / 50 };
 * ```
 */
export interface RadialBasisEnergyOptions {
  /** The bumps' common width `h` (default 0.5). */
  bandwidth?: number;
  /** The coefficient `a > 0` of the confining term `a |x|²`, which makes `exp(−E)` integrable (default 1/50). */
  confinement?: number;
  /** Initial bump weights `ψ_k` (default zeros). */
  weights?: number[];
  /**
   * Initial offset `ψ_0` (default `−(d/2) log(π/a)`: with zero weights `∫ exp(−E) = 1`, i.e. `ζ = 1`).
   */
  bias?: number;
}

/**
 * An energy linear in its parameters: Gaussian bumps at fixed centres plus a fixed confining
 * quadratic, `−E_ψ(x) = Σ_k ψ_k exp(−|x − c_k|² / (2h²)) + ψ_0 − a |x|²`. A small, smooth proxy
 * EBM (the 1-D toy of the paper digest uses 25 centres on `[−6, 6]`, `h = 0.5`, `a = 1/50`).
 * Parameters `{ weights: [K], bias: [1] }`.
 *
 * @example
 * ```ts
 * import { RadialBasisEnergy } from '@joule/estimator-jeffreys';
 *
 * const centres = Array.from({ length: 25 }, (_, k) => [-6 + k * 0.5]);
 * const q = new RadialBasisEnergy(centres, { bandwidth: 0.5, confinement: 1 / 50 });
 * const e = q.apply(q.parameters(), x); // [n]
 * ```
 */
export class RadialBasisEnergy implements EnergyModel {
  /** The dimension `d`. */
  readonly dim: number;
  /** The number of bumps `K`. */
  readonly size: number;
  private readonly centresT: Tensor;
  private readonly halfPrecision: number;
  private readonly confinement: number;
  private params: { weights: Tensor; bias: Tensor };

  /** Bumps at `centres` (`K` points of dimension `d`). */
  constructor(centres: number[][], options: RadialBasisEnergyOptions = {}) {
    const op = 'RadialBasisEnergy';
    if (!Array.isArray(centres) || centres.length === 0 || !Array.isArray(centres[0]) || centres[0].length === 0) {
      throw new JouleError(op, 'centres', 'a non-empty array of points [[c_1, …, c_d], …]', String(centres));
    }
    if (options === null || typeof options !== 'object')
      throw new JouleError(op, 'options', 'an object', String(options));
    const d = centres[0].length;
    centres.forEach((c, k) => {
      finiteArray(op, `centres[${k}]`, c, d);
    });
    const positive = (arg: string, v: number): number => {
      if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0)
        throw new JouleError(op, arg, 'a finite number > 0', String(v));
      return v;
    };
    this.dim = d;
    this.size = centres.length;
    const h = positive('options.bandwidth', options.bandwidth ?? 0.5);
    this.halfPrecision = 1 / (2 * h * h);
    this.centresT = tensor(centres).transpose();
    this.confinement = positive('options.confinement', options.confinement ?? 1 / 50);
    const bias = options.bias ?? -(d / 2) * Math.log(Math.PI / this.confinement);
    if (typeof bias !== 'number' || !Number.isFinite(bias))
      throw new JouleError(op, 'options.bias', 'a finite number', String(bias));
    this.params = {
      weights: tensor(finiteArray(op, 'options.weights', options.weights ?? new Array(this.size).fill(0), this.size)),
      bias: tensor([bias]),
    };
  }

  /**
   * The current parameters `{ weights, bias }`.
   *
   * @example
   * ```ts
   * const { weights, bias } = q.parameters();
   * ```
   */
  parameters(): ParamTree {
    return { ...this.params };
  }

  /**
   * `E_ψ(x)` for `x` `[n, d]` under `params`, `[n]`.
   *
   * @example
   * ```ts
   * const e = q.apply(q.parameters(), x);
   * ```
   */
  apply(params: ParamTree, x: Tensor): Tensor {
    const op = 'RadialBasisEnergy.apply';
    const weights = paramOfShape(op, params, 'weights', this.size);
    const bias = paramOfShape(op, params, 'bias', 1);
    const pts = checkPoints(op, x, this.dim);
    const n = pts.shape[0] as number;
    // |x − c_k|² summed one coordinate at a time: [n, 1] − [1, K] broadcasts, no [n, K, d] tensor.
    let sq = this.coordinateSquares(pts, 0, n);
    for (let j = 1; j < this.dim; j++) sq = sq.add(this.coordinateSquares(pts, j, n));
    const logBumps = sq.mul(-this.halfPrecision);
    const negEnergy = logBumps
      .exp()
      .matmul(weights.reshape([this.size, 1]))
      .reshape([n])
      .add(bias)
      .sub(pts.square().sum(1).mul(this.confinement));
    return negEnergy.neg();
  }

  /** `(x_j − c_{k,j})²`, `[n, K]`. */
  private coordinateSquares(pts: Tensor, j: number, n: number): Tensor {
    const column = this.dim === 1 ? pts : pts.slice([0, j], [n, 1]);
    const centres = this.dim === 1 ? this.centresT : this.centresT.slice([j, 0], [1, this.size]);
    return column.sub(centres).square();
  }

  /**
   * Replaces the parameters (a tree `{ weights: [K], bias: [1] }`).
   *
   * @example
   * ```ts
   * q.load({ weights: zeros([25]), bias: tensor([-2.53]) });
   * ```
   */
  load(params: ParamTree): this {
    const op = 'RadialBasisEnergy.load';
    this.params = {
      weights: paramOfShape(op, params, 'weights', this.size),
      bias: paramOfShape(op, params, 'bias', 1),
    };
    return this;
  }
}

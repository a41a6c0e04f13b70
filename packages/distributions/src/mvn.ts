import { type Distribution, JouleError } from '@joule/core';
import { cholesky, diagonal, type Rng, randn, type Tensor, triangularSolve } from '@joule/tensor';
import {
  assertFiniteTensor,
  checkPoints,
  checkSampleSize,
  eventAndBatch,
  fmt,
  LOG_2PI,
  type ParamLike,
  readable,
  toTensor,
} from './util.js';

/**
 * How a {@link MultivariateNormal} gets its covariance: either the covariance itself (factored by
 * Cholesky) or its lower-triangular Cholesky factor `L` with `Σ = L Lᵀ`.
 *
 * @example
 * ```ts
 * import type { CovarianceSpec } from '@joule/distributions';
 *
 * const a: CovarianceSpec = { covariance: [[2, 0.5], [0.5, 1]] };
 * const b: CovarianceSpec = { scaleTril: [[1, 0], [0.5, 1]] };
 * ```
 */
export type CovarianceSpec =
  | {
      /** A symmetric positive-definite `[d, d]` (or batched `[n, d, d]`) covariance. */
      covariance: ParamLike;
    }
  | {
      /** A lower-triangular `[d, d]` (or `[n, d, d]`) factor with a positive diagonal. */
      scaleTril: ParamLike;
    };

/** Relative tolerance of the symmetry check of a covariance (float32 inputs). */
const SYMMETRY_TOL = 1e-5;

/**
 * A Gaussian with a full covariance, `N(loc, L Lᵀ)`, evaluated through its Cholesky factor `L`
 * (`logProb` solves `L z = x − loc`, `log det Σ = 2 Σ log Lᵢᵢ`).
 *
 * `loc` is `[d]` or `[n, d]` (a batch); the factor is `[d, d]` (shared) or `[n, d, d]`.
 * Sampling is reparameterized, `x = loc + L ε`, so gradients reach `loc` and the factor (and,
 * through the differentiable Cholesky, a covariance given as a tensor).
 *
 * @example
 * ```ts
 * import { MultivariateNormal } from '@joule/distributions';
 * import { Rng, tensor } from '@joule/tensor';
 *
 * const p = new MultivariateNormal(tensor([0, 0]), { covariance: tensor([[2, 0.5], [0.5, 1]]) });
 * const x = p.sample(1000, new Rng(0)); // [1000, 2]
 * const lp = p.logProb(x);              // [1000]
 * ```
 */
export class MultivariateNormal implements Distribution {
  /** The dimension `d` of one point. */
  readonly dim: number;
  /** The number of distributions in the batch, or `undefined` for one shared distribution. */
  readonly batchSize: number | undefined;
  /** The mean, `[d]` or `[n, d]`. */
  readonly loc: Tensor;
  /** The lower Cholesky factor `L` of the covariance, `[d, d]` or `[n, d, d]`. */
  readonly scaleTril: Tensor;

  /**
   * @param loc - the mean, `[d]` or `[n, d]`
   * @param spec - the covariance or its Cholesky factor
   * @throws JouleError when the covariance is not symmetric positive definite, the factor is not
   *   lower triangular with a positive diagonal, or the shapes disagree
   */
  constructor(loc: ParamLike, spec: CovarianceSpec) {
    const op = 'MultivariateNormal';
    this.loc = toTensor(loc);
    const { dim, batch } = eventAndBatch(op, 'loc', this.loc);
    this.dim = dim;
    assertFiniteTensor(op, 'loc', this.loc);
    if (spec !== null && typeof spec === 'object' && 'covariance' in spec) {
      const cov = toTensor(spec.covariance);
      const factorBatch = checkMatrix(op, 'covariance', cov, dim, batch);
      this.batchSize = batch ?? factorBatch;
      checkSymmetric(op, cov, dim);
      try {
        this.scaleTril = cholesky(cov);
      } catch (e) {
        if (e instanceof JouleError)
          throw new JouleError(op, 'covariance', 'a symmetric positive-definite matrix', e.message);
        throw e;
      }
    } else if (spec !== null && typeof spec === 'object' && 'scaleTril' in spec) {
      const l = toTensor(spec.scaleTril);
      const factorBatch = checkMatrix(op, 'scaleTril', l, dim, batch);
      this.batchSize = batch ?? factorBatch;
      checkLowerTriangular(op, l, dim);
      this.scaleTril = l;
    } else {
      throw new JouleError(op, 'spec', '{ covariance } or { scaleTril }', String(spec));
    }
  }

  /**
   * `n` reparameterized draws `loc + L ε`, `[n, d]` (for a batch, `n` is the batch size).
   *
   * @example
   * ```ts
   * const x = p.sample(10, rng);
   * ```
   */
  sample(n: number, rng: Rng): Tensor {
    checkSampleSize('MultivariateNormal.sample', n, this.batchSize);
    const eps = randn([n, this.dim], rng);
    const noise =
      this.scaleTril.rank === 2
        ? eps.matmul(this.scaleTril, { transB: true })
        : this.scaleTril.matmul(eps.unsqueeze(-1)).squeeze(-1);
    return this.loc.add(noise);
  }

  /**
   * The log-density of each row of `x` (`[..., n, d]` → `[..., n]`).
   *
   * @example
   * ```ts
   * const lp = p.logProb(tensor([[0, 0]]));
   * ```
   */
  logProb(x: Tensor): Tensor {
    checkPoints('MultivariateNormal.logProb', x, this.dim, this.batchSize);
    const z = triangularSolve(this.scaleTril, x.sub(this.loc).unsqueeze(-1)).squeeze(-1);
    const halfLogDet = diagonal(this.scaleTril).log().sum(-1);
    return z
      .square()
      .sum(-1)
      .mul(-0.5)
      .sub(halfLogDet)
      .sub(0.5 * this.dim * LOG_2PI);
  }

  /**
   * The mean, `[d]` or `[n, d]`.
   *
   * @example
   * ```ts
   * p.mean.toArray(); // [0, 0]
   * ```
   */
  get mean(): Tensor {
    return this.batchSize === undefined ? this.loc : this.loc.broadcastTo([this.batchSize, this.dim]);
  }

  /**
   * The covariance `L Lᵀ`, `[d, d]` or `[n, d, d]`.
   *
   * @example
   * ```ts
   * p.covariance.toArray(); // [[2, 0.5], [0.5, 1]]
   * ```
   */
  get covariance(): Tensor {
    return this.scaleTril.matmul(this.scaleTril, { transB: true });
  }

  /**
   * The per-coordinate variance (the diagonal of the covariance), `[d]` or `[n, d]`.
   *
   * @example
   * ```ts
   * p.variance.toArray(); // [2, 1]
   * ```
   */
  get variance(): Tensor {
    const v = this.scaleTril.square().sum(-1);
    return this.batchSize === undefined || v.rank === 2 ? v : v.broadcastTo([this.batchSize, this.dim]);
  }
}

function checkMatrix(op: string, arg: string, m: Tensor, dim: number, batch: number | undefined): number | undefined {
  const ok =
    (m.rank === 2 || m.rank === 3) &&
    m.shape[m.rank - 1] === dim &&
    m.shape[m.rank - 2] === dim &&
    (m.rank === 2 || batch === undefined || m.shape[0] === batch);
  if (!ok) {
    const want =
      batch === undefined
        ? `[${dim}, ${dim}] or [n, ${dim}, ${dim}]`
        : `[${dim}, ${dim}] or [${batch}, ${dim}, ${dim}]`;
    throw new JouleError(op, arg, `shape ${want}`, `shape ${fmt(m.shape)}`);
  }
  assertFiniteTensor(op, arg, m);
  return m.rank === 3 ? m.shape[0] : undefined;
}

function checkSymmetric(op: string, cov: Tensor, d: number): void {
  const v = readable(cov);
  if (!v) return;
  for (let b = 0; b < v.length; b += d * d) {
    for (let i = 0; i < d; i++) {
      for (let j = 0; j < i; j++) {
        const a = v[b + i * d + j]!;
        const c = v[b + j * d + i]!;
        if (Math.abs(a - c) > SYMMETRY_TOL * Math.max(1, Math.abs(a), Math.abs(c))) {
          throw new JouleError(
            op,
            'covariance',
            'a symmetric matrix',
            `entries (${i}, ${j}) = ${a} and (${j}, ${i}) = ${c}`,
          );
        }
      }
    }
  }
}

function checkLowerTriangular(op: string, l: Tensor, d: number): void {
  const v = readable(l);
  if (!v) return;
  for (let b = 0; b < v.length; b += d * d) {
    for (let i = 0; i < d; i++) {
      if (!(v[b + i * d + i]! > 0)) {
        throw new JouleError(op, 'scaleTril', 'a positive diagonal', `entry (${i}, ${i}) = ${v[b + i * d + i]}`);
      }
      for (let j = i + 1; j < d; j++) {
        if (v[b + i * d + j] !== 0) {
          throw new JouleError(
            op,
            'scaleTril',
            'a lower-triangular matrix',
            `entry (${i}, ${j}) = ${v[b + i * d + j]}`,
          );
        }
      }
    }
  }
}

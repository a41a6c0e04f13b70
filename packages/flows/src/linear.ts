import type { ParamTree } from '@joule/nn';
import {
  eye,
  JouleError,
  logSigmoid,
  type Rng,
  randn,
  type Tensor,
  tensor,
  triangularSolve,
  tril,
  triu,
  zeros,
} from '@joule/tensor';
import { Bijector, type BijectorResult } from './bijector.js';
import { Permutation } from './permutation.js';

/**
 * An invertible linear map `y = z Wᵀ + b` with `W = P L U` (Kingma & Dhariwal's LU-decomposed 1×1
 * convolution, here on vectors): `P` a fixed random permutation, `L` unit lower triangular, `U`
 * upper triangular with diagonal `exp(logDiag)`, so `log|det| = Σ logDiag` and the inverse is two
 * triangular solves. Starts near the permutation `P` (small random `L`, `U`).
 *
 * @example
 * ```ts
 * const mix = new LULinear(4, { rng: new Rng(0) });
 * const { y, logDet } = mix.forward(z);
 * ```
 */
export class LULinear extends Bijector {
  private readonly permutation: Tensor;

  /** A linear bijector on `R^dim`. */
  constructor(dim: number, options: { rng: Rng }) {
    super(dim);
    if (!options?.rng) throw new JouleError('LULinear', 'rng', 'an Rng', String(options?.rng));
    const order = Permutation.random(dim, options.rng).order;
    const p = new Float32Array(dim * dim);
    order.forEach((j, i) => {
      p[i * dim + j] = 1;
    });
    this.permutation = tensor(p, [dim, dim]);
    this.addParameter('lower', randn([dim, dim], options.rng, 0, 0.01));
    this.addParameter('upper', randn([dim, dim], options.rng, 0, 0.01));
    this.addParameter('logDiag', zeros([dim]));
    this.addParameter('bias', zeros([dim]));
  }

  private factors(p: ParamTree): { L: Tensor; U: Tensor } {
    const d = this.dim;
    const L = tril(p.lower as Tensor, -1).add(eye(d));
    const U = triu(p.upper as Tensor, 1).add(eye(d).mul((p.logDiag as Tensor).exp()));
    return { L, U };
  }

  forwardWith(p: ParamTree, z: Tensor): BijectorResult {
    this.checkPoints('forward', z);
    const { L, U } = this.factors(p);
    const W = this.permutation.matmul(L).matmul(U);
    return {
      y: z.matmul(W, { transB: true }).add(p.bias as Tensor),
      logDet: zeros([z.shape[0]]).add((p.logDiag as Tensor).sum()),
    };
  }

  inverseWith(p: ParamTree, y: Tensor): BijectorResult {
    this.checkPoints('inverse', y);
    const { L, U } = this.factors(p);
    // zᵀ = U⁻¹ L⁻¹ Pᵀ (yᵀ − b), with the columns of the right-hand side being the points.
    const rhs = this.permutation.matmul(y.sub(p.bias as Tensor), { transA: true, transB: true });
    const z = triangularSolve(U, triangularSolve(L, rhs, { lower: true }), { lower: false }).transpose();
    return { y: z, logDet: zeros([y.shape[0]]).sub((p.logDiag as Tensor).sum()) };
  }
}

/**
 * The logistic sigmoid `y = 1/(1 + e^{−x})` coordinate by coordinate, from `R^d` onto `(0, 1)^d`,
 * with `log|det| = Σ (log σ(x) + log σ(−x))`; its inverse is the logit. Use it last to put a flow's
 * density on the unit box (or wrap it in `Inverse` for a logit layer that opens a box).
 *
 * @example
 * ```ts
 * const boxed = new Flow([new AffineCoupling(2, { rng }), new Sigmoid(2)]);   // a density on (0, 1)²
 * ```
 */
export class Sigmoid extends Bijector {
  forwardWith(_p: ParamTree, x: Tensor): BijectorResult {
    this.checkPoints('forward', x);
    return { y: x.sigmoid(), logDet: logSigmoid(x).add(logSigmoid(x.neg())).sum(1) };
  }

  inverseWith(_p: ParamTree, y: Tensor): BijectorResult {
    this.checkPoints('inverse', y);
    const logY = y.log();
    const log1mY = y.neg().log1p();
    return { y: logY.sub(log1mY), logDet: logY.add(log1mY).sum(1).neg() };
  }
}

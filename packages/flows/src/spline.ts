import { MLP, type ParamTree } from '@joule/nn';
import {
  concat,
  cumsum,
  JouleError,
  pad,
  type Rng,
  softmax,
  softplus,
  type Tensor,
  tensor,
  where,
} from '@joule/tensor';
import { Bijector, type BijectorResult } from './bijector.js';
import { Made, type MadeOptions } from './made.js';

const MIN_BIN = 1e-3;
const MIN_DERIVATIVE = 1e-3;

/**
 * (Internal.) The monotone rational-quadratic spline of Durkan et al. (2019, "Neural Spline Flows") applied
 * elementwise to `x` (`[n, m]`), with `K` bins on `[−bound, bound]` and the identity outside.
 * `w`, `h` (`[n, m, K]`) and `d` (`[n, m, K − 1]`) are unnormalised widths, heights and interior
 * knot derivatives (the boundary derivatives are 1, so the map is C¹ at ±bound).
 * Returns the image and the elementwise `log dy/dx` (for `inverse`, of the inverse map).
 */
export function rationalQuadraticSpline(
  x: Tensor,
  w: Tensor,
  h: Tensor,
  d: Tensor,
  bound: number,
  inverse: boolean,
): { y: Tensor; logDet: Tensor } {
  const K = w.shape[2];
  const knots = (u: Tensor) => {
    const size = softmax(u, -1)
      .mul(1 - MIN_BIN * K)
      .add(MIN_BIN)
      .mul(2 * bound);
    const cum = pad(cumsum(size, -1), [
      [0, 0],
      [0, 0],
      [1, 0],
    ]).sub(bound);
    return { size, cum };
  };
  const { size: widths, cum: xs } = knots(w);
  const { size: heights, cum: ys } = knots(h);
  const deriv = pad(softplus(d).add(MIN_DERIVATIVE), [
    [0, 0],
    [0, 0],
    [1, 1],
  ]);
  // The padded boundary entries are 0; adding 1 there pins the boundary derivatives to 1.
  const edges = new Float32Array(K + 1);
  edges[0] = 1;
  edges[K] = 1;
  const derivs = deriv.add(tensor(edges));
  const inside = x.ge(-bound).mul(x.le(bound));
  const xc = x.clamp(-bound, bound);
  // Bin index: the number of interior knots at or below the point (knots of y for the inverse).
  const ref = inverse ? ys : xs;
  const interior = ref.slice([0, 0, 1], [ref.shape[0], ref.shape[1], K - 1]);
  const bin = xc.unsqueeze(-1).ge(interior).sum(-1, true);
  const at = (t: Tensor) => t.takeAlongAxis(bin, 2).squeeze(2);
  const xk = at(xs);
  const yk = at(ys);
  const wk = at(widths);
  const hk = at(heights);
  const dk = at(derivs);
  const dk1 = at(derivs.slice([0, 0, 1], [derivs.shape[0], derivs.shape[1], K]));
  const sk = hk.div(wk);
  const curvature = dk1.add(dk).sub(sk.mul(2));
  let xi: Tensor;
  let y: Tensor;
  if (!inverse) {
    xi = xc.sub(xk).div(wk);
    const t1 = xi.mul(xi.neg().add(1));
    y = yk.add(hk.mul(sk.mul(xi.square()).add(dk.mul(t1))).div(sk.add(curvature.mul(t1))));
  } else {
    const dy = xc.sub(yk);
    const a = hk.mul(sk.sub(dk)).add(dy.mul(curvature));
    const b = hk.mul(dk).sub(dy.mul(curvature));
    const c = sk.mul(dy).neg();
    const disc = b.square().sub(a.mul(c).mul(4)).clamp(0, Number.POSITIVE_INFINITY);
    xi = c.mul(2).div(b.neg().sub(disc.sqrt()));
    y = xi.mul(wk).add(xk);
  }
  const t1 = xi.mul(xi.neg().add(1));
  const numerator = sk.square().mul(
    dk1
      .mul(xi.square())
      .add(sk.mul(t1).mul(2))
      .add(dk.mul(xi.neg().add(1).square())),
  );
  const denominator = sk.add(curvature.mul(t1));
  const logDeriv = numerator.log().sub(denominator.square().log());
  return {
    y: where(inside, y, x),
    logDet: where(inside, inverse ? logDeriv.neg() : logDeriv, 0),
  };
}

/** Options of {@link RationalQuadraticCoupling}. */
export interface RationalQuadraticCouplingOptions {
  /** Generator of the conditioner's initial weights. */
  rng: Rng;
  /** Number of spline bins (default 8). */
  bins?: number;
  /** The spline acts on `[−bound, bound]`, the identity outside (default 4). */
  bound?: number;
  /** Hidden width of the conditioner MLP (default 64). */
  width?: number;
  /** Hidden layers of the conditioner MLP (default 2). */
  depth?: number;
  /** Dimension of a context fed to the conditioner (default 0). */
  contextDim?: number;
  /** Which coordinates pass through: the first ⌈d/2⌉ (`'first'`, default) or the last ⌈d/2⌉. */
  keep?: 'first' | 'last';
}

/**
 * Rational-quadratic spline coupling (neural spline flows, Durkan et al. 2019): half the
 * coordinates pass through, the others go through monotone rational-quadratic splines whose
 * bins and knot derivatives an MLP computes from the kept half (and a context). Exact inverse in
 * one pass. Starts as the identity on `[−bound, bound]` (uniform bins, unit derivatives).
 *
 * @example
 * ```ts
 * const layer = new RationalQuadraticCoupling(2, { rng: new Rng(0), bins: 8, bound: 4 });
 * const { y, logDet } = layer.forward(z);
 * ```
 */
export class RationalQuadraticCoupling extends Bijector {
  private readonly net: MLP;
  private readonly kept: number[];
  private readonly moved: number[];
  private readonly restore: number[];
  private readonly contextDim: number;
  private readonly bins: number;
  private readonly bound: number;

  /** A spline coupling layer on `R^dim` (dim ≥ 2). */
  constructor(dim: number, options: RationalQuadraticCouplingOptions) {
    super(dim);
    const op = 'RationalQuadraticCoupling';
    if (dim < 2) throw new JouleError(op, 'dim', 'at least 2', String(dim));
    this.bins = options.bins ?? 8;
    if (!Number.isInteger(this.bins) || this.bins < 2)
      throw new JouleError(op, 'bins', 'an integer ≥ 2', String(this.bins));
    this.bound = options.bound ?? 4;
    if (!(this.bound > 0)) throw new JouleError(op, 'bound', 'a positive number', String(this.bound));
    this.contextDim = options.contextDim ?? 0;
    if (!Number.isInteger(this.contextDim) || this.contextDim < 0)
      throw new JouleError(op, 'contextDim', 'a non-negative integer', String(this.contextDim));
    const keep = options.keep ?? 'first';
    if (keep !== 'first' && keep !== 'last') throw new JouleError(op, 'keep', "'first' or 'last'", String(keep));
    const k = Math.ceil(dim / 2);
    const all = Array.from({ length: dim }, (_, i) => i);
    this.kept = keep === 'first' ? all.slice(0, k) : all.slice(dim - k);
    this.moved = all.filter((i) => !this.kept.includes(i));
    this.restore = new Array(dim);
    [...this.kept, ...this.moved].forEach((v, i) => {
      this.restore[v] = i;
    });
    this.net = this.addModule(
      'net',
      new MLP(k + this.contextDim, this.moved.length * (3 * this.bins - 1), {
        rng: options.rng,
        width: options.width ?? 64,
        depth: options.depth ?? 2,
        zeroInitLast: true,
      }),
    );
  }

  private run(p: ParamTree, x: Tensor, context: Tensor | undefined, inverse: boolean): BijectorResult {
    const n = x.shape[0];
    const m = this.moved.length;
    const K = this.bins;
    const a = x.indexSelect(tensor(this.kept), 1);
    const b = x.indexSelect(tensor(this.moved), 1);
    // The zero-initialised net gives d = 0; the shift makes softplus(d) + MIN_DERIVATIVE = 1 at start.
    const raw = this.net
      .apply(p.net as ParamTree, context === undefined ? a : concat([a, context], 1))
      .reshape([n, m, 3 * K - 1]);
    const w = raw.slice([0, 0, 0], [n, m, K]);
    const h = raw.slice([0, 0, K], [n, m, K]);
    const d = raw.slice([0, 0, 2 * K], [n, m, K - 1]).add(Math.log(Math.expm1(1 - MIN_DERIVATIVE)));
    const s = rationalQuadraticSpline(b, w, h, d, this.bound, inverse);
    return { y: concat([a, s.y], 1).indexSelect(tensor(this.restore), 1), logDet: s.logDet.sum(1) };
  }

  forwardWith(p: ParamTree, x: Tensor, context?: Tensor): BijectorResult {
    this.checkPoints('forward', x);
    this.checkContext('forward', x, context, this.contextDim);
    return this.run(p, x, context, false);
  }

  inverseWith(p: ParamTree, y: Tensor, context?: Tensor): BijectorResult {
    this.checkPoints('inverse', y);
    this.checkContext('inverse', y, context, this.contextDim);
    return this.run(p, y, context, true);
  }
}

/** Options of {@link RationalQuadraticAutoregressive}. */
export interface RationalQuadraticAutoregressiveOptions extends MadeOptions {
  /** Number of spline bins (default 8). */
  bins?: number;
  /** The splines act on `[−bound, bound]`, the identity outside (default 4). */
  bound?: number;
}

/**
 * Autoregressive rational-quadratic spline layer (neural spline flows, Durkan et al. 2019):
 * `x_i = spline_i(z_i; x_{<i}, c)` with the spline parameters from a {@link Made}. Density
 * (`inverse`) in one pass, sampling (`forward`) in `d` passes. Starts as the identity.
 *
 * @example
 * ```ts
 * const layer = new RationalQuadraticAutoregressive(3, { rng: new Rng(0), bins: 8, width: 32 });
 * const { y: z, logDet } = layer.inverse(x);
 * ```
 */
export class RationalQuadraticAutoregressive extends Bijector {
  private readonly made: Made;
  private readonly bins: number;
  private readonly bound: number;

  /** A spline autoregressive layer on `R^dim` (dim ≥ 2). */
  constructor(dim: number, options: RationalQuadraticAutoregressiveOptions) {
    super(dim);
    const op = 'RationalQuadraticAutoregressive';
    this.bins = options.bins ?? 8;
    if (!Number.isInteger(this.bins) || this.bins < 2)
      throw new JouleError(op, 'bins', 'an integer ≥ 2', String(this.bins));
    this.bound = options.bound ?? 4;
    if (!(this.bound > 0)) throw new JouleError(op, 'bound', 'a positive number', String(this.bound));
    this.made = this.addModule('made', new Made(dim, 3 * this.bins - 1, options));
  }

  private spline(
    p: ParamTree,
    conditioner: Tensor,
    x: Tensor,
    context: Tensor | undefined,
    inverse: boolean,
  ): BijectorResult {
    const n = x.shape[0];
    const d = this.dim;
    const K = this.bins;
    const raw = this.made.apply(p.made as ParamTree | undefined, conditioner, context);
    const w = raw.slice([0, 0, 0], [n, d, K]);
    const h = raw.slice([0, 0, K], [n, d, K]);
    const dv = raw.slice([0, 0, 2 * K], [n, d, K - 1]).add(Math.log(Math.expm1(1 - MIN_DERIVATIVE)));
    const s = rationalQuadraticSpline(x, w, h, dv, this.bound, inverse);
    return { y: s.y, logDet: s.logDet.sum(1) };
  }

  forwardWith(p: ParamTree, z: Tensor, context?: Tensor): BijectorResult {
    this.checkPoints('forward', z);
    this.checkContext('forward', z, context, this.made.contextDim);
    // After pass i the first i+1 coordinates are final.
    let x = z;
    for (let i = 0; i < this.dim; i++) x = this.spline(p, x, z, context, false).y;
    return this.spline(p, x, z, context, false);
  }

  inverseWith(p: ParamTree, x: Tensor, context?: Tensor): BijectorResult {
    this.checkPoints('inverse', x);
    this.checkContext('inverse', x, context, this.made.contextDim);
    return this.spline(p, x, x, context, true);
  }
}

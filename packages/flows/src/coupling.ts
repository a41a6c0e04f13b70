import { MLP, type ParamTree } from '@joule/nn';
import { concat, JouleError, type Rng, type Tensor, tensor } from '@joule/tensor';
import { Bijector, type BijectorResult } from './bijector.js';

/** Options of {@link AffineCoupling}. */
export interface AffineCouplingOptions {
  /** Generator of the conditioner's initial weights. */
  rng: Rng;
  /** Hidden width of the conditioner MLP (default 64). */
  width?: number;
  /** Hidden layers of the conditioner MLP (default 2). */
  depth?: number;
  /** Dimension of a context fed to the conditioner (default 0: unconditional). */
  contextDim?: number;
  /** Which coordinates pass through unchanged: the first ⌈d/2⌉ (`'first'`, default) or the last ⌈d/2⌉ (`'last'`). */
  keep?: 'first' | 'last';
  /** Log-scales are soft-clamped to `±scaleBound` by `b·tanh(s/b)` (default 3). */
  scaleBound?: number;
}

/**
 * The affine coupling layer of RealNVP (Dinh et al., 2017): half the coordinates `a` pass through,
 * the other half become `b·exp(s(a, c)) + t(a, c)` with `s`, `t` from an MLP conditioner of `a`
 * and an optional context `c`; `log|det| = Σ s`. Starts as the identity (zero-initialised last
 * layer). Inverse in one pass.
 *
 * @example
 * ```ts
 * const layer = new AffineCoupling(2, { rng: new Rng(0), width: 64, keep: 'last' });
 * const conditional = new AffineCoupling(2, { rng, contextDim: 3 });
 * const { y, logDet } = conditional.forward(z, context);
 * ```
 */
export class AffineCoupling extends Bijector {
  private readonly net: MLP;
  private readonly kept: number[];
  private readonly moved: number[];
  private readonly restore: number[];
  private readonly contextDim: number;
  private readonly bound: number;

  /** A coupling layer on `R^dim` (dim ≥ 2). */
  constructor(dim: number, options: AffineCouplingOptions) {
    super(dim);
    if (dim < 2) throw new JouleError('AffineCoupling', 'dim', 'at least 2', String(dim));
    const keep = options.keep ?? 'first';
    if (keep !== 'first' && keep !== 'last')
      throw new JouleError('AffineCoupling', 'keep', "'first' or 'last'", String(keep));
    this.contextDim = options.contextDim ?? 0;
    if (!Number.isInteger(this.contextDim) || this.contextDim < 0) {
      throw new JouleError('AffineCoupling', 'contextDim', 'a non-negative integer', String(this.contextDim));
    }
    this.bound = options.scaleBound ?? 3;
    if (!(this.bound > 0))
      throw new JouleError('AffineCoupling', 'scaleBound', 'a positive number', String(this.bound));
    const k = Math.ceil(dim / 2);
    const all = Array.from({ length: dim }, (_, i) => i);
    this.kept = keep === 'first' ? all.slice(0, k) : all.slice(dim - k);
    this.moved = all.filter((i) => !this.kept.includes(i));
    const order = [...this.kept, ...this.moved];
    this.restore = new Array(dim);
    order.forEach((v, i) => {
      this.restore[v] = i;
    });
    this.net = this.addModule(
      'net',
      new MLP(k + this.contextDim, 2 * this.moved.length, {
        rng: options.rng,
        width: options.width ?? 64,
        depth: options.depth ?? 2,
        zeroInitLast: true,
      }),
    );
  }

  private split(p: ParamTree, x: Tensor, context: Tensor | undefined) {
    const a = x.indexSelect(tensor(this.kept), 1);
    const b = x.indexSelect(tensor(this.moved), 1);
    const h = this.net.apply(p.net as ParamTree, context === undefined ? a : concat([a, context], 1));
    const m = this.moved.length;
    const n = x.shape[0];
    const s = h.slice([0, 0], [n, m]).div(this.bound).tanh().mul(this.bound);
    const t = h.slice([0, m], [n, m]);
    return { a, b, s, t };
  }

  forwardWith(p: ParamTree, x: Tensor, context?: Tensor): BijectorResult {
    this.checkPoints('forward', x);
    this.checkContext('forward', x, context, this.contextDim);
    const { a, b, s, t } = this.split(p, x, context);
    const y = concat([a, b.mul(s.exp()).add(t)], 1).indexSelect(tensor(this.restore), 1);
    return { y, logDet: s.sum(1) };
  }

  inverseWith(p: ParamTree, y: Tensor, context?: Tensor): BijectorResult {
    this.checkPoints('inverse', y);
    this.checkContext('inverse', y, context, this.contextDim);
    const { a, b, s, t } = this.split(p, y, context);
    const x = concat([a, b.sub(t).mul(s.neg().exp())], 1).indexSelect(tensor(this.restore), 1);
    return { y: x, logDet: s.sum(1).neg() };
  }
}

import { Module, type ParamTree } from '@joule/nn';
import { concat, JouleError, type Rng, randn, type Tensor, tensor, zeros } from '@joule/tensor';
import { Bijector, type BijectorResult } from './bijector.js';

/** `y = x (W ⊙ M)ᵀ + b` with a fixed 0/1 mask `M` (`[out, in]`). */
class MaskedLinear extends Module {
  private readonly mask: Tensor;

  constructor(mask: number[][], rng: Rng, zeroInit: boolean) {
    super();
    const out = mask.length;
    const inp = mask[0].length;
    this.mask = tensor(mask);
    const bound = 1 / Math.sqrt(inp);
    this.addParameter('weight', zeroInit ? zeros([out, inp]) : randn([out, inp], rng, 0, bound));
    this.addParameter('bias', zeros([out]));
  }

  protected compute(p: ParamTree, x: Tensor): Tensor {
    return x.matmul((p.weight as Tensor).mul(this.mask), { transB: true }).add(p.bias as Tensor);
  }
}

/** Options of {@link Made}. */
export interface MadeOptions {
  /** Generator of the initial weights. */
  rng: Rng;
  /** Hidden width (default 64; at least dim − 1). */
  width?: number;
  /** Hidden layers (default 2, at least 1). */
  depth?: number;
  /** Dimension of a context connected to every hidden unit (default 0). */
  contextDim?: number;
}

/**
 * MADE (Germain et al., 2015): an MLP with masked weights whose `k` outputs for coordinate `i`
 * depend only on inputs `0 … i−1` (and on the context, if any), `[n, d] → [n, d, k]`, silu
 * between layers. The last layer starts at zero.
 *
 * @example
 * ```ts
 * const made = new Made(3, 2, { rng: new Rng(0), width: 32 });
 * made.forward(x).shape;   // [n, 3, 2]
 * ```
 */
export class Made extends Module<[Tensor, Tensor?], Tensor> {
  private readonly layers: MaskedLinear[] = [];
  private readonly dim: number;
  private readonly outputs: number;
  /** The context dimension. */
  readonly contextDim: number;

  /** A MADE on `R^dim` with `outputs` outputs per coordinate. */
  constructor(dim: number, outputs: number, options: MadeOptions) {
    super();
    const op = 'Made';
    if (!Number.isInteger(dim) || dim < 2) throw new JouleError(op, 'dim', 'an integer ≥ 2', String(dim));
    if (!Number.isInteger(outputs) || outputs <= 0)
      throw new JouleError(op, 'outputs', 'a positive integer', String(outputs));
    const width = options.width ?? 64;
    const depth = options.depth ?? 2;
    if (!Number.isInteger(width) || width < dim - 1)
      throw new JouleError(op, 'width', `an integer ≥ dim − 1 = ${dim - 1}`, String(width));
    if (!Number.isInteger(depth) || depth < 1) throw new JouleError(op, 'depth', 'a positive integer', String(depth));
    this.contextDim = options.contextDim ?? 0;
    if (!Number.isInteger(this.contextDim) || this.contextDim < 0)
      throw new JouleError(op, 'contextDim', 'a non-negative integer', String(this.contextDim));
    this.dim = dim;
    this.outputs = outputs;
    // Degrees: inputs 1…d (context 0), hidden units cycle through 1…d−1, the outputs of coordinate i have degree i+1.
    const inDeg = [...Array.from({ length: dim }, (_, i) => i + 1), ...new Array(this.contextDim).fill(0)];
    const hidDeg = Array.from({ length: width }, (_, k) => (k % (dim - 1)) + 1);
    const outDeg = Array.from({ length: dim * outputs }, (_, o) => Math.floor(o / outputs) + 1);
    let prev = inDeg;
    for (let l = 0; l < depth; l++) {
      const mask = hidDeg.map((h) => prev.map((q) => (h >= q ? 1 : 0)));
      this.layers.push(this.addModule(`hidden${l}`, new MaskedLinear(mask, options.rng, false)));
      prev = hidDeg;
    }
    const outMask = outDeg.map((o) => prev.map((h) => (o > h ? 1 : 0)));
    this.layers.push(this.addModule('out', new MaskedLinear(outMask, options.rng, true)));
  }

  protected compute(p: ParamTree, x: Tensor, context?: Tensor): Tensor {
    let h = context === undefined ? x : concat([x, context], 1);
    const last = this.layers.length - 1;
    this.layers.forEach((layer, i) => {
      h = layer.apply(p[i === last ? 'out' : `hidden${i}`] as ParamTree | undefined, h);
      if (i < last) h = h.silu();
    });
    return h.reshape([x.shape[0], this.dim, this.outputs]);
  }
}

/** Options of {@link MaskedAutoregressive}. */
export interface MaskedAutoregressiveOptions extends MadeOptions {
  /** Log-scales are soft-clamped to `±scaleBound` (default 3). */
  scaleBound?: number;
}

/**
 * A masked autoregressive flow layer (MAF, Papamakarios et al., 2017) with a {@link Made}
 * conditioner: `x_i = z_i·exp(s_i(x_{<i}, c)) + μ_i(x_{<i}, c)`. The density direction
 * (`inverse`) takes one network pass, sampling (`forward`) takes `d`. Wrap it in {@link Inverse}
 * for an inverse autoregressive flow (IAF: fast sampling, sequential density). Starts as the
 * identity.
 *
 * @example
 * ```ts
 * const maf = new MaskedAutoregressive(4, { rng: new Rng(0), width: 64, contextDim: 2 });
 * const { y: z, logDet } = maf.inverse(x, context);
 * ```
 */
export class MaskedAutoregressive extends Bijector {
  private readonly made: Made;
  private readonly bound: number;

  /** A MAF layer on `R^dim` (dim ≥ 2) in the natural order of the coordinates. */
  constructor(dim: number, options: MaskedAutoregressiveOptions) {
    super(dim);
    this.made = this.addModule('made', new Made(dim, 2, options));
    this.bound = options.scaleBound ?? 3;
    if (!(this.bound > 0))
      throw new JouleError('MaskedAutoregressive', 'scaleBound', 'a positive number', String(this.bound));
  }

  /** μ and the clamped log-scale s, each `[n, d]`, from MADE on `x` (and the context). */
  private shiftAndLogScale(p: ParamTree, x: Tensor, context: Tensor | undefined): { mu: Tensor; s: Tensor } {
    const h = this.made.apply(p.made as ParamTree | undefined, x, context);
    const n = x.shape[0];
    const d = this.dim;
    const s = h.slice([0, 0, 1], [n, d, 1]).reshape([n, d]).div(this.bound).tanh().mul(this.bound);
    return { mu: h.slice([0, 0, 0], [n, d, 1]).reshape([n, d]), s };
  }

  forwardWith(p: ParamTree, z: Tensor, context?: Tensor): BijectorResult {
    this.checkPoints('forward', z);
    this.checkContext('forward', z, context, this.made.contextDim);
    // After pass i the first i+1 coordinates are final (each depends only on earlier ones).
    let x = z;
    for (let i = 0; i < this.dim; i++) {
      const { mu, s } = this.shiftAndLogScale(p, x, context);
      x = z.mul(s.exp()).add(mu);
    }
    const { s } = this.shiftAndLogScale(p, x, context);
    return { y: x, logDet: s.sum(1) };
  }

  inverseWith(p: ParamTree, x: Tensor, context?: Tensor): BijectorResult {
    this.checkPoints('inverse', x);
    this.checkContext('inverse', x, context, this.made.contextDim);
    const { mu, s } = this.shiftAndLogScale(p, x, context);
    return { y: x.sub(mu).mul(s.neg().exp()), logDet: s.sum(1).neg() };
  }
}

/**
 * The inverse of a bijector: its `forward` is the wrapped one's `inverse` and vice versa (an IAF
 * from a {@link MaskedAutoregressive}).
 *
 * @example
 * ```ts
 * const iaf = new Inverse(new MaskedAutoregressive(4, { rng }));   // one-pass sampling
 * ```
 */
export class Inverse extends Bijector {
  private readonly inner: Bijector;

  /** The inverse of `inner`; its parameters live under `inner`. */
  constructor(inner: Bijector) {
    if (!(inner instanceof Bijector)) throw new JouleError('Inverse', 'inner', 'a Bijector', typeof inner);
    super(inner.dim);
    this.inner = this.addModule('inner', inner);
  }

  forwardWith(p: ParamTree, x: Tensor, context?: Tensor): BijectorResult {
    return this.inner.inverseWith(this.inner.resolve(p.inner as ParamTree), x, context);
  }

  inverseWith(p: ParamTree, y: Tensor, context?: Tensor): BijectorResult {
    return this.inner.forwardWith(this.inner.resolve(p.inner as ParamTree), y, context);
  }
}

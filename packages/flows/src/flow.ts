import type { Distribution, SampleWithLogProb } from '@joule/core';
import { DiagNormal } from '@joule/distributions';
import { Module, type ParamTree } from '@joule/nn';
import { JouleError, type Rng, Tensor, tidy } from '@joule/tensor';
import { Bijector } from './bijector.js';

/**
 * Base points pushed to the data, as {@link FlowDistribution.push} returns them.
 *
 * @example
 * ```ts
 * const { x, logDet }: PushResult = flow.push(z);
 * ```
 */
export interface PushResult {
  /** The data points, `[n, d]`. */
  x: Tensor;
  /** `log|det ∂x/∂z|` at each point, `[n]`. */
  logDet: Tensor;
}

/**
 * Samples with their log-density, as {@link FlowDistribution.sampleAndLogProb} returns them.
 *
 * @example
 * ```ts
 * const { x, logProb }: FlowSamples = flow.sampleAndLogProb(64, rng);
 * ```
 */
export interface FlowSamples {
  /** The points: `[k, d]`, or `[k, n, d]` for a conditional flow given `n` contexts. */
  x: Tensor;
  /** Their log-density: `[k]`, or `[k, n]`. */
  logProb: Tensor;
}

/**
 * What every flow shares: a base distribution on `R^dim`, an optional context, and the
 * `Distribution` / `SampleWithLogProb` / `given(context)` API built on two methods a concrete
 * flow implements — the log-density with given parameters ({@link FlowDistribution.compute}) and
 * the push of base points to data with their log-determinant.
 *
 * @example
 * ```ts
 * function nll(flow: FlowDistribution, x: Tensor): Tensor {
 *   return flow.logProb(x).mean().neg();
 * }
 * ```
 */
export abstract class FlowDistribution
  extends Module<[Tensor, Tensor?], Tensor>
  implements Distribution, SampleWithLogProb
{
  /** The dimension of a point. */
  readonly dim: number;
  /** The context dimension (0 for an unconditional flow). */
  readonly contextDim: number;
  /** The base distribution. */
  readonly base: Distribution;

  /** A flow on `R^dim` with the given base (default standard normal) and context dimension. */
  constructor(dim: number, options: FlowOptions = {}) {
    super();
    if (!Number.isInteger(dim) || dim <= 0) throw new JouleError(this.name, 'dim', 'a positive integer', String(dim));
    this.dim = dim;
    this.contextDim = options.contextDim ?? 0;
    if (!Number.isInteger(this.contextDim) || this.contextDim < 0) {
      throw new JouleError(this.name, 'contextDim', 'a non-negative integer', String(this.contextDim));
    }
    this.base = options.base ?? DiagNormal.standard(dim);
    if (this.base.dim !== dim)
      throw new JouleError(this.name, 'base', `a distribution on R^${dim}`, `one on R^${this.base.dim}`);
  }

  /**
   * Base points `z` (`[n, d]`) pushed to the data with this flow's parameters, with
   * `log|det ∂x/∂z|` (`[n]`).
   *
   * @example
   * ```ts
   * const { x, logDet } = flow.push(z);
   * ```
   */
  abstract push(z: Tensor, context?: Tensor): PushResult;

  /** Checks `[n, dim]` points. */
  protected checkPoints(op: string, x: unknown): asserts x is Tensor {
    if (!(x instanceof Tensor) || x.rank !== 2 || x.shape[1] !== this.dim) {
      throw new JouleError(
        `${this.name}.${op}`,
        'x',
        `a tensor of shape [n, ${this.dim}]`,
        x instanceof Tensor ? `shape [${x.shape.join(', ')}]` : typeof x,
      );
    }
  }

  private needsNoContext(op: string): void {
    if (this.contextDim > 0)
      throw new JouleError(
        `${this.name}.${op}`,
        'context',
        'an unconditional flow (use given(context))',
        `contextDim ${this.contextDim}`,
      );
  }

  /**
   * The log-density of each point of `x` (`[n, d]`), shape `[n]`.
   *
   * @example
   * ```ts
   * const nll = flow.logProb(x).mean().neg();
   * ```
   */
  logProb(x: Tensor): Tensor {
    this.needsNoContext('logProb');
    return this.forward(x);
  }

  /**
   * `n` points, `[n, d]`.
   *
   * @example
   * ```ts
   * const x = flow.sample(1000, new Rng(0));
   * ```
   */
  sample(n: number, rng: Rng): Tensor {
    return this.sampleAndLogProb(n, rng).x;
  }

  /**
   * `k` points (`[k, d]`) and their log-density (`[k]`) in one pass.
   *
   * @example
   * ```ts
   * const { x, logProb } = flow.sampleAndLogProb(64, rng);
   * ```
   */
  sampleAndLogProb(k: number, rng: Rng): FlowSamples {
    this.needsNoContext('sampleAndLogProb');
    if (!Number.isInteger(k) || k <= 0)
      throw new JouleError(`${this.name}.sampleAndLogProb`, 'k', 'a positive integer', String(k));
    return tidy(() => {
      const z = this.base.sample(k, rng);
      const { x, logDet } = this.push(z);
      return { x, logProb: this.base.logProb(z).sub(logDet) };
    });
  }

  /**
   * The distribution given a batch of contexts `[n, c]`: `sample(n)` gives one point per context,
   * `logProb(x)` takes `[n, d]` (or `[k, n, d]`), `sampleAndLogProb(k)` gives `[k, n, d]` and `[k, n]`.
   *
   * @example
   * ```ts
   * const q = flow.given(context);         // context [n, c]
   * const { x, logProb } = q.sampleAndLogProb(8, rng);   // [8, n, d], [8, n]
   * ```
   */
  given(context: Tensor): Distribution & SampleWithLogProb {
    if (this.contextDim === 0)
      throw new JouleError(
        `${this.name}.given`,
        'context',
        'a conditional flow (contextDim > 0)',
        'an unconditional flow',
      );
    if (!(context instanceof Tensor) || context.rank !== 2 || context.shape[1] !== this.contextDim) {
      throw new JouleError(
        `${this.name}.given`,
        'context',
        `a tensor of shape [n, ${this.contextDim}]`,
        context instanceof Tensor ? `shape [${context.shape.join(', ')}]` : typeof context,
      );
    }
    const n = context.shape[0];
    const d = this.dim;
    const tile = (k: number) =>
      context
        .reshape([1, n, this.contextDim])
        .broadcastTo([k, n, this.contextDim])
        .reshape([k * n, this.contextDim]);
    const sampleAndLogProb = (k: number, rng: Rng): FlowSamples => {
      if (!Number.isInteger(k) || k <= 0)
        throw new JouleError(`${this.name}.given.sampleAndLogProb`, 'k', 'a positive integer', String(k));
      return tidy(() => {
        const z = this.base.sample(k * n, rng);
        const { x, logDet } = this.push(z, tile(k));
        return { x: x.reshape([k, n, d]), logProb: this.base.logProb(z).sub(logDet).reshape([k, n]) };
      });
    };
    return {
      dim: d,
      sample: (m: number, rng: Rng) => {
        if (m !== n) throw new JouleError(`${this.name}.given.sample`, 'n', `${n} (one point per context)`, String(m));
        return tidy(() => sampleAndLogProb(1, rng).x.reshape([n, d]));
      },
      logProb: (x: Tensor) => {
        if (x instanceof Tensor && x.rank === 3 && x.shape[1] === n) {
          const k = x.shape[0];
          return tidy(() => this.forward(x.reshape([k * n, d]), tile(k)).reshape([k, n]));
        }
        return this.forward(x, context);
      },
      sampleAndLogProb,
    };
  }
}

/** Options of {@link Flow}. */
export interface FlowOptions {
  /** The base distribution on `R^d` (default: standard normal). */
  base?: Distribution;
  /** Dimension of the context the bijectors take (default 0: unconditional). */
  contextDim?: number;
}

/**
 * A normalizing flow: a base distribution pushed through bijectors (applied in order from the
 * base to the data). A `Distribution` with exact `logProb`, `sample` and one-pass
 * `sampleAndLogProb`; with a context (`contextDim > 0`) use `given(context)`, which returns a
 * distribution of batch shape `[n]` (a `ConditionalDistribution`). A `Module` whose forward pass is
 * the log-density, so `valueAndGrad((p) => flow.apply(p, x).mean().neg())(flow.parameters())` is
 * the maximum-likelihood gradient.
 *
 * @example
 * ```ts
 * const rng = new Rng(0);
 * const flow = new Flow([
 *   new AffineCoupling(2, { rng, keep: 'first' }),
 *   new AffineCoupling(2, { rng, keep: 'last' }),
 * ]);
 * const { x, logProb } = flow.sampleAndLogProb(256, rng);
 * flow.logProb(x);   // equals logProb
 * ```
 */
export class Flow extends FlowDistribution {
  private readonly bijectors: Bijector[];

  /** The flow of `bijectors` (base → data order) on `base`. */
  constructor(bijectors: readonly Bijector[], options: FlowOptions = {}) {
    if (!Array.isArray(bijectors) || bijectors.length === 0 || !bijectors.every((b) => b instanceof Bijector)) {
      throw new JouleError('Flow', 'bijectors', 'a non-empty array of Bijectors', String(bijectors));
    }
    super(bijectors[0].dim, options);
    bijectors.forEach((b, i) => {
      if (b.dim !== this.dim) throw new JouleError('Flow', `bijectors[${i}]`, `dimension ${this.dim}`, String(b.dim));
    });
    this.bijectors = bijectors.map((b, i) => this.addModule(`b${i}`, b));
  }

  /** log p(x) with the parameters `p`: the data → base pass. */
  protected compute(p: ParamTree, x: Tensor, context?: Tensor): Tensor {
    this.checkPoints('logProb', x);
    let z = x;
    let logDet: Tensor | undefined;
    for (let i = this.bijectors.length - 1; i >= 0; i--) {
      const b = this.bijectors[i];
      const r = b.inverseWith(b.resolve(p[`b${i}`] as ParamTree | undefined), z, context);
      z = r.y;
      logDet = logDet ? logDet.add(r.logDet) : r.logDet;
    }
    return this.base.logProb(z).add(logDet as Tensor);
  }

  push(z: Tensor, context?: Tensor): PushResult {
    this.checkPoints('push', z);
    const p = this.resolve(this.parameters({ includeFrozen: true }));
    let x = z;
    let logDet: Tensor | undefined;
    this.bijectors.forEach((b, i) => {
      const r = b.forwardWith(b.resolve(p[`b${i}`] as ParamTree | undefined), x, context);
      x = r.y;
      logDet = logDet ? logDet.add(r.logDet) : r.logDet;
    });
    return { x, logDet: logDet as Tensor };
  }
}

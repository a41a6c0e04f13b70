import type { ConditionalDistribution, Distribution, SampleWithLogProb } from '@joule/core';
import { DiagNormal } from '@joule/distributions';
import { type DivergenceOptions, type FixedMethod, integrateWithLogDet, solveFixed } from '@joule/ode';
import { concat, full, JouleError, type Rng, randn, Tensor, tidy } from '@joule/tensor';
import { checkBatch } from './interpolant.js';
import type { TimeField } from './losses.js';

/** Options of {@link InterpolantFlow} and {@link ConditionalInterpolantFlow}. */
export interface FlowOptions {
  /** Fixed steps of the probability-flow ODE from 0 to `t1` (default 100). */
  steps?: number;
  /** The fixed-step method (default `'heun'`, the R-NCE paper's). */
  method?: FixedMethod;
  /**
   * Take the divergence only at every `every`-th step and integrate it by the trapezoid rule (the
   * paper's two-time-scale method, Appendix A). Default: at every solver stage.
   */
  every?: number;
  /** How divergences are taken (default exact, `d` vector–Jacobian products; Hutchinson available). */
  divergence?: DivergenceOptions;
  /** The end time (default 1): `t1 < 1` gives the truncated flow `p^t` of the interpolating EBMs. */
  t1?: number;
}

function checkOptions(op: string, o: FlowOptions): Required<Pick<FlowOptions, 'steps' | 'method' | 't1'>> {
  const steps = o.steps ?? 100;
  if (!Number.isInteger(steps) || steps <= 0)
    throw new JouleError(op, 'options.steps', 'a positive integer', String(steps));
  const t1 = o.t1 ?? 1;
  if (!(t1 > 0 && t1 <= 1)) throw new JouleError(op, 'options.t1', 'a number in (0, 1]', String(t1));
  return { steps, method: o.method ?? 'heun', t1 };
}

/**
 * The push-forward of `N(0, I_d)` by the probability-flow ODE `dx/dt = v(x, t[, context])` from
 * `t = 0` to `t1`: a {@link Distribution} that samples (Heun by default), scores points by
 * integrating backward with the instantaneous change of variables, and draws samples with their
 * log-density in one pass (R-NCE paper §6, eq. 6.2). With a `context` `[n, c]` it is a batch of `n`
 * distributions, one per context row.
 *
 * @example
 * ```ts
 * const q = new InterpolantFlow((x, t) => net.apply(p, concat([x, t], 1)), 2, { steps: 64 });
 * const { x, logProb } = q.sampleAndLogProb(16, rng);   // [16, 2], [16]
 * const lp = q.logProb(points);                         // [n]
 * ```
 */
export class InterpolantFlow implements Distribution, SampleWithLogProb {
  /** The dimension of a point. */
  readonly dim: number;
  /** The number of contexts (`undefined` when unconditional). */
  readonly batchSize: number | undefined;
  private readonly field: TimeField;
  private readonly context: Tensor | undefined;
  private readonly options: FlowOptions;
  private readonly base: DiagNormal;
  private readonly steps: number;
  private readonly method: FixedMethod;
  private readonly t1: number;

  /** A flow of the velocity `field` on `R^dim`, optionally given a context `[n, c]`. */
  constructor(field: TimeField, dim: number, options: FlowOptions & { context?: Tensor } = {}) {
    const op = 'InterpolantFlow';
    if (typeof field !== 'function')
      throw new JouleError(op, 'field', 'a function (x, t, context?) => [n, d]', typeof field);
    if (!Number.isInteger(dim) || dim <= 0) throw new JouleError(op, 'dim', 'a positive integer', String(dim));
    const { context, ...rest } = options;
    if (context !== undefined) checkBatch(op, 'options.context', context);
    const { steps, method, t1 } = checkOptions(op, rest);
    this.field = field;
    this.dim = dim;
    this.context = context;
    this.batchSize = context?.shape[0];
    this.options = rest;
    this.steps = steps;
    this.method = method;
    this.t1 = t1;
    this.base = DiagNormal.standard(dim);
  }

  /** The ODE right-hand side on `m` rows, the context tiled to `m` rows. */
  private vectorField(m: number): (x: Tensor, t: number) => Tensor {
    const ctx = this.context;
    let tiled: Tensor | undefined;
    if (ctx !== undefined) {
      const reps = m / ctx.shape[0];
      tiled = reps === 1 ? ctx : concat(new Array<Tensor>(reps).fill(ctx), 0);
    }
    return (x, t) => this.field(x, full([x.shape[0], 1], t), tiled);
  }

  private checkCount(op: string, n: number): void {
    if (!Number.isInteger(n) || n <= 0) throw new JouleError(op, 'n', 'a positive integer', String(n));
    if (this.batchSize !== undefined && n !== this.batchSize) {
      throw new JouleError(op, 'n', `the batch size ${this.batchSize} (one point per context)`, String(n));
    }
  }

  /**
   * Draws `n` points `[n, d]` (one per context when conditional, so `n` is the batch size).
   *
   * @example
   * ```ts
   * const x = flow.sample(512, new Rng(0));
   * ```
   */
  sample(n: number, rng: Rng): Tensor {
    this.checkCount('InterpolantFlow.sample', n);
    return tidy(() => {
      const x0 = randn([n, this.dim], rng);
      return solveFixed(this.vectorField(n), x0, { method: this.method, steps: this.steps, t0: 0, t1: this.t1 }).x;
    });
  }

  /**
   * The log-density of `x` (`[n, d]`, row `i` under context `i` when conditional), by integrating
   * the ODE backward from `t1` to 0 with the log-determinant: `log N(x(0)) + ∫ div v dt`.
   *
   * @example
   * ```ts
   * const lp = flow.logProb(points);   // [n]
   * ```
   */
  logProb(x: Tensor): Tensor {
    const op = 'InterpolantFlow.logProb';
    checkBatch(op, 'x', x, this.batchSize, this.dim);
    return tidy(() => {
      const { x: x0, logDet } = integrateWithLogDet(this.vectorField(x.shape[0]), x, {
        method: this.method,
        steps: this.steps,
        t0: this.t1,
        t1: 0,
        every: this.options.every,
        divergence: this.options.divergence,
      });
      return this.base.logProb(x0).add(logDet);
    });
  }

  /**
   * Draws `k` points per batch element with their log-density in one forward pass (core's
   * `SampleWithLogProb` contract): unconditional, `x` is `[k, d]` and `logProb` `[k]`; given a
   * context `[n, c]`, `x` is `[k, n, d]` and `logProb` `[k, n]`.
   *
   * @example
   * ```ts
   * const { x, logProb } = flow.sampleAndLogProb(32, rng);
   * ```
   */
  sampleAndLogProb(
    k: number,
    rng: Rng,
  ): {
    /** The samples, `[k, d]` (unconditional) or `[k, n, d]`. */
    x: Tensor;
    /** Their log-density, `[k]` (unconditional) or `[k, n]`. */
    logProb: Tensor;
  } {
    const op = 'InterpolantFlow.sampleAndLogProb';
    if (!Number.isInteger(k) || k <= 0) throw new JouleError(op, 'k', 'a positive integer', String(k));
    const n = this.batchSize ?? 1;
    return tidy(() => {
      const x0 = randn([k * n, this.dim], rng);
      const { x, logDet } = integrateWithLogDet(this.vectorField(k * n), x0, {
        method: this.method,
        steps: this.steps,
        t0: 0,
        t1: this.t1,
        every: this.options.every,
        divergence: this.options.divergence,
      });
      const logProb = this.base.logProb(x0).sub(logDet);
      if (this.batchSize === undefined) return { x, logProb };
      return { x: x.reshape([k, n, this.dim]), logProb: logProb.reshape([k, n]) };
    });
  }
}

/**
 * A conditional probability-flow distribution: `given(context)` is the {@link InterpolantFlow} of
 * `field(·, ·, context)`, a learnable conditional negative sampler with `sampleAndLogProb`.
 *
 * @example
 * ```ts
 * const q = new ConditionalInterpolantFlow((x, t, c) => net.apply(p, concat([x, t, c as Tensor], 1)), 2);
 * const { x, logProb } = q.given(context).sampleAndLogProb(8, rng);   // [8, n, 2], [8, n]
 * ```
 */
export class ConditionalInterpolantFlow implements ConditionalDistribution {
  /** The dimension of a point. */
  readonly dim: number;
  private readonly field: TimeField;
  private readonly options: FlowOptions;

  /** A conditional flow of the velocity `field` on `R^dim`. */
  constructor(field: TimeField, dim: number, options: FlowOptions = {}) {
    const op = 'ConditionalInterpolantFlow';
    if (typeof field !== 'function')
      throw new JouleError(op, 'field', 'a function (x, t, context) => [n, d]', typeof field);
    if (!Number.isInteger(dim) || dim <= 0) throw new JouleError(op, 'dim', 'a positive integer', String(dim));
    checkOptions(op, options);
    this.field = field;
    this.dim = dim;
    this.options = options;
  }

  /**
   * The flow given `context` (`[n, c]`): a batch of `n` distributions.
   *
   * @example
   * ```ts
   * const lp = q.given(context).logProb(y);   // [n]
   * ```
   */
  given(context: Tensor): InterpolantFlow {
    if (!(context instanceof Tensor)) {
      throw new JouleError('ConditionalInterpolantFlow.given', 'context', 'a tensor [n, c]', typeof context);
    }
    return new InterpolantFlow(this.field, this.dim, { ...this.options, context });
  }
}

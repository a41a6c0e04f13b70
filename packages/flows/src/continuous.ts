import type { Distribution } from '@joule/core';
import { Module, type ParamTree } from '@joule/nn';
import { integrateWithLogDet, type LogDetOptions, odeLogProb } from '@joule/ode';
import { concat, full, JouleError, type Rng, randn, type Tensor, zeros } from '@joule/tensor';
import { FlowDistribution, type PushResult } from './flow.js';

/**
 * A time-dependent vector field as a module: `(x [n, d], t [n, 1], context? [n, c]) → [n, d]`.
 *
 * @example
 * ```ts
 * const field: VectorFieldModule = new ConcatSquashField(2, { rng, width: 64, depth: 2 });
 * ```
 */
export type VectorFieldModule = Module<[Tensor, Tensor, Tensor?], Tensor>;

/** `(W₁h + b₁) ⊙ σ(W₂t + b₂) + W₃t`: FFJORD's ConcatSquash layer (time gates and shifts a linear map). */
class ConcatSquashLinear extends Module<[Tensor, Tensor], Tensor> {
  constructor(inFeatures: number, outFeatures: number, tFeatures: number, rng: Rng, zeroInit: boolean) {
    super();
    const bound = 1 / Math.sqrt(inFeatures);
    this.addParameter(
      'weight',
      zeroInit ? zeros([inFeatures, outFeatures]) : randn([inFeatures, outFeatures], rng, 0, bound),
    );
    this.addParameter('bias', zeros([outFeatures]));
    this.addParameter('gate', randn([tFeatures, outFeatures], rng, 0, 1 / Math.sqrt(tFeatures)));
    this.addParameter('gateBias', zeros([outFeatures]));
    this.addParameter(
      'shift',
      zeroInit ? zeros([tFeatures, outFeatures]) : randn([tFeatures, outFeatures], rng, 0, 1 / Math.sqrt(tFeatures)),
    );
  }

  protected compute(p: ParamTree, h: Tensor, t: Tensor): Tensor {
    const gate = t
      .matmul(p.gate as Tensor)
      .add(p.gateBias as Tensor)
      .sigmoid();
    return h
      .matmul(p.weight as Tensor)
      .add(p.bias as Tensor)
      .mul(gate)
      .add(t.matmul(p.shift as Tensor));
  }
}

/** Options of {@link ConcatSquashField}. */
export interface ConcatSquashFieldOptions {
  /** Generator of the initial weights. */
  rng: Rng;
  /** Hidden width (default 64). */
  width?: number;
  /** Hidden layers (default 2). */
  depth?: number;
  /** Dimension of a context, concatenated to the input and the time features (default 0). */
  contextDim?: number;
}

/**
 * A vector field of ConcatSquash layers with `tanh` between them (FFJORD's CNF network): time
 * (and the context, if any) gates and shifts every layer. The last layer starts at zero, so the
 * flow starts as the identity.
 *
 * @example
 * ```ts
 * const field = new ConcatSquashField(2, { rng: new Rng(0), width: 64, depth: 2 });
 * const v = field.forward(x, full([x.shape[0], 1], 0.5));   // [n, 2]
 * ```
 */
export class ConcatSquashField extends Module<[Tensor, Tensor, Tensor?], Tensor> {
  private readonly layers: ConcatSquashLinear[] = [];
  private readonly contextDim: number;

  /** A field on `R^dim`. */
  constructor(dim: number, options: ConcatSquashFieldOptions) {
    super();
    const op = 'ConcatSquashField';
    if (!Number.isInteger(dim) || dim <= 0) throw new JouleError(op, 'dim', 'a positive integer', String(dim));
    const width = options.width ?? 64;
    const depth = options.depth ?? 2;
    if (!Number.isInteger(width) || width <= 0) throw new JouleError(op, 'width', 'a positive integer', String(width));
    if (!Number.isInteger(depth) || depth < 0)
      throw new JouleError(op, 'depth', 'a non-negative integer', String(depth));
    this.contextDim = options.contextDim ?? 0;
    const tFeatures = 1 + this.contextDim;
    const sizes = [dim + this.contextDim, ...new Array(depth).fill(width), dim];
    for (let l = 0; l + 1 < sizes.length; l++) {
      const last = l + 2 === sizes.length;
      this.layers.push(
        this.addModule(`layer${l}`, new ConcatSquashLinear(sizes[l], sizes[l + 1], tFeatures, options.rng, last)),
      );
    }
  }

  protected compute(p: ParamTree, x: Tensor, t: Tensor, context?: Tensor): Tensor {
    const tc = context === undefined ? t : concat([t, context], 1);
    let h = context === undefined ? x : concat([x, context], 1);
    this.layers.forEach((layer, l) => {
      h = layer.apply(p[`layer${l}`] as ParamTree | undefined, h, tc);
      if (l + 1 < this.layers.length) h = h.tanh();
    });
    return h;
  }
}

/** Options of {@link ContinuousFlow}. */
export interface ContinuousFlowOptions {
  /** The base distribution at `t0` (default standard normal). */
  base?: Distribution;
  /** Dimension of the context the field takes (default 0). */
  contextDim?: number;
  /**
   * The solver and divergence (see `LogDetOptions` of `@joule/ode`), from `t0` (base) to `t1`
   * (data). Default: RK4 with 16 steps on [0, 1] and the exact divergence.
   */
  solver?: LogDetOptions;
}

/**
 * A continuous normalizing flow: the base pushed along `dx/dt = v(x, t[, c])` from `t0` to `t1`,
 * with log-densities by the instantaneous change of variables (`@joule/ode`; exact divergence by
 * default — one vector–Jacobian product per dimension — or Hutchinson through `solver.divergence`).
 * Sampling integrates forward, `logProb` backward. Trainable by maximum likelihood (the gradient
 * differentiates the divergence: second order) with {@link fitFlow}.
 *
 * @example
 * ```ts
 * const cnf = new ContinuousFlow(new ConcatSquashField(2, { rng, width: 32 }), 2, { solver: { method: 'heun', steps: 50 } });
 * const { x, logProb } = cnf.sampleAndLogProb(128, rng);
 * ```
 */
export class ContinuousFlow extends FlowDistribution {
  private readonly field: VectorFieldModule;
  private readonly solver: LogDetOptions;

  /** The flow of `field` on `R^dim`. */
  constructor(field: VectorFieldModule, dim: number, options: ContinuousFlowOptions = {}) {
    super(dim, options);
    if (!(field instanceof Module))
      throw new JouleError('ContinuousFlow', 'field', 'a Module (x, t, context?) => Tensor', typeof field);
    this.field = this.addModule('field', field);
    this.solver = options.solver ?? { method: 'rk4', steps: 16 };
  }

  private fieldFn(p: ParamTree | undefined, context: Tensor | undefined): (x: Tensor, t: number) => Tensor {
    return (x, t) => this.field.apply(p, x, full([x.shape[0], 1], t), context);
  }

  protected compute(p: ParamTree, x: Tensor, context?: Tensor): Tensor {
    this.checkPoints('logProb', x);
    return odeLogProb(this.fieldFn(p.field as ParamTree | undefined, context), x, this.base, this.solver);
  }

  push(z: Tensor, context?: Tensor): PushResult {
    this.checkPoints('push', z);
    const p = this.resolve(this.parameters({ includeFrozen: true }));
    const { x, logDet } = integrateWithLogDet(this.fieldFn(p.field as ParamTree | undefined, context), z, this.solver);
    return { x, logDet };
  }
}

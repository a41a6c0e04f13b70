import { MLP, Module, type ParamTree, SinusoidalEmbedding, TimeEmbedding } from '@joule/nn';
import { concat, JouleError, type Rng, Tensor, tensor } from '@joule/tensor';
import type { TimeField } from './losses.js';

/**
 * How a time `t ∈ [0, 1]` is presented to a network:
 * - `'identity'`: `[t]`;
 * - `'log'`: `[−log(offset − t)]`, the R-NCE paper's Push-T transform (`offset = 1.1`), which
 *   spreads out the times crowded near `t = 1` by the law `t = u^{1/α}`;
 * - `'fourier'`: `[t, sin(π t), cos(π t), …, sin(K π t), cos(K π t)]` with `K = frequencies`, a
 *   smooth basis on `[0, 1]` that lets a small MLP vary quickly in time.
 *
 * @example
 * ```ts
 * const options: TimeFeaturesOptions = { kind: 'fourier', frequencies: 4 }; // 9 features
 * ```
 */
export interface TimeFeaturesOptions {
  /** The transform (default `'fourier'`). */
  kind?: 'identity' | 'log' | 'fourier';
  /** Number of Fourier frequencies `K` for `'fourier'` (default 4). */
  frequencies?: number;
  /** The offset of `'log'` (default 1.1, the paper's; must exceed 1 so `t = 1` is finite). */
  offset?: number;
}

interface ResolvedFeatures {
  kind: 'identity' | 'log' | 'fourier';
  frequencies: number;
  offset: number;
}

function resolveFeatures(op: string, o: TimeFeaturesOptions): ResolvedFeatures {
  if (o === null || typeof o !== 'object') throw new JouleError(op, 'options', 'an options object', String(o));
  const kind = o.kind ?? 'fourier';
  if (kind !== 'identity' && kind !== 'log' && kind !== 'fourier') {
    throw new JouleError(op, 'options.kind', "'identity', 'log' or 'fourier'", String(kind));
  }
  const frequencies = o.frequencies ?? 4;
  if (!Number.isInteger(frequencies) || frequencies <= 0) {
    throw new JouleError(op, 'options.frequencies', 'a positive integer', String(frequencies));
  }
  const offset = o.offset ?? 1.1;
  if (typeof offset !== 'number' || !Number.isFinite(offset) || offset <= 1) {
    throw new JouleError(op, 'options.offset', 'a finite number > 1', String(offset));
  }
  return { kind, frequencies, offset };
}

/**
 * The number of features {@link timeFeatures} returns per time for these options.
 *
 * @example
 * ```ts
 * timeFeatureWidth({ kind: 'fourier', frequencies: 3 }); // 7
 * ```
 */
export function timeFeatureWidth(options: TimeFeaturesOptions = {}): number {
  const { kind, frequencies } = resolveFeatures('timeFeatureWidth', options);
  return kind === 'fourier' ? 1 + 2 * frequencies : 1;
}

/**
 * Features of times `t` (`[n]` or `[n, 1]`) for a velocity, score or energy network: `[n, k]` with
 * `k = timeFeatureWidth(options)` (see {@link TimeFeaturesOptions}). Differentiable in `t`.
 *
 * @example
 * ```ts
 * const f = timeFeatures(tensor([0, 0.5, 1]), { kind: 'log' }); // [3, 1]: −log(1.1 − t)
 * ```
 */
export function timeFeatures(t: Tensor, options: TimeFeaturesOptions = {}): Tensor {
  const op = 'timeFeatures';
  const { kind, frequencies, offset } = resolveFeatures(op, options);
  if (!(t instanceof Tensor) || t.rank < 1 || t.rank > 2 || (t.rank === 2 && t.shape[1] !== 1)) {
    throw new JouleError(op, 't', 'a tensor of shape [n] or [n, 1]', t instanceof Tensor ? `[${t.shape}]` : typeof t);
  }
  const col = t.reshape([t.shape[0], 1]);
  if (kind === 'identity') return col;
  if (kind === 'log') return col.neg().add(offset).log().neg();
  const omega = tensor(
    Float32Array.from({ length: frequencies }, (_, j) => Math.PI * (j + 1)),
    [1, frequencies],
  );
  const args = col.mul(omega); // [n, K]
  return concat([col, args.sin(), args.cos()], 1);
}

/** Options of {@link VelocityNet}. */
export interface VelocityNetOptions {
  /** The generator of the initial weights. */
  rng: Rng;
  /** Hidden width (default 64). */
  width?: number;
  /** Hidden layers (default 2). */
  depth?: number;
  /** Width of the context `[n, c]` (default: unconditional). */
  contextDim?: number;
  /**
   * The time input: fixed features ({@link TimeFeaturesOptions}, default Fourier with 4
   * frequencies), or an embedding module of `@joule/nn` (`SinusoidalEmbedding`, `TimeEmbedding`),
   * whose parameters are then trained with the rest.
   */
  time?: TimeFeaturesOptions | SinusoidalEmbedding | TimeEmbedding;
}

/**
 * A small MLP field `(x [n, d], t [n, 1], context? [n, c]) → [n, d]` on the input
 * `[x, features(t), context]`: a velocity, denoiser or score network for the losses and flows of
 * this package. `field(params)` gives the {@link TimeField} to pass to them.
 *
 * @example
 * ```ts
 * const net = new VelocityNet(2, { rng: new Rng(0), width: 64, time: { kind: 'fourier' } });
 * const loss = velocityLoss(net.field(params), interpolant, batch, rng);
 * const flow = new InterpolantFlow(net.field(), 2);   // the current parameters
 * ```
 */
export class VelocityNet extends Module<[Tensor, Tensor, Tensor?]> {
  /** The dimension of a point. */
  readonly dim: number;
  /** The context width (0 when unconditional). */
  readonly contextDim: number;
  private readonly mlp: MLP;
  private readonly embedding: SinusoidalEmbedding | TimeEmbedding | undefined;
  private readonly features: TimeFeaturesOptions;

  /** A field on `R^dim`. */
  constructor(dim: number, options: VelocityNetOptions) {
    super();
    const op = 'VelocityNet';
    if (!Number.isInteger(dim) || dim <= 0) throw new JouleError(op, 'dim', 'a positive integer', String(dim));
    if (options === null || typeof options !== 'object') {
      throw new JouleError(op, 'options', 'an options object with an rng', String(options));
    }
    const contextDim = options.contextDim ?? 0;
    if (!Number.isInteger(contextDim) || contextDim < 0) {
      throw new JouleError(op, 'options.contextDim', 'a non-negative integer', String(contextDim));
    }
    const time = options.time ?? {};
    let width: number;
    if (time instanceof SinusoidalEmbedding || time instanceof TimeEmbedding) {
      this.embedding = this.addModule('time', time);
      this.features = {};
      width = time.dim;
    } else {
      width = timeFeatureWidth(time);
      this.features = time;
    }
    this.dim = dim;
    this.contextDim = contextDim;
    this.mlp = this.addModule(
      'mlp',
      new MLP(dim + width + contextDim, dim, {
        rng: options.rng,
        width: options.width ?? 64,
        depth: options.depth ?? 2,
      }),
    );
  }

  protected compute(p: ParamTree, x: Tensor, t: Tensor, context?: Tensor): Tensor {
    const op = 'VelocityNet';
    if (!(x instanceof Tensor) || x.rank !== 2 || x.shape[1] !== this.dim) {
      throw new JouleError(op, 'x', `a tensor [n, ${this.dim}]`, x instanceof Tensor ? `[${x.shape}]` : typeof x);
    }
    const n = x.shape[0];
    if (!(t instanceof Tensor) || t.size !== n) {
      throw new JouleError(op, 't', `a tensor of ${n} times`, t instanceof Tensor ? `[${t.shape}]` : typeof t);
    }
    const tt = t.reshape([n, 1]);
    const feats = this.embedding
      ? this.embedding.apply(p.time as ParamTree | undefined, tt)
      : timeFeatures(tt, this.features);
    const parts = [x, feats];
    if (this.contextDim > 0) {
      if (!(context instanceof Tensor) || context.rank !== 2 || context.shape[0] !== n) {
        throw new JouleError(
          op,
          'context',
          `a tensor [${n}, ${this.contextDim}]`,
          context instanceof Tensor ? `[${context.shape}]` : typeof context,
        );
      }
      parts.push(context);
    }
    return this.mlp.apply(p.mlp as ParamTree, concat(parts, 1));
  }

  /**
   * The network as a {@link TimeField} with parameters `params` (default: its current parameters).
   *
   * @example
   * ```ts
   * const { grad } = valueAndGrad((p: ParamTree) => velocityLoss(net.field(p), I, batch, rng))(net.parameters());
   * ```
   */
  field(params?: ParamTree): TimeField {
    const p = params ?? this.parameters();
    return (x, t, context) => this.apply(p, x, t, context);
  }
}

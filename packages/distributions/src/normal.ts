import { type Distribution, JouleError } from '@joule/core';
import { type Rng, randn, type Tensor } from '@joule/tensor';
import {
  assertFiniteTensor,
  assertPositive,
  checkBroadcast,
  checkPoints,
  checkSampleSize,
  eventAndBatch,
  fmt,
  LOG_2PI,
  type ParamLike,
  toTensor,
} from './util.js';

/**
 * A Gaussian with a diagonal covariance, `N(loc, diag(scale²))` over `R^d`.
 *
 * Shapes: `loc` is `[d]` (one distribution) or `[n, d]` (a batch of `n` distributions, say one per
 * context); `scale` broadcasts to the same shape (a number, `[d]`, `[n, 1]`, `[n, d]`). A batched
 * distribution draws exactly one point per batch element (`sample(n)` with the batch size `n`)
 * and scores `x` of shape `[..., n, d]` row by row. An unbatched one scores any `[..., d]`.
 *
 * Sampling is reparameterized, `x = loc + scale · ε` with `ε ~ N(0, I)` built from tensor ops, so
 * gradients of anything computed from samples flow to `loc` and `scale` when they are tensors.
 *
 * @example
 * ```ts
 * import { DiagNormal } from '@joule/distributions';
 * import { Rng, tensor } from '@joule/tensor';
 *
 * const q = new DiagNormal(tensor([0, 1]), tensor([1, 0.5]));
 * const x = q.sample(1000, new Rng(0)); // [1000, 2]
 * const lp = q.logProb(x);              // [1000]
 * ```
 */
export class DiagNormal implements Distribution {
  /** The dimension `d` of one point. */
  readonly dim: number;
  /** The number of distributions in the batch, or `undefined` for one shared distribution. */
  readonly batchSize: number | undefined;
  /** The location (mean), `[d]` or `[n, d]` as given. */
  readonly loc: Tensor;
  /** The per-coordinate standard deviation, as given (broadcastable to `loc`). */
  readonly scale: Tensor;
  /** The name used in error messages. */
  protected readonly opName: string;

  /**
   * @param loc - the mean, `[d]` or `[n, d]`
   * @param scale - positive standard deviations broadcastable to the shape of `loc` (or, with a
   *   `[d]` loc, a `[n, d]` scale makes a batch)
   * @param opName - the name used in error messages (subclasses pass theirs)
   */
  constructor(loc: ParamLike, scale: ParamLike, opName = 'DiagNormal') {
    this.opName = opName;
    this.loc = toTensor(loc);
    this.scale = toTensor(scale);
    const { dim, batch } = eventAndBatch(opName, 'loc', this.loc);
    this.dim = dim;
    this.batchSize = batch ?? (this.scale.rank === 2 ? this.scale.shape[0] : undefined);
    checkBroadcast(opName, 'scale', this.scale, dim, this.batchSize);
    assertFiniteTensor(opName, 'loc', this.loc);
    assertPositive(opName, 'scale', this.scale);
  }

  /**
   * A standard normal `N(0, I_d)`.
   *
   * @example
   * ```ts
   * const z = DiagNormal.standard(2).sample(16, new Rng(1)); // [16, 2]
   * ```
   */
  static standard(dim: number): DiagNormal {
    if (!Number.isInteger(dim) || dim <= 0)
      throw new JouleError('DiagNormal.standard', 'dim', 'a positive integer', String(dim));
    return new DiagNormal(new Array<number>(dim).fill(0), 1);
  }

  private get eventShape(): number[] {
    return this.batchSize === undefined ? [this.dim] : [this.batchSize, this.dim];
  }

  /**
   * `n` reparameterized draws, `[n, d]` (for a batch, `n` must be the batch size).
   *
   * @example
   * ```ts
   * const x = q.sample(100, rng);
   * ```
   */
  sample(n: number, rng: Rng): Tensor {
    checkSampleSize(`${this.opName}.sample`, n, this.batchSize);
    const eps = randn([n, this.dim], rng);
    return this.loc.add(this.scale.mul(eps));
  }

  /**
   * The log-density of each row of `x` (`[..., n, d]` → `[..., n]`).
   *
   * @example
   * ```ts
   * const lp = q.logProb(tensor([[0, 1]])); // [1]
   * ```
   */
  logProb(x: Tensor): Tensor {
    checkPoints(`${this.opName}.logProb`, x, this.dim, this.batchSize);
    const z = x.sub(this.loc).div(this.scale);
    const logScale = this.scale.log().broadcastTo(this.eventShape).sum(-1);
    return z
      .square()
      .sum(-1)
      .mul(-0.5)
      .sub(logScale)
      .sub(0.5 * this.dim * LOG_2PI);
  }

  /**
   * The mean, `loc` broadcast to `[d]` or `[n, d]`.
   *
   * @example
   * ```ts
   * q.mean.toArray(); // [0, 1]
   * ```
   */
  get mean(): Tensor {
    return this.loc.broadcastTo(this.eventShape);
  }

  /**
   * The per-coordinate variance `scale²`, `[d]` or `[n, d]`.
   *
   * @example
   * ```ts
   * q.variance.toArray(); // [1, 0.25]
   * ```
   */
  get variance(): Tensor {
    return this.scale.square().broadcastTo(this.eventShape);
  }
}

/**
 * The univariate Gaussian `N(loc, scale²)` as a distribution over `R^1`: points are rows of one
 * coordinate, so `sample(n)` is `[n, 1]` and `logProb` takes `[n, 1]` (the event dimension is
 * always 1, matching the `[n, d]` convention). `loc` and `scale` are numbers or scalar tensors, or
 * `[n]` vectors for a batch of `n` univariate Gaussians. Sampling is reparameterized.
 *
 * @example
 * ```ts
 * import { Normal } from '@joule/distributions';
 * import { Rng, tensor } from '@joule/tensor';
 *
 * const p = new Normal(0, 2);
 * const x = p.sample(5, new Rng(0)); // [5, 1]
 * p.logProb(tensor([[0]]));          // [-log(2√(2π))]
 * ```
 */
export class Normal extends DiagNormal {
  /**
   * @param loc - a number, a scalar tensor or a `[n]` batch of means
   * @param scale - a positive number, scalar tensor or `[n]` batch of standard deviations
   */
  constructor(loc: ParamLike, scale: ParamLike) {
    super(asColumn('loc', toTensor(loc)), asColumn('scale', toTensor(scale)), 'Normal');
  }
}

function asColumn(arg: string, t: Tensor): Tensor {
  if (t.rank === 0) return t.reshape([1]);
  if (t.rank === 1) return t.reshape([t.shape[0]!, 1]);
  throw new JouleError('Normal', arg, 'a number, a scalar or a [n] batch', `shape ${fmt(t.shape)}`);
}

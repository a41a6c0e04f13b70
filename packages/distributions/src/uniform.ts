import { type Distribution, JouleError } from '@joule/core';
import { type Rng, rand, type Tensor, where } from '@joule/tensor';
import {
  assertFiniteTensor,
  checkBroadcast,
  checkPoints,
  checkSampleSize,
  eventAndBatch,
  type ParamLike,
  readable,
  toTensor,
} from './util.js';

/**
 * The uniform distribution on the box `[low, high]` (a product of intervals) in `R^d`.
 *
 * `logProb` is `−Σ log(high − low)` inside the closed box and `−Infinity` outside. Sampling is
 * reparameterized, `x = low + (high − low) · u` with `u ~ U[0, 1)^d`. `low` is `[d]` or `[n, d]`
 * (a batch); `high` broadcasts to it.
 *
 * @example
 * ```ts
 * import { Uniform } from '@joule/distributions';
 * import { Rng } from '@joule/tensor';
 *
 * const box = new Uniform([-4, -4], [4, 4]);
 * const x = box.sample(256, new Rng(0)); // [256, 2]
 * box.logProb(x);                        // all −log 64
 * ```
 */
export class Uniform implements Distribution {
  /** The dimension `d` of one point. */
  readonly dim: number;
  /** The number of boxes in the batch, or `undefined` for one shared box. */
  readonly batchSize: number | undefined;
  /** The lower corner. */
  readonly low: Tensor;
  /** The upper corner. */
  readonly high: Tensor;

  /**
   * @param low - the lower corner, `[d]` or `[n, d]`
   * @param high - the upper corner, broadcastable to `low`, strictly greater in every coordinate
   */
  constructor(low: ParamLike, high: ParamLike) {
    const op = 'Uniform';
    this.low = toTensor(low);
    this.high = toTensor(high);
    const { dim, batch } = eventAndBatch(op, 'low', this.low);
    this.dim = dim;
    this.batchSize = batch;
    checkBroadcast(op, 'high', this.high, dim, batch);
    assertFiniteTensor(op, 'low', this.low);
    assertFiniteTensor(op, 'high', this.high);
    const width = readable(this.high.sub(this.low).broadcastTo(this.eventShape));
    if (width) {
      for (let i = 0; i < width.length; i++) {
        if (!(width[i]! > 0))
          throw new JouleError(op, 'high', 'values greater than low', `high − low = ${width[i]} at index ${i}`);
      }
    }
  }

  private get eventShape(): number[] {
    return this.batchSize === undefined ? [this.dim] : [this.batchSize, this.dim];
  }

  /**
   * `n` reparameterized draws, `[n, d]`.
   *
   * @example
   * ```ts
   * const x = box.sample(10, rng);
   * ```
   */
  sample(n: number, rng: Rng): Tensor {
    checkSampleSize('Uniform.sample', n, this.batchSize);
    return this.low.add(this.high.sub(this.low).mul(rand([n, this.dim], rng)));
  }

  /**
   * `−log volume` inside the box, `−Infinity` outside (`[..., n, d]` → `[..., n]`).
   *
   * @example
   * ```ts
   * box.logProb(tensor([[0, 0], [5, 0]])); // [−log 64, −Infinity]
   * ```
   */
  logProb(x: Tensor): Tensor {
    checkPoints('Uniform.logProb', x, this.dim, this.batchSize);
    const inside = x.ge(this.low).mul(x.le(this.high)).min(-1);
    const logVolume = this.high.sub(this.low).log().broadcastTo(this.eventShape).sum(-1);
    return where(inside, logVolume.neg().broadcastTo(inside.shape), Number.NEGATIVE_INFINITY);
  }

  /**
   * The mean `(low + high) / 2`.
   *
   * @example
   * ```ts
   * box.mean.toArray(); // [0, 0]
   * ```
   */
  get mean(): Tensor {
    return this.low.add(this.high).mul(0.5).broadcastTo(this.eventShape);
  }

  /**
   * The per-coordinate variance `(high − low)² / 12`.
   *
   * @example
   * ```ts
   * box.variance.toArray(); // [64/12, 64/12]
   * ```
   */
  get variance(): Tensor {
    return this.high.sub(this.low).square().div(12).broadcastTo(this.eventShape);
  }
}

import type { ParamTree } from '@joule/nn';
import { JouleError, type Rng, type Tensor, tensor, zeros } from '@joule/tensor';
import { Bijector, type BijectorResult } from './bijector.js';

/**
 * A fixed permutation of the coordinates (`y[:, i] = x[:, order[i]]`), `log|det| = 0`: between
 * coupling or autoregressive layers so that every coordinate gets transformed.
 *
 * @example
 * ```ts
 * const flip = Permutation.reverse(4);        // order [3, 2, 1, 0]
 * const shuffle = Permutation.random(4, rng);
 * const fixed = new Permutation([1, 0, 3, 2]);
 * ```
 */
export class Permutation extends Bijector {
  /** The order: output coordinate `i` is input coordinate `order[i]`. */
  readonly order: readonly number[];
  private readonly inverseOrder: number[];

  /** The permutation `order` of `0 … d−1`. */
  constructor(order: readonly number[]) {
    super(Array.isArray(order) ? Math.max(order.length, 1) : 1);
    const d = order.length;
    const seen = new Set(order);
    if (seen.size !== d || order.some((v) => !Number.isInteger(v) || v < 0 || v >= d)) {
      throw new JouleError('Permutation', 'order', `a permutation of 0 … ${d - 1}`, `[${order.join(', ')}]`);
    }
    this.order = [...order];
    this.inverseOrder = new Array(d);
    order.forEach((v, i) => {
      this.inverseOrder[v] = i;
    });
  }

  /**
   * The reversal `d−1, …, 0`.
   *
   * @example
   * ```ts
   * Permutation.reverse(3).order;   // [2, 1, 0]
   * ```
   */
  static reverse(dim: number): Permutation {
    return new Permutation(Array.from({ length: dim }, (_, i) => dim - 1 - i));
  }

  /**
   * A uniformly random permutation (Fisher–Yates on `rng`).
   *
   * @example
   * ```ts
   * const p = Permutation.random(8, new Rng(0));
   * ```
   */
  static random(dim: number, rng: Rng): Permutation {
    const order = Array.from({ length: dim }, (_, i) => i);
    const u = rng.uniform(dim);
    for (let i = dim - 1; i > 0; i--) {
      const j = Math.min(i, Math.floor(u[i] * (i + 1)));
      [order[i], order[j]] = [order[j], order[i]];
    }
    return new Permutation(order);
  }

  forwardWith(_p: ParamTree, x: Tensor): BijectorResult {
    this.checkPoints('forward', x);
    return { y: x.indexSelect(tensor(this.order), 1), logDet: zeros([x.shape[0]]) };
  }

  inverseWith(_p: ParamTree, y: Tensor): BijectorResult {
    this.checkPoints('inverse', y);
    return { y: y.indexSelect(tensor(this.inverseOrder), 1), logDet: zeros([y.shape[0]]) };
  }
}

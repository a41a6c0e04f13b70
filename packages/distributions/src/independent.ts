import { type Distribution, JouleError } from '@joule/core';
import { concat, type Rng, split, type Tensor } from '@joule/tensor';
import { checkPoints, checkSampleSize } from './util.js';

/**
 * The product of independent distributions over consecutive blocks of coordinates:
 * `x = (x₁, …, x_m)` with `x_j ~ p_j` independently, so `dim = Σ dim_j` and
 * `log p(x) = Σ_j log p_j(x_j)`. Sampling concatenates the parts' samples (reparameterized where
 * they are).
 *
 * @example
 * ```ts
 * import { Independent, Normal, Uniform } from '@joule/distributions';
 * import { Rng } from '@joule/tensor';
 *
 * // a 3-D point: a normal coordinate, then a uniform pair
 * const p = new Independent([new Normal(0, 1), new Uniform([0, 0], [1, 2])]);
 * const x = p.sample(10, new Rng(0)); // [10, 3]
 * p.logProb(x);                       // log N(x₀) − log 2
 * ```
 */
export class Independent implements Distribution {
  /** The total dimension `Σ dim_j`. */
  readonly dim: number;
  /** The independent parts, in coordinate order. */
  readonly parts: readonly Distribution[];

  /**
   * @param parts - one or more distributions; part `j` owns the next `parts[j].dim` coordinates
   */
  constructor(parts: readonly Distribution[]) {
    if (!Array.isArray(parts) || parts.length === 0) {
      throw new JouleError('Independent', 'parts', 'a non-empty array of distributions', String(parts));
    }
    parts.forEach((p, j) => {
      if (!p || !Number.isInteger(p.dim) || p.dim <= 0) {
        throw new JouleError('Independent', 'parts', 'distributions with a positive integer dim', `index ${j}`);
      }
    });
    this.parts = parts;
    this.dim = parts.reduce((s, p) => s + p.dim, 0);
  }

  /**
   * `n` draws, the parts' samples side by side, `[n, dim]`.
   *
   * @example
   * ```ts
   * const x = p.sample(100, rng);
   * ```
   */
  sample(n: number, rng: Rng): Tensor {
    checkSampleSize('Independent.sample', n, undefined);
    const xs = this.parts.map((p) => p.sample(n, rng));
    return xs.length === 1 ? xs[0]! : concat(xs, -1);
  }

  /**
   * `Σ_j log p_j(x_j)` over the coordinate blocks, `[..., n, dim]` → `[..., n]`.
   *
   * @example
   * ```ts
   * const lp = p.logProb(x);
   * ```
   */
  logProb(x: Tensor): Tensor {
    checkPoints('Independent.logProb', x, this.dim, undefined);
    if (this.parts.length === 1) return this.parts[0]!.logProb(x);
    const blocks = split(
      x,
      this.parts.map((p) => p.dim),
      x.rank - 1,
    );
    return blocks.map((b, j) => this.parts[j]!.logProb(b)).reduce((a, b) => a.add(b));
  }
}

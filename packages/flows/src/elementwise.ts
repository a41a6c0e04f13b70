import type { ParamTree } from '@joule/nn';
import { JouleError, type Tensor, tensor, tidy, variance, zeros } from '@joule/tensor';
import { Bijector, type BijectorResult } from './bijector.js';

/**
 * `y = x·exp(logScale) + loc` coordinate by coordinate, with `log|det| = Σ logScale`.
 * Trainable by default; pass `trainable: false` for a fixed standardisation.
 *
 * @example
 * ```ts
 * const standardise = new ElementwiseAffine([1, -2], [0, 0.5], { trainable: false });
 * ```
 */
export class ElementwiseAffine extends Bijector {
  /** Starts at shift `loc` and log-scale `logScale` (arrays of length `dim`). */
  constructor(loc: readonly number[], logScale: readonly number[], options: { trainable?: boolean } = {}) {
    super(loc.length);
    if (logScale.length !== loc.length)
      throw new JouleError('ElementwiseAffine', 'logScale', `${loc.length} values like loc`, `${logScale.length}`);
    for (const v of [...loc, ...logScale])
      if (!Number.isFinite(v)) throw new JouleError('ElementwiseAffine', 'loc', 'finite numbers', String(v));
    const trainable = options.trainable ?? true;
    this.addParameter('loc', tensor([...loc]), trainable);
    this.addParameter('logScale', tensor([...logScale]), trainable);
  }

  forwardWith(p: ParamTree, x: Tensor): BijectorResult {
    this.checkPoints('forward', x);
    const logScale = p.logScale as Tensor;
    return { y: x.mul(logScale.exp()).add(p.loc as Tensor), logDet: zeros([x.shape[0]]).add(logScale.sum()) };
  }

  inverseWith(p: ParamTree, y: Tensor): BijectorResult {
    this.checkPoints('inverse', y);
    const logScale = p.logScale as Tensor;
    return { y: y.sub(p.loc as Tensor).mul(logScale.neg().exp()), logDet: zeros([y.shape[0]]).sub(logScale.sum()) };
  }
}

/**
 * Activation normalisation (Glow): a trainable elementwise affine map that starts as the identity
 * and is set from data by {@link ActNorm.initialize}, so that the data direction maps a batch to zero
 * mean and unit variance per coordinate.
 *
 * @example
 * ```ts
 * const norm = new ActNorm(2);
 * norm.initialize(x);   // inverse(x) now has mean 0 and variance 1 per coordinate
 * ```
 */
export class ActNorm extends ElementwiseAffine {
  /** The identity on `R^dim`, until initialised. */
  constructor(dim: number) {
    if (!Number.isInteger(dim) || dim <= 0) throw new JouleError('ActNorm', 'dim', 'a positive integer', String(dim));
    super(new Array(dim).fill(0), new Array(dim).fill(0));
  }

  /**
   * Sets `loc` to the mean and `logScale` to the log standard deviation of `x` (`[n, dim]`, n ≥ 2).
   *
   * @example
   * ```ts
   * norm.initialize(batch);
   * ```
   */
  initialize(x: Tensor): this {
    this.checkPoints('initialize', x);
    if (x.shape[0] < 2) throw new JouleError('ActNorm.initialize', 'x', 'at least 2 points', String(x.shape[0]));
    const tree = tidy(() => ({ loc: x.mean(0), logScale: variance(x, 0).add(1e-12).log().mul(0.5) }));
    return this.load(tree);
  }
}

import { type Distribution, JouleError } from '@joule/core';
import { type Rng, type Tensor, tensor } from '@joule/tensor';
import { checkSampleSize, fmt, type ParamLike, readable, toTensor } from './util.js';

/** Largest accepted `|Σ p − 1|` for probabilities given directly (float32 inputs). */
export const PROBABILITY_TOLERANCE = 1e-4;

/**
 * The parameters of a {@link Categorical}: probabilities (non-negative, summing to 1 within
 * {@link PROBABILITY_TOLERANCE}) or unnormalized logits.
 *
 * @example
 * ```ts
 * import type { CategoricalParams } from '@joule/distributions';
 *
 * const a: CategoricalParams = { probs: [0.2, 0.8] };
 * const b: CategoricalParams = { logits: [0, Math.log(4)] };
 * ```
 */
export type CategoricalParams =
  | {
      /** `[K]` or a batch `[n, K]` of probability vectors. */
      probs: ParamLike;
    }
  | {
      /** `[K]` or `[n, K]` unnormalized log-probabilities. */
      logits: ParamLike;
    };

/**
 * A categorical distribution over the indices `0 … K−1`, as a distribution over `R^1`: `sample(n)`
 * gives `[n, 1]` integer-valued floats, and `logProb` takes `[..., n, 1]` indices. With `[n, K]`
 * parameters it is a batch of `n` categoricals, one draw per row. `logProb` is differentiable in
 * the logits or probabilities; sampling is not reparameterizable.
 *
 * @example
 * ```ts
 * import { Categorical } from '@joule/distributions';
 * import { Rng, tensor } from '@joule/tensor';
 *
 * const c = new Categorical({ probs: [0.1, 0.2, 0.7] });
 * const k = c.sample(5, new Rng(0));   // [5, 1] of 0, 1, 2
 * c.logProb(tensor([[2]]));            // [log 0.7]
 * ```
 */
export class Categorical implements Distribution {
  /** Always 1: a point is one index. */
  readonly dim = 1;
  /** The number of categories `K`. */
  readonly numCategories: number;
  /** The number of categoricals in the batch, or `undefined` for one. */
  readonly batchSize: number | undefined;
  /** Normalized log-probabilities, `[K]` or `[n, K]`. */
  readonly logProbs: Tensor;

  /**
   * @param params - `{ probs }` or `{ logits }`
   * @throws JouleError when probabilities are negative, non-finite or do not sum to 1
   */
  constructor(params: CategoricalParams) {
    const op = 'Categorical';
    let raw: Tensor;
    let isProbs: boolean;
    if (params !== null && typeof params === 'object' && 'probs' in params) {
      raw = toTensor(params.probs);
      isProbs = true;
    } else if (params !== null && typeof params === 'object' && 'logits' in params) {
      raw = toTensor(params.logits);
      isProbs = false;
    } else {
      throw new JouleError(op, 'params', '{ probs } or { logits }', String(params));
    }
    const arg = isProbs ? 'probs' : 'logits';
    if ((raw.rank !== 1 && raw.rank !== 2) || raw.shape[raw.rank - 1] === 0) {
      throw new JouleError(op, arg, 'shape [K] or [n, K] with K ≥ 1', `shape ${fmt(raw.shape)}`);
    }
    this.numCategories = raw.shape[raw.rank - 1]!;
    this.batchSize = raw.rank === 2 ? raw.shape[0] : undefined;
    const v = readable(raw);
    if (v) {
      const K = this.numCategories;
      for (let r = 0; r < v.length; r += K) {
        let s = 0;
        for (let k = 0; k < K; k++) {
          const p = v[r + k]!;
          if (isProbs ? !(p >= 0 && p <= 1) : Number.isNaN(p) || p === Number.POSITIVE_INFINITY) {
            throw new JouleError(
              op,
              arg,
              isProbs ? 'probabilities in [0, 1]' : 'logits below +Infinity',
              `${p} at index ${r + k}`,
            );
          }
          s += isProbs ? p : 0;
        }
        if (isProbs && Math.abs(s - 1) > PROBABILITY_TOLERANCE) {
          throw new JouleError(
            op,
            'probs',
            `probabilities summing to 1 (±${PROBABILITY_TOLERANCE})`,
            `a sum of ${s} in row ${r / K}`,
          );
        }
      }
    }
    this.logProbs = isProbs ? raw.log().sub(raw.sum(-1, true).log()) : raw.logSoftmax(-1);
  }

  /**
   * The probabilities, `[K]` or `[n, K]`.
   *
   * @example
   * ```ts
   * c.probs.toArray(); // [0.1, 0.2, 0.7]
   * ```
   */
  get probs(): Tensor {
    return this.logProbs.exp();
  }

  /**
   * `n` draws as plain integers (inverse CDF on the host, one uniform per draw).
   *
   * @example
   * ```ts
   * const idx = c.sampleIndices(1000, rng); // Int32Array
   * ```
   */
  sampleIndices(n: number, rng: Rng): Int32Array {
    checkSampleSize('Categorical.sample', n, this.batchSize);
    const p = this.probs.dataSync();
    const K = this.numCategories;
    const u = rng.uniform(n);
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const row = this.batchSize === undefined ? 0 : i * K;
      let total = 0;
      for (let k = 0; k < K; k++) total += p[row + k]!;
      const target = u[i]! * total;
      let acc = 0;
      let k = 0;
      for (; k < K - 1; k++) {
        acc += p[row + k]!;
        if (target < acc) break;
      }
      while (k > 0 && p[row + k] === 0) k--;
      out[i] = k;
    }
    return out;
  }

  /**
   * `n` draws, `[n, 1]` of integer-valued floats.
   *
   * @example
   * ```ts
   * const k = c.sample(10, rng);
   * ```
   */
  sample(n: number, rng: Rng): Tensor {
    return tensor(Float32Array.from(this.sampleIndices(n, rng)), [n, 1]);
  }

  /**
   * The log-probability of each index in `x` (`[..., n, 1]` → `[..., n]`).
   *
   * @example
   * ```ts
   * c.logProb(tensor([[0], [2]])); // [log 0.1, log 0.7]
   * ```
   */
  logProb(x: Tensor): Tensor {
    const op = 'Categorical.logProb';
    if (x.rank < 1 || x.shape[x.rank - 1] !== 1)
      throw new JouleError(op, 'x', 'indices of shape [..., n, 1]', `shape ${fmt(x.shape)}`);
    if (this.batchSize !== undefined && (x.rank < 2 || x.shape[x.rank - 2] !== this.batchSize)) {
      throw new JouleError(op, 'x', `shape [..., ${this.batchSize}, 1]`, `shape ${fmt(x.shape)}`);
    }
    const table = this.logProbs.broadcastTo([...x.shape.slice(0, -1), this.numCategories]);
    return table.takeAlongAxis(x, -1).squeeze(-1);
  }

  /**
   * The mean index `Σ k p_k`, `[1]` or `[n, 1]`.
   *
   * @example
   * ```ts
   * c.mean.toArray(); // [1.6]
   * ```
   */
  get mean(): Tensor {
    return this.probs.mul(this.range()).sum(-1, true);
  }

  /**
   * The variance of the index `Σ k² p_k − mean²`, `[1]` or `[n, 1]`.
   *
   * @example
   * ```ts
   * c.variance.toArray(); // [0.44]
   * ```
   */
  get variance(): Tensor {
    const k = this.range();
    return this.probs.mul(k.square()).sum(-1, true).sub(this.mean.square());
  }

  private range(): Tensor {
    return tensor(Float32Array.from({ length: this.numCategories }, (_, i) => i));
  }
}

import { JouleError } from '@joule/core';
import { type Rng, type Tensor, tensor } from '@joule/tensor';
import { checkCount, checkPositive, type PinwheelOptions, pinwheelPoints, spiralPoints } from './toys.js';

/**
 * The transformer-style sinusoidal embedding of scalars, `[n]` values → `[n, dim]`:
 * `e_{2i} = sin(v / base^{2i/dim})`, `e_{2i+1} = cos(v / base^{2i/dim})` for `i < dim/2`
 * (interleaved). The R-NCE pinwheel uses `dim = 10`, `base = 10000` (the digest's assumption; the
 * paper only says "a 10-dimensional sinusoidal positional embedding").
 *
 * @example
 * ```ts
 * import { sinusoidalEmbedding } from '@joule/datasets';
 *
 * sinusoidalEmbedding([4, 5, 6, 7]).shape; // [4, 10]
 * ```
 */
export function sinusoidalEmbedding(values: ArrayLike<number>, dim = 10, base = 10000): Tensor {
  const op = 'sinusoidalEmbedding';
  if (!Number.isInteger(dim) || dim <= 0 || dim % 2 !== 0)
    throw new JouleError(op, 'dim', 'a positive even integer', String(dim));
  checkPositive(op, 'base', base);
  const n = values.length;
  const out = new Float32Array(n * dim);
  for (let r = 0; r < n; r++) {
    const v = values[r]!;
    if (!Number.isFinite(v)) throw new JouleError(op, 'values', 'finite numbers', `${v} at index ${r}`);
    for (let i = 0; i < dim / 2; i++) {
      const a = v / base ** ((2 * i) / dim);
      out[r * dim + 2 * i] = Math.sin(a);
      out[r * dim + 2 * i + 1] = Math.cos(a);
    }
  }
  return tensor(out, [n, dim]);
}

/**
 * A conditional 2-D toy: points `x` (`[n, 2]`) whose law depends on a scalar `value` (the number of
 * spokes, the spiral's length), which the model sees as `context` (an embedding or a normalization
 * of the value, `[n, contextDim]`).
 *
 * @example
 * ```ts
 * import { conditionalPinwheel } from '@joule/datasets';
 * import { Rng } from '@joule/tensor';
 *
 * const toy = conditionalPinwheel();
 * const { x, context, value } = toy.sample(512, new Rng(0)); // [512, 2], [512, 10], [512, 1]
 * const at5 = toy.sampleAt(5, 8192, new Rng(1));             // evaluation at a fixed context
 * ```
 */
export interface ConditionalToy {
  /** The toy's name. */
  readonly name: string;
  /** The number of context features the model receives. */
  readonly contextDim: number;
  /** The context values the evaluation uses (the paper's, or the digest's choice where unstated). */
  readonly evaluationValues: readonly number[];
  /**
   * Draws `n` pairs from the joint: the raw `value` `[n, 1]`, the model's `context`
   * `[n, contextDim]` and the point `x` `[n, 2]`.
   */
  sample(
    n: number,
    rng: Rng,
  ): {
    /** The points, `[n, 2]`. */
    x: Tensor;
    /** The model's context, `[n, contextDim]`. */
    context: Tensor;
    /** The raw context values, `[n, 1]`. */
    value: Tensor;
  };
  /** Draws `n` points at one fixed context value, with the matching context batch. */
  sampleAt(
    value: number,
    n: number,
    rng: Rng,
  ): {
    /** The points, `[n, 2]`. */
    x: Tensor;
    /** The model's context for `value`, repeated, `[n, contextDim]`. */
    context: Tensor;
  };
  /** The model's context for raw values, `[n]` → `[n, contextDim]`. */
  context(values: ArrayLike<number>): Tensor;
}

/**
 * Options of {@link conditionalPinwheel}.
 *
 * @example
 * ```ts
 * import type { ConditionalPinwheelOptions } from '@joule/datasets';
 *
 * const options: ConditionalPinwheelOptions = { spokes: [4, 5, 6] };
 * ```
 */
export interface ConditionalPinwheelOptions extends Omit<PinwheelOptions, 'arms'> {
  /** The numbers of spokes drawn uniformly for the joint, `[4, 5, 6, 7]` by default (the paper's). */
  spokes?: readonly number[];
}

/**
 * The R-NCE paper's conditional Pinwheel (paper 000, §7.2 and App. B.2): the context value is
 * the number of spokes `s ~ U{4, 5, 6, 7}`, the model sees its 10-dimensional sinusoidal
 * embedding ({@link sinusoidalEmbedding}), and `x | s` is the FFJORD pinwheel with `s` arms
 * (radial std 0.3, tangential std 0.1, rate 0.25, the ×2 scale: {@link pinwheel}). The paper does
 * not give the generator; these constants are the digest's reconstruction (FFJORD's), which keeps
 * the support inside the `[−4, 4]²` evaluation box.
 *
 * @example
 * ```ts
 * import { conditionalPinwheel } from '@joule/datasets';
 * import { Rng } from '@joule/tensor';
 *
 * const { x, context } = conditionalPinwheel().sample(50000, new Rng(0)); // the training set
 * ```
 */
export function conditionalPinwheel(options: ConditionalPinwheelOptions = {}): ConditionalToy {
  const op = 'conditionalPinwheel';
  const spokes = options.spokes ?? [4, 5, 6, 7];
  if (!Array.isArray(spokes) || spokes.length === 0 || !spokes.every((s) => Number.isInteger(s) && s > 0)) {
    throw new JouleError(op, 'spokes', 'a non-empty array of positive integers', JSON.stringify(spokes));
  }
  const context = (values: ArrayLike<number>) => sinusoidalEmbedding(values, 10, 10000);
  return {
    name: 'pinwheel',
    contextDim: 10,
    evaluationValues: [...spokes],
    context,
    sample(n, rng) {
      checkCount(`${op}.sample`, n);
      const u = rng.uniform(n);
      const values = new Float32Array(n);
      for (let i = 0; i < n; i++) values[i] = spokes[Math.min(spokes.length - 1, Math.floor(u[i]! * spokes.length))]!;
      const x = tensor(pinwheelPoints(op, values, rng, options), [n, 2]);
      return { x, context: context(values), value: tensor(values, [n, 1]) };
    },
    sampleAt(value, n, rng) {
      checkCount(`${op}.sampleAt`, n);
      if (!Number.isInteger(value) || value <= 0)
        throw new JouleError(`${op}.sampleAt`, 'value', 'a positive integer number of spokes', String(value));
      const values = new Float32Array(n).fill(value);
      return { x: tensor(pinwheelPoints(op, values, rng, options), [n, 2]), context: context(values) };
    },
  };
}

/**
 * Options of {@link conditionalSpiral}.
 *
 * @example
 * ```ts
 * import type { ConditionalSpiralOptions } from '@joule/datasets';
 *
 * const options: ConditionalSpiralOptions = { divisor: 3 }; // FFJORD's scale
 * ```
 */
export interface ConditionalSpiralOptions {
  /** The smallest curve length, 400 (the paper's). */
  minLength?: number;
  /** The largest curve length, 800 (the paper's). */
  maxLength?: number;
  /**
   * The arms are divided by this before the noise, 3.5 by default — our choice, so that the
   * longest spiral (800, radius ≈ 14/3.5 = 4) stays inside the `[−4, 4]²` evaluation box; FFJORD's
   * constant is 3 (radius ≈ 4.7 at 800).
   */
  divisor?: number;
  /** The standard deviation of the final Gaussian noise, 0.1 (FFJORD's). */
  noise?: number;
}

/**
 * The R-NCE paper's conditional Spiral (paper 000, §7.2 and App. B.2): the context value is the
 * "length of a parametric curve" `L ~ U[400, 800]`, which the model sees normalized to `[−1, 1]`,
 * `(L − 600) / 200`. The paper gives no generator; we follow the digest's reconstruction, the
 * FFJORD two spirals with the angular extent of 540° replaced by `L` degrees ({@link twoSpirals}),
 * with the divisor 3.5 (see {@link ConditionalSpiralOptions.divisor}).
 *
 * @example
 * ```ts
 * import { conditionalSpiral } from '@joule/datasets';
 * import { Rng } from '@joule/tensor';
 *
 * const toy = conditionalSpiral();
 * const { x, context } = toy.sampleAt(600, 8192, new Rng(0)); // context is all 0
 * ```
 */
export function conditionalSpiral(options: ConditionalSpiralOptions = {}): ConditionalToy {
  const op = 'conditionalSpiral';
  const lo = options.minLength ?? 400;
  const hi = options.maxLength ?? 800;
  checkPositive(op, 'minLength', lo);
  checkPositive(op, 'maxLength', hi);
  if (!(hi > lo)) throw new JouleError(op, 'maxLength', `a number greater than minLength = ${lo}`, String(hi));
  const spiral = { divisor: options.divisor ?? 3.5, noise: options.noise ?? 0.1 };
  const mid = (lo + hi) / 2;
  const half = (hi - lo) / 2;
  const context = (values: ArrayLike<number>) => {
    const c = new Float32Array(values.length);
    for (let i = 0; i < c.length; i++) c[i] = (values[i]! - mid) / half;
    return tensor(c, [c.length, 1]);
  };
  return {
    name: 'spiral',
    contextDim: 1,
    evaluationValues: [400, 500, 600, 700, 800].filter((v) => v >= lo && v <= hi),
    context,
    sample(n, rng) {
      checkCount(`${op}.sample`, n);
      const u = rng.uniform(n);
      const values = new Float32Array(n);
      for (let i = 0; i < n; i++) values[i] = lo + (hi - lo) * u[i]!;
      const x = tensor(spiralPoints(op, values, rng, spiral), [n, 2]);
      return { x, context: context(values), value: tensor(values, [n, 1]) };
    },
    sampleAt(value, n, rng) {
      checkCount(`${op}.sampleAt`, n);
      checkPositive(`${op}.sampleAt`, 'value', value);
      const values = new Float32Array(n).fill(value);
      return { x: tensor(spiralPoints(op, values, rng, spiral), [n, 2]), context: context(values) };
    },
  };
}

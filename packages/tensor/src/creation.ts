import { JouleError } from './errors.js';
import type { Rng } from './rng.js';
import { checkShape, formatShape, sizeOf } from './shape.js';
import { fromValues, type NestedArray, type Tensor } from './tensor.js';

function inferShape(values: NestedArray, op: string): number[] {
  const shape: number[] = [];
  let v: NestedArray = values;
  while (Array.isArray(v)) {
    shape.push(v.length);
    if (v.length === 0) break;
    v = v[0];
  }
  return checkShape(op, shape, 'values');
}

function flattenInto(
  values: NestedArray,
  shape: number[],
  dim: number,
  out: Float32Array,
  at: number,
  op: string,
): number {
  if (dim === shape.length) {
    if (typeof values !== 'number')
      throw new JouleError(op, 'values', 'a rectangular nested array of numbers', 'a ragged array');
    out[at] = values;
    return at + 1;
  }
  if (!Array.isArray(values) || values.length !== shape[dim]) {
    throw new JouleError(op, 'values', `a rectangular nested array of shape ${formatShape(shape)}`, 'a ragged array');
  }
  for (const v of values) at = flattenInto(v, shape, dim + 1, out, at, op);
  return at;
}

/**
 * A tensor from numbers: a scalar, nested arrays, or a flat array (typed or not) with a `shape`.
 * The values are copied.
 *
 * @example
 * ```ts
 * tensor([[1, 2], [3, 4]]);                    // shape [2, 2]
 * tensor(new Float32Array([1, 2, 3, 4]), [2, 2]);
 * tensor(3);                                    // a scalar, shape []
 * ```
 */
export function tensor(values: NestedArray | ArrayLike<number>, shape?: readonly number[]): Tensor {
  if (shape !== undefined) {
    const s = checkShape('tensor', shape);
    const n = sizeOf(s);
    if (typeof values === 'number') return full(s, values);
    const flat = Array.isArray(values) ? (values as NestedArray[]).flat(Infinity as 1) : values;
    if ((flat as ArrayLike<number>).length !== n) {
      throw new JouleError(
        'tensor',
        'values',
        `${n} values for shape ${formatShape(s)}`,
        `${(flat as ArrayLike<number>).length} values`,
      );
    }
    return fromValues(Float32Array.from(flat as ArrayLike<number>), s);
  }
  if (typeof values === 'number') return fromValues(Float32Array.of(values), []);
  if (!Array.isArray(values)) return fromValues(Float32Array.from(values), [values.length]);
  const s = inferShape(values as NestedArray, 'tensor');
  const out = new Float32Array(sizeOf(s));
  flattenInto(values as NestedArray, s, 0, out, 0, 'tensor');
  return fromValues(out, s);
}

/**
 * A tensor of `shape` filled with `value`.
 *
 * @example
 * ```ts
 * full([2, 3], 0.5);
 * ```
 */
export function full(shape: readonly number[], value: number): Tensor {
  const s = checkShape('full', shape);
  return fromValues(new Float32Array(sizeOf(s)).fill(value), s);
}

/**
 * A tensor of zeros.
 *
 * @example
 * ```ts
 * zeros([3, 2]);
 * ```
 */
export function zeros(shape: readonly number[]): Tensor {
  const s = checkShape('zeros', shape);
  return fromValues(new Float32Array(sizeOf(s)), s);
}

/**
 * A tensor of ones.
 *
 * @example
 * ```ts
 * ones([4]);
 * ```
 */
export function ones(shape: readonly number[]): Tensor {
  return full(shape, 1);
}

/**
 * Zeros with the shape of `x`.
 *
 * @example
 * ```ts
 * zerosLike(tensor([1, 2, 3])); // [0, 0, 0]
 * ```
 */
export function zerosLike(x: Tensor): Tensor {
  return zeros(x.shape);
}

/**
 * Ones with the shape of `x`.
 *
 * @example
 * ```ts
 * onesLike(tensor([1, 2, 3])); // [1, 1, 1]
 * ```
 */
export function onesLike(x: Tensor): Tensor {
  return ones(x.shape);
}

/**
 * The `n × m` identity (ones on the main diagonal).
 *
 * @example
 * ```ts
 * eye(3);       // 3 × 3 identity
 * eye(2, 3);    // [[1, 0, 0], [0, 1, 0]]
 * ```
 */
export function eye(n: number, m: number = n): Tensor {
  checkShape('eye', [n, m], 'n, m');
  const v = new Float32Array(n * m);
  for (let i = 0; i < Math.min(n, m); i++) v[i * m + i] = 1;
  return fromValues(v, [n, m]);
}

/**
 * `start, start + step, …` up to but excluding `stop` (`arange(n)` is `0 … n − 1`).
 *
 * @example
 * ```ts
 * arange(4);          // [0, 1, 2, 3]
 * arange(1, 2, 0.25); // [1, 1.25, 1.5, 1.75]
 * ```
 */
export function arange(start: number, stop?: number, step = 1): Tensor {
  if (stop === undefined) {
    stop = start;
    start = 0;
  }
  if (!Number.isFinite(start) || !Number.isFinite(stop) || !Number.isFinite(step) || step === 0) {
    throw new JouleError('arange', 'step', 'finite start, stop and a non-zero step', `${start}, ${stop}, ${step}`);
  }
  const n = Math.max(0, Math.ceil((stop - start) / step));
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = start + i * step;
  return fromValues(v, [n]);
}

/**
 * `n` evenly spaced values from `start` to `stop`, both included.
 *
 * @example
 * ```ts
 * linspace(0, 1, 5); // [0, 0.25, 0.5, 0.75, 1]
 * ```
 */
export function linspace(start: number, stop: number, n: number): Tensor {
  if (!Number.isInteger(n) || n < 1) throw new JouleError('linspace', 'n', 'a positive integer', String(n));
  const v = new Float32Array(n);
  for (let i = 0; i < n; i++) v[i] = n === 1 ? start : start + ((stop - start) * i) / (n - 1);
  return fromValues(v, [n]);
}

function needRng(op: string, rng: Rng | undefined): Rng {
  if (!rng || typeof (rng as Rng).uniform !== 'function') throw new JouleError(op, 'rng', 'an Rng', String(rng));
  return rng;
}

/**
 * Uniform draws on `[low, high)`.
 *
 * @example
 * ```ts
 * rand([100, 2], new Rng(0));          // on [0, 1)
 * rand([10], new Rng(1), -4, 4);
 * ```
 */
export function rand(shape: readonly number[], rng: Rng, low = 0, high = 1): Tensor {
  const s = checkShape('rand', shape);
  const u = needRng('rand', rng).uniform(sizeOf(s));
  if (low !== 0 || high !== 1) for (let i = 0; i < u.length; i++) u[i] = low + (high - low) * u[i];
  return fromValues(u, s);
}

/**
 * Normal draws with mean `mean` and standard deviation `std`.
 *
 * @example
 * ```ts
 * randn([256, 2], new Rng(0));          // standard normal
 * randn([16], new Rng(0), 0, 2);        // N(0, 2²)
 * ```
 */
export function randn(shape: readonly number[], rng: Rng, mean = 0, std = 1): Tensor {
  const s = checkShape('randn', shape);
  const z = needRng('randn', rng).normal(sizeOf(s));
  if (mean !== 0 || std !== 1) for (let i = 0; i < z.length; i++) z[i] = mean + std * z[i];
  return fromValues(z, s);
}

/**
 * Integers uniform on `[low, high)`, stored as float32 (exact below 2^24).
 *
 * @example
 * ```ts
 * randint([256], 0, 4096, new Rng(0)); // batch indices
 * ```
 */
export function randint(shape: readonly number[], low: number, high: number, rng: Rng): Tensor {
  const s = checkShape('randint', shape);
  return fromValues(needRng('randint', rng).integers(sizeOf(s), low, high), s);
}

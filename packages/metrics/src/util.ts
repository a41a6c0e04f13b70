import { assertShape, type Distribution, JouleError } from '@joule/core';
import { Rng, Tensor } from '@joule/tensor';

/** A batch of points read into float64, row-major `[n, d]`. */
export interface Points {
  readonly data: Float64Array;
  readonly n: number;
  readonly d: number;
}

/** Reads a `[n, d]` tensor into float64 after checking its shape and values. */
export async function readPoints(op: string, arg: string, x: Tensor, minRows = 1): Promise<Points> {
  if (!(x instanceof Tensor)) throw new JouleError(op, arg, 'a tensor of shape [n, d]', String(x));
  const { n, d } = assertShape(op, arg, x, ['n', 'd']);
  if (n < minRows) throw new JouleError(op, arg, `at least ${minRows} points`, `shape [${n}, ${d}]`);
  const raw = await x.data();
  for (let i = 0; i < raw.length; i++) {
    if (!Number.isFinite(raw[i])) {
      throw new JouleError(op, arg, 'finite coordinates', `${raw[i]} at row ${Math.floor(i / d)}`);
    }
  }
  return { data: Float64Array.from(raw), n, d };
}

/** Reads one number per point (energies, log-densities) from a `[n]` tensor into float64. */
export async function readVector(op: string, arg: string, v: Tensor, n: number): Promise<Float64Array> {
  if (!(v instanceof Tensor)) throw new JouleError(op, arg, `a tensor of shape [${n}]`, String(v));
  assertShape(op, arg, v, [n]);
  return Float64Array.from(await v.data());
}

/** Reads a tensor or an array of numbers (any shape, flattened) into float64. */
export async function readValues(op: string, arg: string, v: Tensor | ArrayLike<number>): Promise<Float64Array> {
  let out: Float64Array;
  if (v instanceof Tensor) out = Float64Array.from(await v.data());
  else if (v !== null && typeof v === 'object' && typeof v.length === 'number') out = Float64Array.from(v);
  else throw new JouleError(op, arg, 'a tensor or an array of numbers', String(v));
  if (out.length === 0) throw new JouleError(op, arg, 'at least one value', 'none');
  for (let i = 0; i < out.length; i++) {
    if (!Number.isFinite(out[i])) throw new JouleError(op, arg, 'finite numbers', `${out[i]} at index ${i}`);
  }
  return out;
}

/** Checks that two point sets have the same dimension. */
export function sameDim(op: string, x: Points, y: Points): void {
  if (x.d !== y.d) {
    throw new JouleError(op, 'y', `points of dimension ${x.d} (as x)`, `dimension ${y.d}`);
  }
}

/** True for something with the shape of a {@link Distribution}. */
export function isDistribution(value: unknown): value is Distribution {
  const v = value as Distribution | null;
  return (
    v !== null &&
    typeof v === 'object' &&
    typeof v.sample === 'function' &&
    typeof v.logProb === 'function' &&
    typeof v.dim === 'number'
  );
}

/** Checks an optional `Rng`, creating one from `seed` (0 by default) when absent. */
export function rngFrom(op: string, rng: Rng | undefined, seed = 0): Rng {
  if (rng === undefined) return new Rng(seed);
  if (!(rng instanceof Rng)) throw new JouleError(op, 'rng', 'an Rng', String(rng));
  return rng;
}

/** `log Σ exp(values)` in float64 (−∞ for no finite entries). */
export function logSumExp(values: ArrayLike<number>): number {
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < values.length; i++) if (values[i] > max) max = values[i];
  if (max === Number.NEGATIVE_INFINITY) return max;
  let s = 0;
  for (let i = 0; i < values.length; i++) s += Math.exp(values[i] - max);
  return max + Math.log(s);
}

/** Mean of an array in float64. */
export function mean(values: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i];
  return s / values.length;
}

/** The median of a float64 array (sorted copy). */
export function median(values: Float64Array): number {
  const s = Float64Array.from(values).sort();
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : 0.5 * (s[m - 1] + s[m]);
}

/** A uniformly random permutation of `0 … n−1` (Fisher–Yates on 32-bit draws). */
export function permutation(n: number, rng: Rng): Int32Array {
  const p = new Int32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  const words = rng.uint32(n);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor((words[i] / 4294967296) * (i + 1));
    const t = p[i];
    p[i] = p[j];
    p[j] = t;
  }
  return p;
}

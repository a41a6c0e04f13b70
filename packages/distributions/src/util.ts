import { JouleError } from '@joule/core';
import { getBackend, type NestedArray, Tensor, tensor } from '@joule/tensor';

/**
 * A parameter of a distribution: a tensor (gradients flow to it through `sample` and `logProb`),
 * a number, or nested arrays of numbers (copied into a constant tensor).
 *
 * @example
 * ```ts
 * import type { ParamLike } from '@joule/distributions';
 *
 * const loc: ParamLike = [0, 1];
 * const scale: ParamLike = 0.5;
 * ```
 */
export type ParamLike = Tensor | NestedArray;

/** `log(2π)`. */
export const LOG_2PI = Math.log(2 * Math.PI);

/** The parameter as a tensor (tensors are used as given so gradients reach them). */
export function toTensor(value: ParamLike): Tensor {
  return value instanceof Tensor ? value : tensor(value);
}

/** The values of `t` when the backend can read them synchronously (validation), else `undefined`. */
export function readable(t: Tensor): Float32Array | undefined {
  return getBackend().canReadSync ? t.dataSync() : undefined;
}

/** Throws unless every value of `t` is finite and strictly positive. */
export function assertPositive(op: string, arg: string, t: Tensor): void {
  const v = readable(t);
  if (!v) return;
  for (let i = 0; i < v.length; i++) {
    if (!(v[i]! > 0) || !Number.isFinite(v[i]!)) {
      throw new JouleError(op, arg, 'finite positive values', `${v[i]} at index ${i}`);
    }
  }
}

/** Throws unless every value of `t` is finite. */
export function assertFiniteTensor(op: string, arg: string, t: Tensor): void {
  const v = readable(t);
  if (!v) return;
  for (let i = 0; i < v.length; i++) {
    if (!Number.isFinite(v[i]!)) throw new JouleError(op, arg, 'finite values', `${v[i]} at index ${i}`);
  }
}

/** `[a, b, c]` for messages. */
export function fmt(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/**
 * Checks that `x` is `[..., d]` and, when the distribution has a batch of `batch` parameter rows,
 * that its second-to-last axis is `batch`. Returns `x`.
 */
export function checkPoints(op: string, x: Tensor, dim: number, batch: number | undefined): Tensor {
  if (!(x instanceof Tensor)) throw new JouleError(op, 'x', `a Tensor of shape [n, ${dim}]`, typeof x);
  if (x.rank < 1 || x.shape[x.rank - 1] !== dim) {
    throw new JouleError(op, 'x', `shape [..., n, ${dim}]`, `shape ${fmt(x.shape)}`);
  }
  if (batch !== undefined && (x.rank < 2 || x.shape[x.rank - 2] !== batch)) {
    throw new JouleError(op, 'x', `shape [..., ${batch}, ${dim}] (one row per batch element)`, `shape ${fmt(x.shape)}`);
  }
  return x;
}

/** Checks the sample size against the batch size of a batched distribution. */
export function checkSampleSize(op: string, n: number, batch: number | undefined): void {
  if (!Number.isInteger(n) || n <= 0) throw new JouleError(op, 'n', 'a positive integer', String(n));
  if (batch !== undefined && n !== batch) {
    throw new JouleError(op, 'n', `the batch size ${batch} (one draw per batch element)`, String(n));
  }
}

/**
 * Reads the trailing event dimension and the optional batch size of a location-like parameter
 * of shape `[d]` (one distribution) or `[n, d]` (a batch of `n`).
 */
export function eventAndBatch(op: string, arg: string, t: Tensor): { dim: number; batch: number | undefined } {
  if (t.rank === 1) return { dim: t.shape[0]!, batch: undefined };
  if (t.rank === 2) return { dim: t.shape[1]!, batch: t.shape[0]! };
  throw new JouleError(op, arg, 'shape [d] or [n, d]', `shape ${fmt(t.shape)}`);
}

/** Checks that `t` broadcasts to `[d]` or, for a batch, `[n, d]`. */
export function checkBroadcast(op: string, arg: string, t: Tensor, dim: number, batch: number | undefined): void {
  const target = batch === undefined ? [dim] : [batch, dim];
  if (t.rank > target.length)
    throw new JouleError(op, arg, `a shape broadcastable to ${fmt(target)}`, `shape ${fmt(t.shape)}`);
  for (let i = 1; i <= t.rank; i++) {
    const s = t.shape[t.rank - i]!;
    const want = target[target.length - i]!;
    if (s !== 1 && s !== want) {
      throw new JouleError(op, arg, `a shape broadcastable to ${fmt(target)}`, `shape ${fmt(t.shape)}`);
    }
  }
}

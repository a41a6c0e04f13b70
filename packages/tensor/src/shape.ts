import { JouleError } from './errors.js';

/** A tensor shape: one non-negative integer per dimension, outermost first. */
export type Shape = readonly number[];

/** Number of elements of a shape (1 for a scalar). */
export function sizeOf(shape: Shape): number {
  let n = 1;
  for (let i = 0; i < shape.length; i++) n *= shape[i];
  return n;
}

/**
 * Row-major strides of a shape (in elements), for backends that index flat buffers.
 *
 * @example
 * ```ts
 * stridesOf([2, 3, 4]); // [12, 4, 1]
 * ```
 */
export function stridesOf(shape: Shape): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

/** `[2, 3]` as text, for error messages. */
export function formatShape(shape: Shape): string {
  return `[${shape.join(', ')}]`;
}

export function sameShape(a: Shape, b: Shape): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * NumPy broadcasting of two shapes; throws a JouleError naming `op` (and `arg`, the argument blamed)
 * when they do not broadcast.
 *
 * @example
 * ```ts
 * broadcastShapes('add', [3, 1], [4]); // [3, 4]
 * ```
 */
export function broadcastShapes(op: string, a: Shape, b: Shape, arg = ''): number[] {
  const n = Math.max(a.length, b.length);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const da = i < n - a.length ? 1 : a[i - (n - a.length)];
    const db = i < n - b.length ? 1 : b[i - (n - b.length)];
    if (da !== db && da !== 1 && db !== 1) {
      throw new JouleError(op, arg, `a shape that broadcasts with ${formatShape(a)}`, formatShape(b));
    }
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/**
 * Strides of `shape` read as if broadcast to `outShape`: 0 on broadcast dimensions.
 * `shape` must broadcast to `outShape` (rank may be smaller). For backends that walk broadcast operands.
 *
 * @example
 * ```ts
 * broadcastStrides([3, 1], [2, 3, 4]); // [0, 1, 0]
 * ```
 */
export function broadcastStrides(shape: Shape, outShape: Shape): number[] {
  const st = stridesOf(shape);
  const off = outShape.length - shape.length;
  const r = new Array<number>(outShape.length);
  for (let i = 0; i < outShape.length; i++) {
    const j = i - off;
    r[i] = j < 0 || shape[j] === 1 ? 0 : st[j];
  }
  return r;
}

/** Normalizes one axis (negative counts from the end) against a rank. */
export function normalizeAxis(op: string, axis: number, rank: number, arg = 'axis'): number {
  if (!Number.isInteger(axis) || axis < -rank || axis >= Math.max(rank, 1)) {
    throw new JouleError(op, arg, `an integer in [${-rank}, ${rank - 1}]`, String(axis));
  }
  return axis < 0 ? axis + rank : axis;
}

/** Normalizes, sorts and de-duplicates axes; `undefined` means all axes. */
export function normalizeAxes(op: string, axes: number | readonly number[] | undefined, rank: number): number[] {
  if (axes === undefined) return Array.from({ length: rank }, (_, i) => i);
  const list = typeof axes === 'number' ? [axes] : axes;
  const out = list.map((a) => normalizeAxis(op, a, rank, 'axes'));
  out.sort((x, y) => x - y);
  for (let i = 1; i < out.length; i++) {
    if (out[i] === out[i - 1]) throw new JouleError(op, 'axes', 'distinct axes', `[${list.join(', ')}]`);
  }
  return out;
}

/** Checks that a shape is a list of non-negative integers. */
export function checkShape(op: string, shape: readonly number[], arg = 'shape'): number[] {
  if (!Array.isArray(shape)) throw new JouleError(op, arg, 'an array of non-negative integers', String(shape));
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) {
      throw new JouleError(op, arg, 'an array of non-negative integers', `[${shape.join(', ')}]`);
    }
  }
  return shape.slice();
}

/**
 * A shape with some dimensions merged, and each operand's strides along it (see {@link coalesce}).
 *
 * @example
 * ```ts
 * const { shape, strides } = coalesce([2, 3], [stridesOf([2, 3])]); // [6], [[1]]
 * ```
 */
export interface Coalesced {
  /** The merged shape (no dimension of length 1). */
  shape: number[];
  /** `strides[k][i]`: operand k's stride along merged dimension i. */
  strides: number[][];
}

/**
 * Merges adjacent dimensions that every operand walks contiguously, so kernels loop over fewer, longer runs.
 * `strides[k][i]` is operand k's stride along output dimension i.
 *
 * @example
 * ```ts
 * coalesce([2, 3, 4], [stridesOf([2, 3, 4]), broadcastStrides([4], [2, 3, 4])]);
 * // { shape: [6, 4], strides: [[4, 1], [0, 1]] }
 * ```
 */
export function coalesce(shape: Shape, strides: number[][]): Coalesced {
  const outShape: number[] = [];
  const outStrides: number[][] = strides.map(() => []);
  for (let i = 0; i < shape.length; i++) {
    if (shape[i] === 1) continue;
    const last = outShape.length - 1;
    if (last >= 0 && strides.every((s, k) => outStrides[k][last] === s[i] * shape[i])) {
      outShape[last] *= shape[i];
      for (let k = 0; k < strides.length; k++) outStrides[k][last] = strides[k][i];
    } else {
      outShape.push(shape[i]);
      for (let k = 0; k < strides.length; k++) outStrides[k].push(strides[k][i]);
    }
  }
  return { shape: outShape, strides: outStrides };
}

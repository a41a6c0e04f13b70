import { JouleError } from '@joule/tensor';

/**
 * Something with a shape: a shape itself (`[4, 2]`) or an object with a `shape` field, such as a
 * `Tensor`.
 *
 * @example
 * ```ts
 * import type { ShapeLike } from '@joule/core';
 *
 * const a: ShapeLike = [4, 2];
 * const b: ShapeLike = tensor; // anything with `.shape`
 * ```
 */
export type ShapeLike =
  | readonly number[]
  | {
      /** The sizes of the dimensions, outermost first. */
      readonly shape: readonly number[];
    };

/**
 * One entry of a shape pattern for {@link assertShape}: a size that must match exactly, `-1` for
 * any size, or a name (`'n'`, `'d'`) that must have the same size everywhere it appears.
 *
 * @example
 * ```ts
 * import type { DimPattern } from '@joule/core';
 *
 * const pattern: DimPattern[] = ['n', 2]; // a batch of 2-D points
 * ```
 */
export type DimPattern = number | string;

/** Describes a value for an error message: numbers as written, other values with their type. */
function describe(value: unknown): string {
  if (typeof value === 'number') return String(value);
  if (typeof value === 'string') return `string '${value}'`;
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (Array.isArray(value)) return `array of length ${value.length}`;
  return typeof value;
}

function formatPattern(pattern: readonly DimPattern[]): string {
  return `[${pattern.map((p) => (p === -1 ? '*' : String(p))).join(', ')}]`;
}

/**
 * Checks that `value` is an integer greater than zero (a batch size, a number of steps…).
 *
 * @param op - the operation checking its input, used in the error message
 * @param arg - the name of the argument being checked
 * @param value - the value to check
 * @throws {@link JouleError} when `value` is not a positive integer
 *
 * @example
 * ```ts
 * import { assertPositiveInt } from '@joule/core';
 *
 * assertPositiveInt('sample', 'n', 128); // ok
 * assertPositiveInt('sample', 'n', 2.5);
 * // JouleError: sample: argument 'n' expected a positive integer, got 2.5
 * ```
 */
export function assertPositiveInt(op: string, arg: string, value: unknown): asserts value is number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    throw new JouleError(op, arg, 'a positive integer', describe(value));
  }
}

/**
 * Checks that `value` is a finite number, or that every entry of an array of numbers (a
 * `Float32Array` read from a tensor, say) is finite. Use it as a NaN/Inf guard on losses.
 *
 * @param op - the operation checking its input, used in the error message
 * @param arg - the name of the argument being checked
 * @param value - a number or an array-like of numbers
 * @throws {@link JouleError} naming the first non-finite entry
 *
 * @example
 * ```ts
 * import { assertFinite } from '@joule/core';
 *
 * assertFinite('mala', 'stepSize', 0.01); // ok
 * assertFinite('train', 'loss', new Float32Array([0.5, Number.NaN]));
 * // JouleError: train: argument 'loss' expected finite numbers, got NaN at index 1
 * ```
 */
export function assertFinite(op: string, arg: string, value: number | ArrayLike<number>): void {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new JouleError(op, arg, 'a finite number', describe(value));
    return;
  }
  if (value === null || typeof value !== 'object' || typeof value.length !== 'number') {
    throw new JouleError(op, arg, 'a finite number or an array of them', describe(value));
  }
  for (let i = 0; i < value.length; i++) {
    const v = value[i];
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw new JouleError(op, arg, 'finite numbers', `${describe(v)} at index ${i}`);
    }
  }
}

/**
 * Which ends of the interval {@link assertInRange} accepts: `'[]'` both (the default), `'()'`
 * neither, `'[)'` only the lower one, `'(]'` only the upper one.
 *
 * @example
 * ```ts
 * import { assertInRange, type Bounds } from '@joule/core';
 *
 * const open: Bounds = '()';
 * assertInRange('mala', 'stepSize', 0.1, 0, Number.POSITIVE_INFINITY, open);
 * ```
 */
export type Bounds = '[]' | '()' | '[)' | '(]';

/**
 * Checks that `value` is a number in the interval from `lo` to `hi`, closed at both ends unless
 * `bounds` says otherwise. NaN is never in range.
 *
 * @param op - the operation checking its input, used in the error message
 * @param arg - the name of the argument being checked
 * @param value - the value to check
 * @param lo - the lower end (`-Infinity` for none)
 * @param hi - the upper end (`Infinity` for none)
 * @param bounds - which ends belong to the interval, `'[]'` by default
 * @throws {@link JouleError} when `value` is outside the interval or not a number
 *
 * @example
 * ```ts
 * import { assertInRange } from '@joule/core';
 *
 * assertInRange('resample', 'threshold', 0.5, 0, 1); // ok
 * assertInRange('mala', 'stepSize', 0, 0, Number.POSITIVE_INFINITY, '(]');
 * // JouleError: mala: argument 'stepSize' expected a number in (0, Infinity], got 0
 * ```
 */
export function assertInRange(
  op: string,
  arg: string,
  value: unknown,
  lo: number,
  hi: number,
  bounds: Bounds = '[]',
): asserts value is number {
  const interval = `${bounds[0]}${lo}, ${hi}${bounds[1]}`;
  if (typeof value !== 'number' || Number.isNaN(value)) {
    throw new JouleError(op, arg, `a number in ${interval}`, describe(value));
  }
  const aboveLo = bounds[0] === '[' ? value >= lo : value > lo;
  const belowHi = bounds[1] === ']' ? value <= hi : value < hi;
  if (!aboveLo || !belowHi) throw new JouleError(op, arg, `a number in ${interval}`, describe(value));
}

/**
 * Checks a shape against a pattern and returns the sizes of its named dimensions.
 *
 * A pattern entry is a size that must match exactly, `-1` for any size, or a name that must take
 * the same size everywhere it appears. Pass the returned record to later calls to tie dimensions
 * across arguments (the `n` of `x` and of `context`, say); names already in `dims` must match and
 * new names are added to it.
 *
 * @param op - the operation checking its input, used in the error message
 * @param arg - the name of the argument being checked
 * @param value - a shape, or an object with a `shape` field such as a `Tensor`
 * @param pattern - the expected shape, e.g. `['n', 'd']`, `[-1, 2]`
 * @param dims - sizes of names bound by earlier checks; updated in place
 * @returns `dims` with the sizes of this pattern's names added
 * @throws {@link JouleError} naming the argument, the expected pattern and the shape given
 *
 * @example
 * ```ts
 * import { assertShape } from '@joule/core';
 *
 * const dims = assertShape('energy', 'x', [128, 2], ['n', 'd']); // { n: 128, d: 2 }
 * assertShape('energy', 'context', [128, 3], ['n', -1], dims); // ok: same n
 * assertShape('energy', 'context', [64, 3], ['n', -1], dims);
 * // JouleError: energy: argument 'context' expected shape [n, *] with n = 128, got shape [64, 3]
 * ```
 */
export function assertShape(
  op: string,
  arg: string,
  value: ShapeLike,
  pattern: readonly DimPattern[],
  dims: Record<string, number> = {},
): Record<string, number> {
  const shape: unknown = Array.isArray(value) ? value : (value as { shape?: unknown } | null)?.shape;
  const expected = `shape ${formatPattern(pattern)}`;
  if (!Array.isArray(shape) || !shape.every((s) => typeof s === 'number')) {
    throw new JouleError(op, arg, `${expected} (an array of sizes or an object with .shape)`, describe(value));
  }
  const got = `shape [${shape.join(', ')}]`;
  if (shape.length !== pattern.length) {
    throw new JouleError(op, arg, `${expected} (rank ${pattern.length})`, `${got} (rank ${shape.length})`);
  }
  const bound: Record<string, number> = {};
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i]!;
    const size = shape[i] as number;
    if (typeof p === 'number') {
      if (p !== -1 && p !== size) throw new JouleError(op, arg, expected, got);
      continue;
    }
    const known = bound[p] ?? dims[p];
    if (known === undefined) {
      bound[p] = size;
    } else if (known !== size) {
      const where = p in bound ? '' : ` with ${p} = ${known}`;
      throw new JouleError(op, arg, `${expected}${where}`, got);
    }
  }
  return Object.assign(dims, bound);
}

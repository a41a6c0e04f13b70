import { describe, expect, it } from 'vitest';
import { assertFinite, assertInRange, assertPositiveInt, assertShape, JouleError } from '../src/index.js';

/** Runs `fn`, expects a JouleError, and returns it for further checks. */
function thrown(fn: () => unknown): JouleError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(JouleError);
    return e as JouleError;
  }
  throw new Error('expected a JouleError, nothing was thrown');
}

describe('assertPositiveInt', () => {
  it('accepts positive integers', () => {
    expect(() => assertPositiveInt('sample', 'n', 1)).not.toThrow();
    expect(() => assertPositiveInt('sample', 'n', 1_000_000)).not.toThrow();
  });

  it.each([0, -3, 2.5, Number.NaN, Number.POSITIVE_INFINITY])('rejects %s', (v) => {
    const e = thrown(() => assertPositiveInt('sample', 'n', v));
    expect(e.op).toBe('sample');
    expect(e.arg).toBe('n');
    expect(e.message).toBe(`sample: argument 'n' expected a positive integer, got ${v}`);
  });

  it('names the type of a non-number', () => {
    expect(thrown(() => assertPositiveInt('sample', 'n', '3')).message).toContain("got string '3'");
    expect(thrown(() => assertPositiveInt('sample', 'n', undefined)).message).toContain('got undefined');
  });
});

describe('assertFinite', () => {
  it('accepts finite numbers and arrays of them', () => {
    expect(() => assertFinite('f', 'x', -1e30)).not.toThrow();
    expect(() => assertFinite('f', 'x', new Float32Array([0, 1, -2]))).not.toThrow();
    expect(() => assertFinite('f', 'x', [])).not.toThrow();
  });

  it('rejects a non-finite number', () => {
    expect(thrown(() => assertFinite('mala', 'stepSize', Number.NaN)).message).toBe(
      "mala: argument 'stepSize' expected a finite number, got NaN",
    );
    expect(thrown(() => assertFinite('mala', 'stepSize', -Infinity)).message).toContain('got -Infinity');
  });

  it('names the first non-finite entry of an array', () => {
    const e = thrown(() => assertFinite('train', 'loss', new Float32Array([0.5, Number.NaN, Infinity])));
    expect(e.message).toBe("train: argument 'loss' expected finite numbers, got NaN at index 1");
  });

  it('rejects what is neither a number nor an array', () => {
    const e = thrown(() => assertFinite('f', 'x', null as unknown as number));
    expect(e.message).toContain('got null');
  });
});

describe('assertInRange', () => {
  it('includes both ends by default', () => {
    expect(() => assertInRange('f', 'p', 0, 0, 1)).not.toThrow();
    expect(() => assertInRange('f', 'p', 1, 0, 1)).not.toThrow();
    expect(() => assertInRange('f', 'p', 0.5, 0, 1)).not.toThrow();
  });

  it('rejects values outside, with the interval in the message', () => {
    expect(thrown(() => assertInRange('resample', 'threshold', 1.5, 0, 1)).message).toBe(
      "resample: argument 'threshold' expected a number in [0, 1], got 1.5",
    );
    expect(() => assertInRange('f', 'p', -0.1, 0, 1)).toThrow(JouleError);
  });

  it('honours open ends', () => {
    expect(() => assertInRange('f', 'p', 0, 0, 1, '()')).toThrow(JouleError);
    expect(() => assertInRange('f', 'p', 1, 0, 1, '()')).toThrow(JouleError);
    expect(() => assertInRange('f', 'p', 0, 0, 1, '[)')).not.toThrow();
    expect(() => assertInRange('f', 'p', 1, 0, 1, '[)')).toThrow(JouleError);
    expect(() => assertInRange('f', 'p', 1, 0, 1, '(]')).not.toThrow();
    expect(thrown(() => assertInRange('mala', 'stepSize', 0, 0, Infinity, '(]')).message).toBe(
      "mala: argument 'stepSize' expected a number in (0, Infinity], got 0",
    );
  });

  it('rejects NaN and non-numbers even with infinite bounds', () => {
    expect(() => assertInRange('f', 'p', Number.NaN, -Infinity, Infinity)).toThrow(JouleError);
    expect(thrown(() => assertInRange('f', 'p', '0.5', 0, 1)).message).toContain("got string '0.5'");
  });
});

describe('assertShape', () => {
  it('binds named dimensions and returns them', () => {
    expect(assertShape('energy', 'x', [128, 2], ['n', 'd'])).toEqual({ n: 128, d: 2 });
  });

  it('accepts anything with a shape field', () => {
    const tensorLike = { shape: [4, 3] as const };
    expect(assertShape('energy', 'x', tensorLike, [-1, 3])).toEqual({});
  });

  it('treats -1 as a wildcard and numbers as exact sizes', () => {
    expect(() => assertShape('f', 'x', [7, 2], [-1, 2])).not.toThrow();
    expect(thrown(() => assertShape('f', 'x', [7, 3], [-1, 2])).message).toBe(
      "f: argument 'x' expected shape [*, 2], got shape [7, 3]",
    );
  });

  it('checks the rank', () => {
    expect(thrown(() => assertShape('f', 'x', [7], ['n', 'd'])).message).toBe(
      "f: argument 'x' expected shape [n, d] (rank 2), got shape [7] (rank 1)",
    );
  });

  it('ties a repeated name within one pattern', () => {
    expect(assertShape('f', 'cov', [3, 3], ['d', 'd'])).toEqual({ d: 3 });
    expect(thrown(() => assertShape('f', 'cov', [3, 4], ['d', 'd'])).message).toBe(
      "f: argument 'cov' expected shape [d, d], got shape [3, 4]",
    );
  });

  it('ties names across calls through the dims record', () => {
    const dims = assertShape('energy', 'x', [128, 2], ['n', 'd']);
    expect(assertShape('energy', 'context', [128, 5], ['n', 'c'], dims)).toEqual({ n: 128, d: 2, c: 5 });
    expect(dims).toEqual({ n: 128, d: 2, c: 5 });
    expect(thrown(() => assertShape('energy', 'context', [64, 5], ['n', -1], dims)).message).toBe(
      "energy: argument 'context' expected shape [n, *] with n = 128, got shape [64, 5]",
    );
  });

  it('leaves dims untouched when the check fails', () => {
    const dims = { n: 4 };
    thrown(() => assertShape('f', 'x', [4, 2, 9], ['n', 'd', 1], dims));
    expect(dims).toEqual({ n: 4 });
  });

  it('rejects values without a shape', () => {
    const e = thrown(() => assertShape('f', 'x', 3 as unknown as number[], ['n']));
    expect(e.message).toContain('got 3');
  });
});

import { JouleError } from '@joule/core';
import { describe, expect, it } from 'vitest';
import { dualAscent, type Multipliers, resilientFixedPoint, resilientSlack, resolveDualOptions } from '../src/index.js';

describe('resilient slacks and fixed points', () => {
  it('matches the digest table of App. B.7 (λ/2 − 1/(4λ²) = g)', () => {
    const table: [number, number][] = [
      [-5, 0.221174],
      [-2, 0.339444],
      [-0.5, 0.565198],
      [0, 0.793701],
      [0.5, 1.297157],
      [2, 4.030775],
      [5, 10.004995],
    ];
    for (const [g, l] of table) expect(resilientFixedPoint(g, true)).toBeCloseTo(l, 5);
    expect(resilientFixedPoint(0, true)).toBeCloseTo(2 ** (-1 / 3), 10);
    expect(resilientFixedPoint(1.5, false)).toBe(3);
    expect(resilientFixedPoint(-1, false)).toBe(0);
  });

  it('gives ε = λ/2, δ = 1/(2λ) and the effective bound ε − δ² equal to g at the fixed point', () => {
    const l = resilientFixedPoint(-1, true);
    const s = resilientSlack(l, true);
    expect(s.epsilon).toBeCloseTo(0.225803, 5);
    expect(s.delta).toBeCloseTo(1.10716, 5);
    expect(s.bound).toBeCloseTo(-1, 10);
    expect(resilientSlack(3, false)).toEqual({ epsilon: 1.5, delta: 0, bound: 1.5 });
  });
});

describe('dualAscent', () => {
  const start: Multipliers = { fw: 0.01, rv: 0.01, prx: 0.01, upper: 0, lower: 0 };

  it('raises violated multipliers, lowers satisfied ones and clamps at 0', () => {
    const opts = resolveDualOptions({ lr: 0.1, lrZeta: 0.5, negativeNll: false });
    const next = dualAscent(
      { ...start, upper: 0.1, lower: 0.2 },
      { fw: 2, rv: -1, prx: 0.5, upper: 0.4, lower: -1 },
      opts,
    );
    expect(next.fw).toBeCloseTo(0.01 + 0.1 * (2 - 0.005), 12);
    expect(next.rv).toBe(0);
    expect(next.prx).toBeGreaterThan(0.01);
    expect(next.upper).toBeCloseTo(0.1 + 0.5 * 0.4, 12);
    expect(next.lower).toBe(0);
  });

  it('converges to the fixed point 2g (plain) and to the B.7 root (negative-NLL form)', () => {
    for (const negativeNll of [false, true]) {
      const opts = resolveDualOptions({ lr: 0.05, negativeNll });
      let l = { ...start };
      const g = { fw: 1.3, rv: 0.4, prx: -0.7, upper: 0, lower: 0 };
      for (let t = 0; t < 4000; t++) l = dualAscent(l, g, opts);
      expect(l.fw).toBeCloseTo(resilientFixedPoint(1.3, negativeNll), 4);
      expect(l.rv).toBeCloseTo(0.8, 4);
      expect(l.prx).toBeCloseTo(resilientFixedPoint(-0.7, negativeNll), 4);
    }
  });

  it('rejects bad options', () => {
    expect(() => resolveDualOptions({ lr: -1 })).toThrow(JouleError);
    expect(() => resolveDualOptions({ lrZeta: Number.NaN })).toThrow(/dual.lrZeta/);
    expect(() => resolveDualOptions({ init: 0 })).toThrow(/dual.init/);
    expect(() => resolveDualOptions({ negativeNll: 'yes' as unknown as boolean })).toThrow(/negativeNll/);
    expect(() => resilientFixedPoint(Number.NaN, true)).toThrow(JouleError);
  });
});

import { Rng, tensor } from '@joule/tensor';
import { describe, expect, it } from 'vitest';
import { acceptanceRate, autocovariance, effectiveSampleSize, splitRHat, summarize } from '../src/index.js';

/** AR(1) chains x_t = ρ x_{t−1} + √(1−ρ²) ε_t started at stationarity. */
function ar1(m: number, n: number, rho: number, seed: number, shift = (_c: number) => 0): Float64Array[] {
  const rng = new Rng(seed);
  return Array.from({ length: m }, (_, c) => {
    const z = rng.normal(n);
    const out = new Float64Array(n);
    out[0] = z[0];
    for (let t = 1; t < n; t++) out[t] = rho * out[t - 1] + Math.sqrt(1 - rho * rho) * z[t];
    return out.map((v) => v + shift(c));
  });
}

describe('autocovariance', () => {
  it('matches the direct sum', () => {
    const x = Array.from({ length: 37 }, (_, i) => Math.sin(i) + 0.1 * i);
    const acov = autocovariance(x);
    const mean = x.reduce((a, b) => a + b, 0) / x.length;
    for (const lag of [0, 1, 5, 36]) {
      let s = 0;
      for (let t = 0; t + lag < x.length; t++) s += (x[t] - mean) * (x[t + lag] - mean);
      expect(acov[lag]).toBeCloseTo(s / x.length, 10);
    }
  });
});

describe('effectiveSampleSize', () => {
  it('is close to the number of draws for independent draws', () => {
    const ess = effectiveSampleSize(ar1(4, 2000, 0, 1));
    // the estimator's relative sd is a few per cent at 8000 draws
    expect(ess / 8000).toBeGreaterThan(0.85);
    expect(ess / 8000).toBeLessThan(1.15);
  });

  it('matches N (1 − ρ) / (1 + ρ) for AR(1) chains', () => {
    const rho = 0.8;
    const ess = effectiveSampleSize(ar1(4, 5000, rho, 2));
    const expected = (20000 * (1 - rho)) / (1 + rho);
    expect(Math.abs(ess / expected - 1)).toBeLessThan(0.2);
  });

  it('validates its input', () => {
    expect(() => effectiveSampleSize([])).toThrow(/chains/);
    expect(() =>
      effectiveSampleSize([
        [1, 2, 3, 4, 5],
        [1, 2],
      ]),
    ).toThrow(/chains\[1\]/);
    expect(() => effectiveSampleSize([[1, 2, Number.NaN, 4, 5]])).toThrow(/NaN at draw 2/);
  });
});

describe('splitRHat', () => {
  it('is near 1 for chains from the same distribution', () => {
    expect(Math.abs(splitRHat(ar1(4, 1000, 0.5, 3)) - 1)).toBeLessThan(0.01);
  });

  it('flags chains stuck in different places', () => {
    expect(splitRHat(ar1(4, 1000, 0.5, 4, (c) => c))).toBeGreaterThan(1.5);
  });

  it('flags a trend inside each chain', () => {
    const trend = ar1(2, 1000, 0, 5).map((c) => c.map((v, t) => v + (3 * t) / 1000));
    expect(splitRHat(trend)).toBeGreaterThan(1.1);
  });
});

describe('summarize and acceptanceRate', () => {
  it('summarizes each coordinate of [kept, n, d] draws', async () => {
    const rng = new Rng(9);
    const draws = tensor(rng.normal(500 * 4 * 2), [500, 4, 2]).mul(tensor([1, 3]));
    const [a, b] = await summarize(draws);
    expect(Math.abs(a.mean)).toBeLessThan(5 * a.mcse);
    expect(b.sd).toBeGreaterThan(2.8);
    expect(b.sd).toBeLessThan(3.2);
    expect(a.rHat).toBeLessThan(1.01);
    expect(acceptanceRate([1, 0, 1, 1])).toBe(0.75);
  });
});

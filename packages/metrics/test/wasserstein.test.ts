import { Rng, randn, tensor } from '@joule/tensor';
import { describe, expect, it } from 'vitest';
import { slicedWasserstein, slicedWassersteinMetric, wasserstein1d } from '../src/index.js';
import { gaussianSamples } from './helpers.js';

describe('exact 1-D Wasserstein', () => {
  it('matches hand-computed values for equal and unequal sizes', async () => {
    expect(await wasserstein1d([0, 1, 3], [5, 6, 8])).toBeCloseTo(5, 12);
    expect(await wasserstein1d([3, 0, 1], tensor([8, 5, 6]))).toBeCloseTo(5, 12);
    // quantile functions differ by 1 on (1/3, 1/2] and (2/3, 1]
    expect(await wasserstein1d([0, 1], [0, 1, 2])).toBeCloseTo(1 / 6 + 1 / 3, 12);
    expect(await wasserstein1d([0, 1], [0, 1, 2], 2)).toBeCloseTo(Math.sqrt(0.5), 12);
    expect(await wasserstein1d([0, 2], [1, 1], 2)).toBeCloseTo(1, 12);
    expect(await wasserstein1d([1, 2, 3], [1, 2, 3])).toBe(0);
  });

  it('rejects an order below 1 and empty input', async () => {
    await expect(wasserstein1d([0], [1], 0.5)).rejects.toThrow(/'p' expected a finite order p ≥ 1/);
    await expect(wasserstein1d([], [1])).rejects.toThrow(/'x' expected at least one value/);
  });
});

describe('sliced Wasserstein', () => {
  it('of a sample and its exact shift by Δ: SW₂² = |Δ|²/d, within 5 projection standard errors', async () => {
    const d = 3;
    const delta = [1, -2, 0.5];
    const x = randn([500, d], new Rng(1));
    const y = x.add(tensor(delta));
    const L = 2000;
    const sw = await slicedWasserstein(x, y, { projections: L, p: 2, rng: new Rng(2) });
    // per projection W₂² = (θ·Δ)² = |Δ|² θ₁², θ₁² ~ Beta(1/2, (d−1)/2): mean 1/d, var 2(d−1)/(d²(d+2))
    const norm2 = delta.reduce((s, v) => s + v * v, 0);
    const se = (norm2 * Math.sqrt((2 * (d - 1)) / (d * d * (d + 2)))) / Math.sqrt(L);
    expect(Math.abs(sw * sw - norm2 / d)).toBeLessThan(5 * se);
    // p = 1: per projection W₁ = |θ·Δ|
    const sw1 = await slicedWasserstein(x, y, { projections: L, p: 1, rng: new Rng(2) });
    expect(sw1).toBeLessThan(sw);
  });

  it('of two Gaussians against the closed form |μ₁ − μ₂|²/d + (s₁ − s₂)²', async () => {
    const d = 2;
    const [mu1, mu2, s1, s2] = [[0, 0], [1, 0.5], 1, 0.5];
    const exact = (1 + 0.25) / d + (s1 - s2) ** 2;
    const n = 4096;
    const reps = 8;
    const values: number[] = [];
    for (let r = 0; r < reps; r++) {
      const rng = new Rng(100 + r);
      const x = gaussianSamples(n, mu1, s1, rng);
      const y = gaussianSamples(n, mu2 as number[], s2, rng);
      const sw = await slicedWasserstein(x, y, { projections: 100, rng });
      values.push(sw * sw);
    }
    const mean = values.reduce((a, b) => a + b, 0) / reps;
    const sd = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / (reps - 1));
    // Tolerance: 5 standard errors over the repetitions, plus the estimator's positive bias
    // 2 s₁ s₂ (1/n) Σᵢ Var(z₍ᵢ₎) from matching order statistics, with Σᵢ Var(z₍ᵢ₎) < 4 for n ≤ 10⁴.
    const bias = (2 * s1 * s2 * 4) / n;
    expect(Math.abs(mean - exact)).toBeLessThan(5 * (sd / Math.sqrt(reps)) + bias);
  });

  it('is reproducible from the seed, and the metric object names itself', async () => {
    const x = randn([100, 2], new Rng(3));
    const y = randn([120, 2], new Rng(4)).add(1);
    const a = await slicedWasserstein(x, y, { rng: new Rng(5) });
    expect(await slicedWasserstein(x, y, { rng: new Rng(5) })).toBe(a);
    const metric = slicedWassersteinMetric({ projections: 64 });
    expect(metric.name).toBe('slicedWasserstein');
    expect(await metric(x, y)).toBe(await metric(x, y));
    expect(await metric(x, y)).toBeGreaterThan(0.5);
  });
});

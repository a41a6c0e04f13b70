import type { Resampler } from '@joule/core';
import { JouleError, Rng, tensor } from '@joule/tensor';
import { describe, expect, it } from 'vitest';
import {
  ess,
  essFraction,
  multinomial,
  normalizeLogWeights,
  offspringCounts,
  type ResamplingScheme,
  resample,
  resampleIfNeeded,
  resamplers,
  residual,
  shouldResample,
  stratified,
  systematic,
  thresholdFromCvSquared,
} from '../src/index.js';

const schemes: ResamplingScheme[] = ['multinomial', 'stratified', 'systematic', 'residual'];

// Expected offspring counts N·w for N = 8 particles; the fractional parts sit away from 0 and 1 so
// every particle has a visibly random count, and particle 4 has weight 0.
const expected = [0.4, 1.3, 2.55, 0.75, 0, 1.6, 0.9, 0.5];
const N = expected.length;
const logW = expected.map((e) => Math.log(e / N) + 7); // unnormalized on purpose

/** Per-particle mean and variance of offspring counts over `reps` independent resamplings. */
function countMoments(scheme: ResamplingScheme, reps: number, seed: number) {
  const rng = new Rng(seed);
  const sum = new Float64Array(N);
  const sumSq = new Float64Array(N);
  for (let r = 0; r < reps; r++) {
    const counts = offspringCounts(resample(logW, rng, scheme), N);
    for (let i = 0; i < N; i++) {
      sum[i] += counts[i];
      sumSq[i] += counts[i] * counts[i];
    }
  }
  const mean = Array.from(sum, (s) => s / reps);
  const variance = Array.from(sumSq, (s, i) => (s - reps * mean[i] * mean[i]) / (reps - 1));
  return { mean, variance };
}

describe('weights and ESS', () => {
  it('normalizes in log space, far outside float range', () => {
    // 1000 + log 3 is stored with an ulp of 1.1e-13, so the weights are exact to about 1e-13
    const { weights, logWeights, logSum, logMean } = normalizeLogWeights([1000, 1000 + Math.log(3)]);
    expect(weights[0]).toBeCloseTo(0.25, 12);
    expect(weights[1]).toBeCloseTo(0.75, 12);
    expect(logWeights[0]).toBeCloseTo(Math.log(0.25), 12);
    expect(logSum).toBeCloseTo(1000 + Math.log(4), 10);
    expect(logMean).toBeCloseTo(1000 + Math.log(2), 10);
  });

  it('gives ESS as a count and as the eq. 13 fraction', () => {
    // normalized weights [0.25, 0.75]: Σw² = 0.625, ESS = 1.6, fraction 0.8
    expect(ess([0, Math.log(3)])).toBeCloseTo(1.6, 12);
    expect(essFraction([0, Math.log(3)])).toBeCloseTo(0.8, 12);
    expect(ess([5, 5, 5, 5])).toBeCloseTo(4, 12);
    expect(essFraction(tensor([-3, -3, -3]))).toBeCloseTo(1, 6);
    expect(ess([0, Number.NEGATIVE_INFINITY, Number.NEGATIVE_INFINITY])).toBe(1);
    expect(essFraction([0, Number.NEGATIVE_INFINITY, Number.NEGATIVE_INFINITY, Number.NEGATIVE_INFINITY])).toBe(0.25);
    // the ratio form of eq. 13 computed directly
    const a = [0.3, -1.2, 2.0, 0.7];
    const m1 = a.reduce((s, v) => s + Math.exp(v), 0) / a.length;
    const m2 = a.reduce((s, v) => s + Math.exp(2 * v), 0) / a.length;
    expect(essFraction(a)).toBeCloseTo((m1 * m1) / m2, 12);
  });

  it('rejects NaN, +Infinity, all -Infinity, empty and rank-2 input with a JouleError', () => {
    const bad: unknown[] = [
      [0, Number.NaN],
      [0, Number.POSITIVE_INFINITY],
      [Number.NEGATIVE_INFINITY, Number.NEGATIVE_INFINITY],
      [],
      tensor([[0, 1]]),
    ];
    for (const b of bad) {
      expect(() => ess(b as number[])).toThrow(JouleError);
      for (const s of schemes) expect(() => resample(b as number[], new Rng(0), s)).toThrow(JouleError);
    }
    expect(() => normalizeLogWeights([0, Number.NaN])).toThrow(/'logWeights' expected numbers that are not NaN/);
    expect(() => systematic([0, 0], new Rng(0), 0)).toThrow(/'count' expected a positive integer/);
    expect(() => resample([0], new Rng(0), 'bogus' as ResamplingScheme)).toThrow(/'scheme'/);
  });
});

describe('resampling schemes', () => {
  it('fit the Resampler interface of @joule/core', () => {
    const all: Resampler[] = [multinomial, stratified, systematic, residual];
    for (const r of all) expect(r(tensor([0, 0, 0]), new Rng(1))).toHaveLength(3);
  });

  it.each(schemes)('%s is unbiased: mean offspring count = N·w within 5 standard errors', (scheme) => {
    const reps = 20000;
    const { mean, variance } = countMoments(scheme, reps, 11);
    for (let i = 0; i < N; i++) {
      if (expected[i] === 0) {
        expect(mean[i]).toBe(0); // a zero-weight particle is never chosen
        continue;
      }
      const se = Math.sqrt(variance[i] / reps);
      expect(se).toBeGreaterThan(0);
      expect(Math.abs(mean[i] - expected[i])).toBeLessThan(5 * se);
    }
  });

  it('variance of offspring counts: residual, systematic, stratified ≤ multinomial (measured)', () => {
    const reps = 20000;
    const total = Object.fromEntries(
      schemes.map((s, k) => [s, countMoments(s, reps, 100 + k).variance.reduce((a, b) => a + b, 0)]),
    ) as Record<ResamplingScheme, number>;
    // multinomial's exact total variance is Σ N w (1 − w)
    const exact = expected.reduce((s, e) => s + e * (1 - e / N), 0);
    expect(Math.abs(total.multinomial - exact) / exact).toBeLessThan(0.05);
    expect(total.residual).toBeLessThan(total.multinomial);
    expect(total.stratified).toBeLessThan(total.multinomial);
    expect(total.systematic).toBeLessThan(total.multinomial);
    // systematic's counts are floor or ceil of N·w: variance f(1 − f) per particle
    const sysExact = expected.reduce((s, e) => s + (e - Math.floor(e)) * (1 - (e - Math.floor(e))), 0);
    expect(total.systematic).toBeLessThanOrEqual(total.stratified);
    expect(Math.abs(total.systematic - sysExact) / sysExact).toBeLessThan(0.05);
  });

  it('systematic gives floor or ceil of N·w copies; stratified stays within 2', () => {
    const rng = new Rng(5);
    for (let r = 0; r < 500; r++) {
      const sys = offspringCounts(systematic(logW, rng), N);
      const str = offspringCounts(stratified(logW, rng), N);
      for (let i = 0; i < N; i++) {
        expect(sys[i] === Math.floor(expected[i]) || sys[i] === Math.ceil(expected[i])).toBe(true);
        expect(Math.abs(str[i] - expected[i])).toBeLessThan(2);
      }
    }
  });

  it.each(schemes)('%s handles one particle holding all the weight, and -Infinity entries', (scheme) => {
    const ninf = Number.NEGATIVE_INFINITY;
    const ancestors = resample([ninf, ninf, 3.5, ninf, ninf], new Rng(2), scheme);
    expect(Array.from(ancestors)).toEqual([2, 2, 2, 2, 2]);
    const counts = offspringCounts(resample([ninf, 0, ninf, 0], new Rng(3), scheme, 1000), 4);
    expect(counts[0] + counts[2]).toBe(0);
    expect(counts[1] + counts[3]).toBe(1000);
    expect(Array.from(resample([1.5], new Rng(0), scheme))).toEqual([0]);
  });

  it('equal weights: systematic, stratified and residual keep every particle once', () => {
    for (const scheme of ['systematic', 'stratified', 'residual'] as const) {
      const counts = offspringCounts(resample(new Array(16).fill(-2), new Rng(9), scheme), 16);
      expect(Array.from(counts)).toEqual(new Array(16).fill(1));
    }
  });

  it('draws a different number of ancestors when asked, still unbiased', () => {
    const m = 20;
    const rng = new Rng(21);
    const reps = 4000;
    const sum = new Float64Array(N);
    for (let r = 0; r < reps; r++) {
      const c = offspringCounts(residual(logW, rng, m), N);
      for (let i = 0; i < N; i++) sum[i] += c[i];
    }
    // Residual counts deviate from m·w by less than 1 + the residual draws; here check the mean
    // against m·w with the multinomial bound on the standard error, Var ≤ m w (1 − w).
    for (let i = 0; i < N; i++) {
      const w = expected[i] / N;
      const se = Math.sqrt((m * w * (1 - w)) / reps);
      expect(Math.abs(sum[i] / reps - m * w)).toBeLessThanOrEqual(5 * se);
    }
  });

  it('is reproducible from the seed', () => {
    for (const scheme of schemes) {
      expect(resamplers[scheme](logW, new Rng(77))).toEqual(resamplers[scheme](logW, new Rng(77)));
    }
  });
});

describe('adaptive trigger', () => {
  it('resamples only when the ESS fraction is below the threshold', () => {
    const ninf = Number.NEGATIVE_INFINITY;
    expect(shouldResample([0, 0, 0, 0], 0.5)).toBe(false);
    expect(shouldResample([0, ninf, ninf, ninf], 0.5)).toBe(true);
    expect(shouldResample([0, Math.log(3)], 0.8)).toBe(false); // ESS fraction 0.8 is not below 0.8
    expect(shouldResample([0, Math.log(3)], 0.81)).toBe(true);
    expect(shouldResample([0, ninf], 0)).toBe(false);
    expect(() => shouldResample([0, 0], 1.5)).toThrow(/'threshold'/);
    expect(thresholdFromCvSquared(0.05)).toBeCloseTo(1 / 1.05, 14);
  });

  it('leaves the particles and the generator alone when the weights are good', () => {
    const rng = new Rng(4);
    const before = rng.state();
    const out = resampleIfNeeded([0, 0.1, -0.1], rng, { threshold: 0.5 });
    expect(out.resampled).toBe(false);
    expect(Array.from(out.ancestors)).toEqual([0, 1, 2]);
    expect(Array.from(out.logWeights)).toEqual([0, 0.1, -0.1]);
    expect(rng.state()).toEqual(before);
  });

  it('resamples with the chosen scheme and resets the weights', () => {
    const lw = [0, -8, -8, -8];
    const out = resampleIfNeeded(lw, new Rng(8), { threshold: 0.5, scheme: 'stratified' });
    expect(out.resampled).toBe(true);
    expect(out.ancestors).toEqual(stratified(lw, new Rng(8)));
    expect(Array.from(out.logWeights)).toEqual([0, 0, 0, 0]);
    expect(out.essFraction).toBeCloseTo(essFraction(lw), 14);
    expect(out.logMean).toBeCloseTo(Math.log((1 + 3 * Math.exp(-8)) / 4), 14);
  });
});

import { JouleError, Rng, randn, tensor } from '@joule/tensor';
import { describe, expect, it } from 'vitest';
import {
  linearSchedule,
  quadraticGamma,
  type Schedule,
  StochasticInterpolant,
  sampleTimes,
  sqrtGamma,
  trigonometricSchedule,
  vpSchedule,
  zeroGamma,
} from '../src/index.js';

const schedules: Schedule[] = [linearSchedule(), trigonometricSchedule(), vpSchedule()];
const interior = [0.05, 0.2, 0.37, 0.5, 0.71, 0.9, 0.97];

/** Central difference in float64 (the schedules are plain JS numbers). */
function fd(f: (t: number) => number, t: number, h = 1e-6): number {
  return (f(t + h) - f(t - h)) / (2 * h);
}

describe('schedules', () => {
  it('hit x0 at t = 0 and x1 at t = 1', () => {
    for (const s of [linearSchedule(), trigonometricSchedule()]) {
      expect(s.alpha(0)).toBeCloseTo(1, 12);
      expect(s.beta(0)).toBeCloseTo(0, 12);
      expect(s.alpha(1)).toBeCloseTo(0, 12);
      expect(s.beta(1)).toBeCloseTo(1, 12);
    }
    const vp = vpSchedule({ betaMin: 0.1, betaMax: 20 });
    expect(vp.alpha(1)).toBe(0);
    expect(vp.beta(1)).toBe(1);
    // At t = 0 the VP schedule is only approximately the base: β(0) = exp(−(0.1 + 20)/4).
    expect(vp.beta(0)).toBeCloseTo(Math.exp(-20.1 / 4), 12);
    expect(vp.alpha(0) ** 2 + vp.beta(0) ** 2).toBeCloseTo(1, 12);
  });

  it('have derivatives matching central finite differences', () => {
    for (const s of schedules) {
      for (const t of interior) {
        expect(s.dAlpha(t)).toBeCloseTo(fd(s.alpha, t), 5);
        expect(s.dBeta(t)).toBeCloseTo(fd(s.beta, t), 5);
      }
    }
  });

  it('trigonometric and VP schedules preserve variance', () => {
    for (const s of [trigonometricSchedule(), vpSchedule()]) {
      for (const t of interior) expect(s.alpha(t) ** 2 + s.beta(t) ** 2).toBeCloseTo(1, 12);
    }
  });

  it('γ choices vanish at the ends and have correct derivatives', () => {
    for (const g of [sqrtGamma(), sqrtGamma(0.3), quadraticGamma(2)]) {
      expect(g.gamma(0)).toBe(0);
      expect(g.gamma(1)).toBe(0);
      expect(g.isZero).toBe(false);
      for (const t of interior) {
        expect(g.dGamma(t)).toBeCloseTo(fd(g.gamma, t), 5);
        expect(g.gammaDGamma(t)).toBeCloseTo(g.gamma(t) * g.dGamma(t), 10);
      }
    }
    expect(sqrtGamma(0.5).gamma(0.5)).toBeCloseTo(0.5 * Math.sqrt(0.5), 12);
    expect(sqrtGamma().gammaDGamma(0)).toBe(1);
    expect(zeroGamma().isZero).toBe(true);
    expect(() => sqrtGamma(-1)).toThrow(JouleError);
    expect(() => vpSchedule({ betaMin: 1, betaMax: 0.5 })).toThrow(JouleError);
  });
});

describe('StochasticInterpolant', () => {
  it('computes x_t and ∂_t x_t row by row', () => {
    const I = new StochasticInterpolant({ schedule: 'trigonometric', gamma: sqrtGamma(0.5) });
    const rng = new Rng(3);
    const x0 = randn([4, 3], rng);
    const x1 = randn([4, 3], rng);
    const z = randn([4, 3], rng);
    const ts = [0.1, 0.4, 0.6, 0.9];
    const { xt, dxt } = I.interpolate(tensor(ts), x0, x1, z);
    const [a, b, c, xv, dv] = [x0, x1, z, xt, dxt].map((x) => x.toArray() as number[][]);
    ts.forEach((t, i) => {
      const k = I.coefficients(t);
      for (let j = 0; j < 3; j++) {
        expect(xv[i][j]).toBeCloseTo(k.alpha * a[i][j] + k.beta * b[i][j] + k.gamma * c[i][j], 5);
        expect(dv[i][j]).toBeCloseTo(k.dAlpha * a[i][j] + k.dBeta * b[i][j] + k.dGamma * c[i][j], 5);
      }
    });
  });

  it('rejects bad inputs by name', () => {
    const I = new StochasticInterpolant({ gamma: 'sqrt' });
    const x = randn([2, 2], new Rng(0));
    expect(() => I.interpolate(tensor([0.5, 0.5]), x, x)).toThrow(/z/);
    expect(() => I.interpolate(tensor([0.5, 1.5]), x, x, x)).toThrow(/\[0, 1\]/);
    expect(() => I.interpolate(tensor([0.5]), x, x, x)).toThrow(JouleError);
    expect(() => new StochasticInterpolant({ schedule: 'cubic' as 'linear' })).toThrow(/schedule/);
  });
});

describe('sampleTimes', () => {
  it('follows the law P(t ≤ s) = s^power', () => {
    const n = 20000;
    for (const power of [1, 2, 3]) {
      const t = sampleTimes(n, new Rng(power), power).dataSync();
      for (const s of [0.2, 0.5, 0.8, 0.95]) {
        const p = s ** power;
        let count = 0;
        for (const v of t) if (v <= s) count++;
        // Binomial standard error of the empirical CDF; tolerance 5 standard errors.
        const se = Math.sqrt((p * (1 - p)) / n);
        expect(Math.abs(count / n - p)).toBeLessThan(5 * se);
      }
    }
  });

  it('passes a Kolmogorov–Smirnov test against the exact CDF s^power', () => {
    const n = 20000;
    for (const power of [0.5, 1, 2.5, 4]) {
      const t = Array.from(sampleTimes(n, new Rng(40 + power * 2), power).dataSync()).sort((a, b) => a - b);
      let d = 0;
      t.forEach((v, i) => {
        const F = v ** power;
        d = Math.max(d, (i + 1) / n - F, F - i / n);
      });
      // Kolmogorov's asymptotic critical value at level 0.001: 1.949 / √n (≈ 0.0138 at n = 20000).
      expect(d).toBeLessThan(1.949 / Math.sqrt(n));
    }
    // And the test has power: the uniform law is rejected as the law of power 2.5.
    const u = Array.from(sampleTimes(n, new Rng(50), 1).dataSync()).sort((a, b) => a - b);
    const dWrong = Math.max(...u.map((v, i) => Math.max((i + 1) / n - v ** 2.5, v ** 2.5 - i / n)));
    expect(dWrong).toBeGreaterThan(1.949 / Math.sqrt(n));
  });

  it('rejects a bad power', () => {
    expect(() => sampleTimes(4, new Rng(0), 0)).toThrow(/power/);
  });
});

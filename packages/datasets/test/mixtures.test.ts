import { Rng, tensor } from '@joule/tensor';
import { describe, expect, it } from 'vitest';
import { cnceMixture, TwoModeMixture } from '../src/index.js';

describe('CNCE 20-D mixture', () => {
  it('has 40 equal-weight components in 20-D with σ = 0.1 and means from N(0, I) fixed by the seed', () => {
    const p = cnceMixture();
    expect(p.dim).toBe(20);
    expect(p.numComponents).toBe(40);
    expect(p.means.shape).toEqual([40, 20]);
    expect(p.scales.dataSync().every((s) => Math.abs(s - 0.1) < 1e-7)).toBe(true);
    expect(p.mixing.probs.dataSync().every((w) => Math.abs(w - 1 / 40) < 1e-6)).toBe(true);
    const m = p.means.dataSync();
    // means ~ N(0, 1): 800 draws, mean within 5/√800, variance within 5·√(2/800)
    const mean = m.reduce((s, v) => s + v, 0) / m.length;
    const variance = m.reduce((s, v) => s + (v - mean) ** 2, 0) / m.length;
    expect(Math.abs(mean)).toBeLessThan(5 / Math.sqrt(800));
    expect(Math.abs(variance - 1)).toBeLessThan(5 * Math.sqrt(2 / 800));
    expect(Array.from(cnceMixture().means.dataSync())).toEqual(Array.from(m));
    expect(Array.from(cnceMixture({ seed: 1 }).means.dataSync())).not.toEqual(Array.from(m));
  });

  it('its entropy is 10·log(2πe·0.01) + log 40 ≈ −13.984 within 5 SE', () => {
    const n = 4000;
    const p = cnceMixture();
    const lp = p.logProb(p.sample(n, new Rng(7))).dataSync();
    const h = -lp.reduce((s, v) => s + v, 0) / n;
    // separated modes: −log p = const + χ²₂₀/2, Var = d/2 = 10, SE = √(10/n)
    expect(Math.abs(h - (10 * Math.log(2 * Math.PI * Math.E * 0.01) + Math.log(40)))).toBeLessThan(
      5 * Math.sqrt(10 / n),
    );
  });
});

describe('Jarzynski two-mode mixture', () => {
  it("defaults to the paper's teacher: d = 50, a* = (−10, 0…), b* = (6, 0…), p* = 0.25, log Z = 47.333221", () => {
    const t = new TwoModeMixture();
    expect(t.dim).toBe(50);
    expect(t.a.dataSync()[0]).toBe(-10);
    expect(t.b.dataSync()[0]).toBe(6);
    expect(t.massA).toBeCloseTo(0.25, 12);
    expect(t.logNormalizer).toBeCloseTo(47.333221, 5);
    expect(new TwoModeMixture({ z: 0 }).logNormalizer).toBeCloseTo(46.640074, 5);
  });

  it('logProb = −energy − log Z and matches the float64 closed form', () => {
    const t = new TwoModeMixture();
    const pts = [
      new Array<number>(50).fill(0),
      [-9, ...new Array<number>(49).fill(0.1)],
      [6.5, ...new Array<number>(49).fill(-0.2)],
    ];
    const x = tensor(pts);
    const lp = t.logProb(x).dataSync();
    const u = t.energy(x).dataSync();
    const z = -Math.log(3);
    pts.forEach((p, i) => {
      const ea = -0.5 * p.reduce((s, v, j) => s + (v - (j === 0 ? -10 : 0)) ** 2, 0);
      const eb = -0.5 * p.reduce((s, v, j) => s + (v - (j === 0 ? 6 : 0)) ** 2, 0) - z;
      const m = Math.max(ea, eb);
      const logUnnorm = m + Math.log(Math.exp(ea - m) + Math.exp(eb - m));
      const want = logUnnorm - (25 * Math.log(2 * Math.PI) + Math.log(1 + Math.exp(-z)));
      expect(Math.abs(lp[i]! - want)).toBeLessThan(1e-5 * Math.max(1, Math.abs(want)));
      expect(Math.abs(-u[i]! - t.logNormalizer - want)).toBeLessThan(1e-5 * Math.max(1, Math.abs(want)));
    });
  });

  it('samples put 25% on mode a (5 SE) and have entropy 71.509262 (5 SE)', () => {
    const n = 4000;
    const t = new TwoModeMixture();
    const x = t.sample(n, new Rng(9));
    const v = x.dataSync();
    let inA = 0;
    for (let i = 0; i < n; i++) if (v[i * 50]! < -2) inA++;
    expect(Math.abs(inA / n - 0.25)).toBeLessThan(5 * Math.sqrt((0.25 * 0.75) / n));
    const lp = t.logProb(x).dataSync();
    const h = -lp.reduce((s, a) => s + a, 0) / n;
    // Var(−log ρ) = d/2 + Var(−log of the mode weight) = 25 + 0.1875·log²3 ≈ 25.23
    const se = Math.sqrt((25 + 0.1875 * Math.log(3) ** 2) / n);
    expect(Math.abs(h - 71.509262)).toBeLessThan(5 * se);
  });

  it('validates its options', () => {
    expect(() => new TwoModeMixture({ dim: 2, a: [1, 2, 3] })).toThrow(/2 coordinates/);
    expect(() => new TwoModeMixture({ z: Number.NaN })).toThrow(/finite/);
    expect(() => new TwoModeMixture().energy(tensor([[1, 2]]))).toThrow(/\[\.\.\., n, 50\]/);
  });
});

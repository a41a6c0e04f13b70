import type { Distribution } from '@joule/core';
import { Rng, type Tensor, tensor } from '@joule/tensor';
import { describe, expect, it } from 'vitest';
import {
  Checkerboard,
  conditionalPinwheel,
  conditionalSpiral,
  eightGaussians,
  gaussianGrid,
  moons,
  pinwheel,
  rings,
  sinusoidalEmbedding,
  swissRoll,
  type ToyName,
  toy2d,
  twoSpirals,
} from '../src/index.js';

const NAMES: ToyName[] = [
  'pinwheel',
  'twoSpirals',
  'rings',
  'moons',
  'eightGaussians',
  'gaussianGrid',
  'checkerboard',
  'swissRoll',
];

/**
 * ∫ exp(logProb) over the box `[lo, hi]²` by the midpoint rule with spacing `h`. For the Gaussian
 * mixtures, h ≤ σ/2 and the box reaches 8σ beyond every mean: the mass outside is < 4·Φ(−8) ≈
 * 3e−15 and the midpoint error of a Gaussian at h ≤ σ/2 is ≈ 2·exp(−2π²σ²/h²) ≈ 1e−34 (Poisson
 * summation), so only float32 rounding (≈ 1e−6 relative) remains: we accept |∫p − 1| < 1e−4.
 * For the checkerboard, cell edges fall on multiples of h, so the midpoint rule is exact.
 */
function integrate(p: Distribution, lo: number, hi: number, h: number): number {
  const m = Math.round((hi - lo) / h);
  const pts = new Float32Array(m * m * 2);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < m; j++) {
      pts[2 * (i * m + j)] = lo + (i + 0.5) * h;
      pts[2 * (i * m + j) + 1] = lo + (j + 0.5) * h;
    }
  }
  let s = 0;
  for (const v of p.logProb(tensor(pts, [m * m, 2])).dataSync()) s += Math.exp(v);
  return s * h * h;
}

function same(a: Tensor, b: Tensor): boolean {
  const x = a.dataSync();
  const y = b.dataSync();
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

describe('2-D toys', () => {
  it('every toy gives [n, 2] finite points, reproducible from the seed', () => {
    for (const name of NAMES) {
      const toy = toy2d(name);
      const a = toy.sample(500, new Rng(3));
      expect(a.shape).toEqual([500, 2]);
      expect(a.dataSync().every(Number.isFinite)).toBe(true);
      expect(same(a, toy2d(name).sample(500, new Rng(3)))).toBe(true);
      expect(same(a, toy.sample(500, new Rng(4)))).toBe(false);
    }
    expect(() => toy2d('nope' as ToyName)).toThrow(/one of pinwheel/);
    expect(() => pinwheel(0, new Rng(0))).toThrow(/positive integer/);
  });

  it('samples stay in the ranges their constructions allow', () => {
    const n = 2000;
    const radius = (x: Tensor) => {
      const v = x.dataSync();
      return Array.from({ length: v.length / 2 }, (_, i) => Math.hypot(v[2 * i]!, v[2 * i + 1]!));
    };
    // pinwheel: |x| = 2|f| with f = (1 + 0.3ε₁, 0.1ε₂): below 2·√(2.8² + 0.6²) ≈ 5.73 unless |ε| > 6
    expect(Math.max(...radius(pinwheel(n, new Rng(1))))).toBeLessThan(5.73);
    // rings: radii 3·{1, ¾, ½, ¼} plus N(0, 0.08²) per coordinate: within 0.08·6·√2 of a ring
    for (const r of radius(rings(n, new Rng(1)))) {
      expect(Math.min(...[3, 2.25, 1.5, 0.75].map((c) => Math.abs(r - c)))).toBeLessThan(0.68);
    }
    // moons: 2·(unit arcs + N(0, 0.1²)) − (1, 0.2): inside [−3.2, 4.2] × [−2.4, 3.0]
    const m = moons(n, new Rng(1)).dataSync();
    for (let i = 0; i < n; i++) {
      expect(m[2 * i]!).toBeGreaterThan(-4.2);
      expect(m[2 * i]!).toBeLessThan(5.2);
    }
    // swiss roll: t ∈ [1.5π, 4.5π], radius t/5 ∈ [0.94, 2.83] plus noise √2·6/5
    expect(Math.max(...radius(swissRoll(n, new Rng(1))))).toBeLessThan(2.83 + 1.7);
    // two spirals: radius ≤ (3π + 0.5√2)/3 + 0.1·6·√2
    expect(Math.max(...radius(twoSpirals(n, new Rng(1))))).toBeLessThan((3 * Math.PI + 0.71) / 3 + 0.85);
  });

  it('the exact densities integrate to 1 on a grid', () => {
    const grid = gaussianGrid();
    expect(Math.abs(integrate(grid, -3, 3, 0.05) - 1)).toBeLessThan(1e-4);
    const eight = eightGaussians(); // σ = 0.354, means at radius 2.83
    expect(Math.abs(integrate(eight, -6, 6, 0.15) - 1)).toBeLessThan(1e-4);
    expect(integrate(new Checkerboard(), -5, 5, 0.125)).toBeCloseTo(1, 6);
  });

  it('checkerboard samples lie on the black cells, each cell with frequency 1/8 ± 5 SE', () => {
    const n = 8000;
    const p = new Checkerboard();
    const x = p.sample(n, new Rng(2));
    expect(
      p
        .logProb(x)
        .dataSync()
        .every((v) => Math.abs(v + Math.log(32)) < 1e-6),
    ).toBe(true);
    const counts = new Map<string, number>();
    const v = x.dataSync();
    for (let i = 0; i < n; i++) {
      const key = `${Math.floor((v[2 * i]! + 4) / 2)},${Math.floor((v[2 * i + 1]! + 4) / 2)}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    expect(counts.size).toBe(8);
    for (const c of counts.values())
      expect(Math.abs(c / n - 1 / 8)).toBeLessThan(5 * Math.sqrt(((1 / 8) * (7 / 8)) / n));
  });

  it('the 25-mode grid: mode frequencies within 5 SE and entropy log(2πe·0.01) + log 25 within 5 SE', () => {
    const n = 10000;
    const p = gaussianGrid();
    const x = p.sample(n, new Rng(5));
    const v = x.dataSync();
    const counts = new Array<number>(25).fill(0);
    for (let i = 0; i < n; i++) counts[(Math.round(v[2 * i]!) + 2) * 5 + Math.round(v[2 * i + 1]!) + 2]!++;
    const w = 1 / 25;
    for (const c of counts) expect(Math.abs(c / n - w)).toBeLessThan(5 * Math.sqrt((w * (1 - w)) / n));
    // −log p(X) = const + χ²₂/2 for separated modes, Var = d/2 = 1: SE = √(1/n)
    const lp = p.logProb(x).dataSync();
    const h = -lp.reduce((s, a) => s + a, 0) / n;
    expect(Math.abs(h - (Math.log(2 * Math.PI * Math.E * 0.01) + Math.log(25)))).toBeLessThan(5 * Math.sqrt(1 / n));
  });
});

describe('R-NCE conditional toys', () => {
  it('the sinusoidal embedding interleaves sin and cos at base 10000', () => {
    const e = sinusoidalEmbedding([4, 7]);
    expect(e.shape).toEqual([2, 10]);
    const v = e.dataSync();
    for (let i = 0; i < 5; i++) {
      expect(v[2 * i]).toBeCloseTo(Math.sin(4 / 10000 ** ((2 * i) / 10)), 6);
      expect(v[2 * i + 1]).toBeCloseTo(Math.cos(4 / 10000 ** ((2 * i) / 10)), 6);
      expect(v[10 + 2 * i]).toBeCloseTo(Math.sin(7 / 10000 ** ((2 * i) / 10)), 6);
    }
    expect(() => sinusoidalEmbedding([1], 3)).toThrow(/even/);
  });

  it('pinwheel: spokes uniform on {4, 5, 6, 7} (5 SE), context = embedding of the spokes', () => {
    const toy = conditionalPinwheel();
    expect(toy.contextDim).toBe(10);
    const n = 8000;
    const { x, context, value } = toy.sample(n, new Rng(0));
    expect(x.shape).toEqual([n, 2]);
    expect(context.shape).toEqual([n, 10]);
    const s = value.dataSync();
    for (const k of [4, 5, 6, 7]) {
      const f = s.filter((v) => v === k).length / n;
      expect(Math.abs(f - 0.25)).toBeLessThan(5 * Math.sqrt((0.25 * 0.75) / n));
    }
    const e = sinusoidalEmbedding(s.slice(0, 3));
    expect(same(context.slice([0, 0], [3, 10]), e)).toBe(true);
    const again = toy.sample(n, new Rng(0));
    expect(same(again.x, x)).toBe(true);
  });

  it('pinwheel at a fixed context has that many arms', () => {
    // Invert the construction: x = 2·R(θ) f, so the polar angle of x is ≈ −θ + atan(f₂/f₁) and
    // f₁ ≈ |x|/2; the residual (−φ − 0.25·e^{|x|/2}) mod (2π/s) is then ≈ 0 (spread ≈ 0.1 rad from f₂).
    const meanResidual = (x: Tensor, s: number) => {
      const v = x.dataSync();
      const period = (2 * Math.PI) / s;
      let total = 0;
      for (let i = 0; i < v.length / 2; i++) {
        const phi = Math.atan2(v[2 * i + 1]!, v[2 * i]!);
        const r = Math.hypot(v[2 * i]!, v[2 * i + 1]!);
        let res = (-phi - 0.25 * Math.exp(r / 2)) % period;
        if (res < 0) res += period;
        total += Math.min(res, period - res);
      }
      return total / (v.length / 2);
    };
    const toy = conditionalPinwheel();
    for (const s of [4, 5, 6, 7]) {
      const { x, context } = toy.sampleAt(s, 2000, new Rng(s));
      expect(context.shape).toEqual([2000, 10]);
      expect(meanResidual(x, s)).toBeLessThan(0.12);
      // a wrong number of arms leaves residuals spread over the period (mean ≈ period/4 ≥ 0.19 for s + 1 ≤ 8)
      expect(meanResidual(x, s + 1)).toBeGreaterThan(0.15);
    }
  });

  it('spiral: length uniform on [400, 800], context (L − 600)/200, radius grows with the length', () => {
    const toy = conditionalSpiral();
    const { x, context, value } = toy.sample(4000, new Rng(1));
    expect(x.shape).toEqual([4000, 2]);
    const L = value.dataSync();
    const c = context.dataSync();
    for (let i = 0; i < 4000; i++) {
      expect(L[i]!).toBeGreaterThanOrEqual(400);
      expect(L[i]!).toBeLessThanOrEqual(800);
      expect(c[i]).toBeCloseTo((L[i]! - 600) / 200, 5);
    }
    expect(toy.evaluationValues).toEqual([400, 500, 600, 700, 800]);
    // max radius ≈ L·π/180 / 3.5 (the arm's end), plus at most 0.5·√2/3.5 offset and 6σ noise
    for (const len of [400, 600, 800]) {
      const at = toy.sampleAt(len, 4000, new Rng(len));
      expect(Array.from(at.context.dataSync()).every((v) => Math.abs(v - (len - 600) / 200) < 1e-6)).toBe(true);
      const v = at.x.dataSync();
      const rmax = Math.max(...Array.from({ length: 4000 }, (_, i) => Math.hypot(v[2 * i]!, v[2 * i + 1]!)));
      const end = (len * Math.PI) / 180 / 3.5;
      expect(rmax).toBeGreaterThan(0.9 * end);
      expect(rmax).toBeLessThan(end + 0.21 + 0.85);
    }
    expect(() => conditionalSpiral({ minLength: 800, maxLength: 400 })).toThrow(/greater than minLength/);
  });
});

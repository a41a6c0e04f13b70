import { full, noGrad, Rng, randn, type Tensor, tensor } from '@joule/tensor';
import { describe, expect, it } from 'vitest';
import { integrateWithLogDet, odeLogProb, odeSampleAndLogProb } from '../src/index.js';
import { meanAndSe, standardNormal } from './helpers.js';

const a = [
  [-0.3, 0.8],
  [-0.5, 0.4],
];
const A = tensor(a);
const trA = a[0][0] + a[1][1];
const linear = (x: Tensor) => x.matmul(A);
const base = standardNormal(2);

/** e^{sA} in float64 by its power series (|sA| is small here). */
function expm(m: number[][], s: number): number[][] {
  let term = [
    [1, 0],
    [0, 1],
  ];
  const out = term.map((r) => [...r]);
  for (let k = 1; k < 40; k++) {
    term = [0, 1].map((i) => [0, 1].map((j) => (s * (term[i][0] * m[0][j] + term[i][1] * m[1][j])) / k));
    for (let i = 0; i < 2; i++) for (let j = 0; j < 2; j++) out[i][j] += term[i][j];
  }
  return out;
}

/** log-density at y of x·e^{AT} with x ~ N(0, I): log N(y e^{−AT}; 0, I) − T tr A. */
function linearFlowLogProb(y: ArrayLike<number>, T: number): number {
  const inv = expm(a, -T);
  const x0 = y[0] * inv[0][0] + y[1] * inv[1][0];
  const x1 = y[0] * inv[0][1] + y[1] * inv[1][1];
  return -0.5 * (x0 * x0 + x1 * x1) - Math.log(2 * Math.PI) - T * trA;
}

// A nonlinear time-dependent field for the 2-D checks.
const W = tensor([
  [0.9, -1.3],
  [1.1, 0.4],
]);
const nonlinear = (x: Tensor, t: number) =>
  x
    .matmul(W)
    .add(tensor([0.2, -0.1]).mul(t))
    .tanh()
    .mul(1.5);

describe('integrateWithLogDet', () => {
  it('gives log|det| = T tr A and x e^{AT} for a linear field', () => {
    const T = 1.5;
    const x0 = randn([4, 2], new Rng(0));
    const { x, logDet } = integrateWithLogDet(linear, x0, { method: 'rk4', t1: T, steps: 30 });
    for (const v of logDet.dataSync()) expect(v).toBeCloseTo(T * trA, 5);
    const M = expm(a, T);
    const p = x0.dataSync();
    const q = x.dataSync();
    for (let i = 0; i < 4; i++) {
      expect(q[2 * i]).toBeCloseTo(p[2 * i] * M[0][0] + p[2 * i + 1] * M[1][0], 4);
      expect(q[2 * i + 1]).toBeCloseTo(p[2 * i] * M[0][1] + p[2 * i + 1] * M[1][1], 4);
    }
  });

  it('agrees between the augmented ODE, Dopri5 and the two-time-scale quadrature', () => {
    const x0 = randn([5, 2], new Rng(1));
    const aug = integrateWithLogDet(nonlinear, x0, { method: 'rk4', steps: 40 });
    const ad = integrateWithLogDet(nonlinear, x0, { method: 'dopri5', rtol: 1e-6, atol: 1e-6 });
    const two = integrateWithLogDet(nonlinear, x0, { method: 'heun', steps: 200, every: 10 });
    const l = aug.logDet.dataSync();
    ad.logDet.dataSync().forEach((v, i) => void expect(v).toBeCloseTo(l[i], 4));
    // Heun with h = 1/200 and a trapezoid on 21 points: both errors are O(1e-4) here.
    two.logDet.dataSync().forEach((v, i) => void expect(Math.abs(v - l[i])).toBeLessThan(2e-3));
    expect(two.evaluations).toBe(400 + 21);
  });

  it('is unbiased with Hutchinson probes held fixed along the solve (5 SE)', () => {
    const n = 20000;
    const T = 1;
    const x0 = randn([n, 2], new Rng(2));
    const est = noGrad(() =>
      integrateWithLogDet(linear, x0, {
        method: 'euler',
        t1: T,
        steps: 2,
        divergence: { method: 'hutchinson', noise: 'gaussian', rng: new Rng(3) },
      }),
    ).logDet.dataSync();
    const { mean, se } = meanAndSe(est);
    expect(Math.abs(mean - T * trA)).toBeLessThan(5 * se);
  });
});

describe('odeLogProb and odeSampleAndLogProb', () => {
  it('match the closed-form Gaussian change of variables of a linear flow', () => {
    const T = 2;
    const y = randn([6, 2], new Rng(4));
    for (const options of [
      { method: 'rk4' as const, steps: 40 },
      { method: 'dopri5' as const, rtol: 1e-6, atol: 1e-7 },
    ]) {
      const lp = odeLogProb(linear, y, base, { ...options, t1: T }).dataSync();
      const pts = y.dataSync();
      for (let i = 0; i < 6; i++) expect(lp[i]).toBeCloseTo(linearFlowLogProb(pts.subarray(2 * i, 2 * i + 2), T), 4);
    }
  });

  it('give the same log-density forward (sampling) and backward (evaluation)', () => {
    const options = { method: 'rk4' as const, steps: 40 };
    const { x, logProb } = odeSampleAndLogProb(nonlinear, base, 8, new Rng(5), options);
    const back = odeLogProb(nonlinear, x, base, options).dataSync();
    logProb.dataSync().forEach((v, i) => void expect(v).toBeCloseTo(back[i], 3));
    const grid = Array.from({ length: 31 }, (_, i) => (i / 30) ** 2);
    const g1 = odeSampleAndLogProb(nonlinear, base, 4, new Rng(6), { method: 'rk4', grid });
    const g2 = odeLogProb(nonlinear, g1.x, base, { method: 'rk4', grid }).dataSync();
    g1.logProb.dataSync().forEach((v, i) => void expect(v).toBeCloseTo(g2[i], 3));
  });

  it('integrates to 1 on a 2-D grid for a nonlinear flow', () => {
    const m = 90;
    const lo = -6;
    const hi = 6;
    const cell = (hi - lo) / m;
    const pts = new Float32Array(m * m * 2);
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < m; j++) {
        pts[2 * (i * m + j)] = lo + (i + 0.5) * cell;
        pts[2 * (i * m + j) + 1] = lo + (j + 0.5) * cell;
      }
    }
    const lp = noGrad(() =>
      odeLogProb(nonlinear, tensor(pts, [m * m, 2]), base, { method: 'rk4', steps: 10 }),
    ).dataSync();
    let mass = 0;
    for (const v of lp) mass += Math.exp(v) * cell * cell;
    // Midpoint rule on a smooth density (error O(cell²)) plus the mass outside [−6, 6]² (< 1e-6).
    expect(Math.abs(mass - 1)).toBeLessThan(1e-2);
  });

  it('rejects bad input', () => {
    expect(() => integrateWithLogDet(linear, tensor([1, 2]), { steps: 2 })).toThrow(/x0/);
    expect(() =>
      integrateWithLogDet(linear, full([2, 2], 1), { steps: 2, divergence: { method: 'hutchinson' } }),
    ).toThrow(/rng/);
    expect(() => integrateWithLogDet(linear, full([2, 2], 1), { method: 'dopri5', every: 2 })).toThrow(/every/);
    expect(() => integrateWithLogDet(linear, full([2, 2], 1), { steps: 4, every: 0 })).toThrow(/every/);
    expect(() => odeLogProb(linear, full([2, 2], 1), {} as never)).toThrow(/base/);
    expect(() => odeSampleAndLogProb(linear, base, 0, new Rng(0))).toThrow(/'n'/);
  });
});

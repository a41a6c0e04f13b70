import { concat, noGrad, Rng, randn, type Tensor, tensor } from '@joule/tensor';
import { describe, expect, it } from 'vitest';
import { divergence, hutchinsonProbes } from '../src/index.js';
import { meanAndSe } from './helpers.js';

const A = tensor([
  [0.5, -1.2, 0.3],
  [2.0, -0.7, 0.8],
  [-0.4, 1.1, 1.5],
]);
const traceA = 0.5 - 0.7 + 1.5;
const linear = (x: Tensor) => x.matmul(A);

// f(x) = (x0² x1, sin x1 + x0 x2, x0 e^{x2}): div f = 2 x0 x1 + cos x1 + x0 e^{x2}.
const nonlinear = (x: Tensor) => {
  const [a, b, c] = [0, 1, 2].map((i) => x.slice([0, i], [x.shape[0], 1]));
  return concat([a.square().mul(b), b.sin().add(a.mul(c)), a.mul(c.exp())], 1);
};
function nonlinearDiv(p: ArrayLike<number>): number {
  return 2 * p[0] * p[1] + Math.cos(p[1]) + p[0] * Math.exp(p[2]);
}

describe('exact divergence', () => {
  it('equals tr A for a linear field and returns f(x)', () => {
    const x = randn([5, 3], new Rng(0));
    const { value, divergence: div } = divergence(linear, x);
    for (const v of div.dataSync()) expect(v).toBeCloseTo(traceA, 5);
    expect(Array.from(value.dataSync())).toEqual(Array.from(linear(x).dataSync()));
  });

  it('matches the analytic divergence of a nonlinear field, also under noGrad', () => {
    const x = randn([6, 3], new Rng(1), 0, 0.7);
    const pts = x.dataSync();
    const div = noGrad(() => divergence(nonlinear, x).divergence).dataSync();
    for (let i = 0; i < 6; i++) {
      const want = nonlinearDiv(pts.subarray(3 * i, 3 * i + 3));
      expect(Math.abs(div[i] - want)).toBeLessThan(1e-5 * Math.max(1, Math.abs(want)));
    }
  });

  it('matches Σ (1 − tanh² zᵢ) Wᵢᵢ for tanh(xW + b)', () => {
    const W = randn([2, 2], new Rng(2));
    const b = tensor([0.1, -0.3]);
    const x = randn([4, 2], new Rng(3));
    const div = divergence((y) => y.matmul(W).add(b).tanh(), x).divergence.dataSync();
    const z = x.matmul(W).add(b).dataSync();
    const w = W.dataSync();
    for (let i = 0; i < 4; i++) {
      const want = (1 - Math.tanh(z[2 * i]) ** 2) * w[0] + (1 - Math.tanh(z[2 * i + 1]) ** 2) * w[3];
      expect(div[i]).toBeCloseTo(want, 5);
    }
  });
});

describe('Hutchinson divergence', () => {
  for (const noise of ['rademacher', 'gaussian'] as const) {
    it(`is unbiased with ${noise} probes (mean of 20 000 one-probe estimates within 5 SE)`, () => {
      const m = 20000;
      const x = randn([m, 3], new Rng(4), 0, 0.5);
      const est = divergence(linear, x, { method: 'hutchinson', noise, rng: new Rng(5) }).divergence.dataSync();
      const { mean, se } = meanAndSe(est);
      expect(Math.abs(mean - traceA)).toBeLessThan(5 * se);
      // Var εᵀAε = 2‖A_sym‖_F² (Gaussian) or 2 Σ_{i≠j} (A_sym)ᵢⱼ² (Rademacher): the SE is not tiny.
      const a = A.toArray() as number[][];
      let off = 0;
      let diag = 0;
      for (let i = 0; i < 3; i++) {
        for (let j = 0; j < 3; j++) {
          const s = (a[i][j] + a[j][i]) / 2;
          if (i === j) diag += s * s;
          else off += s * s;
        }
      }
      const variance = noise === 'gaussian' ? 2 * (off + diag) : 2 * off;
      expect(se).toBeCloseTo(Math.sqrt(variance / m), 2);
    });
  }

  it('is unbiased on a nonlinear field (4 000 one-probe estimates at one point, within 5 SE)', () => {
    const p = [0.3, -0.5, 0.2];
    const k = 4000;
    const x = tensor(p, [1, 3]).broadcastTo([k, 3]);
    const est = divergence(nonlinear, x, {
      method: 'hutchinson',
      noise: 'gaussian',
      rng: new Rng(6),
    }).divergence.dataSync();
    const { mean, se } = meanAndSe(est);
    expect(Math.abs(mean - nonlinearDiv(p))).toBeLessThan(5 * se);
  });

  it('averages several probes per point', () => {
    const x = randn([2, 3], new Rng(9));
    const eps = hutchinsonProbes(8, 2, 3, 'gaussian', new Rng(10));
    const all = divergence(nonlinear, x, { method: 'hutchinson', eps }).divergence.dataSync();
    const singles = Array.from({ length: 8 }, (_, j) =>
      divergence(nonlinear, x, { method: 'hutchinson', eps: eps.slice([j, 0, 0], [1, 2, 3]) }).divergence.dataSync(),
    );
    for (let i = 0; i < 2; i++) expect(all[i]).toBeCloseTo(singles.reduce((a, s) => a + s[i], 0) / 8, 5);
  });

  it('is exact for a diagonal Jacobian with Rademacher probes', () => {
    const x = randn([8, 3], new Rng(7));
    const div = divergence((y) => y.mul(tensor([1, 2, -4])), x, { method: 'hutchinson', rng: new Rng(8) }).divergence;
    for (const v of div.dataSync()) expect(v).toBeCloseTo(-1, 6);
  });

  it('rejects bad input', () => {
    const x = randn([2, 3], new Rng(0));
    expect(() => divergence(linear, tensor([1, 2]))).toThrow(/'x'/);
    expect(() => divergence(linear, x, { method: 'hutchinson' })).toThrow(/rng/);
    expect(() => divergence(linear, x, { method: 'hutch' as 'exact' })).toThrow(/method/);
    expect(() => divergence((y) => y.sum(1), x)).toThrow(/'f'/);
    expect(() => divergence(linear, x, { method: 'hutchinson', eps: randn([1, 2, 2], new Rng(0)) })).toThrow(/eps/);
    expect(() => hutchinsonProbes(0, 1, 1, 'gaussian', new Rng(0))).toThrow(/probes/);
  });
});

import { Rng, randn, type Tensor, tensor, valueAndGrad } from '@joule/tensor';
import { describe, expect, it } from 'vitest';
import { GaussianDiffusion, gcdEnergyLoss, knnEntropy, knnLogDistances, linearBetas } from '../src/index.js';
import { moments } from './helpers.js';

describe('schedule', () => {
  it('is the paper linear schedule, largest variance at the noise side (paper step 0)', () => {
    const b = linearBetas(5);
    [1e-5, 2.5075e-3, 5.005e-3, 7.5025e-3, 1e-2].forEach((v, i) => {
      expect(b[i]).toBeCloseTo(v, 9);
    });
    const d = new GaussianDiffusion(b);
    expect(d.variance(0)).toBeCloseTo(1e-2, 9);
    expect(d.variance(4)).toBeCloseTo(1e-5, 9);
    expect(d.alphaBars[4]).toBeCloseTo(0.97519, 4);
    expect(() => d.variance(5)).toThrow(/t/);
    expect(() => linearBetas(0)).toThrow(/steps/);
    expect(() => new GaussianDiffusion([0.5, 1.5])).toThrow(/betas\[1\]/);
  });

  it('transition log-density is the Gaussian density summed over dimensions', () => {
    const d = new GaussianDiffusion([0.04, 0.09]);
    const mean = (p: { s: Tensor }, x: Tensor) => x.mul(p.s);
    const x = tensor([[1, 2]]);
    const next = tensor([[0.5, 1.5]]);
    const lp = d.transitionLogProb(mean, { s: tensor(0.5) }, x, next, 0).dataSync()[0];
    const v = 0.09; // step 0 uses the last beta
    const expected = -((0.5 - 0.5) ** 2 + (1.5 - 1) ** 2) / (2 * v) - Math.log(2 * Math.PI * v);
    expect(lp).toBeCloseTo(expected, 3);
  });
});

describe('kNN entropy', () => {
  it('recovers the entropy of N(0, 1) within 5 standard errors', () => {
    const n = 2000;
    const x = randn([n, 1], new Rng(1));
    const h = knnEntropy(x, 3);
    // SE of the estimator ≈ sd(d·log ε_k)/√n (d = 1); 5 SE
    const se = moments(knnLogDistances(x, 3)).std / Math.sqrt(n);
    expect(Math.abs(h - 0.5 * Math.log(2 * Math.PI * Math.E))).toBeLessThan(5 * se);
    expect(() => knnLogDistances(x, n)).toThrow(/k/);
  });
});

describe('GCD energy gradient (eq. 8)', () => {
  // E(x) = Σ_j w2_j tanh(w1_j x + b1_j), 1-D input, evaluated in float64 for the finite differences
  const w1 = [0.7, -1.2, 0.4];
  const b1 = [0.1, 0.3, -0.5];
  const w2 = [1.1, -0.6, 0.8];
  const data = [0.3, -1.1, 0.8, 1.7];
  const samp = [-0.4, 0.9, 2.1];
  const e64 = (p: number[], x: number) => {
    let s = 0;
    for (let j = 0; j < 3; j++) s += p[6 + j] * Math.tanh(p[j] * x + p[3 + j]);
    return s;
  };
  const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
  const loss64 = (p: number[], gamma: number) => {
    const ed = data.map((x) => e64(p, x));
    const es = samp.map((x) => e64(p, x));
    return mean(ed) - mean(es) + gamma * (mean(ed.map((v) => v * v)) + mean(es.map((v) => v * v)));
  };
  const energy = (p: { w1: Tensor; b1: Tensor; w2: Tensor }, x: Tensor) =>
    x.matmul(p.w1).add(p.b1).tanh().matmul(p.w2).reshape([-1]);

  for (const gamma of [0, 0.1]) {
    it(`matches central differences (γ = ${gamma})`, () => {
      const params = { w1: tensor([w1]), b1: tensor(b1), w2: tensor(w2, [3, 1]) };
      const { grad } = valueAndGrad((p: typeof params) =>
        gcdEnergyLoss(energy, p, tensor(data, [4, 1]), tensor(samp, [3, 1]), gamma),
      )(params);
      const analytic = [...grad.w1.dataSync(), ...grad.b1.dataSync(), ...grad.w2.dataSync()];
      const p0 = [...w1, ...b1, ...w2];
      const h = 1e-6;
      for (let i = 0; i < p0.length; i++) {
        const up = [...p0];
        const dn = [...p0];
        up[i] += h;
        dn[i] -= h;
        const fd = (loss64(up, gamma) - loss64(dn, gamma)) / (2 * h);
        expect(Math.abs(analytic[i] - fd)).toBeLessThan(1e-4 * (1 + Math.abs(fd)));
      }
    });
  }
});

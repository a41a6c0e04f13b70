import { memory, Rng, tensor } from '@joule/tensor';
import { describe, expect, it } from 'vitest';
import {
  annealedLangevin,
  chainSeries,
  gradientDescent,
  hmc,
  mala,
  nuts,
  sample,
  splitRHat,
  ula,
  underdampedLangevin,
} from '../src/index.js';
import { correlated2d, expectMoments, gaussian10d, meanAndMcse } from './helpers.js';

// Chains start at exact draws of the target, so every kept draw should be distributed as the
// target; a kernel that does not leave it invariant drifts away and fails the 5-MCSE checks.
describe('exact kernels recover Gaussian moments within 5 Monte Carlo standard errors', () => {
  // Steps and chains are chosen so each test takes ~1 s on one core; the ESS floors asserted
  // below keep the 5-MCSE bands meaningful.
  const cases = [
    {
      name: 'mala',
      make2: () => mala({ stepSize: 0.35 }),
      make10: () => mala({ stepSize: 0.12 }),
      steps: 300,
      chains: 128,
    },
    {
      name: 'hmc',
      make2: () => hmc({ stepSize: 0.3, numSteps: 8 }),
      make10: () => hmc({ stepSize: 0.25, numSteps: 8 }),
      steps: 120,
      chains: 96,
    },
    {
      name: 'nuts',
      make2: () => nuts({ stepSize: 0.3 }),
      make10: () => nuts({ stepSize: 0.3 }),
      steps: 60,
      chains: 128,
    },
    // BAOAB samples the position of a Gaussian target exactly at any stable step (see README).
    {
      name: 'underdampedLangevin',
      make2: () => underdampedLangevin({ stepSize: 0.4, friction: 1 }),
      make10: () => underdampedLangevin({ stepSize: 0.3, friction: 1 }),
      steps: 300,
      chains: 128,
    },
  ];
  for (const c of cases) {
    it(`${c.name}: correlated 2-D Gaussian`, async () => {
      const target = correlated2d();
      const rng = new Rng(11);
      const { draws, acceptanceRate } = await sample(c.make2(), target.energy, target.draw(c.chains, rng), {
        steps: c.steps,
        rng,
      });
      expect(acceptanceRate).toBeGreaterThan(0.3);
      const ess = await expectMoments(draws, target.mean, target.cov);
      expect(ess).toBeGreaterThan(500);
    });
    it(`${c.name}: 10-D Gaussian`, async () => {
      const target = gaussian10d();
      const rng = new Rng(12);
      const { draws } = await sample(c.make10(), target.energy, target.draw(c.chains, rng), { steps: c.steps, rng });
      const ess = await expectMoments(draws, target.mean, target.cov);
      expect(ess).toBeGreaterThan(300);
    });
  }
});

describe('ula', () => {
  // For E = x²/(2σ²), ULA is x' = (1 − h/σ²) x + √(2h) ξ, so the stationary variance v solves
  // v = (1 − h/σ²)² v + 2h, i.e. v = 2h / (2h/σ² − h²/σ⁴) = σ² / (1 − h/(2σ²)).
  it('has the closed-form step-size bias on a Gaussian', async () => {
    const sigma = 1.5;
    const h = 1.2;
    const expected = sigma ** 2 / (1 - h / (2 * sigma ** 2));
    const rng = new Rng(3);
    const energy = (x: import('@joule/tensor').Tensor) =>
      x
        .square()
        .sum(1)
        .div(2 * sigma ** 2);
    const x0 = tensor(rng.normal(1000), [1000, 1]);
    const { draws } = await sample(ula({ stepSize: h }), energy, x0, { steps: 200, burnIn: 30, rng });
    const second = meanAndMcse(chainSeries(await draws.data(), draws.shape, (x) => x[0] * x[0]));
    expect(Math.abs(second.mean - expected)).toBeLessThan(5 * second.mcse);
    // the bias is resolved: the unbiased σ² is far outside the band
    expect(Math.abs(second.mean - sigma ** 2)).toBeGreaterThan(10 * second.mcse);
  });
});

describe('mala on a bimodal 1-D mixture', () => {
  it('recovers the mode weights', async () => {
    // p(x) = 0.3 N(−1.5, 0.6²) + 0.7 N(1.5, 0.6²)
    const w = [0.3, 0.7];
    const mu = [-1.5, 1.5];
    const s = 0.6;
    const energy = (x: import('@joule/tensor').Tensor) => {
      const a = x
        .sub(mu[0])
        .square()
        .mul(-1 / (2 * s * s))
        .add(Math.log(w[0]));
      const b = x
        .sub(mu[1])
        .square()
        .mul(-1 / (2 * s * s))
        .add(Math.log(w[1]));
      return a.maximum(b).add(a.sub(b).abs().neg().exp().log1p()).sum(1).neg();
    };
    // P(x > 0) by Simpson's rule on the exact density
    const density = (x: number) =>
      mu.reduce(
        (acc, m, k) => acc + (w[k] * Math.exp(-((x - m) ** 2) / (2 * s * s))) / (s * Math.sqrt(2 * Math.PI)),
        0,
      );
    let pRight = 0;
    const steps = 4000;
    const hx = 10 / steps;
    for (let i = 0; i <= steps; i++) pRight += (i === 0 || i === steps ? 1 : i % 2 ? 4 : 2) * density(i * hx);
    pRight *= hx / 3;
    const rng = new Rng(5);
    const x0 = tensor(
      rng.normal(128).map((z) => 2 * z),
      [128, 1],
    );
    const { draws } = await sample(mala({ stepSize: 0.25 }), energy, x0, { steps: 2000, burnIn: 300, thin: 2, rng });
    const values = await draws.data();
    const right = meanAndMcse(chainSeries(values, draws.shape, (x) => (x[0] > 0 ? 1 : 0)));
    expect(Math.abs(right.mean - pRight)).toBeLessThan(5 * right.mcse);
    expect(right.ess).toBeGreaterThan(200);
    expect(splitRHat(chainSeries(values, draws.shape, (x) => x[0]))).toBeLessThan(1.1);
  });
});

describe('annealedLangevin', () => {
  it('ends at the last temperature with the ULA bias of that level', async () => {
    // at T = 1, h = 0.2 on E = x²/2 the stationary variance is 1 / (1 − 0.1)
    const energy = (x: import('@joule/tensor').Tensor) => x.square().sum(1).mul(0.5);
    const rng = new Rng(8);
    const kernel = annealedLangevin({ stepSize: 0.2, levels: [25, 5, 1], stepsPerLevel: 40 });
    const levels: number[] = [];
    const { draws } = await sample(kernel, energy, tensor(new Float32Array(800), [800, 1]), {
      steps: 100,
      burnIn: 120,
      rng,
      onStep: ({ info }) => void levels.push(info.level),
    });
    expect(levels.slice(0, 40).every((l) => l === 0)).toBe(true);
    expect(levels[40]).toBe(1);
    expect(levels[levels.length - 1]).toBe(2);
    const second = meanAndMcse(chainSeries(await draws.data(), draws.shape, (x) => x[0] * x[0]));
    expect(Math.abs(second.mean - 1 / 0.9)).toBeLessThan(5 * second.mcse);
  });

  it('passes the noise level as the last context column', async () => {
    // E(x, σ) = x² / (2(1 + σ²)): the data N(0, 1) convolved with noise σ. Last level σ = 0.5,
    // h = 0.1: stationary variance s² / (1 − h/(2 s²)) with s² = 1.25.
    const seen = new Set<number>();
    const energy = (x: import('@joule/tensor').Tensor, context?: import('@joule/tensor').Tensor) => {
      if (!context) throw new Error('no context');
      const sigma = context.slice([0, context.shape[1] - 1], [-1, 1]);
      seen.add(Math.round(sigma.dataSync()[0] * 100) / 100);
      return x.square().div(sigma.square().add(1).mul(2)).sum(1);
    };
    const rng = new Rng(9);
    const n = 800;
    const context = tensor(new Float32Array(n * 2), [n, 2]);
    const kernel = annealedLangevin({ stepSize: 0.1, levels: [2, 1, 0.5], stepsPerLevel: 30, mode: 'noise' });
    const { draws } = await sample(kernel, energy, tensor(rng.normal(n), [n, 1]), {
      steps: 100,
      burnIn: 90,
      rng,
      context,
    });
    expect([...seen].sort()).toEqual([0.5, 1, 2]);
    const s2 = 1.25;
    const second = meanAndMcse(chainSeries(await draws.data(), draws.shape, (x) => x[0] * x[0]));
    expect(Math.abs(second.mean - s2 / (1 - 0.1 / (2 * s2)))).toBeLessThan(5 * second.mcse);
  });
});

describe('gradientDescent', () => {
  it('contracts towards the mode at the rate 1 − hλ', async () => {
    const energy = (x: import('@joule/tensor').Tensor) => x.sub(2).square().sum(1).mul(0.5);
    const kernel = gradientDescent({ stepSize: 0.1 });
    let state = kernel.init(tensor([[0], [4]]), energy);
    for (let t = 0; t < 10; t++) state = kernel.step(new Rng(0), state).state;
    const x = state.x.dataSync();
    // x_t − 2 = (1 − 0.1)^t (x_0 − 2)
    expect(x[0]).toBeCloseTo(2 - 2 * 0.9 ** 10, 5);
    expect(x[1]).toBeCloseTo(2 + 2 * 0.9 ** 10, 5);
  });
});

describe('memory', () => {
  const kernels = {
    ula: () => ula({ stepSize: 0.1 }),
    mala: () => mala({ stepSize: 0.1, inverseMassDiag: [1, 2] }),
    hmc: () => hmc({ stepSize: 0.1, numSteps: 3 }),
    nuts: () => nuts({ stepSize: 0.2, maxDepth: 4 }),
    underdamped: () => underdampedLangevin({ stepSize: 0.1, friction: 1 }),
    annealed: () => annealedLangevin({ stepSize: 0.1, levels: [2, 1], stepsPerLevel: 10, mode: 'noise' }),
    gradientDescent: () => gradientDescent({ stepSize: 0.1 }),
  };
  for (const [name, make] of Object.entries(kernels)) {
    it(`${name}: live tensors stay flat across steps and nothing leaks after sampling`, async () => {
      const target = correlated2d();
      const energy = name === 'annealed' ? (x: import('@joule/tensor').Tensor) => target.energy(x) : target.energy;
      const rng = new Rng(1);
      const x0 = target.draw(8, rng);
      const before = memory().tensors;
      const counts: number[] = [];
      const result = await sample(make(), energy, x0, {
        steps: 40,
        rng,
        onStep: () => void counts.push(memory().tensors),
      });
      expect(counts[39]).toBe(counts[5]);
      result.draws.dispose();
      for (const t of [
        result.state.x,
        result.state.energy,
        result.state.grad,
        (result.state as { p?: import('@joule/tensor').Tensor }).p,
      ])
        t?.dispose();
      expect(memory().tensors).toBe(before);
    });
  }
});

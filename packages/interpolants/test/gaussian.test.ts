import { Rng, type Tensor, tensor } from '@joule/tensor';
import { describe, expect, it } from 'vitest';
import {
  ConditionalInterpolantFlow,
  denoiserLoss,
  InterpolantFlow,
  StochasticInterpolant,
  sampleSde,
  scoreLoss,
  sqrtGamma,
  type TimeField,
  velocityLoss,
} from '../src/index.js';
import { gaussianFields } from './gaussian.js';

const mean = [1, -2];
const std = [0.5, 1.5];

function target(n: number, rng: Rng): Tensor {
  const e = rng.normal(n * 2);
  const v = new Float32Array(n * 2);
  for (let i = 0; i < n; i++) for (let j = 0; j < 2; j++) v[i * 2 + j] = mean[j] + std[j] * e[i * 2 + j];
  return tensor(v, [n, 2]);
}

const shifted =
  (f: TimeField, delta: number): TimeField =>
  (x, t, c) =>
    f(x, t, c).add(delta);
const scaled =
  (f: TimeField, factor: number): TimeField =>
  (x, t, c) =>
    f(x, t, c).mul(factor);

const cases = [
  new StochasticInterpolant({ schedule: 'linear' }),
  new StochasticInterpolant({ schedule: 'trigonometric' }),
  new StochasticInterpolant({ schedule: 'linear', gamma: sqrtGamma(0.5) }),
];

describe('losses at the exact Gaussian fields', () => {
  it.each(cases.map((I) => [`${I.schedule.name}/${I.gammaSchedule.name}`, I] as const))(
    'the exact velocity, denoiser and score beat perturbed ones (%s)',
    (_, I) => {
      const { velocity, denoiser, score } = gaussianFields(I, mean, std);
      const x1 = target(4000, new Rng(11));
      for (const [loss, field] of [
        [velocityLoss, velocity],
        [denoiserLoss, denoiser],
        [scoreLoss, score],
      ] as const) {
        // The same seed gives the same (t, x0, z) draws, so the comparison is paired.
        const at = (f: TimeField) => loss(f, I, x1, new Rng(5), { power: 2 }).dataSync()[0];
        const exact = at(field);
        for (const perturbed of [shifted(field, 0.2), shifted(field, -0.2), scaled(field, 1.2), scaled(field, 0.8)]) {
          expect(at(perturbed)).toBeGreaterThan(exact);
        }
        // E[loss(b + δ)] − E[loss(b)] = E‖δ‖² for a constant shift δ = 0.2 in both coordinates
        // (weighted by σ² for the score loss, so only the velocity and denoiser are checked exactly);
        // the paired difference has sample noise 2·mean((target − b)·δ), well within 0.03 at n = 4000.
        if (loss !== scoreLoss) expect(at(shifted(field, 0.2)) - exact).toBeCloseTo(0.08, 1);
      }
    },
  );
});

describe('conditional losses', () => {
  it('pass the context row by row (with repeats) and are lowest at the exact conditional field', () => {
    const I = new StochasticInterpolant({ schedule: 'trigonometric' });
    const { velocity } = gaussianFields(I, mean, std);
    const n = 3000;
    const rng = new Rng(21);
    // Context = the per-row target mean, drawn from {(0, 0), (3, −1)}; x1 ~ N(context, diag(s²)).
    const ctx = new Float32Array(n * 2);
    const x1 = new Float32Array(n * 2);
    const e = rng.normal(n * 2);
    const u = rng.uniform(n);
    for (let i = 0; i < n; i++) {
      const c = u[i] < 0.5 ? [0, 0] : [3, -1];
      for (let j = 0; j < 2; j++) {
        ctx[i * 2 + j] = c[j];
        x1[i * 2 + j] = c[j] + std[j] * e[i * 2 + j];
      }
    }
    const context = tensor(ctx, [n, 2]);
    let seen: number[] = [];
    const spy: TimeField = (x, t, c) => {
      seen = [x.shape[0], t.shape[0], c?.shape[0] ?? -1];
      return velocity(x, t, c);
    };
    const at = (f: TimeField) =>
      velocityLoss(f, I, tensor(x1, [n, 2]), new Rng(22), { context, repeats: 2 }).dataSync()[0];
    const exact = at(spy);
    expect(seen).toEqual([2 * n, 2 * n, 2 * n]);
    // Ignoring the context (the unconditional field for the fixed mean (1, −2)) must do worse.
    const unconditional: TimeField = (x, t) => velocity(x, t);
    expect(at(unconditional)).toBeGreaterThan(exact + 0.5);
    expect(at(shifted(velocity, 0.2))).toBeGreaterThan(exact);
  });
});

describe('probability-flow sampling with the exact velocity', () => {
  it.each(cases.map((I) => [`${I.schedule.name}/${I.gammaSchedule.name}`, I] as const))(
    'pushes N(0, I) to the target moments (%s)',
    (_, I) => {
      const { velocity } = gaussianFields(I, mean, std);
      const n = 4000;
      const flow = new InterpolantFlow(velocity, 2, { steps: 50 });
      const x = flow.sample(n, new Rng(2)).toArray() as number[][];
      for (let j = 0; j < 2; j++) {
        const m = x.reduce((a, r) => a + r[j], 0) / n;
        const v = x.reduce((a, r) => a + (r[j] - m) ** 2, 0) / (n - 1);
        // 5 standard errors: s/√n for the mean, s²√(2/(n−1)) for the variance (Heun's error at
        // 50 steps is far smaller).
        expect(Math.abs(m - mean[j])).toBeLessThan((5 * std[j]) / Math.sqrt(n));
        expect(Math.abs(v - std[j] ** 2)).toBeLessThan(5 * std[j] ** 2 * Math.sqrt(2 / (n - 1)));
      }
    },
  );

  it('computes log-densities equal to the closed form (forward and backward)', () => {
    for (const I of cases) {
      const { velocity, targetLogProb } = gaussianFields(I, mean, std);
      const flow = new InterpolantFlow(velocity, 2, { steps: 100 });
      const { x, logProb } = flow.sampleAndLogProb(64, new Rng(4));
      expect(x.shape).toEqual([64, 2]);
      expect(logProb.shape).toEqual([64]);
      const points = x;
      const exact = targetLogProb(points.toArray() as number[][]);
      const forward = Array.from(logProb.dataSync());
      const backward = Array.from(flow.logProb(points).dataSync());
      // Heun with 100 steps on a linear field; float32: agreement to 1e-2 nats.
      for (let i = 0; i < 64; i++) {
        expect(Math.abs(forward[i] - exact[i])).toBeLessThan(1e-2);
        expect(Math.abs(backward[i] - exact[i])).toBeLessThan(1e-2);
      }
    }
  });

  it('the two-time-scale log-density (divergence every 10th step) matches too', () => {
    const I = new StochasticInterpolant({ schedule: 'linear' });
    const { velocity, targetLogProb } = gaussianFields(I, mean, std);
    const flow = new InterpolantFlow(velocity, 2, { steps: 200, every: 10 });
    const { x, logProb } = flow.sampleAndLogProb(32, new Rng(6));
    const exact = targetLogProb(x.toArray() as number[][]);
    // Trapezoid on 21 points of a smooth divergence: error well below 2e-2 nats.
    Array.from(logProb.dataSync()).forEach((lp, i) => {
      expect(Math.abs(lp - exact[i])).toBeLessThan(2e-2);
    });
  });

  it('Hutchinson divergences are exact on this diagonal field (Rademacher probes)', () => {
    const I = new StochasticInterpolant({ schedule: 'linear' });
    const { velocity, targetLogProb } = gaussianFields(I, mean, std);
    const flow = new InterpolantFlow(velocity, 2, {
      steps: 100,
      divergence: { method: 'hutchinson', rng: new Rng(9) },
    });
    const { x, logProb } = flow.sampleAndLogProb(16, new Rng(10));
    const exact = targetLogProb(x.toArray() as number[][]);
    // εᵀAε = tr A for ±1 probes when A is diagonal, so the estimate has no variance here.
    Array.from(logProb.dataSync()).forEach((lp, i) => {
      expect(Math.abs(lp - exact[i])).toBeLessThan(1e-2);
    });
  });

  it('a conditional flow gives [k, n, d] samples with per-context log-densities', () => {
    const I = new StochasticInterpolant({ schedule: 'trigonometric' });
    const { velocity, targetLogProb } = gaussianFields(I, mean, std);
    const q = new ConditionalInterpolantFlow(velocity, 2, { steps: 100 });
    const contexts = [
      [0, 0],
      [3, -1],
      [-2, 5],
    ];
    const flow = q.given(tensor(contexts));
    const k = 40;
    const { x, logProb } = flow.sampleAndLogProb(k, new Rng(8));
    expect(x.shape).toEqual([k, 3, 2]);
    expect(logProb.shape).toEqual([k, 3]);
    const xs = x.toArray() as number[][][];
    const lps = logProb.toArray() as number[][];
    for (let i = 0; i < 3; i++) {
      const pts = xs.map((row) => row[i]);
      const exact = targetLogProb(pts, contexts[i]);
      pts.forEach((_, s) => {
        expect(Math.abs(lps[s][i] - exact[s])).toBeLessThan(1e-2);
      });
      // The sample mean follows its context (5 standard errors of a mean of k draws).
      for (let j = 0; j < 2; j++) {
        const m = pts.reduce((a, p) => a + p[j], 0) / k;
        expect(Math.abs(m - contexts[i][j])).toBeLessThan((5 * std[j]) / Math.sqrt(k));
      }
    }
    expect(() => flow.sample(5, new Rng(0))).toThrow(/batch size 3/);
    expect(
      flow.logProb(
        tensor([
          [0, 0],
          [3, -1],
          [-2, 5],
        ]),
      ).shape,
    ).toEqual([3]);
  });
});

describe('SDE sampling with the exact velocity and score', () => {
  it('reproduces the target moments for ε = 0.5', () => {
    const I = new StochasticInterpolant({ schedule: 'linear' });
    const { velocity, score } = gaussianFields(I, mean, std);
    const n = 4000;
    const x = sampleSde(velocity, score, 2, n, new Rng(12), { steps: 200, epsilon: 0.5 }).toArray() as number[][];
    for (let j = 0; j < 2; j++) {
      const m = x.reduce((a, r) => a + r[j], 0) / n;
      const v = x.reduce((a, r) => a + (r[j] - m) ** 2, 0) / (n - 1);
      // 5 standard errors as above; Euler–Maruyama's O(h) bias at h = 1/200 is below 1% of s².
      expect(Math.abs(m - mean[j])).toBeLessThan((5 * std[j]) / Math.sqrt(n));
      expect(Math.abs(v - std[j] ** 2)).toBeLessThan(5 * std[j] ** 2 * Math.sqrt(2 / (n - 1)));
    }
    expect(() => sampleSde(velocity, score, 2, 4, new Rng(0), { epsilon: -1 })).toThrow(/epsilon/);
  });
});

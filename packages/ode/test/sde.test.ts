import { noGrad, Rng, randn, type Tensor, tensor, tidy, zeros } from '@joule/tensor';
import { describe, expect, it } from 'vitest';
import { eulerMaruyamaStep, solveSde } from '../src/index.js';
import { fittedOrder, meanAndSe } from './helpers.js';

// Geometric Brownian motion dX = μX dt + σX dW, X0 = 1, on [0, 1].
const mu = 0.5;
const sigma = 0.4;
const drift = (x: Tensor) => x.mul(mu);
const diffusion = (x: Tensor) => x.mul(sigma);

describe('Euler–Maruyama', () => {
  it('matches the exact moments of its own discretisation of GBM (weak error O(h) is visible)', () => {
    const n = 20000;
    const N = 4;
    const h = 1 / N;
    const { x } = noGrad(() =>
      solveSde(drift, diffusion, tensor(new Float32Array(n).fill(1), [n, 1]), { steps: N, rng: new Rng(1) }),
    );
    const v = x.dataSync();
    const { mean, se } = meanAndSe(v);
    // E[X_N] = (1 + μh)^N exactly for Euler–Maruyama on GBM (the noise has mean zero).
    expect(Math.abs(mean - (1 + mu * h) ** N)).toBeLessThan(5 * se);
    // The weak error against the SDE's E[X_1] = e^μ is (e^μ − (1 + μh)^N) ≈ 0.047, far more than 5 SE ≈ 0.02.
    expect(Math.abs(mean - Math.exp(mu))).toBeGreaterThan(5 * se);
    // E[X_N²] = ((1 + μh)² + σ²h)^N.
    const sq = meanAndSe(Array.from(v, (a) => a * a));
    expect(Math.abs(sq.mean - ((1 + mu * h) ** 2 + sigma * sigma * h) ** N)).toBeLessThan(5 * sq.se);
  });

  it('has strong order 1/2 on GBM (paths driven by the same Brownian motion)', () => {
    const n = 4000;
    const fine = 256;
    const levels = [4, 16, 64];
    const rng = new Rng(7);
    const dWfine = Array.from({ length: fine }, () => randn([n, 1], rng, 0, Math.sqrt(1 / fine)));
    const W = tidy(() => dWfine.reduce((a, b) => a.add(b))).dataSync();
    const exact = Array.from(W, (w) => Math.exp(mu - (sigma * sigma) / 2 + sigma * w));
    const stats = levels.map((N) => {
      const ratio = fine / N;
      let x: Tensor = tensor(new Float32Array(n).fill(1), [n, 1]);
      for (let k = 0; k < N; k++) {
        const prev = x;
        x = tidy(() => {
          let dW = dWfine[k * ratio];
          for (let j = 1; j < ratio; j++) dW = dW.add(dWfine[k * ratio + j]);
          return eulerMaruyamaStep(drift, diffusion, prev, k / N, 1 / N, dW);
        });
        prev.dispose();
      }
      const v = x.dataSync();
      return meanAndSe(Array.from(v, (a, i) => Math.abs(a - exact[i])));
    });
    // The relative standard error of each mean error is ≤ 3%, so the fitted slope is known to
    // about 5 × 0.03·√2 / ln 16 ≈ 0.08 at 5 SE; the order must be within ±0.3 of 1/2.
    for (const s of stats) expect(s.se / s.mean).toBeLessThan(0.03);
    const order = fittedOrder(
      levels.map((N) => 1 / N),
      stats.map((s) => s.mean),
    );
    expect(Math.abs(order - 0.5)).toBeLessThan(0.3);
  });

  it('reaches the stationary variance of its OU discretisation with additive noise', () => {
    const n = 20000;
    const h = 0.05;
    const sol = noGrad(() =>
      solveSde(
        (x) => x.neg(),
        () => Math.SQRT2,
        zeros([n, 1]),
        { t1: 8, steps: 160, rng: new Rng(3) },
      ),
    );
    const v = sol.x.dataSync();
    // v_{k+1} = (1 − h)² v_k + 2h from v_0 = 0 (the exact variance of the scheme).
    let expected = 0;
    for (let k = 0; k < 160; k++) expected = (1 - h) ** 2 * expected + 2 * h;
    const sq = meanAndSe(Array.from(v, (a) => a * a));
    expect(Math.abs(sq.mean - expected)).toBeLessThan(5 * sq.se);
  });

  it('is reproducible from the seed and saves trajectories', () => {
    const run = () =>
      solveSde(drift, diffusion, tensor([[1], [2]]), { steps: 10, rng: new Rng(5), saveTrajectory: true });
    const a = run();
    const b = run();
    expect(Array.from(a.x.dataSync())).toEqual(Array.from(b.x.dataSync()));
    expect(a.trajectory).toHaveLength(11);
    expect(a.ts[10]).toBe(1);
  });

  it('rejects bad input', () => {
    const x0 = tensor([[1]]);
    expect(() => solveSde(drift, diffusion, x0, { steps: 3 } as never)).toThrow(/rng/);
    expect(() => solveSde(drift, diffusion, x0, { steps: 3, t0: 1, t1: 0, rng: new Rng(0) })).toThrow(/t1/);
    expect(() => solveSde(drift, 1 as never, x0, { steps: 3, rng: new Rng(0) })).toThrow(/'g'/);
  });
});

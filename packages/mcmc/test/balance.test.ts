import { Rng, type Tensor, tensor } from '@joule/tensor';
import { describe, expect, it } from 'vitest';
import { mala, malaLogAcceptance, ula } from '../src/index.js';

/** A 1-D bimodal energy and its gradient, written with tensor ops. */
const energy = (x: Tensor) => {
  const a = x.sub(-1).square().mul(-2);
  const b = x.sub(1.2).square().mul(-1.5).add(Math.log(2));
  return a.maximum(b).add(a.sub(b).abs().neg().exp().log1p()).sum(1).neg();
};

describe('detailed balance of the MALA Metropolis–Hastings step', () => {
  it('holds exactly for every pair of a grid: π(x) q(y|x) α(x,y) = π(y) q(x|y) α(y,x)', () => {
    const h = 0.3;
    const grid = Array.from({ length: 31 }, (_, i) => -3 + 0.2 * i);
    const xs = grid.flatMap((x) => grid.map(() => x));
    const ys = grid.flatMap(() => grid);
    const kernel = mala({ stepSize: h });
    const sx = kernel.init(tensor(xs, [xs.length, 1]), energy);
    const sy = kernel.init(tensor(ys, [ys.length, 1]), energy);
    const forward = malaLogAcceptance(sx.x, sx.energy, sx.grad, sy.x, sy.energy, sy.grad, h).dataSync();
    const backward = malaLogAcceptance(sy.x, sy.energy, sy.grad, sx.x, sx.energy, sx.grad, h).dataSync();
    const ex = sx.energy.dataSync();
    const ey = sy.energy.dataSync();
    const gx = sx.grad.dataSync();
    const gy = sy.grad.dataSync();
    for (let k = 0; k < xs.length; k++) {
      // log of π(x) q(y|x) min(1, α) with the Gaussian proposal density in float64
      const logQ = (to: number, from: number, g: number) => -((to - from + h * g) ** 2) / (4 * h);
      const lhs = -ex[k] + logQ(ys[k], xs[k], gx[k]) + Math.min(0, forward[k]);
      const rhs = -ey[k] + logQ(xs[k], ys[k], gy[k]) + Math.min(0, backward[k]);
      expect(Math.abs(lhs - rhs), `pair (${xs[k]}, ${ys[k]})`).toBeLessThan(2e-4 * (1 + Math.abs(lhs)));
      expect(forward[k] + backward[k]).toBeCloseTo(0, 3);
    }
  });

  /**
   * Starts chains at exact draws of N(0, 1), takes one step and bins (x, x') on a grid: a reversible
   * kernel makes the joint law symmetric, so for each pair of cells the count C_ij given
   * C_ij + C_ji = m is Binomial(m, ½). The statistic Σ (C_ij − C_ji)² / m is χ² with one degree
   * of freedom per pair; we require it below df + 5·√(2 df).
   */
  function asymmetry(kernelName: 'mala' | 'ula', seed: number): { chi2: number; df: number } {
    const n = 60000;
    const rng = new Rng(seed);
    const x0 = tensor(rng.normal(n), [n, 1]);
    const gaussian = (x: Tensor) => x.square().sum(1).mul(0.5);
    const kernel = kernelName === 'mala' ? mala({ stepSize: 0.8 }) : ula({ stepSize: 0.8 });
    const state = kernel.init(x0, gaussian);
    const x1 = kernel.step(rng, state).state.x.dataSync();
    const x = x0.dataSync();
    const edges = Array.from({ length: 11 }, (_, i) => -2.5 + 0.5 * i);
    const bin = (v: number) => edges.findIndex((e) => v < e);
    const cells = edges.length + 1;
    const counts = Array.from({ length: cells }, () => new Array(cells).fill(0));
    for (let i = 0; i < n; i++) {
      const a = bin(x[i]);
      const b = bin(x1[i]);
      counts[a < 0 ? cells - 1 : a][b < 0 ? cells - 1 : b]++;
    }
    let chi2 = 0;
    let df = 0;
    for (let a = 0; a < cells; a++) {
      for (let b = a + 1; b < cells; b++) {
        const m = counts[a][b] + counts[b][a];
        if (m < 30) continue;
        chi2 += (counts[a][b] - counts[b][a]) ** 2 / m;
        df++;
      }
    }
    return { chi2, df };
  }

  it('one MALA step from the target gives a symmetric joint law on a grid', () => {
    const { chi2, df } = asymmetry('mala', 21);
    expect(df).toBeGreaterThan(20);
    expect(chi2).toBeLessThan(df + 5 * Math.sqrt(2 * df));
  });

  it('the same test detects that ULA is not reversible for its target', () => {
    const { chi2, df } = asymmetry('ula', 21);
    expect(chi2).toBeGreaterThan(df + 5 * Math.sqrt(2 * df));
  });
});

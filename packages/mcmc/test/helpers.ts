import type { EnergyFn } from '@joule/core';
import { type Rng, type Tensor, tensor } from '@joule/tensor';
import { expect } from 'vitest';
import { chainSeries, effectiveSampleSize } from '../src/index.js';

/** Inverse of a small symmetric positive-definite matrix (Gauss–Jordan in float64). */
export function invert(a: number[][]): number[][] {
  const d = a.length;
  const m = a.map((row, i) => [...row, ...Array.from({ length: d }, (_, j) => (i === j ? 1 : 0))]);
  for (let c = 0; c < d; c++) {
    const pivot = m[c][c];
    for (let j = 0; j < 2 * d; j++) m[c][j] /= pivot;
    for (let r = 0; r < d; r++) {
      if (r === c) continue;
      const f = m[r][c];
      for (let j = 0; j < 2 * d; j++) m[r][j] -= f * m[c][j];
    }
  }
  return m.map((row) => row.slice(d));
}

/** Lower Cholesky factor in float64. */
export function choleskyJs(a: number[][]): number[][] {
  const d = a.length;
  const l = a.map(() => new Array(d).fill(0));
  for (let i = 0; i < d; i++) {
    for (let j = 0; j <= i; j++) {
      let s = a[i][j];
      for (let k = 0; k < j; k++) s -= l[i][k] * l[j][k];
      l[i][j] = i === j ? Math.sqrt(s) : s / l[j][j];
    }
  }
  return l;
}

/** A Gaussian target N(mean, cov): its energy ½(x−μ)ᵀΣ⁻¹(x−μ) and exact draws. */
export function gaussianTarget(mean: number[], cov: number[][]) {
  const d = mean.length;
  const precision = tensor(invert(cov));
  const mu = tensor(mean, [1, d]);
  const energy: EnergyFn = (x) => {
    const r = x.sub(mu);
    return r.matmul(precision).mul(r).sum(1).mul(0.5);
  };
  const l = choleskyJs(cov);
  const draw = (n: number, rng: Rng): Tensor => {
    const z = rng.normal(n * d);
    const out = new Float32Array(n * d);
    for (let i = 0; i < n; i++) {
      for (let a = 0; a < d; a++) {
        let s = mean[a];
        for (let b = 0; b <= a; b++) s += l[a][b] * z[i * d + b];
        out[i * d + a] = s;
      }
    }
    return tensor(out, [n, d]);
  };
  return { energy, draw, mean, cov, d };
}

/** The correlated 2-D Gaussian of the tests: sds 1 and 2, correlation 0.8. */
export const correlated2d = () =>
  gaussianTarget(
    [1, -1],
    [
      [1, 1.6],
      [1.6, 4],
    ],
  );

/** A 10-D Gaussian with sds 0.5…1.4 and AR(1) correlations 0.5^|i−j|. */
export const gaussian10d = () => {
  const sd = Array.from({ length: 10 }, (_, i) => 0.5 + 0.1 * i);
  const cov = sd.map((si, i) => sd.map((sj, j) => si * sj * 0.5 ** Math.abs(i - j)));
  return gaussianTarget(
    Array.from({ length: 10 }, (_, i) => (i - 4.5) / 5),
    cov,
  );
};

/** Mean and Monte Carlo standard error (sd / √ESS) of a per-chain series. */
export function meanAndMcse(chains: Float64Array[]): { mean: number; mcse: number; ess: number } {
  let sum = 0;
  let count = 0;
  for (const c of chains) {
    for (const v of c) sum += v;
    count += c.length;
  }
  const mean = sum / count;
  let ss = 0;
  for (const c of chains) for (const v of c) ss += (v - mean) ** 2;
  const ess = effectiveSampleSize(chains);
  return { mean, mcse: Math.sqrt(ss / (count - 1) / ess), ess };
}

/**
 * Asserts every mean and every covariance entry E[(xᵢ−μᵢ)(xⱼ−μⱼ)] (with the true mean) lies within
 * 5 Monte Carlo standard errors of the truth, each standard error from that quantity's own ESS.
 * Returns the smallest ESS seen.
 */
export async function expectMoments(draws: Tensor, mean: number[], cov: number[][]): Promise<number> {
  const values = await draws.data();
  const d = mean.length;
  let minEss = Number.POSITIVE_INFINITY;
  for (let i = 0; i < d; i++) {
    const m = meanAndMcse(chainSeries(values, draws.shape, (x) => x[i]));
    minEss = Math.min(minEss, m.ess);
    expect(Math.abs(m.mean - mean[i]), `mean[${i}] = ${m.mean} vs ${mean[i]} (mcse ${m.mcse})`).toBeLessThan(
      5 * m.mcse,
    );
    for (let j = 0; j <= i; j++) {
      const c = meanAndMcse(chainSeries(values, draws.shape, (x) => (x[i] - mean[i]) * (x[j] - mean[j])));
      minEss = Math.min(minEss, c.ess);
      expect(Math.abs(c.mean - cov[i][j]), `cov[${i}][${j}] = ${c.mean} vs ${cov[i][j]} (mcse ${c.mcse})`).toBeLessThan(
        5 * c.mcse,
      );
    }
  }
  return minEss;
}

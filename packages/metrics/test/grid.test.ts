import { Rng, tensor } from '@joule/tensor';
import { describe, expect, it } from 'vitest';
import {
  bhattacharyya,
  bhattacharyyaMetric,
  bhattacharyyaOnGrid,
  densityOnGrid,
  type Grid2D,
  gridPoints,
  kdeOnGrid,
  klOnGrid,
  rnceGrid,
  scottFactor,
  silvermanFactor,
  totalVariationOnGrid,
} from '../src/index.js';
import { gaussianSamples, IsoGaussian, normalCdf } from './helpers.js';

/** scipy.stats.gaussian_kde written out directly: full covariance factor² · Cov (ddof 1). */
function bruteForceKde(points: number[][], factor: number, at: [number, number]): number {
  const n = points.length;
  const m = [0, 1].map((k) => points.reduce((s, p) => s + p[k], 0) / n);
  const c = [
    [0, 0],
    [0, 0],
  ];
  for (const p of points)
    for (const a of [0, 1]) for (const b of [0, 1]) c[a][b] += ((p[a] - m[a]) * (p[b] - m[b])) / (n - 1);
  const s = c.map((row) => row.map((v) => v * factor * factor));
  const det = s[0][0] * s[1][1] - s[0][1] * s[1][0];
  const inv = [
    [s[1][1] / det, -s[0][1] / det],
    [-s[1][0] / det, s[0][0] / det],
  ];
  let total = 0;
  for (const p of points) {
    const u = at[0] - p[0];
    const v = at[1] - p[1];
    total += Math.exp(-0.5 * (inv[0][0] * u * u + 2 * inv[0][1] * u * v + inv[1][1] * v * v));
  }
  return total / (n * 2 * Math.PI * Math.sqrt(det));
}

describe('grid KDE', () => {
  it('equals scipy-style gaussian_kde evaluated point by point (correlated data, full covariance)', async () => {
    const rng = new Rng(1);
    const z = rng.normal(2 * 60);
    const points = Array.from({ length: 60 }, (_, i) => [z[2 * i], 0.8 * z[2 * i] + 0.5 * z[2 * i + 1] + 0.3]);
    const grid: Grid2D = { lo: [-3, -2.5], hi: [3, 3.5], size: [41, 37] };
    const samples = tensor(points.map((p) => p.map(Math.fround)));
    const rounded = points.map((p) => p.map(Math.fround));
    for (const [bandwidth, factor] of [
      ['scott', scottFactor(60, 2)],
      ['silverman', silvermanFactor(60, 2)],
      [0.7, 0.7],
    ] as const) {
      const kde = await kdeOnGrid(samples, { grid, bandwidth });
      expect(kde.cellArea).toBeCloseTo((6 / 40) * (6 / 36), 14);
      for (const [i, j] of [
        [0, 0],
        [20, 18],
        [7, 30],
        [40, 36],
        [33, 5],
      ]) {
        const at: [number, number] = [-3 + (6 * i) / 40, -2.5 + (6 * j) / 36];
        const expected = bruteForceKde(rounded, factor, at);
        expect(Math.abs(kde.values[i * 37 + j] - expected)).toBeLessThan(1e-12 * Math.max(1, expected));
      }
    }
  });

  it('defaults to the R-NCE grid and integrates to ~1 when the grid covers the mass', async () => {
    const kde = await kdeOnGrid(gaussianSamples(2000, [0.5, -0.5], 0.7, new Rng(2)));
    expect(kde.grid).toBe(rnceGrid);
    expect(kde.values).toHaveLength(256 * 256);
    const mass = kde.values.reduce((s, v) => s + v, 0) * kde.cellArea;
    expect(Math.abs(mass - 1)).toBeLessThan(1e-6);
    expect(scottFactor(8192, 2)).toBeCloseTo(8192 ** (-1 / 6), 14);
  });

  it('rejects non-2-D samples, collinear samples and bad grids', async () => {
    await expect(kdeOnGrid(tensor([[0], [1]]))).rejects.toThrow(/shape \[n, 2\]/);
    await expect(
      kdeOnGrid(
        tensor([
          [0, 0],
          [1, 1],
          [2, 2],
        ]),
      ),
    ).rejects.toThrow(/points on a line/);
    const bad = { lo: [0, 0], hi: [0, 1], size: [10, 10] } as unknown as Grid2D;
    await expect(
      kdeOnGrid(
        tensor([
          [0, 0],
          [1, 2],
        ]),
        { grid: bad },
      ),
    ).rejects.toThrow(/'grid'/);
    await expect(
      kdeOnGrid(
        tensor([
          [0, 0],
          [1, 2],
        ]),
        { bandwidth: -1 },
      ),
    ).rejects.toThrow(/'bandwidth'/);
  });
});

describe('Bhattacharyya coefficient (R-NCE protocol: 8192 samples, Scott, 256² on [−4, 4]²)', () => {
  const n = 8192;
  const s = 0.8;
  const f2 = scottFactor(n, 2) ** 2; // the KDE widens a Gaussian N(μ, s²) to N(μ, s²(1 + f²))

  it('of a distribution with itself is ≈ 1', async () => {
    const x = gaussianSamples(n, [0.3, -0.2], s, new Rng(3));
    const y = gaussianSamples(n, [0.3, -0.2], s, new Rng(4));
    // Two independent KDEs: 1 − BC ≈ ¼ ∫ Var(p̂)/p ≈ A / (16π n h²) with kernel std h = f s and
    // A the effective area (≈ 4π s² · a few) — about 2e-3 here; 1e-2 leaves margin for the tails.
    const bc = await bhattacharyya(x, y);
    expect(bc).toBeLessThanOrEqual(1);
    expect(1 - bc).toBeLessThan(1e-2);
    // against the exact density: smoothing bias 1 − 2r/(1 + r²), r = √(1 + f²), plus half the variance term
    const truth = new IsoGaussian([0.3, -0.2], s);
    const r = Math.sqrt(1 + f2);
    const exact = await bhattacharyya(x, truth);
    expect(Math.abs(exact - (2 * r) / (1 + r * r))).toBeLessThan(5e-3);
  });

  it('of shifted Gaussians matches exp(−|Δ|²/(8 s²(1 + f²)))', async () => {
    const delta = [1.2, 0.4];
    const dist = Math.hypot(delta[0], delta[1]);
    const x = gaussianSamples(n, [0, 0], s, new Rng(5));
    const y = gaussianSamples(n, delta, s, new Rng(6));
    const sigma2 = s * s * (1 + f2);
    const expected = Math.exp(-(dist * dist) / (8 * sigma2));
    // Tolerance: 5 standard deviations of the sample-mean noise (the mean difference along Δ has
    // std s √(2/n), and dBC/d|Δ| = BC |Δ| / (4σ²)), plus 3e-3 for the KDE variance term (about
    // 2e-3, as in the test above).
    const sd = ((expected * dist) / (4 * sigma2)) * s * Math.sqrt(2 / n);
    const bc = await bhattacharyyaMetric()(x, y);
    expect(Math.abs(bc - expected)).toBeLessThan(5 * sd + 3e-3);
  });

  it('of disjoint distributions is ≈ 0', async () => {
    const x = gaussianSamples(n, [-2.5, -2.5], 0.3, new Rng(7));
    const y = gaussianSamples(n, [2.5, 2.5], 0.3, new Rng(8));
    // exact BC of the smoothed Gaussians: exp(−|Δ|²/(8 · 0.09 (1 + f²))) ≈ e^{−66}
    expect(await bhattacharyya(x, y)).toBeLessThan(1e-12);
  });
});

describe('KL and total variation on grids', () => {
  const s = 0.7;
  const p = new IsoGaussian([0, 0], s);
  const q = new IsoGaussian([0.6, -0.3], s);

  it('match the closed forms of two Gaussians', async () => {
    const gp = await densityOnGrid(p);
    const gq = await densityOnGrid(q);
    const d2 = 0.6 ** 2 + 0.3 ** 2;
    // float32 log-densities limit the grid values to ~1e-7 relative
    expect(klOnGrid(gp, gq)).toBeCloseTo(d2 / (2 * s * s), 4);
    expect(totalVariationOnGrid(gp, gq)).toBeCloseTo(2 * normalCdf(Math.sqrt(d2) / (2 * s)) - 1, 4);
    expect(bhattacharyyaOnGrid(gp, gq)).toBeCloseTo(Math.exp(-d2 / (8 * s * s)), 4);
    expect(klOnGrid(gp, gp)).toBeCloseTo(0, 6);
    expect(totalVariationOnGrid(gp, gp)).toBe(0);
  });

  it('normalize rescales each density to unit mass on the grid', async () => {
    const grid: Grid2D = { lo: [-1, -1], hi: [1, 1], size: [64, 64] };
    const gp = await densityOnGrid(p, grid);
    expect(bhattacharyyaOnGrid(gp, gp)).toBeLessThan(0.9); // mass outside the small grid is lost
    expect(bhattacharyyaOnGrid(gp, gp, { normalize: true })).toBeCloseTo(1, 10);
  });

  it('handle zeros: 0 · log 0 = 0, and q = 0 < p gives +Infinity', () => {
    const grid: Grid2D = { lo: [0, 0], hi: [1, 1], size: [2, 2] };
    const a = { grid, values: Float64Array.from([1, 1, 0, 2]), cellArea: 1 };
    const b = { grid, values: Float64Array.from([1, 0.5, 3, 0]), cellArea: 1 };
    expect(klOnGrid(b, a)).toBe(Number.POSITIVE_INFINITY);
    expect(klOnGrid({ ...a, values: Float64Array.from([1, 1, 0, 0]) }, b)).toBeCloseTo(Math.log(2), 12);
    expect(totalVariationOnGrid(a, b)).toBeCloseTo(0.5 * (0 + 0.5 + 3 + 2), 12);
    expect(() => klOnGrid(a, { ...b, values: new Float64Array(3) })).toThrow(/same grid/);
  });

  it('gridPoints lists the grid with the first coordinate outer', () => {
    const pts = gridPoints({ lo: [0, 10], hi: [1, 12], size: [2, 3] }).toArray();
    expect(pts).toEqual([
      [0, 10],
      [0, 11],
      [0, 12],
      [1, 10],
      [1, 11],
      [1, 12],
    ]);
  });
});

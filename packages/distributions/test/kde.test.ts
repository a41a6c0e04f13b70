import { grad, Rng, randn, type Tensor, tensor } from '@joule/tensor';
import { describe, expect, it } from 'vitest';
import { Conditional, DiagNormal, GaussianKDE, withLogProb } from '../src/index.js';
import { columnMoments, logSumExp } from './stats.js';

/** Correlated 2-D data, `[n, 2]` as a plain array. */
function data2d(n: number, seed: number): number[][] {
  const z = new Rng(seed).normal(2 * n);
  return Array.from({ length: n }, (_, i) => [z[2 * i]! + 1, 0.6 * z[2 * i]! + 0.5 * z[2 * i + 1]! - 2]);
}

/** Unbiased covariance (scipy's np.cov) of a 2-D point list, float64. */
function cov2(pts: number[][]): number[][] {
  const n = pts.length;
  const m = [0, 1].map((j) => pts.reduce((s, p) => s + p[j]!, 0) / n);
  return [0, 1].map((a) => [0, 1].map((b) => pts.reduce((s, p) => s + (p[a]! - m[a]!) * (p[b]! - m[b]!), 0) / (n - 1)));
}

/** log q(x) of a 2-D Gaussian KDE with kernel covariance H, float64. */
function kdeLogPdf(x: number[], pts: number[][], H: number[][]): number {
  const det = H[0]![0]! * H[1]![1]! - H[0]![1]! * H[1]![0]!;
  const inv = [
    [H[1]![1]! / det, -H[0]![1]! / det],
    [-H[1]![0]! / det, H[0]![0]! / det],
  ];
  const terms = pts.map((p) => {
    const d0 = x[0]! - p[0]!;
    const d1 = x[1]! - p[1]!;
    return -0.5 * (d0 * (inv[0]![0]! * d0 + inv[0]![1]! * d1) + d1 * (inv[1]![0]! * d0 + inv[1]![1]! * d1));
  });
  return logSumExp(terms) - Math.log(pts.length) - Math.log(2 * Math.PI) - 0.5 * Math.log(det);
}

/**
 * ∫ exp(logProb) over a grid, with a spacing of half the kernel's smallest principal standard
 * deviation and a box reaching 8 kernel standard deviations beyond the data. Error budget: the
 * mass outside the box is below 4·Φ(−8) ≈ 3e−15; for a Gaussian sampled at spacing h ≤ σ/2 the
 * Riemann (= trapezoid, the integrand vanishing at the edges) error is ≈ 2·exp(−2π²σ²/h²) =
 * 2·exp(−8π²) ≈ 1e−34 (Poisson summation); what remains is float32 rounding of the log-density
 * (≈ 1e−6 relative per point). We accept |∫q − 1| < 1e−4.
 */
function integrate2d(kde: GaussianKDE, pts: number[][]): number {
  const H = kde.covariance.toArray() as number[][];
  const tr = H[0]![0]! + H[1]![1]!;
  const det = H[0]![0]! * H[1]![1]! - H[0]![1]! ** 2;
  const lamMin = tr / 2 - Math.sqrt((tr * tr) / 4 - det);
  const lamMax = tr / 2 + Math.sqrt((tr * tr) / 4 - det);
  const h = 0.5 * Math.sqrt(lamMin);
  const pad = 8 * Math.sqrt(lamMax);
  const lo = [0, 1].map((j) => Math.min(...pts.map((p) => p[j]!)) - pad);
  const hi = [0, 1].map((j) => Math.max(...pts.map((p) => p[j]!)) + pad);
  const nx = Math.ceil((hi[0]! - lo[0]!) / h) + 1;
  const ny = Math.ceil((hi[1]! - lo[1]!) / h) + 1;
  const grid = new Float32Array(nx * ny * 2);
  for (let i = 0; i < nx; i++) {
    for (let j = 0; j < ny; j++) {
      grid[2 * (i * ny + j)] = lo[0]! + i * h;
      grid[2 * (i * ny + j) + 1] = lo[1]! + j * h;
    }
  }
  const lp = kde.logProb(tensor(grid, [nx * ny, 2])).dataSync();
  let s = 0;
  for (const v of lp) s += Math.exp(v);
  return s * h * h;
}

describe('GaussianKDE', () => {
  const pts = data2d(60, 1);

  it("uses scipy's Scott factor n^(−1/(d+4)) and the unbiased data covariance", () => {
    const kde = new GaussianKDE(pts);
    expect(kde.factor).toBeCloseTo(60 ** (-1 / 6), 10);
    const C = cov2(pts);
    const H = kde.covariance.toArray() as number[][];
    const f2 = kde.factor ** 2;
    for (let a = 0; a < 2; a++) for (let b = 0; b < 2; b++) expect(H[a]![b]).toBeCloseTo(C[a]![b]! * f2, 5);
    const s = new GaussianKDE(pts, { bandwidth: 'silverman' });
    expect(s.factor).toBeCloseTo(((60 * 4) / 4) ** (-1 / 6), 10);
  });

  it('logProb matches the float64 kernel sum', () => {
    const kde = new GaussianKDE(pts);
    const H = kde.covariance.toArray() as number[][];
    const qs = [
      [1, -2],
      [0, 0],
      [3, -1],
      [-2, -4],
    ];
    const lp = kde.logProb(tensor(qs)).dataSync();
    qs.forEach((q, i) => {
      expect(lp[i]).toBeCloseTo(kdeLogPdf(q, pts, H), 4);
    });
    const fixed = new GaussianKDE(pts, { bandwidth: { std: 0.3 } });
    const lf = fixed.logProb(tensor(qs)).dataSync();
    const iso = [
      [0.09, 0],
      [0, 0.09],
    ];
    qs.forEach((q, i) => {
      expect(lf[i]).toBeCloseTo(kdeLogPdf(q, pts, iso), 4);
    });
    expect(kde.logProb(tensor([qs, qs])).shape).toEqual([2, 4]);
  });

  it('chunked evaluation (queries × points above one chunk) matches the float64 kernel sum', () => {
    const many = data2d(3000, 7);
    const kde = new GaussianKDE(many);
    const H = kde.covariance.toArray() as number[][];
    const q = randn([1500, 2], new Rng(2)); // 1500 × 3000 > one chunk of 2^22 kernel evaluations
    const all = kde.logProb(q).dataSync();
    const qv = q.toArray() as number[][];
    // float32: a few ulps of relative error in the log-density
    for (const i of [0, 1, 2, 700, 1398, 1499]) {
      const want = kdeLogPdf(qv[i]!, many, H);
      expect(Math.abs(all[i]! - want)).toBeLessThan(1e-5 * Math.max(1, Math.abs(want)));
    }
  });

  it('integrates to 1 on a grid (Scott, Silverman, factor and fixed std)', () => {
    for (const bandwidth of ['scott', 'silverman', { factor: 0.3 }, { std: 0.25 }] as const) {
      const kde = new GaussianKDE(pts, { bandwidth });
      expect(Math.abs(integrate2d(kde, pts) - 1)).toBeLessThan(1e-4);
    }
  });

  it('sample mean and covariance are the data mean and the data covariance plus H, within 5 SE', () => {
    const n = 20000;
    const kde = new GaussianKDE(pts);
    const x = kde.sample(n, new Rng(12)).dataSync();
    const { mean, variance } = columnMoments(x, n, 2);
    const H = kde.covariance.toArray() as number[][];
    const C = cov2(pts).map((r) => r.map((v) => (v * 59) / 60)); // biased (ddof 0) spread of the points
    const kdeVariance = kde.variance.dataSync();
    for (let j = 0; j < 2; j++) {
      const dataMean = pts.reduce((s, p) => s + p[j]!, 0) / 60;
      const v = C[j]![j]! + H[j]![j]!;
      expect(kdeVariance[j]).toBeCloseTo(v, 5);
      expect(Math.abs(mean[j]! - dataMean)).toBeLessThan(5 * Math.sqrt(v / n));
      // the KDE is a mixture with heavier-than-Gaussian kurtosis; bound Var(s²) by (μ₄ − σ⁴)/n with
      // μ₄ estimated in float64 from the mixture: μ₄ = mean over points of E(x − m)⁴ under each kernel.
      const m = dataMean;
      const mu4 =
        pts.reduce((s, p) => s + (p[j]! - m) ** 4 + 6 * (p[j]! - m) ** 2 * H[j]![j]! + 3 * H[j]![j]! ** 2, 0) / 60;
      expect(Math.abs(variance[j]! - v)).toBeLessThan(5 * Math.sqrt((mu4 - v * v) / n));
    }
  });

  it('weights: a zero weight removes a point (fixed kernel)', () => {
    const three = [
      [0, 0],
      [1, 1],
      [5, 5],
    ];
    const a = new GaussianKDE(three, { bandwidth: { std: 0.5 }, weights: [1, 1, 0] });
    const b = new GaussianKDE(three.slice(0, 2), { bandwidth: { std: 0.5 } });
    const q = tensor([
      [0.5, 0.5],
      [4, 4],
    ]);
    const la = a.logProb(q).dataSync();
    const lb = b.logProb(q).dataSync();
    expect(la[0]).toBeCloseTo(lb[0]!, 5);
    expect(la[1]).toBeCloseTo(lb[1]!, 4);
    const s = a.sample(2000, new Rng(0)).dataSync();
    for (let i = 0; i < 2000; i++) expect(s[2 * i]! < 3.5).toBe(true);
  });

  it('logProb is differentiable in the query (matches float64 finite differences)', () => {
    const kde = new GaussianKDE(pts);
    const H = kde.covariance.toArray() as number[][];
    const q = [0.7, -1.5];
    const g = grad((x: Tensor) => kde.logProb(x).sum())(tensor([q])).dataSync();
    const h = 1e-6;
    for (let j = 0; j < 2; j++) {
      const up = [...q];
      const dn = [...q];
      up[j]! += h;
      dn[j]! -= h;
      expect(g[j]).toBeCloseTo((kdeLogPdf(up, pts, H) - kdeLogPdf(dn, pts, H)) / (2 * h), 3);
    }
  });

  it('rejects degenerate data and bad options', () => {
    expect(
      () =>
        new GaussianKDE([
          [0, 0],
          [1, 1],
          [2, 2],
        ]),
    ).toThrow(/non-singular/);
    expect(() => new GaussianKDE([[0, 0]])).toThrow(/at least 2 points/);
    expect(() => new GaussianKDE(pts, { bandwidth: { std: 0 } })).toThrow(/bandwidth.std/);
    expect(() => new GaussianKDE(pts, { weights: [1, 2] })).toThrow(/weights/);
    expect(() => new GaussianKDE([[0, Number.NaN]], { bandwidth: { std: 1 } })).toThrow(/finite/);
    // one point with a fixed kernel is just that Gaussian
    const one = new GaussianKDE([[1, 2]], { bandwidth: { std: 0.5 } });
    expect(Array.from(one.variance.dataSync())).toEqual([0.25, 0.25]);
    expect(one.logProb(tensor([[1, 2]])).dataSync()[0]).toBeCloseTo(-Math.log(2 * Math.PI * 0.25), 5);
  });
});

describe('Conditional and withLogProb', () => {
  it('given(context) builds a batched distribution; gradients reach the parameters in build', () => {
    const context = tensor([
      [1, 0],
      [0, 1],
      [1, 1],
    ]);
    const wv = [
      [2, 0],
      [0, -1],
    ];
    const q = new Conditional((c: Tensor) => new DiagNormal(c.matmul(tensor(wv)), 0.5), 2);
    const d = q.given(context);
    expect(d.batchSize).toBe(3);
    expect(d.sample(3, new Rng(0)).shape).toEqual([3, 2]);
    // ∂/∂W Σ_i log N(x_i; c_i W, 0.25 I) = Σ_i c_iᵀ (x_i − c_i W) / 0.25
    const x = [
      [1, 1],
      [0, 0],
      [2, -2],
    ];
    const gw = grad((w: Tensor) =>
      new Conditional((c: Tensor) => new DiagNormal(c.matmul(w), 0.5)).given(context).logProb(tensor(x)).sum(),
    )(tensor(wv)).dataSync();
    const cv = context.toArray() as number[][];
    for (let a = 0; a < 2; a++) {
      for (let b = 0; b < 2; b++) {
        let s = 0;
        for (let i = 0; i < 3; i++) {
          const mu = cv[i]![0]! * wv[0]![b]! + cv[i]![1]! * wv[1]![b]!;
          s += (cv[i]![a]! * (x[i]![b]! - mu)) / 0.25;
        }
        expect(gw[a * 2 + b]).toBeCloseTo(s, 4);
      }
    }
    expect(() => q.given(tensor([1, 2]))).toThrow(/\[n, c\]/);
    expect(() => q.given(tensor([[1, 2, 3]]))).toThrow(/\[n, 2\]/);
  });

  it('withLogProb returns [k, n, d] samples and their [k, n] log-densities', () => {
    const q = new Conditional((c: Tensor) => new DiagNormal(c, 0.5));
    const dist = q.given(
      tensor([
        [0, 0],
        [3, 3],
        [6, 6],
      ]),
    );
    const { x, logProb } = withLogProb(dist, 3).sampleAndLogProb(5, new Rng(0));
    expect(x.shape).toEqual([5, 3, 2]);
    expect(logProb.shape).toEqual([5, 3]);
    const again = dist.logProb(x).dataSync();
    const lp = logProb.dataSync();
    for (let i = 0; i < 15; i++) expect(lp[i]).toBeCloseTo(again[i]!, 5);
  });
});

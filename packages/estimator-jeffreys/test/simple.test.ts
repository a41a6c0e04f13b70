import { JouleError } from '@joule/core';
import { MLP } from '@joule/nn';
import { Rng, type Tensor, tensor, valueAndGrad } from '@joule/tensor';
import { describe, expect, it } from 'vitest';
import { GaussianDensity, JeffreysEstimator, RadialBasisEnergy } from '../src/index.js';

const LOG_2PI = Math.log(2 * Math.PI);

/** log N(x; μ, diag(σ²)) in float64. */
function gaussLogPdf(x: number[], mean: number[], logStd: number[]): number {
  let s = 0;
  for (let j = 0; j < x.length; j++) {
    const z = ((x[j] as number) - (mean[j] as number)) / Math.exp(logStd[j] as number);
    s += -0.5 * z * z - (logStd[j] as number) - 0.5 * LOG_2PI;
  }
  return s;
}

/** −E_ψ(x) = Σ ψ_k exp(−|x − c_k|²/(2h²)) + ψ_0 − a|x|² in float64. */
function rbfNegEnergy(x: number[], centres: number[][], h: number, a: number, w: number[], b: number): number {
  let f = b;
  for (let k = 0; k < centres.length; k++) {
    let sq = 0;
    for (let j = 0; j < x.length; j++) sq += ((x[j] as number) - (centres[k]?.[j] as number)) ** 2;
    f += (w[k] as number) * Math.exp(-sq / (2 * h * h));
  }
  for (const v of x) f -= a * v * v;
  return f;
}

const rows = (t: Tensor) => t.toArray() as number[][];

describe('GaussianDensity', () => {
  const points = [
    [0.1, -1.2],
    [2.5, 0.3],
    [-0.7, 0.9],
  ];
  const mean = [0.4, -0.2];
  const logStd = [0.3, -0.5];

  it('has the closed-form diagonal-Gaussian log-density', () => {
    const p = new GaussianDensity(2, { mean, logStd });
    const got = Array.from(p.apply(p.parameters(), tensor(points)).dataSync());
    // float32 evaluation of O(10) magnitudes: 1e-5 relative.
    points.forEach((x, i) => {
      const want = gaussLogPdf(x, mean, logStd);
      expect(Math.abs((got[i] as number) - want)).toBeLessThan(1e-5 * Math.max(1, Math.abs(want)));
    });
  });

  it('has the gradient of central finite differences (float64) in μ and log σ', () => {
    const p = new GaussianDensity(2, { mean, logStd });
    const { grad } = valueAndGrad((params: { mean: Tensor; logStd: Tensor }) => p.apply(params, tensor(points)).mean())(
      p.parameters() as { mean: Tensor; logStd: Tensor },
    );
    const objective = (m: number[], s: number[]) =>
      points.reduce((acc, x) => acc + gaussLogPdf(x, m, s), 0) / points.length;
    const h = 1e-6;
    for (const [name, g] of [
      ['mean', grad.mean],
      ['logStd', grad.logStd],
    ] as const) {
      const analytic = Array.from(g.dataSync());
      for (let j = 0; j < 2; j++) {
        const shift = (d: number) => {
          const m = [...mean];
          const s = [...logStd];
          (name === 'mean' ? m : s)[j] += d;
          return objective(m, s);
        };
        const fd = (shift(h) - shift(-h)) / (2 * h);
        // float32 gradient vs float64 differences (truncation error ~h² ≈ 1e-12): 1e-4 relative.
        expect(Math.abs((analytic[j] as number) - fd)).toBeLessThan(1e-4 * Math.max(1, Math.abs(fd)));
      }
    }
  });

  it('samples N(μ, σ²) with their log-density', () => {
    const p = new GaussianDensity(1, { mean: [0.3], logStd: [Math.log(2)] });
    const n = 20000;
    const { x, logProb } = p.sampleAndLogProb(n, new Rng(3));
    expect(x.shape).toEqual([n, 1]);
    const v = Array.from(x.dataSync());
    const m = v.reduce((s, e) => s + e, 0) / n;
    const variance = v.reduce((s, e) => s + (e - m) ** 2, 0) / n;
    // Standard errors: σ/√n = 0.0141 for the mean, σ²√(2/n) = 0.040 for the variance; 5 SE.
    expect(Math.abs(m - 0.3)).toBeLessThan(5 * (2 / Math.sqrt(n)));
    expect(Math.abs(variance - 4)).toBeLessThan(5 * 4 * Math.sqrt(2 / n));
    const lp = Array.from(logProb.dataSync());
    for (let i = 0; i < 5; i++) expect(lp[i]).toBeCloseTo(gaussLogPdf([v[i] as number], [0.3], [Math.log(2)]), 4);
  });

  it('is the main model of a JeffreysEstimator and loads what it saves', async () => {
    const p = new GaussianDensity(1, { mean: [0.3] });
    const q = new RadialBasisEnergy([[-1], [0], [1]]);
    const est = new JeffreysEstimator(p, q, { isSamples: 64, dual: { negativeNll: false } });
    const data = tensor([[-2.1], [1.9], [2.2], [-1.8]]);
    const saved = est.state();
    const meanOf = () => (p.parameters().mean as Tensor).dataSync()[0] as number;
    const before = meanOf();
    const stats = await est.step(data, new Rng(0));
    expect(Number.isFinite(stats.zeta)).toBe(true);
    // One Adam step moves every parameter by about the learning rate (1e-3).
    expect(Math.abs(meanOf() - before)).toBeGreaterThan(1e-4);
    est.load(saved);
    expect(meanOf()).toBe(before);
  });

  it('rejects bad input with a JouleError naming the argument', () => {
    expect(() => new GaussianDensity(0)).toThrow(/dim/);
    expect(() => new GaussianDensity(2, { mean: [1] })).toThrow(/options\.mean/);
    expect(() => new GaussianDensity(1, { logStd: [Number.NaN] })).toThrow(/options\.logStd/);
    const p = new GaussianDensity(2);
    expect(() => p.apply(p.parameters(), tensor([1, 2]))).toThrow(JouleError);
    expect(() => p.apply(p.parameters(), tensor([[1, 2, 3]]))).toThrow(/\[n, 2\]/);
    expect(() => p.load({ mean: tensor([0]), logStd: tensor([0, 0]) })).toThrow(/params\.mean/);
    expect(() => p.sampleAndLogProb(0, new Rng(0))).toThrow(/k/);
  });
});

describe('RadialBasisEnergy', () => {
  const centres = [
    [-1, 0],
    [0.5, 0.5],
    [1, -1],
  ];
  const w = [0.7, -0.4, 1.3];
  const b = 0.25;
  const points = [
    [0.2, 0.1],
    [-1.5, 0.7],
    [2, -0.5],
    [0, 0],
  ];

  it('is −(Σ ψ_k exp(−|x − c_k|²/(2h²)) + ψ_0 − a|x|²)', () => {
    const q = new RadialBasisEnergy(centres, { bandwidth: 0.8, confinement: 0.1, weights: w, bias: b });
    const e = Array.from(q.apply(q.parameters(), tensor(points)).dataSync());
    points.forEach((x, i) => {
      expect(e[i]).toBeCloseTo(-rbfNegEnergy(x, centres, 0.8, 0.1, w, b), 5);
    });
  });

  it('starts normalized: ∫ exp(−E) = 1 with the default offset (ζ = 1), in 1-D and 2-D', () => {
    // Riemann sums of exp(ψ_0 − a|x|²) on [−L, L]^d; the tails beyond hold less than e^{−a L²} (≤ e^{−32}).
    for (const [d, a, half, step] of [
      [1, 1 / 50, 40, 0.01],
      [2, 0.5, 8, 0.02],
    ] as const) {
      const q = new RadialBasisEnergy([new Array(d).fill(0)], { confinement: a });
      const bias = (q.parameters().bias as Tensor).dataSync()[0] as number;
      const axis = Array.from({ length: Math.round((2 * half) / step) + 1 }, (_, i) => -half + i * step);
      let z = 0;
      if (d === 1) for (const x of axis) z += Math.exp(bias - a * x * x) * step;
      else for (const x of axis) for (const y of axis) z += Math.exp(bias - a * (x * x + y * y)) * step * step;
      // float32 bias (rel. 6e-8) and a smooth Riemann sum: 1e-6.
      expect(Math.abs(z - 1)).toBeLessThan(1e-6);
    }
  });

  it('has the gradient of central finite differences (float64) in ψ', () => {
    const q = new RadialBasisEnergy(centres, { bandwidth: 0.8, confinement: 0.1, weights: w, bias: b });
    const coef = [0.3, -1.1, 0.6, 2];
    const x = tensor(points);
    const { grad } = valueAndGrad((params: { weights: Tensor; bias: Tensor }) =>
      q.apply(params, x).mul(tensor(coef)).sum(),
    )(q.parameters() as { weights: Tensor; bias: Tensor });
    const objective = (ww: number[], bb: number) =>
      points.reduce((acc, p, i) => acc - (coef[i] as number) * rbfNegEnergy(p, centres, 0.8, 0.1, ww, bb), 0);
    const h = 1e-6;
    const gw = Array.from(grad.weights.dataSync());
    for (let k = 0; k < w.length; k++) {
      const up = [...w];
      const down = [...w];
      (up[k] as number) += h;
      (down[k] as number) -= h;
      const fd = (objective(up, b) - objective(down, b)) / (2 * h);
      // float32 gradient vs float64 differences: 1e-5 absolute on O(1) values.
      expect(Math.abs((gw[k] as number) - fd)).toBeLessThan(1e-5);
    }
    const fdBias = (objective(w, b + h) - objective(w, b - h)) / (2 * h);
    expect(Math.abs((grad.bias.dataSync()[0] as number) - fdBias)).toBeLessThan(1e-5);
  });

  it('loads parameters and rejects bad input with a JouleError naming the argument', () => {
    const q = new RadialBasisEnergy([[0], [1]]);
    q.load({ weights: tensor([1, 2]), bias: tensor([0.5]) });
    expect(rows(q.apply(q.parameters(), tensor([[0]])).reshape([1, 1]))[0]?.[0]).toBeCloseTo(
      -(1 + 2 * Math.exp(-1 / (2 * 0.25)) + 0.5),
      5,
    );
    expect(() => new RadialBasisEnergy([])).toThrow(/centres/);
    expect(() => new RadialBasisEnergy([[0], [1, 2]])).toThrow(/centres\[1\]/);
    expect(() => new RadialBasisEnergy([[0]], { bandwidth: 0 })).toThrow(/options\.bandwidth/);
    expect(() => new RadialBasisEnergy([[0]], { confinement: -1 })).toThrow(/options\.confinement/);
    expect(() => new RadialBasisEnergy([[0]], { weights: [1, 2] })).toThrow(/options\.weights/);
    expect(() => q.apply(q.parameters(), tensor([[0, 1]]))).toThrow(/\[n, 1\]/);
    expect(() => q.load({ weights: tensor([1]), bias: tensor([0]) })).toThrow(/params\.weights/);
  });
});

describe('P-W with a zero weight', () => {
  it('trains the EBM by its NLL alone when w_rv = 0 and rejects all-zero weights', async () => {
    const flow = new GaussianDensity(1);
    const ebm = new MLP(1, 1, { rng: new Rng(0), width: 4, depth: 1 });
    const est = new JeffreysEstimator(flow, ebm, { method: 'weighted', weights: { fw: 1, rv: 0, prx: 1 } });
    expect(est.lambda).toEqual({ fw: 1, rv: 0, prx: 1, upper: 0, lower: 0 });
    await est.step(tensor([[0.5], [-0.5]]), new Rng(1));
    expect(est.lambda.rv).toBe(0);
    expect(() => new JeffreysEstimator(flow, ebm, { method: 'weighted', weights: { fw: 0, rv: 0, prx: 0 } })).toThrow(
      /options\.weights/,
    );
  });
});

import { grad, Rng, tensor } from '@joule/tensor';
import { describe, expect, it } from 'vitest';
import { Categorical, DiagNormal, GaussianMixture, Independent, Mixture, Normal, Uniform } from '../src/index.js';
import { columnMoments, logSumExp, normalLogPdf } from './stats.js';

describe('Uniform', () => {
  it('logProb is −log volume inside the closed box and −Infinity outside', () => {
    const u = new Uniform([-1, 0], [3, 0.5]);
    const lp = u
      .logProb(
        tensor([
          [0, 0.25],
          [-1, 0],
          [3, 0.5],
          [3.01, 0.2],
          [0, -0.1],
        ]),
      )
      .dataSync();
    expect(lp[0]).toBeCloseTo(-Math.log(2), 6);
    expect(lp[1]).toBeCloseTo(-Math.log(2), 6);
    expect(lp[2]).toBeCloseTo(-Math.log(2), 6);
    expect(lp[3]).toBe(Number.NEGATIVE_INFINITY);
    expect(lp[4]).toBe(Number.NEGATIVE_INFINITY);
  });

  it('sample moments are within 5 standard errors', () => {
    const n = 20000;
    const low = [-1, 2];
    const high = [3, 2.5];
    const x = new Uniform(low, high).sample(n, new Rng(4)).dataSync();
    const { mean, variance } = columnMoments(x, n, 2);
    for (let j = 0; j < 2; j++) {
      const w = high[j]! - low[j]!;
      // SE of the mean √(w²/12 / n); of the variance √((μ₄ − σ⁴)/n) with μ₄ = w⁴/80, σ⁴ = w⁴/144.
      expect(Math.abs(mean[j]! - (low[j]! + high[j]!) / 2)).toBeLessThan(5 * Math.sqrt(w ** 2 / 12 / n));
      expect(Math.abs(variance[j]! - w ** 2 / 12)).toBeLessThan(5 * Math.sqrt((w ** 4 / 80 - w ** 4 / 144) / n));
      for (let i = 0; i < n; i++) {
        if (x[i * 2 + j]! < low[j]! || x[i * 2 + j]! > high[j]!) throw new Error('sample outside the box');
      }
    }
  });

  it('sampling is reparameterized in low and high', () => {
    const n = 16;
    const u = new Rng(2).uniform(n);
    // f = mean of x² with x = lo + (hi − lo) u: ∂f/∂lo = mean 2x(1−u), ∂f/∂hi = mean 2x u
    const g = grad(({ lo, hi }: { lo: ReturnType<typeof tensor>; hi: ReturnType<typeof tensor> }) =>
      new Uniform(lo, hi).sample(n, new Rng(2)).square().mean(),
    )({ lo: tensor([-1]), hi: tensor([2]) });
    let dlo = 0;
    let dhi = 0;
    for (let i = 0; i < n; i++) {
      const x = -1 + 3 * u[i]!;
      dlo += (2 * x * (1 - u[i]!)) / n;
      dhi += (2 * x * u[i]!) / n;
    }
    expect(g.lo.dataSync()[0]).toBeCloseTo(dlo, 5);
    expect(g.hi.dataSync()[0]).toBeCloseTo(dhi, 5);
  });

  it('rejects high ≤ low', () => {
    expect(() => new Uniform([0, 0], [1, 0])).toThrow(/greater than low/);
  });
});

describe('Categorical', () => {
  const probs = [0.1, 0.2, 0.3, 0.4];

  it('frequencies are within 5 standard errors and logProb is log p', () => {
    const n = 20000;
    const c = new Categorical({ probs });
    const k = c.sample(n, new Rng(8));
    expect(k.shape).toEqual([n, 1]);
    const counts = new Array<number>(4).fill(0);
    for (const v of k.dataSync()) counts[v]!++;
    probs.forEach((p, i) => {
      // binomial SE √(p(1−p)/n)
      expect(Math.abs(counts[i]! / n - p)).toBeLessThan(5 * Math.sqrt((p * (1 - p)) / n));
    });
    const lp = c.logProb(tensor([[0], [3], [2]])).dataSync();
    expect(lp[0]).toBeCloseTo(Math.log(0.1), 5);
    expect(lp[1]).toBeCloseTo(Math.log(0.4), 5);
    expect(c.mean.dataSync()[0]).toBeCloseTo(2, 5);
    expect(c.variance.dataSync()[0]).toBeCloseTo(1, 5);
  });

  it('logits give the softmax probabilities; zero-probability categories are never drawn', () => {
    const c = new Categorical({ logits: [0, Math.log(3)] });
    expect(c.probs.dataSync()[1]).toBeCloseTo(0.75, 5);
    const z = new Categorical({ probs: [0.5, 0, 0.5] });
    const k = z.sample(5000, new Rng(1)).dataSync();
    expect(k.every((v) => v !== 1)).toBe(true);
    expect(z.logProb(tensor([[1]])).dataSync()[0]).toBe(Number.NEGATIVE_INFINITY);
  });

  it('a batch of rows draws one index per row', () => {
    const c = new Categorical({
      probs: [
        [1, 0],
        [0, 1],
        [1, 0],
      ],
    });
    expect(Array.from(c.sample(3, new Rng(0)).dataSync())).toEqual([0, 1, 0]);
    expect(c.logProb(tensor([[0], [1], [0]])).dataSync()[1]).toBeCloseTo(0, 6);
  });

  it('logProb is differentiable in the logits', () => {
    const g = grad((l: ReturnType<typeof tensor>) => new Categorical({ logits: l }).logProb(tensor([[1]])).sum())(
      tensor([0.5, -0.2, 1]),
    ).dataSync();
    const z = [0.5, -0.2, 1].map(Math.exp);
    const s = z.reduce((a, b) => a + b);
    // ∂ log softmax_1 / ∂ l_j = δ_1j − p_j
    expect(g[0]).toBeCloseTo(-z[0]! / s, 5);
    expect(g[1]).toBeCloseTo(1 - z[1]! / s, 5);
  });

  it('rejects probabilities that do not sum to one, negatives and bad indices', () => {
    expect(() => new Categorical({ probs: [0.5, 0.4] })).toThrow(/summing to 1/);
    expect(() => new Categorical({ probs: [1.5, -0.5] })).toThrow(/\[0, 1\]/);
    expect(() => new Categorical({ probs: [] })).toThrow(/K ≥ 1/);
    expect(() => new Categorical({ probs: [0.5, 0.5] }).logProb(tensor([[2]]))).toThrow(/indices/);
  });
});

describe('Mixture and GaussianMixture', () => {
  const means = [
    [-4, 0],
    [0, 4],
    [4, 0],
  ];
  const scales = [0.5, 1, 0.3];
  const weights = [0.2, 0.5, 0.3];

  function mixtureLogPdf(x: number[]): number {
    return logSumExp(
      means.map(
        (m, k) =>
          Math.log(weights[k]!) + normalLogPdf(x[0]!, m[0]!, scales[k]!) + normalLogPdf(x[1]!, m[1]!, scales[k]!),
      ),
    );
  }

  it('logProb matches the closed form, and the vectorized GaussianMixture matches the generic Mixture', () => {
    const gm = new GaussianMixture(means, scales, weights);
    const generic = new Mixture(
      weights,
      means.map((m, k) => new DiagNormal(m, scales[k]!)),
    );
    const xs = [
      [0, 0],
      [-4, 0.2],
      [3.5, 0.1],
      [10, 10],
    ];
    const a = gm.logProb(tensor(xs)).dataSync();
    const b = generic.logProb(tensor(xs)).dataSync();
    xs.forEach((x, i) => {
      expect(a[i]).toBeCloseTo(mixtureLogPdf(x), 3);
      expect(b[i]).toBeCloseTo(mixtureLogPdf(x), 3);
    });
    const r = gm.responsibilities(tensor([[-4, 0]])).dataSync();
    expect(r[0]).toBeCloseTo(1, 5);
  });

  it('sampling frequencies of the components are within 5 standard errors', () => {
    const n = 20000;
    for (const p of [
      new GaussianMixture(means, scales, weights),
      new Mixture(
        weights,
        means.map((m, k) => new DiagNormal(m, scales[k]!)),
      ),
    ]) {
      const x = p.sample(n, new Rng(21)).dataSync();
      const counts = [0, 0, 0];
      for (let i = 0; i < n; i++) {
        // the modes are ≥ 5.6 apart with σ ≤ 1: assign each point to its nearest mean
        let best = 0;
        let bestD = Number.POSITIVE_INFINITY;
        means.forEach((m, k) => {
          const dd = (x[2 * i]! - m[0]!) ** 2 + (x[2 * i + 1]! - m[1]!) ** 2;
          if (dd < bestD) {
            bestD = dd;
            best = k;
          }
        });
        counts[best]!++;
      }
      weights.forEach((w, k) => {
        expect(Math.abs(counts[k]! / n - w)).toBeLessThan(5 * Math.sqrt((w * (1 - w)) / n));
      });
    }
  });

  it('mean and variance follow the law of total variance', () => {
    const p = new GaussianMixture(means, scales, weights);
    const mean = p.mean.dataSync();
    const variance = p.variance.dataSync();
    const m0 = weights.reduce((s, w, k) => s + w * means[k]![0]!, 0);
    const v0 = weights.reduce((s, w, k) => s + w * (scales[k]! ** 2 + means[k]![0]! ** 2), 0) - m0 ** 2;
    expect(mean[0]).toBeCloseTo(m0, 5);
    expect(variance[0]).toBeCloseTo(v0, 4);
  });

  it('sampling is reparameterized in the means and scales', () => {
    const n = 50;
    const p0 = new GaussianMixture(means, scales, weights);
    const idx = p0.mixing.sampleIndices(n, new Rng(3).clone());
    const g = grad((mu: ReturnType<typeof tensor>) =>
      new GaussianMixture(mu, scales, weights).sample(n, new Rng(3)).sum(),
    )(tensor(means)).dataSync();
    // ∂ Σ x / ∂ μ_k = (number of draws from k) per coordinate
    const counts = [0, 0, 0];
    for (const k of idx) counts[k]!++;
    for (let k = 0; k < 3; k++) expect(g[2 * k]).toBeCloseTo(counts[k]!, 4);
  });

  it('Mixture accepts any component family and rejects mismatches', () => {
    const p = new Mixture([0.5, 0.5], [new Normal(0, 1), new Uniform([2], [4])]);
    const lp = p.logProb(tensor([[3]])).dataSync()[0]!;
    expect(lp).toBeCloseTo(Math.log(0.5 * Math.exp(normalLogPdf(3, 0, 1)) + 0.5 * 0.5), 5);
    expect(p.sample(10, new Rng(0)).shape).toEqual([10, 1]);
    expect(() => new Mixture([0.5, 0.5], [new Normal(0, 1)])).toThrow(/one per component/);
    expect(() => new Mixture([0.5, 0.5], [new Normal(0, 1), DiagNormal.standard(2)])).toThrow(/dim 1/);
    expect(() => new GaussianMixture([[0, 0]], -1)).toThrow(/positive/);
    expect(() => new GaussianMixture([0, 0], 1)).toThrow(/\[K, d\]/);
  });
});

describe('Independent', () => {
  it('sums the blocks’ log-densities and concatenates samples', () => {
    const p = new Independent([new Normal(1, 2), new Uniform([0, 0], [1, 4])]);
    expect(p.dim).toBe(3);
    const x = p.sample(100, new Rng(0));
    expect(x.shape).toEqual([100, 3]);
    const lp = p.logProb(tensor([[0.5, 0.5, 1]])).dataSync()[0];
    expect(lp).toBeCloseTo(normalLogPdf(0.5, 1, 2) - Math.log(4), 5);
    expect(() => new Independent([])).toThrow(/non-empty/);
  });
});

import { grad, Rng, tensor } from '@joule/tensor';
import { describe, expect, it } from 'vitest';
import { DiagNormal, MultivariateNormal, Normal } from '../src/index.js';
import { columnMoments, covariance, normalLogPdf } from './stats.js';

describe('DiagNormal and Normal', () => {
  it('logProb matches the closed form (float64 reference)', () => {
    const loc = [0.5, -1, 2];
    const scale = [1, 0.3, 2.5];
    const p = new DiagNormal(tensor(loc), tensor(scale));
    const xs = [
      [0, 0, 0],
      [1.5, -0.7, 4],
      [-3, 2, -1],
    ];
    const got = p.logProb(tensor(xs)).dataSync();
    xs.forEach((x, i) => {
      const want = x.reduce((s, v, j) => s + normalLogPdf(v, loc[j]!, scale[j]!), 0);
      expect(got[i]).toBeCloseTo(want, 4);
    });
  });

  it('Normal is 1-D: [n, 1] samples and logProb', () => {
    const p = new Normal(1, 2);
    expect(p.dim).toBe(1);
    expect(p.sample(7, new Rng(0)).shape).toEqual([7, 1]);
    expect(p.logProb(tensor([[3]])).dataSync()[0]).toBeCloseTo(normalLogPdf(3, 1, 2), 5);
    const batch = new Normal(tensor([0, 10]), 1);
    expect(batch.batchSize).toBe(2);
    const lp = batch.logProb(tensor([[0], [10]])).dataSync();
    expect(lp[0]).toBeCloseTo(normalLogPdf(0, 0, 1), 5);
    expect(lp[1]).toBeCloseTo(normalLogPdf(10, 10, 1), 5);
  });

  it('sample moments are within 5 standard errors', () => {
    const n = 20000;
    const loc = [1, -2];
    const scale = [0.5, 3];
    const x = new DiagNormal(loc, scale).sample(n, new Rng(11)).dataSync();
    const { mean, variance } = columnMoments(x, n, 2);
    for (let j = 0; j < 2; j++) {
      // SE of the mean σ/√n; SE of the variance σ²·√(2/n) for a Gaussian.
      expect(Math.abs(mean[j]! - loc[j]!)).toBeLessThan((5 * scale[j]!) / Math.sqrt(n));
      expect(Math.abs(variance[j]! - scale[j]! ** 2)).toBeLessThan(5 * scale[j]! ** 2 * Math.sqrt(2 / n));
    }
  });

  it('batched parameters give one draw and one density per row', () => {
    const p = new DiagNormal(
      tensor([
        [0, 0],
        [100, 100],
        [-50, 0],
      ]),
      0.01,
    );
    expect(p.batchSize).toBe(3);
    const x = p.sample(3, new Rng(0));
    const v = x.dataSync();
    expect(v[2]).toBeCloseTo(100, 0);
    expect(v[4]).toBeCloseTo(-50, 0);
    expect(p.logProb(x).shape).toEqual([3]);
    expect(p.logProb(x.unsqueeze(0).broadcastTo([4, 3, 2])).shape).toEqual([4, 3]);
    expect(() => p.sample(5, new Rng(0))).toThrow(/batch size 3/);
    expect(() => p.logProb(tensor([[0, 0]]))).toThrow(/\[\.\.\., 3, 2\]/);
    expect(p.mean.shape).toEqual([3, 2]);
    expect(p.variance.dataSync()[0]).toBeCloseTo(1e-4, 8);
  });

  it('reparameterized sample gradients match central finite differences (float64)', () => {
    const n = 64;
    const seed = 5;
    const eps = new Rng(seed).normal(n * 2);
    // f(loc, scale) = mean over samples of sin(x₀) + x₁², with x = loc + scale ε
    const f64 = (loc: number[], scale: number[]) => {
      let s = 0;
      for (let i = 0; i < n; i++) {
        const x0 = loc[0]! + scale[0]! * eps[2 * i]!;
        const x1 = loc[1]! + scale[1]! * eps[2 * i + 1]!;
        s += Math.sin(x0) + x1 * x1;
      }
      return s / n;
    };
    const loc = [0.3, -0.7];
    const scale = [0.8, 1.3];
    const g = grad(({ l, s }: { l: ReturnType<typeof tensor>; s: ReturnType<typeof tensor> }) => {
      const x = new DiagNormal(l, s).sample(n, new Rng(seed));
      return x
        .slice([0, 0], [n, 1])
        .sin()
        .sum()
        .add(x.slice([0, 1], [n, 1]).square().sum())
        .div(n);
    })({ l: tensor(loc), s: tensor(scale) });
    const h = 1e-5;
    for (const [name, params, got] of [
      ['loc', loc, g.l.dataSync()],
      ['scale', scale, g.s.dataSync()],
    ] as const) {
      for (let j = 0; j < 2; j++) {
        const up = [...params];
        const dn = [...params];
        up[j]! += h;
        dn[j]! -= h;
        const fd =
          name === 'loc' ? (f64(up, scale) - f64(dn, scale)) / (2 * h) : (f64(loc, up) - f64(loc, dn)) / (2 * h);
        expect(got[j]).toBeCloseTo(fd, 3);
      }
    }
  });

  it('logProb gradients in loc and scale match finite differences (float64)', () => {
    const x = [0.4, -1.2];
    const loc = [0.1, 0.2];
    const scale = [0.7, 1.5];
    const f64 = (l: number[], s: number[]) => normalLogPdf(x[0]!, l[0]!, s[0]!) + normalLogPdf(x[1]!, l[1]!, s[1]!);
    const g = grad(({ l, s }: { l: ReturnType<typeof tensor>; s: ReturnType<typeof tensor> }) =>
      new DiagNormal(l, s).logProb(tensor([x])).sum(),
    )({ l: tensor(loc), s: tensor(scale) });
    const h = 1e-6;
    for (let j = 0; j < 2; j++) {
      const lu = [...loc];
      const ld = [...loc];
      lu[j]! += h;
      ld[j]! -= h;
      expect(g.l.dataSync()[j]).toBeCloseTo((f64(lu, scale) - f64(ld, scale)) / (2 * h), 4);
      const su = [...scale];
      const sd = [...scale];
      su[j]! += h;
      sd[j]! -= h;
      expect(g.s.dataSync()[j]).toBeCloseTo((f64(loc, su) - f64(loc, sd)) / (2 * h), 4);
    }
  });

  it('rejects bad parameters with JouleError', () => {
    expect(() => new DiagNormal([0, 0], [1, -1])).toThrow(/scale.*positive/);
    expect(() => new DiagNormal([0, 0], [1, 1, 1])).toThrow(/broadcastable/);
    expect(() => new DiagNormal([0, Number.NaN], 1)).toThrow(/finite/);
    expect(() => new Normal(0, 0)).toThrow(/positive/);
    expect(() => new DiagNormal([0, 0], 1).logProb(tensor([[1, 2, 3]]))).toThrow(/\[\.\.\., n, 2\]/);
    expect(() => new DiagNormal([0, 0], 1).sample(0, new Rng(0))).toThrow(/positive integer/);
  });
});

describe('MultivariateNormal', () => {
  const cov = [
    [2, 0.6, 0.2],
    [0.6, 1, -0.3],
    [0.2, -0.3, 0.5],
  ];
  const loc = [1, 0, -1];

  /** log N(x; μ, Σ) in float64 via a JS Cholesky. */
  function mvnLogPdf(x: number[], mu: number[], S: number[][]): number {
    const d = mu.length;
    const L = Array.from({ length: d }, () => new Array<number>(d).fill(0));
    for (let i = 0; i < d; i++) {
      for (let j = 0; j <= i; j++) {
        let s = S[i]![j]!;
        for (let k = 0; k < j; k++) s -= L[i]![k]! * L[j]![k]!;
        L[i]![j] = i === j ? Math.sqrt(s) : s / L[j]![j]!;
      }
    }
    const z = new Array<number>(d).fill(0);
    for (let i = 0; i < d; i++) {
      let s = x[i]! - mu[i]!;
      for (let k = 0; k < i; k++) s -= L[i]![k]! * z[k]!;
      z[i] = s / L[i]![i]!;
    }
    const logDet = 2 * L.reduce((s, row, i) => s + Math.log(row[i]!), 0);
    return -0.5 * z.reduce((s, v) => s + v * v, 0) - 0.5 * logDet - 0.5 * d * Math.log(2 * Math.PI);
  }

  it('logProb matches the closed form (float64 reference)', () => {
    const p = new MultivariateNormal(loc, { covariance: cov });
    const xs = [
      [0, 0, 0],
      [2, 1, -2],
      [-1, 0.5, 0.3],
    ];
    const got = p.logProb(tensor(xs)).dataSync();
    xs.forEach((x, i) => {
      expect(got[i]).toBeCloseTo(mvnLogPdf(x, loc, cov), 4);
    });
    expect(p.variance.toArray()).toEqual([2, 1, 0.5].map((v) => expect.closeTo(v, 5)));
  });

  it('sample mean and covariance are within 5 standard errors', () => {
    const n = 20000;
    const x = new MultivariateNormal(loc, { covariance: cov }).sample(n, new Rng(3)).dataSync();
    const { mean } = columnMoments(x, n, 3);
    const c = covariance(x, n, 3);
    for (let a = 0; a < 3; a++) {
      expect(Math.abs(mean[a]! - loc[a]!)).toBeLessThan(5 * Math.sqrt(cov[a]![a]! / n));
      for (let b = 0; b < 3; b++) {
        // Var of the sample covariance of a Gaussian pair: (σ_ab² + σ_aa σ_bb) / n.
        const se = Math.sqrt((cov[a]![b]! ** 2 + cov[a]![a]! * cov[b]![b]!) / n);
        expect(Math.abs(c[a]![b]! - cov[a]![b]!)).toBeLessThan(5 * se);
      }
    }
  });

  it('scaleTril and covariance give the same distribution; gradients flow to scaleTril', () => {
    const L = [
      [1, 0],
      [0.5, 2],
    ];
    const a = new MultivariateNormal([0, 1], { scaleTril: L });
    const b = new MultivariateNormal([0, 1], {
      covariance: [
        [1, 0.5],
        [0.5, 4.25],
      ],
    });
    const x = tensor([
      [0.3, -1],
      [2, 2],
    ]);
    const la = a.logProb(x).dataSync();
    const lb = b.logProb(x).dataSync();
    expect(la[0]).toBeCloseTo(lb[0]!, 4);
    expect(la[1]).toBeCloseTo(lb[1]!, 4);
    // d/dL of mean_i f(μ + L ε), f = Σ x², against float64 finite differences
    const n = 32;
    const eps = new Rng(9).normal(n * 2);
    const f64 = (m: number[][]) => {
      let s = 0;
      for (let i = 0; i < n; i++) {
        const e0 = eps[2 * i]!;
        const e1 = eps[2 * i + 1]!;
        const x0 = m[0]![0]! * e0;
        const x1 = 1 + m[1]![0]! * e0 + m[1]![1]! * e1;
        s += x0 * x0 + x1 * x1;
      }
      return s / n;
    };
    const g = grad((l: ReturnType<typeof tensor>) =>
      new MultivariateNormal([0, 1], { scaleTril: l }).sample(n, new Rng(9)).square().sum().div(n),
    )(tensor(L)).dataSync();
    const h = 1e-5;
    for (const [i, j] of [
      [0, 0],
      [1, 0],
      [1, 1],
    ] as const) {
      const up = L.map((r) => [...r]);
      const dn = L.map((r) => [...r]);
      up[i]![j]! += h;
      dn[i]![j]! -= h;
      expect(g[i * 2 + j]).toBeCloseTo((f64(up) - f64(dn)) / (2 * h), 3);
    }
  });

  it('handles a batch of locations and [k, n, d] inputs', () => {
    const p = new MultivariateNormal(
      tensor([
        [0, 0],
        [5, 5],
      ]),
      {
        covariance: [
          [1, 0],
          [0, 1],
        ],
      },
    );
    expect(p.sample(2, new Rng(0)).shape).toEqual([2, 2]);
    expect(
      p.logProb(
        tensor([
          [
            [0, 0],
            [5, 5],
          ],
        ]),
      ).shape,
    ).toEqual([1, 2]);
    const lp = p
      .logProb(
        tensor([
          [0, 0],
          [5, 5],
        ]),
      )
      .dataSync();
    expect(lp[0]).toBeCloseTo(lp[1]!, 5);
  });

  it('rejects a non-PD, non-symmetric or mis-shaped covariance', () => {
    expect(
      () =>
        new MultivariateNormal([0, 0], {
          covariance: [
            [1, 2],
            [2, 1],
          ],
        }),
    ).toThrow(/positive-definite/);
    expect(
      () =>
        new MultivariateNormal([0, 0], {
          covariance: [
            [1, 0.5],
            [0, 1],
          ],
        }),
    ).toThrow(/symmetric/);
    expect(() => new MultivariateNormal([0, 0], { covariance: [[1]] })).toThrow(/shape/);
    expect(
      () =>
        new MultivariateNormal([0, 0], {
          scaleTril: [
            [1, 1],
            [0, 1],
          ],
        }),
    ).toThrow(/lower-triangular/);
    expect(
      () =>
        new MultivariateNormal([0, 0], {
          scaleTril: [
            [-1, 0],
            [0, 1],
          ],
        }),
    ).toThrow(/positive diagonal/);
  });
});

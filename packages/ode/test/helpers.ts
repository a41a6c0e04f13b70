import type { Distribution } from '@joule/core';
import { type Rng, randn, type Tensor } from '@joule/tensor';

/** Least-squares slope of log(err) against log(h): the empirical order of convergence. */
export function fittedOrder(hs: readonly number[], errs: readonly number[]): number {
  const x = hs.map(Math.log);
  const y = errs.map(Math.log);
  const mx = x.reduce((a, b) => a + b) / x.length;
  const my = y.reduce((a, b) => a + b) / y.length;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < x.length; i++) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) ** 2;
  }
  return sxy / sxx;
}

/** The standard normal on R^d, for the tests (the real one lives in @joule/distributions). */
export function standardNormal(dim: number): Distribution {
  return {
    dim,
    sample: (n: number, rng: Rng) => randn([n, dim], rng),
    logProb: (x: Tensor) =>
      x
        .square()
        .sum(1)
        .mul(-0.5)
        .sub((dim / 2) * Math.log(2 * Math.PI)),
  };
}

/** Mean and standard error of a sample. */
export function meanAndSe(v: ArrayLike<number>): { mean: number; se: number } {
  const n = v.length;
  let m = 0;
  for (let i = 0; i < n; i++) m += v[i];
  m /= n;
  let s = 0;
  for (let i = 0; i < n; i++) s += (v[i] - m) ** 2;
  return { mean: m, se: Math.sqrt(s / (n - 1) / n) };
}

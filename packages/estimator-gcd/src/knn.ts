import { assertPositiveInt, JouleError } from '@joule/core';
import type { Tensor } from '@joule/tensor';

/**
 * `log ε_i`: the log distance from each row of `x` `[n, d]` to its `k`-th nearest neighbour among
 * the other rows (duplicates guarded by `+1e-12`). Plain JS, no gradient.
 *
 * @example
 * ```ts
 * const logd = knnLogDistances(samples, 1); // Float64Array of length n
 * ```
 */
export function knnLogDistances(x: Tensor, k: number): Float64Array {
  assertPositiveInt('knnLogDistances', 'k', k);
  if (x?.rank !== 2) throw new JouleError('knnLogDistances', 'x', 'a tensor [n, d]', x ? `[${x.shape}]` : String(x));
  const [n, d] = x.shape;
  if (k >= n) throw new JouleError('knnLogDistances', 'k', `less than the number of rows ${n}`, String(k));
  const v = x.dataSync();
  const out = new Float64Array(n);
  const dist = new Float64Array(n - 1);
  for (let i = 0; i < n; i++) {
    let m = 0;
    for (let j = 0; j < n; j++) {
      if (j === i) continue;
      let s = 0;
      for (let c = 0; c < d; c++) {
        const diff = v[i * d + c] - v[j * d + c];
        s += diff * diff;
      }
      dist[m++] = s;
    }
    dist.sort();
    out[i] = Math.log(Math.sqrt(dist[k - 1]) + 1e-12);
  }
  return out;
}

function digammaInt(n: number): number {
  let s = -0.5772156649015329;
  for (let j = 1; j < n; j++) s += 1 / j;
  return s;
}

function logUnitBallVolume(d: number): number {
  // log Γ(d/2 + 1) by recursion from Γ(1) = 1 or Γ(1/2) = √π
  let logGamma = d % 2 === 0 ? 0 : 0.5 * Math.log(Math.PI);
  for (let z = d % 2 === 0 ? 1 : 0.5; z < d / 2 + 1; z += 1) logGamma += Math.log(z);
  return (d / 2) * Math.log(Math.PI) - logGamma;
}

/**
 * The Kozachenko–Leonenko entropy estimate (nats) of the distribution of the rows of `x` `[n, d]`:
 * `Ĥ = ψ(n) − ψ(k) + log V_d + (d/n) Σ_i log ε_i`, `ε_i` the `k`-NN distance. Its per-point form is
 * `log π̂(x_i) = ψ(k) − ψ(n) − log V_d − d·log ε_i` (note the minus sign; the paper prints `+`).
 *
 * @example
 * ```ts
 * knnEntropy(randn([2000, 1], rng), 3); // ≈ 0.5·log(2πe) = 1.419
 * ```
 */
export function knnEntropy(x: Tensor, k: number): number {
  const logd = knnLogDistances(x, k);
  const [n, d] = x.shape;
  let s = 0;
  for (const l of logd) s += l;
  return digammaInt(n) - digammaInt(k) + logUnitBallVolume(d) + (d * s) / n;
}

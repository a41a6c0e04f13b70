import { JouleError } from '@joule/core';
import type { Tensor } from '@joule/tensor';

/**
 * Chains of one scalar quantity: one array of draws per chain, all of the same length (plain
 * `Float32Array`s, `Float64Array`s or number arrays).
 *
 * @example
 * ```ts
 * const chains: Chains = [new Float64Array([0.1, 0.3, -0.2]), new Float64Array([0.5, 0.0, 0.2])];
 * ```
 */
export type Chains = readonly ArrayLike<number>[];

function checkChains(op: string, chains: Chains, minDraws: number): { m: number; n: number } {
  if (!Array.isArray(chains) || chains.length === 0)
    throw new JouleError(op, 'chains', 'a non-empty array of chains', String(chains));
  const n = chains[0]?.length;
  chains.forEach((c, i) => {
    if (c === null || typeof c !== 'object' || typeof c.length !== 'number')
      throw new JouleError(op, `chains[${i}]`, 'an array of numbers', typeof c);
    if (c.length !== n) throw new JouleError(op, `chains[${i}]`, `${n} draws like chains[0]`, `${c.length}`);
    for (let t = 0; t < c.length; t++) {
      if (!Number.isFinite(c[t])) throw new JouleError(op, `chains[${i}]`, 'finite draws', `${c[t]} at draw ${t}`);
    }
  });
  if (n < minDraws) throw new JouleError(op, 'chains', `at least ${minDraws} draws per chain`, `${n}`);
  return { m: chains.length, n };
}

/** In-place radix-2 FFT of (re, im), length a power of two; `inverse` conjugates the twiddles (no scaling). */
function fft(re: Float64Array, im: Float64Array, inverse: boolean): void {
  const n = re.length;
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      [re[i], re[j]] = [re[j], re[i]];
      [im[i], im[j]] = [im[j], im[i]];
    }
  }
  for (let len = 2; len <= n; len <<= 1) {
    const angle = ((inverse ? 2 : -2) * Math.PI) / len;
    const wr = Math.cos(angle);
    const wi = Math.sin(angle);
    for (let start = 0; start < n; start += len) {
      let cr = 1;
      let ci = 0;
      for (let k = 0; k < len / 2; k++) {
        const a = start + k;
        const b = a + len / 2;
        const tr = re[b] * cr - im[b] * ci;
        const ti = re[b] * ci + im[b] * cr;
        re[b] = re[a] - tr;
        im[b] = im[a] - ti;
        re[a] += tr;
        im[a] += ti;
        const nr = cr * wr - ci * wi;
        ci = cr * wi + ci * wr;
        cr = nr;
      }
    }
  }
}

/**
 * The autocovariance of one chain at lags `0 … N−1`, `γ(t) = (1/N) Σ (x_s − x̄)(x_{s+t} − x̄)`
 * (the biased estimator, as in Stan), computed by FFT in `O(N log N)`.
 *
 * @example
 * ```ts
 * import { autocovariance } from '@joule/mcmc';
 *
 * const acov = autocovariance([1, 2, 3, 4]); // acov[0] is the (biased) variance 1.25
 * ```
 */
export function autocovariance(x: ArrayLike<number>): Float64Array {
  const n = x.length;
  if (n === 0) throw new JouleError('autocovariance', 'x', 'at least one draw', '0');
  let mean = 0;
  for (let i = 0; i < n; i++) mean += x[i];
  mean /= n;
  let size = 1;
  while (size < 2 * n) size <<= 1;
  const re = new Float64Array(size);
  const im = new Float64Array(size);
  for (let i = 0; i < n; i++) re[i] = x[i] - mean;
  fft(re, im, false);
  for (let i = 0; i < size; i++) {
    re[i] = re[i] * re[i] + im[i] * im[i];
    im[i] = 0;
  }
  fft(re, im, true);
  const out = new Float64Array(n);
  for (let t = 0; t < n; t++) out[t] = re[t] / size / n;
  return out;
}

/** Per-chain means, within-chain variance `W` and the pooled variance estimate `var⁺`. */
function varianceParts(chains: Chains, m: number, n: number) {
  const means = chains.map((c) => {
    let s = 0;
    for (let t = 0; t < n; t++) s += c[t];
    return s / n;
  });
  let w = 0;
  chains.forEach((c, i) => {
    let s = 0;
    for (let t = 0; t < n; t++) s += (c[t] - means[i]) ** 2;
    w += s / (n - 1);
  });
  w /= m;
  const grand = means.reduce((a, b) => a + b, 0) / m;
  const bOverN = m > 1 ? means.reduce((a, b) => a + (b - grand) ** 2, 0) / (m - 1) : 0;
  return { means, w, varPlus: ((n - 1) / n) * w + bOverN };
}

/**
 * The effective sample size of a scalar quantity over several chains (Stan's estimator, Vehtari
 * et al. 2021 without rank normalization): autocorrelations `ρ_t = 1 − (W − mean γ_t) / var⁺`
 * combine within-chain autocovariances (by FFT) with the between-chain variance, and Geyer's
 * initial monotone sequence truncates and smooths their sum: `ESS = M N / τ`,
 * `τ = −1 + 2 Σ_{t} ρ_t`. Returns NaN for a constant quantity. Use it for Monte Carlo standard
 * errors, `sd / √ESS`.
 *
 * @example
 * ```ts
 * import { effectiveSampleSize } from '@joule/mcmc';
 *
 * const ess = effectiveSampleSize(chains); // ≈ M·N for independent draws, less when autocorrelated
 * ```
 */
export function effectiveSampleSize(chains: Chains): number {
  const { m, n } = checkChains('effectiveSampleSize', chains, 4);
  const { w, varPlus } = varianceParts(chains, m, n);
  if (!(varPlus > 0)) return Number.NaN;
  const acov = chains.map((c) => autocovariance(c));
  const meanAcov = (t: number) => acov.reduce((s, a) => s + a[t], 0) / m;
  const rho = new Float64Array(n + 1);
  rho[0] = 1;
  let even = 1;
  let odd = 1 - (w - meanAcov(1)) / varPlus;
  rho[1] = odd;
  let t = 1;
  while (t < n - 4 && even + odd > 0) {
    even = 1 - (w - meanAcov(t + 1)) / varPlus;
    odd = 1 - (w - meanAcov(t + 2)) / varPlus;
    if (even + odd >= 0) {
      rho[t + 1] = even;
      rho[t + 2] = odd;
    }
    t += 2;
  }
  const maxT = t;
  if (even > 0) rho[maxT + 1] = even;
  for (let s = 1; s <= maxT - 3; s += 2) {
    if (rho[s + 1] + rho[s + 2] > rho[s - 1] + rho[s]) {
      rho[s + 1] = (rho[s - 1] + rho[s]) / 2;
      rho[s + 2] = rho[s + 1];
    }
  }
  let sum = 0;
  for (let s = 0; s < maxT; s++) sum += rho[s];
  const tau = -1 + 2 * sum + rho[maxT + 1];
  const total = m * n;
  return Math.min(total / tau, total * Math.log10(total));
}

/**
 * The split-R̂ convergence diagnostic (Gelman et al.): each chain is cut in two halves and
 * `R̂ = √(var⁺ / W)` compares the pooled variance with the within-half variance. Values near 1
 * (below about 1.01) indicate the chains agree; larger values mean they have not mixed.
 *
 * @example
 * ```ts
 * import { splitRHat } from '@joule/mcmc';
 *
 * splitRHat(chains); // 1.002
 * ```
 */
export function splitRHat(chains: Chains): number {
  const { n } = checkChains('splitRHat', chains, 4);
  const half = Math.floor(n / 2);
  const halves: number[][] = [];
  for (const c of chains) {
    halves.push(Array.from({ length: half }, (_, t) => c[t]));
    halves.push(Array.from({ length: half }, (_, t) => c[n - half + t]));
  }
  const { w, varPlus } = varianceParts(halves, halves.length, half);
  if (!(w > 0)) return Number.NaN;
  return Math.sqrt(varPlus / w);
}

/**
 * The mean of accept flags (or acceptance probabilities): the acceptance rate.
 *
 * @example
 * ```ts
 * import { acceptanceRate } from '@joule/mcmc';
 *
 * acceptanceRate(await info.accepted.data()); // e.g. 0.74
 * ```
 */
export function acceptanceRate(accepted: ArrayLike<number>): number {
  if (accepted === null || typeof accepted !== 'object' || accepted.length === 0) {
    throw new JouleError(
      'acceptanceRate',
      'accepted',
      'a non-empty array of 0/1 flags or probabilities',
      String(accepted),
    );
  }
  let s = 0;
  for (let i = 0; i < accepted.length; i++) s += accepted[i];
  return s / accepted.length;
}

/**
 * Per-chain series of a scalar function of the draws: from `draws` of shape `[kept, n, d]` (the
 * values of a tensor, row-major) to `n` arrays of `kept` values `f(x_t)`. Feed them to
 * {@link effectiveSampleSize} and {@link splitRHat}.
 *
 * @example
 * ```ts
 * import { chainSeries } from '@joule/mcmc';
 *
 * const values = await draws.data();
 * const first = chainSeries(values, draws.shape, (x) => x[0]);        // coordinate 0
 * const cross = chainSeries(values, draws.shape, (x) => x[0] * x[1]); // a second moment
 * ```
 */
export function chainSeries(
  draws: ArrayLike<number>,
  shape: readonly number[],
  f: (point: Float64Array) => number,
): Float64Array[] {
  if (!Array.isArray(shape) || shape.length !== 3)
    throw new JouleError('chainSeries', 'shape', 'a shape [kept, n, d]', String(shape));
  const [kept, n, d] = shape;
  if (draws.length !== kept * n * d)
    throw new JouleError(
      'chainSeries',
      'draws',
      `${kept * n * d} values for shape [${shape.join(', ')}]`,
      `${draws.length}`,
    );
  const point = new Float64Array(d);
  return Array.from({ length: n }, (_, i) => {
    const out = new Float64Array(kept);
    for (let t = 0; t < kept; t++) {
      const at = (t * n + i) * d;
      for (let j = 0; j < d; j++) point[j] = draws[at + j];
      out[t] = f(point);
    }
    return out;
  });
}

/**
 * The summary of one coordinate over all chains: posterior mean and standard deviation, the
 * effective sample size, the Monte Carlo standard error of the mean (`sd / √ESS`) and split R̂.
 *
 * @example
 * ```ts
 * const [x0] = await summarize(draws);
 * console.log(x0.mean, '±', x0.mcse);
 * ```
 */
export interface Summary {
  /** The mean over all kept draws. */
  readonly mean: number;
  /** The standard deviation over all kept draws. */
  readonly sd: number;
  /** The effective sample size. */
  readonly ess: number;
  /** The Monte Carlo standard error of the mean. */
  readonly mcse: number;
  /** Split R̂. */
  readonly rHat: number;
}

/**
 * Summarizes every coordinate of draws `[kept, n, d]` (as {@link sample} returns them).
 *
 * @example
 * ```ts
 * import { sample, summarize } from '@joule/mcmc';
 *
 * const { draws } = await sample(kernel, energy, x0, { steps: 1000, rng });
 * for (const s of await summarize(draws)) console.log(s.mean, s.mcse, s.ess, s.rHat);
 * ```
 */
export async function summarize(draws: Tensor): Promise<Summary[]> {
  if (draws === null || typeof draws !== 'object' || !Array.isArray(draws.shape) || draws.shape.length !== 3) {
    throw new JouleError(
      'summarize',
      'draws',
      'a Tensor of shape [kept, n, d]',
      draws?.shape ? `shape [${draws.shape.join(', ')}]` : typeof draws,
    );
  }
  const values = await draws.data();
  return Array.from({ length: draws.shape[2] }, (_, j) => {
    const chains = chainSeries(values, draws.shape, (x) => x[j]);
    let sum = 0;
    let count = 0;
    for (const c of chains) {
      for (const v of c) sum += v;
      count += c.length;
    }
    const mean = sum / count;
    let ss = 0;
    for (const c of chains) for (const v of c) ss += (v - mean) ** 2;
    const sd = Math.sqrt(ss / (count - 1));
    const ess = effectiveSampleSize(chains);
    return { mean, sd, ess, mcse: sd / Math.sqrt(ess), rHat: splitRHat(chains) };
  });
}

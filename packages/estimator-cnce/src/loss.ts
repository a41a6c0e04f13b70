import type { ConditionalDistribution, Distribution, EnergyFn } from '@joule/core';
import { JouleError } from '@joule/core';
import { concat, noGrad, type Rng, Tensor } from '@joule/tensor';
import type { CnceNoise, NoiseComponent } from './noise.js';

/**
 * `2 log 2`, the CNCE loss when data and noise pairs cannot be told apart (oracle noise at θ*).
 *
 * @example
 * ```ts
 * import { TWO_LOG_2 } from '@joule/estimator-cnce';
 *
 * const gap = loss - TWO_LOG_2; // ≤ 0 at the optimum for any noise
 * ```
 */
export const TWO_LOG_2 = 2 * Math.log(2);

/**
 * Noise pairs for CNCE: `x` (each data point repeated `k` times, `[k·B, d]`), their noise points
 * `y` (`[k·B, d]`) and `logRatio = log p_n(y|x) − log p_n(x|y)` (`[k·B]`). No gradient flows through
 * them.
 *
 * @example
 * ```ts
 * import type { NoisePairs } from '@joule/estimator-cnce';
 *
 * function count(p: NoisePairs): number { return p.x.shape[0]; }
 * ```
 */
export interface NoisePairs {
  /** Data points, `[k·B, d]` (row `j·B + i` is data point `i`). */
  x: Tensor;
  /** Noise points, `[k·B, d]`. */
  y: Tensor;
  /** `log p_n(y|x) − log p_n(x|y)`, `[k·B]`. */
  logRatio: Tensor;
}

function checkBatch(op: string, arg: string, x: unknown): asserts x is Tensor {
  if (!(x instanceof Tensor) || x.rank !== 2 || x.shape[0] === 0) {
    throw new JouleError(
      op,
      arg,
      'a Tensor of shape [n, d] with n ≥ 1',
      x instanceof Tensor ? `shape [${x.shape}]` : typeof x,
    );
  }
}

function components(op: string, noise: CnceNoise): NoiseComponent[] {
  if (Array.isArray(noise)) {
    const parts = noise as readonly NoiseComponent[];
    if (parts.length === 0) throw new JouleError(op, 'noise', 'at least one noise component', 'an empty array');
    for (const [i, p] of parts.entries()) {
      if (!p || typeof p.noise?.given !== 'function') {
        throw new JouleError(op, `noise[${i}].noise`, 'a ConditionalDistribution', String(p?.noise));
      }
      if (typeof p.weight !== 'number' || !(p.weight > 0) || !Number.isFinite(p.weight)) {
        throw new JouleError(op, `noise[${i}].weight`, 'a finite positive number', String(p.weight));
      }
    }
    return [...parts];
  }
  const single = noise as ConditionalDistribution;
  if (!single || typeof single.given !== 'function') {
    throw new JouleError(op, 'noise', 'a ConditionalDistribution or an array of { noise, weight }', String(noise));
  }
  return [{ noise: single, weight: 1 }];
}

/** Splits `total` slots by `weights` (largest remainder), every count ≥ 0, summing to `total`. */
function allocate(total: number, weights: readonly number[]): number[] {
  const sum = weights.reduce((a, b) => a + b, 0);
  const exact = weights.map((w) => (w / sum) * total);
  const counts = exact.map(Math.floor);
  let left = total - counts.reduce((a, b) => a + b, 0);
  const order = exact.map((e, i) => [e - Math.floor(e), i] as const).sort((a, b) => b[0] - a[0]);
  for (const [, i] of order) {
    if (left-- <= 0) break;
    counts[i] = (counts[i] as number) + 1;
  }
  return counts;
}

/**
 * Draws `k` noise points per data point from a CNCE noise and their log-ratios. For a mixture of
 * noises, a deterministic share of the `k·B` slots (largest remainder of the weights) goes to each
 * component; the first slots go to the first component.
 *
 * @example
 * ```ts
 * import { localNoise, sampleNoisePairs } from '@joule/estimator-cnce';
 *
 * const { x: xs, y, logRatio } = sampleNoisePairs(localNoise(0.1), x, 1, rng);
 * ```
 */
export function sampleNoisePairs(noise: CnceNoise, x: Tensor, k: number, rng: Rng): NoisePairs {
  const op = 'sampleNoisePairs';
  checkBatch(op, 'x', x);
  if (!Number.isInteger(k) || k < 1) throw new JouleError(op, 'k', 'a positive integer', String(k));
  const parts = components(op, noise);
  return noGrad(() => {
    const xs =
      k === 1
        ? x
        : concat(
            Array.from({ length: k }, () => x),
            0,
          );
    const total = xs.shape[0] as number;
    const counts = allocate(
      total,
      parts.map((p) => p.weight),
    );
    const ys: Tensor[] = [];
    const lrs: Tensor[] = [];
    let start = 0;
    for (const [i, part] of parts.entries()) {
      const n = counts[i] as number;
      if (n === 0) continue;
      const xi = xs.slice([start, 0], [n, -1]);
      start += n;
      const forward: Distribution = part.noise.given(xi);
      const yi = forward.sample(n, rng);
      const lr = forward.logProb(yi).sub(part.noise.given(yi).logProb(xi));
      ys.push(yi);
      lrs.push(lr);
    }
    return {
      x: xs,
      y: ys.length === 1 ? (ys[0] as Tensor) : concat(ys, 0),
      logRatio: lrs.length === 1 ? (lrs[0] as Tensor) : concat(lrs, 0),
    };
  });
}

/**
 * The CNCE classifier's log-odds `F(x, y) = E(y) − E(x) + log p_n(y|x) − log p_n(x|y)` per pair
 * (`[n]`), in joule's sign `p ∝ exp(−E)`: `F > 0` means "(x, y) looks like (data, noise)".
 *
 * @example
 * ```ts
 * import { cnceLogOdds } from '@joule/estimator-cnce';
 *
 * const accuracy = cnceLogOdds(energy, pairs).gt(0).mean();
 * ```
 */
export function cnceLogOdds(energy: EnergyFn, pairs: NoisePairs): Tensor {
  const { x, y, logRatio } = pairs;
  checkBatch('cnceLogOdds', 'pairs.x', x);
  checkBatch('cnceLogOdds', 'pairs.y', y);
  if (
    x.shape[0] !== y.shape[0] ||
    x.shape[1] !== y.shape[1] ||
    logRatio.rank !== 1 ||
    logRatio.shape[0] !== x.shape[0]
  ) {
    throw new JouleError(
      'cnceLogOdds',
      'pairs',
      'x and y of one shape [n, d] and logRatio [n]',
      `x [${x.shape}], y [${y.shape}], logRatio [${logRatio.shape}]`,
    );
  }
  return energy(y).sub(energy(x)).add(logRatio);
}

/**
 * The CNCE loss (paper 001 eq. 13): `L = (2 / n) Σ softplus(−F(x_i, y_i))` over the pairs, with
 * `F` from {@link cnceLogOdds}. Its value at the optimum with oracle noise is `2 log 2`.
 *
 * @example
 * ```ts
 * import { cnceLoss, localNoise, sampleNoisePairs } from '@joule/estimator-cnce';
 *
 * const pairs = sampleNoisePairs(localNoise(0.1), x, 1, rng);
 * const loss = cnceLoss(energy, pairs); // scalar
 * ```
 */
export function cnceLoss(energy: EnergyFn, pairs: NoisePairs): Tensor {
  return cnceLogOdds(energy, pairs).neg().softplus().mean().mul(2);
}

/**
 * The binary NCE loss (Gutmann & Hyvärinen 2012) for a self-normalized energy `E` (so that
 * `−E(x)` is the model's log-density): with `G(u) = −E(u) − log p_n(u)` and `ν = n_y / n_x`,
 * `L = (1/n_x) [Σ_i softplus(log ν − G(x_i)) + Σ_j softplus(G(y_j) − log ν)]`. The noise points `y`
 * are drawn from `p_n` independently of the data `x`.
 *
 * @example
 * ```ts
 * import { nceLoss } from '@joule/estimator-cnce';
 *
 * const y = noise.sample(256, rng);
 * const loss = nceLoss(energy, x, y, noise.logProb(x), noise.logProb(y));
 * ```
 */
export function nceLoss(energy: EnergyFn, x: Tensor, y: Tensor, logNoiseX: Tensor, logNoiseY: Tensor): Tensor {
  const op = 'nceLoss';
  checkBatch(op, 'x', x);
  checkBatch(op, 'y', y);
  if (y.shape[1] !== x.shape[1]) throw new JouleError(op, 'y', `shape [m, ${x.shape[1]}]`, `shape [${y.shape}]`);
  if (logNoiseX.rank !== 1 || logNoiseX.shape[0] !== x.shape[0]) {
    throw new JouleError(op, 'logNoiseX', `shape [${x.shape[0]}]`, `shape [${logNoiseX.shape}]`);
  }
  if (logNoiseY.rank !== 1 || logNoiseY.shape[0] !== y.shape[0]) {
    throw new JouleError(op, 'logNoiseY', `shape [${y.shape[0]}]`, `shape [${logNoiseY.shape}]`);
  }
  const nx = x.shape[0] as number;
  const logNu = Math.log((y.shape[0] as number) / nx);
  const gx = energy(x).neg().sub(logNoiseX);
  const gy = energy(y).neg().sub(logNoiseY);
  const dataTerm = gx.neg().add(logNu).softplus().sum();
  const noiseTerm = gy.sub(logNu).softplus().sum();
  return dataTerm.add(noiseTerm).div(nx);
}

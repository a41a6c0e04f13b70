import { type EnergyFn, JouleError } from '@joule/core';
import { grad, Tensor } from '@joule/tensor';

/**
 * The noise levels of multi-level denoising score matching: level `t` corrupts a data point `x` as
 * `y = alpha[t]·x + sigma[t]·ε`, `ε ~ N(0, I)`. `alpha ≡ 1` is the variance-exploding form of
 * paper 001 eq. 2; `cosineSchedule` gives the variance-preserving DDPM of Du et al. (2023).
 *
 * @example
 * ```ts
 * import type { NoiseLevels } from '@joule/estimator-dsm';
 *
 * const levels: NoiseLevels = { alpha: [1, 1], sigma: [0.1, 1] };
 * ```
 */
export interface NoiseLevels {
  /** Signal scale per level (1 for variance-exploding). */
  readonly alpha: readonly number[];
  /** Noise standard deviation per level, > 0. */
  readonly sigma: readonly number[];
}

/**
 * `n` variance-exploding levels with standard deviations spaced geometrically from `sigmaMin`
 * (level 0) to `sigmaMax` (level n − 1), as in Song & Ermon (2019).
 *
 * @example
 * ```ts
 * import { geometricLevels } from '@joule/estimator-dsm';
 *
 * const levels = geometricLevels(0.01, 1, 10); // sigma[0] = 0.01, sigma[9] = 1
 * ```
 */
export function geometricLevels(sigmaMin: number, sigmaMax: number, n: number): NoiseLevels {
  if (!(sigmaMin > 0) || !(sigmaMax >= sigmaMin) || !Number.isFinite(sigmaMax)) {
    throw new JouleError(
      'geometricLevels',
      'sigmaMin, sigmaMax',
      '0 < sigmaMin ≤ sigmaMax < ∞',
      `${sigmaMin}, ${sigmaMax}`,
    );
  }
  if (!Number.isInteger(n) || n < 1) throw new JouleError('geometricLevels', 'n', 'a positive integer', String(n));
  const sigma = Array.from({ length: n }, (_, i) =>
    n === 1 ? sigmaMin : sigmaMin * (sigmaMax / sigmaMin) ** (i / (n - 1)),
  );
  return { alpha: sigma.map(() => 1), sigma };
}

/**
 * The variance-preserving cosine schedule of Nichol & Dhariwal (2021) with `T` steps, as in the
 * EBM-diffusion code of Du et al. (2023) that paper 001 builds on: `ᾱ(u) = cos²(((u/T) + s)/(1 + s)·π/2)
 * / cos²(s/(1 + s)·π/2)`, `β_t = min(1 − ᾱ(t+1)/ᾱ(t), 0.999)`, `ᾱ_t = Π_{τ≤t}(1 − β_τ)`; level `t` has
 * `alpha = √ᾱ_t`, `sigma = √(1 − ᾱ_t)`.
 *
 * @example
 * ```ts
 * import { cosineSchedule } from '@joule/estimator-dsm';
 *
 * const { sigma } = cosineSchedule(100); // sigma[0] ≈ 0.0251
 * ```
 */
export function cosineSchedule(T = 100, s = 0.008): NoiseLevels {
  if (!Number.isInteger(T) || T < 1) throw new JouleError('cosineSchedule', 'T', 'a positive integer', String(T));
  if (!(s >= 0) || !Number.isFinite(s)) throw new JouleError('cosineSchedule', 's', 'a finite number ≥ 0', String(s));
  const f = (u: number) => Math.cos(((u / T + s) / (1 + s)) * (Math.PI / 2)) ** 2;
  const alpha: number[] = [];
  const sigma: number[] = [];
  let bar = 1;
  for (let t = 0; t < T; t++) {
    const beta = Math.min(Math.max(1 - f(t + 1) / f(t), 0), 0.999);
    bar *= 1 - beta;
    alpha.push(Math.sqrt(bar));
    sigma.push(Math.sqrt(1 - bar));
  }
  return { alpha, sigma };
}

/**
 * The denoising score matching loss for an energy (paper 001 eq. 1 in joule's sign; the score is
 * `−∇_y E`): with `y = alpha·x + sigma·eps`,
 * `L = (1/n) Σ_i ‖sigma_i ∇_y E(y_i) − eps_i‖²`, i.e. `sigma²·‖∇_y E(y) − (y − alpha x)/sigma²‖²`
 * (the usual `λ(σ) = σ²` weighting). `alpha` and `sigma` are numbers or per-row `[n, 1]` tensors;
 * `context` (`[n, c]`) is passed to the energy. Differentiating it in the energy's parameters takes
 * a gradient of a gradient.
 *
 * @example
 * ```ts
 * import { dsmLoss } from '@joule/estimator-dsm';
 * import { randn } from '@joule/tensor';
 *
 * const loss = dsmLoss(energy, x, randn(x.shape, rng), 1, 0.1); // scalar
 * ```
 */
export function dsmLoss(
  energy: EnergyFn,
  x: Tensor,
  eps: Tensor,
  alpha: number | Tensor,
  sigma: number | Tensor,
  context?: Tensor,
): Tensor {
  const op = 'dsmLoss';
  if (!(x instanceof Tensor) || x.rank !== 2 || x.shape[0] === 0) {
    throw new JouleError(
      op,
      'x',
      'a Tensor of shape [n, d] with n ≥ 1',
      x instanceof Tensor ? `shape [${x.shape}]` : typeof x,
    );
  }
  if (!(eps instanceof Tensor) || eps.shape.join() !== x.shape.join()) {
    throw new JouleError(op, 'eps', `shape [${x.shape}]`, eps instanceof Tensor ? `shape [${eps.shape}]` : typeof eps);
  }
  if (typeof sigma === 'number' && !(sigma > 0)) throw new JouleError(op, 'sigma', 'a positive number', String(sigma));
  const y = x.mul(alpha).add(eps.mul(sigma));
  const gradY = grad((u: Tensor) => energy(u, context).sum())(y) as Tensor;
  return gradY.mul(sigma).sub(eps).square().sum(1).mean();
}

import { type ConditionalDistribution, type Distribution, JouleError } from '@joule/core';
import { Conditional, DiagNormal, GaussianKDE } from '@joule/distributions';
import { type Rng, stack, type Tensor, tensor, where } from '@joule/tensor';

/**
 * One part of a mixture of CNCE noises: a conditional noise and the fraction of noise samples it
 * draws ("the proportion of noises", paper 001 App. C.1).
 *
 * @example
 * ```ts
 * import { type NoiseComponent, localNoise } from '@joule/estimator-cnce';
 *
 * const part: NoiseComponent = { noise: localNoise(0.1), weight: 0.75 };
 * ```
 */
export interface NoiseComponent {
  /** The conditional noise `p_n(y | x)`. */
  noise: ConditionalDistribution;
  /** Its share of the noise samples, > 0 (the shares are normalized). */
  weight: number;
}

/**
 * A CNCE noise: one conditional distribution `p_n(y | x)`, or a mixture of them given as
 * {@link NoiseComponent}s (each noise sample is drawn by exactly one component, in the proportions
 * of the weights, and is scored with that component's own log-ratio).
 *
 * @example
 * ```ts
 * import { type CnceNoise, localNoise } from '@joule/estimator-cnce';
 *
 * const noise: CnceNoise = localNoise(0.1);
 * ```
 */
export type CnceNoise = ConditionalDistribution | readonly NoiseComponent[];

/**
 * The local noise of CNCE: a Gaussian perturbation `y = x + σ ε`, `p_n(y | x) = N(y; x, σ² I)`.
 * `sigma` is a standard deviation (the paper's eq. 1 writes the variance `ε = σ²`). The kernel is
 * symmetric, so its log-ratio `log p_n(y|x) − log p_n(x|y)` is 0.
 *
 * @example
 * ```ts
 * import { localNoise } from '@joule/estimator-cnce';
 *
 * const noise = localNoise(0.1);
 * const y = noise.given(x).sample(x.shape[0], rng); // one jump per row of x
 * ```
 */
export function localNoise(sigma: number): ConditionalDistribution {
  if (typeof sigma !== 'number' || !Number.isFinite(sigma) || sigma <= 0) {
    throw new JouleError('localNoise', 'sigma', 'a finite positive standard deviation', String(sigma));
  }
  return new Conditional((context: Tensor) => new DiagNormal(context, sigma));
}

/**
 * Global noise: jumps that ignore the current point, `p_n(y | x) = q(y)` for an unconditional
 * distribution `q`. With `q` the data density this is the near-optimal noise of Corollary 2 of
 * paper 001; the log-ratio is `log q(y) − log q(x)`.
 *
 * @example
 * ```ts
 * import { globalNoise } from '@joule/estimator-cnce';
 * import { GaussianKDE } from '@joule/distributions';
 *
 * const noise = globalNoise(new GaussianKDE(data, { bandwidth: { std: 0.1 } }));
 * ```
 */
export function globalNoise(q: Distribution): ConditionalDistribution {
  if (q === null || typeof q !== 'object' || typeof q.sample !== 'function' || typeof q.logProb !== 'function') {
    throw new JouleError('globalNoise', 'q', 'a Distribution (sample, logProb)', String(q));
  }
  return new Conditional(() => q, q.dim);
}

/**
 * The paper's global "mode-jumping" noise: jumps to a Gaussian KDE of the data, `q(y) = (1/N) Σ_n
 * N(y; x_n, σ² I)` with a fixed kernel standard deviation `sigma` (the "CNCE GMM" column of
 * Table 1).
 *
 * @example
 * ```ts
 * import { kdeNoise } from '@joule/estimator-cnce';
 *
 * const noise = kdeNoise(trainingData, 0.1); // trainingData: [N, d]
 * ```
 */
export function kdeNoise(data: Tensor, sigma: number): ConditionalDistribution {
  if (typeof sigma !== 'number' || !Number.isFinite(sigma) || sigma <= 0) {
    throw new JouleError('kdeNoise', 'sigma', 'a finite positive standard deviation', String(sigma));
  }
  return globalNoise(new GaussianKDE(data, { bandwidth: { std: sigma } }));
}

/**
 * The paper's proposal, "CNCE mix": a fraction `localFraction` of the noise samples are local
 * Gaussian perturbations of std `sigmaLocal`, the rest are global jumps to a KDE of `data` with
 * kernel std `sigmaGlobal` (a mixture of two CNCE losses, reading (d1) of the digest).
 *
 * @example
 * ```ts
 * import { CNCE, mixedNoise } from '@joule/estimator-cnce';
 *
 * const noise = mixedNoise(trainingData, { sigmaLocal: 0.1, sigmaGlobal: 0.1, localFraction: 0.75 });
 * ```
 */
export function mixedNoise(
  data: Tensor,
  options: { sigmaLocal: number; sigmaGlobal: number; localFraction: number },
): NoiseComponent[] {
  const f = options?.localFraction;
  if (typeof f !== 'number' || !(f > 0 && f < 1)) {
    throw new JouleError('mixedNoise', 'options.localFraction', 'a number in (0, 1)', String(f));
  }
  return [
    { noise: localNoise(options.sigmaLocal), weight: f },
    { noise: kdeNoise(data, options.sigmaGlobal), weight: 1 - f },
  ];
}

/**
 * One CNCE noise whose kernel is a mixture (reading d2 of "CNCE mix"): `p_n(y | x) = Σ_i w_i
 * p_i(y | x)`, so each noise point comes from component `i` with probability `w_i` and the
 * log-ratio is that of the mixture density, `log Σ_i w_i p_i(y|x) − log Σ_i w_i p_i(x|y)`. Compare
 * {@link mixedNoise} (reading d1, a mixture of losses, the default here).
 *
 * @example
 * ```ts
 * import { kdeNoise, localNoise, mixtureKernel } from '@joule/estimator-cnce';
 *
 * const noise = mixtureKernel([
 *   { noise: localNoise(0.1), weight: 0.75 },
 *   { noise: kdeNoise(trainingData, 0.1), weight: 0.25 },
 * ]);
 * ```
 */
export function mixtureKernel(components: readonly NoiseComponent[]): ConditionalDistribution {
  const op = 'mixtureKernel';
  if (!Array.isArray(components) || components.length === 0) {
    throw new JouleError(op, 'components', 'a non-empty array of { noise, weight }', String(components));
  }
  for (const [i, c] of components.entries()) {
    if (!c || typeof c.noise?.given !== 'function') {
      throw new JouleError(op, `components[${i}].noise`, 'a ConditionalDistribution', String(c?.noise));
    }
    if (typeof c.weight !== 'number' || !(c.weight > 0) || !Number.isFinite(c.weight)) {
      throw new JouleError(op, `components[${i}].weight`, 'a finite positive number', String(c.weight));
    }
  }
  const total = components.reduce((s, c) => s + c.weight, 0);
  const logW = components.map((c) => Math.log(c.weight / total));
  const cumulative = components.map((_, i) => components.slice(0, i + 1).reduce((s, c) => s + c.weight, 0) / total);
  return new Conditional((context: Tensor): Distribution => {
    const parts = components.map((c) => c.noise.given(context));
    const dim = context.shape[1] as number;
    return {
      dim,
      sample(n: number, rng: Rng): Tensor {
        const u = rng.uniform(n);
        const pick = Array.from(u, (v) => {
          const i = cumulative.findIndex((c) => v < c);
          return i < 0 ? components.length - 1 : i;
        });
        let out = parts[0]?.sample(n, rng) as Tensor;
        for (let i = 1; i < parts.length; i++) {
          const mask = tensor(
            pick.map((p) => (p === i ? 1 : 0)),
            [n, 1],
          );
          out = where(mask, (parts[i] as Distribution).sample(n, rng), out);
        }
        return out;
      },
      logProb(y: Tensor): Tensor {
        return stack(
          parts.map((p, i) => p.logProb(y).add(logW[i] as number)),
          1,
        ).logSumExp(1);
      },
    };
  });
}

import { JouleError } from '@joule/core';
import type { ParamTree } from '@joule/nn';
import type { Rng, Tensor } from '@joule/tensor';

/**
 * How Algorithm 1 trains the negative sampler `p_ξ` (line 7): a parameter tree and a scalar loss of
 * it on a batch of points `x` `[n, d]` (with their `context` `[n, c]` when conditional). Use
 * {@link maximumLikelihood} for the NLL, or the family's own loss (Remark 3.1), e.g. an
 * interpolant's velocity loss from `@joule/interpolants`. The negatives are drawn from the
 * estimator's `negatives` distribution, which must read the parameters this objective `load`s.
 *
 * @example
 * ```ts
 * import type { SamplerObjective } from '@joule/estimator-rnce';
 * import { velocityLoss } from '@joule/interpolants';
 *
 * const objective: SamplerObjective = {
 *   parameters: () => field.parameters(),
 *   load: (p) => field.load(p),
 *   loss: (p, x, context, rng) => velocityLoss((u, t, c) => field.apply(p, u, t, c), interpolant, x, rng, { context }),
 * };
 * ```
 */
export interface SamplerObjective {
  /** The sampler's current parameters `ξ`. */
  parameters(): ParamTree;
  /** Replaces the sampler's parameters (the negatives distribution must see them). */
  load(params: ParamTree): unknown;
  /** The scalar loss of `params` on the points `x` `[n, d]` (and `context` `[n, c]`). */
  loss(params: ParamTree, x: Tensor, context: Tensor | undefined, rng: Rng): Tensor;
}

/**
 * A sampler whose draws and log-densities are differentiable in its parameters (a reparameterized
 * Gaussian, a discrete flow…): what the adversarial variant of Section 4.3.2 needs, since there the
 * sampler's update differentiates the R-NCE loss through the negatives and through `log p_ξ`.
 *
 * @example
 * ```ts
 * import type { ReparameterizedSampler } from '@joule/estimator-rnce';
 * import { randn } from '@joule/tensor';
 *
 * // q = N(m, exp(s)²) in 1-D.
 * const adversary: ReparameterizedSampler = {
 *   parameters: () => params,
 *   load: (p) => { params = p; },
 *   sampleAndLogProb: (p, k, n, rng) => { … }, // x [k, n, 1], logProb [k, n]
 *   logProb: (p, x) => { … },                  // [n]
 * };
 * ```
 */
export interface ReparameterizedSampler {
  /** The sampler's current parameters `ξ`. */
  parameters(): ParamTree;
  /** Replaces the sampler's parameters. */
  load(params: ParamTree): unknown;
  /** `k` draws for each of `n` points (given `context` `[n, c]`), `[k, n, d]`, with `log p_ξ`, `[k, n]`. */
  sampleAndLogProb(
    params: ParamTree,
    k: number,
    n: number,
    rng: Rng,
    context?: Tensor,
  ): {
    /** The draws, `[k, n, d]`. */
    x: Tensor;
    /** Their log-density, `[k, n]`. */
    logProb: Tensor;
  };
  /** `log p_ξ(x | context)` of points `[n, d]`, `[n]`. */
  logProb(params: ParamTree, x: Tensor, context?: Tensor): Tensor;
}

/**
 * A sampler with a log-density that is a pure function of its parameters: what
 * {@link maximumLikelihood} needs.
 *
 * @example
 * ```ts
 * import type { LogDensityModel } from '@joule/estimator-rnce';
 *
 * const model: LogDensityModel = { parameters: () => p, load: (q) => { p = q; }, logProb: (q, x) => … };
 * ```
 */
export interface LogDensityModel {
  /** The current parameters. */
  parameters(): ParamTree;
  /** Replaces the parameters. */
  load(params: ParamTree): unknown;
  /** `log p(x | context)` under `params`, `[n]`. */
  logProb(params: ParamTree, x: Tensor, context?: Tensor): Tensor;
}

/**
 * Algorithm 1's default sampler objective (line 2): the negative mean log-likelihood
 * `−mean_i log p_ξ(x_i | context_i)` of the batch.
 *
 * @example
 * ```ts
 * import { maximumLikelihood, RnceEstimator } from '@joule/estimator-rnce';
 *
 * const est = new RnceEstimator(energyModel, {
 *   negatives: samplerView, // reads the parameters of `sampler`
 *   joint: { objective: maximumLikelihood(sampler), samplerSteps: 2, rnceSteps: 2 },
 * });
 * ```
 */
export function maximumLikelihood(model: LogDensityModel): SamplerObjective {
  if (!model || typeof model.logProb !== 'function' || typeof model.parameters !== 'function') {
    throw new JouleError('maximumLikelihood', 'model', 'a LogDensityModel (parameters, load, logProb)', String(model));
  }
  return {
    parameters: () => model.parameters(),
    load: (params) => model.load(params),
    loss: (params, x, context) => model.logProb(params, x, context).mean().neg(),
  };
}

/**
 * The `T_samp` / `T_rnce` schedule of Algorithm 1: each outer iteration takes `samplerSteps`
 * sampler updates, then `rnceSteps` energy updates, one batch each.
 *
 * @example
 * ```ts
 * import type { Schedule } from '@joule/estimator-rnce';
 *
 * const schedule: Schedule = { samplerSteps: 5, rnceSteps: 2 }; // the paper's (T_samp, T_rnce) = (5, 2)
 * ```
 */
export interface Schedule {
  /** `T_samp`, sampler updates per outer iteration (default 1). */
  samplerSteps?: number;
  /** `T_rnce`, energy updates per outer iteration (default 1). */
  rnceSteps?: number;
  /** Adam learning rate of the sampler (default 1e-3). */
  lr?: number;
}

/**
 * Algorithm 1 with a jointly trained negative sampler: the sampler follows its own objective (not
 * the R-NCE loss), the energy the R-NCE loss against the sampler's current negatives.
 *
 * @example
 * ```ts
 * import { type JointTraining, maximumLikelihood } from '@joule/estimator-rnce';
 *
 * const joint: JointTraining = { objective: maximumLikelihood(sampler), samplerSteps: 2, rnceSteps: 2, lr: 1e-3 };
 * ```
 */
export interface JointTraining extends Schedule {
  /** The sampler's objective (maximum likelihood or the family's own loss). */
  objective: SamplerObjective;
}

/**
 * The adversarial variant of Section 4.3.2 (eq. 4.9): the sampler's updates ascend the R-NCE loss
 * (it minimizes the ranking objective the energy maximizes), differentiating through its draws and
 * its log-density.
 *
 * @example
 * ```ts
 * import type { AdversarialTraining } from '@joule/estimator-rnce';
 *
 * const adversarial: AdversarialTraining = { sampler: adversary, samplerSteps: 1, rnceSteps: 1, lr: 1e-3 };
 * ```
 */
export interface AdversarialTraining extends Schedule {
  /** The reparameterized sampler. */
  sampler: ReparameterizedSampler;
}

/** The validated schedule: `[T_samp, T_rnce, lr]`. */
export function checkSchedule(op: string, arg: string, s: Schedule): [number, number, number] {
  const samplerSteps = s.samplerSteps ?? 1;
  const rnceSteps = s.rnceSteps ?? 1;
  const lr = s.lr ?? 1e-3;
  if (!Number.isInteger(samplerSteps) || samplerSteps < 1) {
    throw new JouleError(op, `${arg}.samplerSteps`, 'a positive integer', String(samplerSteps));
  }
  if (!Number.isInteger(rnceSteps) || rnceSteps < 1) {
    throw new JouleError(op, `${arg}.rnceSteps`, 'a positive integer', String(rnceSteps));
  }
  if (!(lr > 0) || !Number.isFinite(lr)) throw new JouleError(op, `${arg}.lr`, 'a finite positive number', String(lr));
  return [samplerSteps, rnceSteps, lr];
}

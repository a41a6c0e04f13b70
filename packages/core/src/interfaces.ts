import type { Rng, Tensor } from '@joule/tensor';

/**
 * An energy function: a batch of points `x` of shape `[n, d]` (and, for a conditional energy, a
 * context of shape `[n, c]`) to energies of shape `[n]`.
 *
 * joule's sign convention is `p(x) ∝ exp(-E(x))`: low energy is high probability.
 *
 * @example
 * ```ts
 * import type { EnergyFn } from '@joule/core';
 *
 * // A standard Gaussian: E(x) = |x|² / 2, so p(x) ∝ exp(-|x|² / 2).
 * const gaussian: EnergyFn = (x) => x.square().sum(1).mul(0.5);
 * ```
 */
export type EnergyFn = (x: Tensor, context?: Tensor) => Tensor;

/**
 * A probability distribution over `R^dim` that can be sampled and evaluated.
 *
 * @example
 * ```ts
 * import type { Distribution } from '@joule/core';
 *
 * function meanLogProb(p: Distribution, n: number, rng: Rng): Tensor {
 *   return p.logProb(p.sample(n, rng)).mean();
 * }
 * ```
 */
export interface Distribution {
  /**
   * The dimension `d` of one point.
   *
   * @example
   * ```ts
   * const x = p.sample(128, rng); // shape [128, p.dim]
   * ```
   */
  readonly dim: number;
  /**
   * Draws `n` independent points, shape `[n, dim]`.
   *
   * @example
   * ```ts
   * const x = p.sample(1000, new Rng(0));
   * ```
   */
  sample(n: number, rng: Rng): Tensor;
  /**
   * The log-density of each point of `x` (shape `[n, dim]`), shape `[n]`.
   *
   * @example
   * ```ts
   * const nll = p.logProb(x).mean().neg();
   * ```
   */
  logProb(x: Tensor): Tensor;
}

/**
 * A family of distributions indexed by a context; `given` turns a batch of contexts into an
 * ordinary {@link Distribution} (as in zuko's conditional flows: one idea, not two APIs).
 *
 * @example
 * ```ts
 * import type { ConditionalDistribution } from '@joule/core';
 *
 * // context [n, c] -> a batch of n distributions; one sample per context:
 * const x = q.given(context).sample(n, rng); // [n, d]
 * ```
 */
export interface ConditionalDistribution {
  /**
   * The distribution of `x` given `context` (shape `[n, c]`).
   *
   * @example
   * ```ts
   * const logq = q.given(context).logProb(x); // [n]
   * ```
   */
  given(context: Tensor): Distribution;
}

/**
 * A distribution that draws `k` samples together with their exact log-density, in one pass (a
 * flow's forward pass gives both at once).
 *
 * Shapes: an unconditional distribution returns `x` of shape `[k, d]` and `logProb` of shape `[k]`
 * (as `sample(k)` and `logProb` do); a batch of `n` distributions — what a conditional
 * distribution's `given(context)` returns for a `[n, c]` context — returns `[k, n, d]` and `[k, n]`,
 * `k` draws per context row.
 *
 * @example
 * ```ts
 * import type { SampleWithLogProb } from '@joule/core';
 *
 * function negatives(sampler: SampleWithLogProb, rng: Rng) {
 *   const { x, logProb } = sampler.sampleAndLogProb(16, rng); // [16, n, d], [16, n]
 *   return { x, logProb };
 * }
 * ```
 */
export interface SampleWithLogProb {
  /**
   * Draws `k` samples per batch element with their log-density.
   *
   * @example
   * ```ts
   * const { x, logProb } = sampler.sampleAndLogProb(4, rng);
   * ```
   */
  sampleAndLogProb(
    k: number,
    rng: Rng,
  ): {
    /** The samples, shape `[k, d]` (unconditional) or `[k, n, d]` (a batch of `n`). */
    x: Tensor;
    /** Their log-density, shape `[k]` or `[k, n]`. */
    logProb: Tensor;
  };
}

/**
 * An MCMC transition kernel as a pure `init` + `step` pair (the BlackJAX shape): the state `S`
 * carries everything the chain needs, `step` returns the next state and per-step diagnostics `I`.
 * A proposal that produces NaN is rejected, never propagated.
 *
 * @typeParam S - the chain state, e.g. `{ x, energy, grad }`
 * @typeParam I - per-step information, e.g. `{ acceptance }`
 *
 * @example
 * ```ts
 * import type { Kernel } from '@joule/core';
 *
 * function run<S, I>(kernel: Kernel<S, I>, x0: Tensor, energy: EnergyFn, steps: number, rng: Rng): S {
 *   let state = kernel.init(x0, energy);
 *   for (let t = 0; t < steps; t++) state = kernel.step(rng, state).state;
 *   return state;
 * }
 * ```
 */
export interface Kernel<S, I = Record<string, number>> {
  /**
   * Builds the initial state from starting points `x` (`[n, d]`), the energy to sample from and,
   * for a conditional energy, its context (`[n, c]`).
   *
   * @example
   * ```ts
   * const state = kernel.init(x0, energy);
   * ```
   */
  init(x: Tensor, energy: EnergyFn, context?: Tensor): S;
  /**
   * Advances every chain by one transition.
   *
   * @example
   * ```ts
   * const { state: next, info } = kernel.step(rng, state);
   * ```
   */
  step(
    rng: Rng,
    state: S,
  ): {
    /** The state after the transition. */
    state: S;
    /** Diagnostics of this transition (acceptance, step size…). */
    info: I;
  };
}

/**
 * A resampler: from log-weights of shape `[n]` (unnormalized is fine) to `n` ancestor indices.
 *
 * @example
 * ```ts
 * import type { Resampler } from '@joule/core';
 *
 * // Keep the highest-weight particle n times (a toy, not a valid resampler).
 * const greedy: Resampler = (logWeights) => {
 *   const w = logWeights.dataSync();
 *   const best = w.indexOf(Math.max(...w));
 *   return new Int32Array(w.length).fill(best);
 * };
 * ```
 */
export type Resampler = (logWeights: Tensor, rng: Rng) => Int32Array;

/**
 * A conditional mini-batch: points and their row-aligned contexts. Conditional estimators take
 * it as their batch type (`Estimator<ConditionalBatch>`), and `@joule/train` builds it when the
 * data has a context.
 *
 * @example
 * ```ts
 * import type { ConditionalBatch } from '@joule/core';
 *
 * const batch: ConditionalBatch = { x: actions, context: observations }; // [n, d], [n, c]
 * ```
 */
export interface ConditionalBatch {
  /** The points, `[n, d]`. */
  x: Tensor;
  /** The context of each point, `[n, c]`. */
  context: Tensor;
}

/**
 * A training method: one `step` is one training iteration on a batch. An estimator receives its
 * parts (energy, sampler, noise distribution…) through the interfaces of this package, never by
 * importing a concrete flow or interpolant.
 *
 * @typeParam B - the batch type, a `[n, d]` `Tensor` by default
 *
 * @example
 * ```ts
 * import type { Estimator } from '@joule/core';
 *
 * async function train(est: Estimator, batches: Tensor[], rng: Rng) {
 *   for (const batch of batches) {
 *     const stats = await est.step(batch, rng); // e.g. { loss: 0.71 }
 *     console.log(est.name, stats);
 *   }
 * }
 * ```
 */
export interface Estimator<B = Tensor> {
  /**
   * A short identifier of the method, e.g. `'cnce'`.
   *
   * @example
   * ```ts
   * console.log(est.name); // 'cnce'
   * ```
   */
  readonly name: string;
  /**
   * The energy being trained, `p(x) ∝ exp(-energy(x))`.
   *
   * @example
   * ```ts
   * const e = est.energy(x); // [n]
   * ```
   */
  readonly energy: EnergyFn;
  /**
   * Runs one training iteration and resolves to named scalars (losses, acceptance, ESS…).
   *
   * @example
   * ```ts
   * const { loss } = await est.step(batch, rng);
   * ```
   */
  step(batch: B, rng: Rng): Promise<Record<string, number>>;
  /**
   * Draws `n` samples from the trained model, when the method has a sampler.
   *
   * @example
   * ```ts
   * const x = await est.sample?.(1000, rng);
   * ```
   */
  sample?(n: number, rng: Rng, context?: Tensor): Promise<Tensor>;
  /**
   * Everything needed to resume training (parameters, optimizer and sampler state), as plain data.
   * The tensors in it are the caller's: snapshots (sharing storage with the live ones, see
   * `stopGradient`) that stay valid while training goes on, and that the caller disposes when done.
   *
   * @example
   * ```ts
   * const checkpoint = est.state();
   * await save(checkpoint);
   * dispose(checkpoint); // the live parameters are untouched
   * ```
   */
  state(): Record<string, unknown>;
  /**
   * Restores what {@link Estimator.state} returned.
   *
   * @example
   * ```ts
   * est.load(checkpoint);
   * ```
   */
  load(state: Record<string, unknown>): void;
}

/**
 * A sample-quality metric: a named async function from samples (`[n, d]`) and a reference (samples
 * or a distribution) to a number.
 *
 * @example
 * ```ts
 * import type { Metric } from '@joule/core';
 *
 * async function report(metrics: Metric[], samples: Tensor, truth: Distribution) {
 *   for (const m of metrics) console.log(m.name, await m(samples, truth));
 * }
 * ```
 */
export interface Metric {
  /**
   * Computes the metric.
   *
   * @example
   * ```ts
   * const value = await mmd(samples, reference);
   * ```
   */
  (samples: Tensor, reference: Tensor | Distribution): Promise<number>;
  /**
   * A short identifier, e.g. `'mmd'`.
   *
   * @example
   * ```ts
   * console.log(metric.name); // 'mmd'
   * ```
   */
  readonly name: string;
}

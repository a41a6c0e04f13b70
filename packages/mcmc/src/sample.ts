import { assertPositiveInt, type EnergyFn, JouleError, type Kernel } from '@joule/core';
import { type Rng, Tensor, tensor } from '@joule/tensor';
import { assertFiniteState, disposeReplaced, disposeState, type StepInfo } from './state.js';

/**
 * Options of {@link sample}.
 *
 * @example
 * ```ts
 * const options: SampleOptions<ChainState, StepInfo> = { steps: 1000, burnIn: 200, thin: 2, rng: new Rng(0) };
 * ```
 */
export interface SampleOptions<S, I> {
  /** Transitions after burn-in; every `thin`-th of them is kept, `⌊steps / thin⌋` draws. */
  readonly steps: number;
  /** Transitions run first and discarded (default 0). */
  readonly burnIn?: number;
  /** Keep one draw every `thin` transitions (default 1). */
  readonly thin?: number;
  /** The random generator; the same seed gives the same draws. */
  readonly rng: Rng;
  /** The conditioning context `[n, c]` passed to the energy (when `init` is a tensor). */
  readonly context?: Tensor;
  /**
   * Called after every transition (burn-in included) with the 0-based step index; `state` and
   * `info` are valid during the call only (they are disposed as the chain moves on). May be async.
   */
  readonly onStep?: (event: { step: number; burnIn: boolean; state: S; info: I }) => void | Promise<void>;
  /**
   * What a non-finite proposal does: `'error'` (default) throws a `JouleError` naming the
   * chain and the step; `'reject'` keeps the kernel's rejection (the chain stays) and counts it.
   */
  readonly onNonFinite?: 'error' | 'reject';
}

/**
 * What {@link sample} returns.
 *
 * @example
 * ```ts
 * const { draws, state, acceptanceRate } = await sample(kernel, energy, x0, { steps: 100, rng });
 * ```
 */
export interface SampleResult<S> {
  /** The kept positions, `[kept, n, d]`. */
  readonly draws: Tensor;
  /** The final state (owned by the caller; continue sampling from it or dispose it). */
  readonly state: S;
  /** The fraction of accepted proposals over all chains and post-burn-in steps. */
  readonly acceptanceRate: number;
  /** Per chain: the fraction of post-burn-in steps that moved. */
  readonly chainAcceptanceRate: Float64Array;
  /** Per chain: the mean Metropolis–Hastings acceptance probability after burn-in. */
  readonly meanAcceptanceProb: Float64Array;
  /** Per chain: how many proposals were non-finite (all steps, burn-in included). */
  readonly nonFiniteCount: Int32Array;
}

/** True for a state object (not a tensor) with a position `x`. */
function isState(value: unknown): value is { x: Tensor } {
  return (
    value !== null &&
    typeof value === 'object' &&
    !(value instanceof Tensor) &&
    (value as { x?: unknown }).x instanceof Tensor
  );
}

/**
 * Runs `kernel` from `init` (starting points `[n, d]`, or a state from an earlier run or from
 * {@link warmup}) for `burnIn + steps` transitions, keeping every `thin`-th position after
 * burn-in. Steps are vectorized over the `n` chains; memory stays flat (each replaced state is
 * disposed). A state passed as `init` is not disposed (the caller still owns it).
 *
 * Throws a `JouleError` when an energy or gradient at the starting points is not finite
 * (naming the chain), and by default when a chain proposes a non-finite point (naming the chain
 * and the step; pass `onNonFinite: 'reject'` to let the kernel reject such proposals silently).
 *
 * @example
 * ```ts
 * import { mala, sample } from '@joule/mcmc';
 * import { randn, Rng } from '@joule/tensor';
 *
 * const energy = (x) => x.square().sum(1).mul(0.5);
 * const { draws, acceptanceRate } = await sample(mala({ stepSize: 0.5 }), energy, randn([16, 2], new Rng(0)), {
 *   steps: 1000, burnIn: 100, rng: new Rng(1),
 * });
 * draws.shape; // [1000, 16, 2]
 * ```
 */
export async function sample<
  S extends {
    /** The chains' positions, `[n, d]`. */
    readonly x: Tensor;
  },
  I extends StepInfo,
>(kernel: Kernel<S, I>, energy: EnergyFn, init: Tensor | S, options: SampleOptions<S, I>): Promise<SampleResult<S>> {
  const op = 'sample';
  if (
    kernel === null ||
    typeof kernel !== 'object' ||
    typeof kernel.step !== 'function' ||
    typeof kernel.init !== 'function'
  ) {
    throw new JouleError(op, 'kernel', 'a Kernel { init, step }', typeof kernel);
  }
  if (options === null || typeof options !== 'object')
    throw new JouleError(op, 'options', '{ steps, rng, … }', typeof options);
  assertPositiveInt(op, 'steps', options.steps);
  const burnIn = options.burnIn ?? 0;
  if (!Number.isInteger(burnIn) || burnIn < 0)
    throw new JouleError(op, 'burnIn', 'a non-negative integer', String(burnIn));
  const thin = options.thin ?? 1;
  assertPositiveInt(op, 'thin', thin);
  if (options.rng === null || typeof options.rng !== 'object' || typeof options.rng.normal !== 'function') {
    throw new JouleError(op, 'rng', 'an Rng', typeof options.rng);
  }
  const onNonFinite = options.onNonFinite ?? 'error';
  if (onNonFinite !== 'error' && onNonFinite !== 'reject')
    throw new JouleError(op, 'onNonFinite', "'error' or 'reject'", String(onNonFinite));

  const userState = isState(init);
  if (!userState && !(init instanceof Tensor))
    throw new JouleError(op, 'init', 'a Tensor [n, d] or a kernel state', typeof init);
  let state: S = userState ? (init as S) : kernel.init(init as Tensor, energy, options.context);
  const [n, d] = state.x.shape;
  const withCache = state as unknown as { energy?: unknown; grad?: unknown };
  if (withCache.energy instanceof Tensor && withCache.grad instanceof Tensor) {
    try {
      assertFiniteState(op, await withCache.energy.data(), await withCache.grad.data(), d);
    } catch (e) {
      if (!userState) disposeState(state);
      throw e;
    }
  }

  const kept = Math.floor(options.steps / thin);
  const draws = new Float32Array(kept * n * d);
  const moved = new Float64Array(n);
  const probSum = new Float64Array(n);
  const nonFiniteCount = new Int32Array(n);
  const total = burnIn + options.steps;
  let next = 0;
  let ownsState = !userState;
  for (let t = 0; t < total; t++) {
    const { state: after, info } = kernel.step(options.rng, state);
    const afterBurnIn = t >= burnIn;
    try {
      const bad = await info.nonFinite.data();
      for (let i = 0; i < n; i++) {
        if (bad[i] === 0) continue;
        nonFiniteCount[i]++;
        if (onNonFinite === 'error') {
          throw new JouleError(
            op,
            'energy',
            'finite positions, energies and gradients along every chain',
            `chain ${i} proposed a non-finite point at step ${t} (reduce the step size, or pass onNonFinite: 'reject')`,
          );
        }
      }
      if (afterBurnIn) {
        const [acc, prob] = await Promise.all([info.accepted.data(), info.acceptanceProb.data()]);
        for (let i = 0; i < n; i++) {
          moved[i] += acc[i];
          probSum[i] += Number.isFinite(prob[i]) ? prob[i] : 0;
        }
        if ((t - burnIn + 1) % thin === 0 && next < kept) {
          draws.set(await after.x.data(), next * n * d);
          next++;
        }
      }
      await options.onStep?.({ step: t, burnIn: !afterBurnIn, state: after, info });
    } catch (e) {
      disposeReplaced(after, state);
      if (ownsState) disposeState(state);
      throw e;
    } finally {
      disposeReplaced(info, after);
    }
    if (ownsState) disposeReplaced(state, after);
    ownsState = true;
    state = after;
  }
  const chainAcceptanceRate = moved.map((m) => m / options.steps);
  return {
    draws: tensor(draws, [kept, n, d]),
    state,
    acceptanceRate: chainAcceptanceRate.reduce((a, b) => a + b, 0) / n,
    chainAcceptanceRate,
    meanAcceptanceProb: probSum.map((p) => p / options.steps),
    nonFiniteCount,
  };
}

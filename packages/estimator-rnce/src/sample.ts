import { type Distribution, type EnergyFn, JouleError, type Kernel } from '@joule/core';
import { ula } from '@joule/mcmc';
import { concat, noGrad, type Rng, Tensor, tensor, tidy } from '@joule/tensor';
import type { NegativeSampler } from './loss.js';

/**
 * What Algorithm 2 needs of an MCMC kernel's state: the chain positions (`@joule/mcmc`'s
 * `ChainState` has them).
 *
 * @example
 * ```ts
 * import type { PositionState } from '@joule/estimator-rnce';
 * import type { Kernel } from '@joule/core';
 * import { hmc } from '@joule/mcmc';
 *
 * const kernel: Kernel<PositionState, unknown> = hmc({ stepSize: 0.1, numSteps: 10 });
 * ```
 */
export interface PositionState {
  /** The positions, `[n, d]`. */
  readonly x: Tensor;
}

/**
 * The Langevin refinement of Algorithm 2.
 *
 * @example
 * ```ts
 * import type { LangevinRefineOptions } from '@joule/estimator-rnce';
 *
 * const options: LangevinRefineOptions = { steps: 50, stepSize: 1e-3 };
 * ```
 */
export interface LangevinRefineOptions {
  /** Unadjusted Langevin steps on the energy (default 20; 0 returns the sampler's draws). */
  steps?: number;
  /** The Langevin time step `h`: `y' = y − h∇E(y) + √(2h) ξ` (default 1e-3; unused with `kernel`). */
  stepSize?: number;
  /**
   * Any MCMC kernel of `@joule/core` to run instead of ULA, e.g. `hmc({ stepSize, numSteps })` of
   * `@joule/mcmc` (the paper's Push-T choice); `steps` counts its transitions.
   */
  kernel?: Kernel<PositionState, unknown>;
  /** The context `[n, c]` for a conditional sampler and energy. */
  context?: Tensor;
}

/**
 * Algorithm 2 of Singh, Tu & Sindhwani (2023): `n` draws from the negative sampler, then `steps`
 * unadjusted Langevin (ULA, `@joule/mcmc`) steps on `energy`, `p ∝ exp(−E)`, or `steps`
 * transitions of `options.kernel` (HMC, MALA…). Returns `[n, d]`.
 *
 * @example
 * ```ts
 * import { sampleWithLangevin } from '@joule/estimator-rnce';
 * import { DiagNormal } from '@joule/distributions';
 * import { Rng } from '@joule/tensor';
 *
 * const energy = (y) => y.sub(1).square().sum(1).mul(2);
 * const y = await sampleWithLangevin(energy, new DiagNormal([0], [2]), 500, new Rng(0), { steps: 100, stepSize: 0.01 });
 * ```
 */
export async function sampleWithLangevin(
  energy: EnergyFn,
  sampler: NegativeSampler,
  n: number,
  rng: Rng,
  options: LangevinRefineOptions = {},
): Promise<Tensor> {
  return refineDraws(energy, sampler, n, rng, options);
}

/**
 * The synchronous body of {@link sampleWithLangevin}, run inside `tidy`: only the returned draws
 * survive.
 */
export function refineDraws(
  energy: EnergyFn,
  sampler: NegativeSampler,
  n: number,
  rng: Rng,
  options: LangevinRefineOptions = {},
): Tensor {
  return tidy(() => drawAndRefine(energy, sampler, n, rng, options));
}

function drawAndRefine(
  energy: EnergyFn,
  sampler: NegativeSampler,
  n: number,
  rng: Rng,
  options: LangevinRefineOptions,
): Tensor {
  const op = 'sampleWithLangevin';
  if (!Number.isInteger(n) || n < 1) throw new JouleError(op, 'n', 'a positive integer', String(n));
  const steps = options.steps ?? 20;
  if (!Number.isInteger(steps) || steps < 0) {
    throw new JouleError(op, 'options.steps', 'a non-negative integer', String(steps));
  }
  const stepSize = options.stepSize ?? 1e-3;
  const { context, kernel: custom } = options;
  if (custom !== undefined && (typeof custom?.init !== 'function' || typeof custom.step !== 'function')) {
    throw new JouleError(op, 'options.kernel', 'a Kernel (init, step)', String(custom));
  }
  if (context !== undefined && (!(context instanceof Tensor) || context.rank !== 2 || context.shape[0] !== n)) {
    throw new JouleError(op, 'options.context', `a Tensor of shape [${n}, c]`, String(context));
  }
  let dist: Distribution;
  if (typeof (sampler as { given?: unknown }).given === 'function') {
    if (context === undefined) {
      throw new JouleError(op, 'options.context', 'a context [n, c] for a conditional sampler', 'undefined');
    }
    dist = (sampler as { given(c: Tensor): Distribution }).given(context);
  } else {
    dist = sampler as Distribution;
  }
  const y0 = dist.sample(n, rng);
  if (steps === 0) return y0;
  return runKernel(custom ?? ula({ stepSize }), y0, energy, steps, rng, context);
}

/** `steps` transitions of `kernel` from `x0` on `energy`; the final positions. */
export function runKernel(
  kernel: Kernel<PositionState, unknown>,
  x0: Tensor,
  energy: EnergyFn,
  steps: number,
  rng: Rng,
  context?: Tensor,
): Tensor {
  let state = kernel.init(x0, energy, context);
  for (let t = 0; t < steps; t++) state = kernel.step(rng, state).state;
  return state.x;
}

/**
 * Picks, for each of `n` contexts, the candidate of highest relative log-likelihood `−E` among `l`
 * candidates (the paper's Table 4 / Push-T policy step: draw `l` samples, execute the best).
 * `candidates` is `[l, n, d]` (e.g. `l` stacked outputs of {@link sampleWithLangevin}); returns
 * `[n, d]`.
 *
 * @example
 * ```ts
 * import { rankCandidates } from '@joule/estimator-rnce';
 * import { tensor } from '@joule/tensor';
 *
 * const energy = (y) => y.square().sum(1);
 * const best = rankCandidates(energy, tensor([[[2]], [[0.5]], [[-1]]])); // [[0.5]]
 * ```
 */
export function rankCandidates(energy: EnergyFn, candidates: Tensor, context?: Tensor): Tensor {
  const op = 'rankCandidates';
  if (!(candidates instanceof Tensor) || candidates.rank !== 3 || candidates.shape[0] === 0) {
    throw new JouleError(op, 'candidates', 'a Tensor of shape [l, n, d] with l ≥ 1', String(candidates?.shape));
  }
  const [l, n, d] = candidates.shape as [number, number, number];
  if (context !== undefined && (!(context instanceof Tensor) || context.rank !== 2 || context.shape[0] !== n)) {
    throw new JouleError(op, 'context', `a Tensor of shape [${n}, c]`, String(context));
  }
  return tidy(() =>
    noGrad(() => {
      const flat = candidates.reshape([l * n, d]);
      const ctx = context === undefined ? undefined : concat(Array.from({ length: l }, () => context));
      const e = energy(flat, ctx).reshape([l, n]).dataSync();
      const rows: number[] = [];
      for (let i = 0; i < n; i++) {
        let best = 0;
        for (let j = 1; j < l; j++) if ((e[j * n + i] as number) < (e[best * n + i] as number)) best = j;
        rows.push(best * n + i);
      }
      return flat.indexSelect(tensor(rows), 0);
    }),
  );
}

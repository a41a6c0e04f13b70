import { solveSde } from '@joule/ode';
import { full, JouleError, type Rng, randn, type Tensor, tidy } from '@joule/tensor';
import { checkBatch } from './interpolant.js';
import type { TimeField } from './losses.js';

/** Options of {@link sampleSde}. */
export interface SdeSampleOptions {
  /** Euler–Maruyama steps from 0 to `t1` (default 200). */
  steps?: number;
  /** The diffusion coefficient `ε(t) ≥ 0`, a number or a function of `t` (default 1). */
  epsilon?: number | ((t: number) => number);
  /** The conditioning context `[n, c]`, one row per sample. */
  context?: Tensor;
  /** The start time (default 0). */
  t0?: number;
  /** The end time (default 1). */
  t1?: number;
  /**
   * The state at `t0`, `[n, d]` (default: `N(0, I)` draws, the interpolant's law at `t = 0`). With
   * `t0 > 0`, points of `ρ_{t0}` (e.g. a flow truncated at `t0`: the paper's Algorithm 4, stage 2).
   */
  start?: Tensor;
}

/**
 * Draws `n` points `[n, d]` by the interpolant's SDE from `x(0) ~ N(0, I)` (or from `start` at `t0`):
 * `dx = [v(x, t) + ε(t) s(x, t)] dt + √(2ε(t)) dW` with a velocity `v` and a score `s` (e.g.
 * learned by {@link velocityLoss} and {@link scoreLoss}); it has the same marginals as the
 * probability-flow ODE for every `ε ≥ 0`. Euler–Maruyama.
 *
 * @example
 * ```ts
 * const x = sampleSde(velocity, score, 2, 1000, new Rng(0), { steps: 200, epsilon: 0.5 });
 * // Algorithm 4 of the R-NCE paper: the flow to t = 0.5, then the SDE with an energy's score.
 * const y = new InterpolantFlow(velocity, 2, { t1: 0.5 }).sample(1000, rng);
 * const z = sampleSde(velocity, scoreFromEnergy(energy), 2, 1000, rng, { t0: 0.5, start: y, epsilon: 0.1 });
 * ```
 */
export function sampleSde(
  velocity: TimeField,
  score: TimeField,
  dim: number,
  n: number,
  rng: Rng,
  options: SdeSampleOptions = {},
): Tensor {
  const op = 'sampleSde';
  if (typeof velocity !== 'function')
    throw new JouleError(op, 'velocity', 'a function (x, t, context?)', typeof velocity);
  if (typeof score !== 'function') throw new JouleError(op, 'score', 'a function (x, t, context?)', typeof score);
  if (!Number.isInteger(dim) || dim <= 0) throw new JouleError(op, 'dim', 'a positive integer', String(dim));
  if (!Number.isInteger(n) || n <= 0) throw new JouleError(op, 'n', 'a positive integer', String(n));
  const steps = options.steps ?? 200;
  if (!Number.isInteger(steps) || steps <= 0)
    throw new JouleError(op, 'options.steps', 'a positive integer', String(steps));
  const t0 = options.t0 ?? 0;
  if (!(t0 >= 0 && t0 < 1)) throw new JouleError(op, 'options.t0', 'a number in [0, 1)', String(t0));
  const t1 = options.t1 ?? 1;
  if (!(t1 > t0 && t1 <= 1)) throw new JouleError(op, 'options.t1', `a number in (t0 = ${t0}, 1]`, String(t1));
  if (options.start !== undefined) checkBatch(op, 'options.start', options.start, n, dim);
  const eps = options.epsilon ?? 1;
  const epsilonAt = (t: number) => {
    const e = typeof eps === 'function' ? eps(t) : eps;
    if (typeof e !== 'number' || !Number.isFinite(e) || e < 0) {
      throw new JouleError(op, 'options.epsilon', 'a finite number ≥ 0', String(e));
    }
    return e;
  };
  const context = options.context;
  if (context !== undefined) checkBatch(op, 'options.context', context, n);
  return tidy(() => {
    const drift = (x: Tensor, t: number) => {
      const tt = full([n, 1], t);
      const e = epsilonAt(t);
      const v = velocity(x, tt, context);
      return e === 0 ? v : v.add(score(x, tt, context).mul(e));
    };
    const diffusion = (_: Tensor, t: number) => Math.sqrt(2 * epsilonAt(t));
    return solveSde(drift, diffusion, options.start ?? randn([n, dim], rng), { rng, steps, t0, t1 }).x;
  });
}

import { JouleError, type Rng, randn, Tensor, tidy } from '@joule/tensor';
import { leavesOf, timeGrid } from './state.js';

/**
 * The diffusion of an SDE `dx = f(x, t) dt + g(x, t) dW`: diagonal noise, a tensor broadcastable to
 * the shape of `x` or a plain number (additive noise).
 *
 * @example
 * ```ts
 * const gbm: Diffusion = (x) => x.mul(0.3);        // multiplicative
 * const langevin: Diffusion = () => Math.sqrt(2);  // additive
 * ```
 */
export type Diffusion = (x: Tensor, t: number) => Tensor | number;

/** Options of {@link solveSde}. */
export interface SdeOptions {
  /** The generator of the Brownian increments (required). */
  rng: Rng;
  /** Start time (default 0). */
  t0?: number;
  /** End time (default 1); must exceed `t0`. */
  t1?: number;
  /** Number of equal steps from `t0` to `t1`. */
  steps?: number;
  /** Explicit increasing times `[t0, …, t1]` (replaces `t0`, `t1`, `steps`). */
  grid?: readonly number[];
  /** Keep the state at every grid time in `trajectory` (default false). */
  saveTrajectory?: boolean;
}

/** What {@link solveSde} returns. */
export interface SdeSolution {
  /** The state at the final time. */
  x: Tensor;
  /** The grid times. */
  ts: number[];
  /** The states at `ts` when asked for (first entry is `x0`). */
  trajectory?: Tensor[];
}

/**
 * One Euler–Maruyama step with a given Brownian increment `dW` (shape of `x`, variance `h`):
 * `x + f(x, t)·h + g(x, t)·dW`. Use it to drive several discretisations with the same Brownian path.
 *
 * @example
 * ```ts
 * const dW = randn(x.shape, rng, 0, Math.sqrt(h));
 * const next = eulerMaruyamaStep((x) => x.neg(), () => 1, x, 0, h, dW);
 * ```
 */
export function eulerMaruyamaStep(
  f: (x: Tensor, t: number) => Tensor,
  g: Diffusion,
  x: Tensor,
  t: number,
  h: number,
  dW: Tensor,
): Tensor {
  const drift = f(x, t);
  const sigma = g(x, t);
  return x.add(drift.mul(h)).add(typeof sigma === 'number' ? dW.mul(sigma) : sigma.mul(dW));
}

/**
 * Integrates the Itô SDE `dx = f(x, t) dt + g(x, t) dW` (diagonal noise) with Euler–Maruyama
 * (strong order 1/2, weak order 1), drawing the increments from `options.rng`. Differentiable
 * through the drift and diffusion (the noise is a constant of each step) and usable under `noGrad`.
 *
 * @example
 * ```ts
 * // Ornstein–Uhlenbeck: dx = −x dt + √2 dW, stationary law N(0, 1).
 * const { x } = solveSde((x) => x.neg(), () => Math.SQRT2, zeros([1000, 1]), { t1: 5, steps: 500, rng: new Rng(0) });
 * ```
 */
export function solveSde(
  f: (x: Tensor, t: number) => Tensor,
  g: Diffusion,
  x0: Tensor,
  options: SdeOptions,
): SdeSolution {
  const op = 'solveSde';
  if (typeof f !== 'function') throw new JouleError(op, 'f', 'a drift function (x, t) => Tensor', typeof f);
  if (typeof g !== 'function')
    throw new JouleError(op, 'g', 'a diffusion function (x, t) => Tensor | number', typeof g);
  if (!(x0 instanceof Tensor)) throw new JouleError(op, 'x0', 'a Tensor', typeof x0);
  leavesOf(op, 'x0', x0);
  const rng = options?.rng;
  if (!rng || typeof rng.normal !== 'function') throw new JouleError(op, 'rng', 'an Rng', String(rng));
  const grid = timeGrid(op, options);
  if (grid[grid.length - 1] <= grid[0])
    throw new JouleError(op, 't1', `increasing time (t1 > t0 = ${grid[0]})`, String(grid[grid.length - 1]));
  const save = options.saveTrajectory === true;
  const trajectory: Tensor[] = [x0];
  let x = x0;
  for (let i = 0; i + 1 < grid.length; i++) {
    const t = grid[i];
    const h = grid[i + 1] - t;
    const prev = x;
    x = tidy(() => eulerMaruyamaStep(f, g, prev, t, h, randn(prev.shape, rng, 0, Math.sqrt(h))));
    if (save) trajectory.push(x);
    else if (prev !== x0) prev.dispose();
  }
  return { x, ts: save ? grid : [grid[0], grid[grid.length - 1]], trajectory: save ? trajectory : undefined };
}

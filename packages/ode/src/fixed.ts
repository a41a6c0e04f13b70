import { JouleError } from '@joule/tensor';
import { combine, disposeExcept, leavesOf, type OdeState, tidyStep, timeGrid, type VectorField } from './state.js';

/**
 * One step of an explicit one-step method: the state at `t + h` from the state `x` at `t`.
 *
 * @example
 * ```ts
 * const x1 = rk4Step((x) => x.neg(), x0, 0, 0.1);
 * ```
 */
export type Stepper = <S extends OdeState>(f: VectorField<S>, x: S, t: number, h: number) => S;

/**
 * Forward Euler, order 1: `x + h f(x, t)` (one evaluation of `f`).
 *
 * @example
 * ```ts
 * const x1 = eulerStep((x) => x.neg(), tensor([1]), 0, 0.1);   // [0.9]
 * ```
 */
export const eulerStep: Stepper = (f, x, t, h) => combine('eulerStep', x, [[h, f(x, t)]]);

/**
 * Explicit midpoint, order 2: `x + h f(x + h/2 f(x, t), t + h/2)` (two evaluations).
 *
 * @example
 * ```ts
 * const x1 = midpointStep((x) => x.neg(), tensor([1]), 0, 0.1);   // [0.905]
 * ```
 */
export const midpointStep: Stepper = (f, x, t, h) => {
  const k1 = f(x, t);
  const k2 = f(combine('midpointStep', x, [[h / 2, k1]]), t + h / 2);
  return combine('midpointStep', x, [[h, k2]]);
};

/**
 * Heun's method (explicit trapezoid), order 2: `x + h/2 (k1 + k2)` with `k2 = f(x + h k1, t + h)`
 * (two evaluations) — the integrator of the R-NCE paper's flows.
 *
 * @example
 * ```ts
 * const x1 = heunStep((x) => x.neg(), tensor([1]), 0, 0.1);   // [0.905]
 * ```
 */
export const heunStep: Stepper = (f, x, t, h) => {
  const k1 = f(x, t);
  const k2 = f(combine('heunStep', x, [[h, k1]]), t + h);
  return combine('heunStep', x, [
    [h / 2, k1],
    [h / 2, k2],
  ]);
};

/**
 * The classical Runge–Kutta method, order 4 (four evaluations).
 *
 * @example
 * ```ts
 * const x1 = rk4Step((x) => x.neg(), tensor([1]), 0, 0.1);   // [0.904837…]
 * ```
 */
export const rk4Step: Stepper = (f, x, t, h) => {
  const k1 = f(x, t);
  const k2 = f(combine('rk4Step', x, [[h / 2, k1]]), t + h / 2);
  const k3 = f(combine('rk4Step', x, [[h / 2, k2]]), t + h / 2);
  const k4 = f(combine('rk4Step', x, [[h, k3]]), t + h);
  return combine('rk4Step', x, [
    [h / 6, k1],
    [h / 3, k2],
    [h / 3, k3],
    [h / 6, k4],
  ]);
};

/** The fixed-step methods by name. */
export type FixedMethod = 'euler' | 'midpoint' | 'heun' | 'rk4';

/**
 * A fixed-step method: its stepper, order and cost.
 *
 * @example
 * ```ts
 * const { step, evaluations }: FixedMethodSpec = fixedMethods.heun;
 * ```
 */
export interface FixedMethodSpec {
  /** One step of the method. */
  step: Stepper;
  /** The order of convergence of the global error. */
  order: number;
  /** Vector-field evaluations per step. */
  evaluations: number;
}

/**
 * The stepper, order and number of vector-field evaluations per step of each fixed-step method.
 *
 * @example
 * ```ts
 * fixedMethods.rk4.order;   // 4
 * ```
 */
export const fixedMethods: Readonly<Record<FixedMethod, FixedMethodSpec>> = {
  euler: { step: eulerStep, order: 1, evaluations: 1 },
  midpoint: { step: midpointStep, order: 2, evaluations: 2 },
  heun: { step: heunStep, order: 2, evaluations: 2 },
  rk4: { step: rk4Step, order: 4, evaluations: 4 },
};

/** Options of {@link solveFixed}: a method and either `steps` equal steps from `t0` to `t1` or an explicit `grid`. */
export interface FixedStepOptions {
  /** The method (default `'rk4'`). */
  method?: FixedMethod;
  /** Start time (default 0). */
  t0?: number;
  /** End time (default 1); may be below `t0` to integrate backward. */
  t1?: number;
  /** Number of equal steps from `t0` to `t1`. */
  steps?: number;
  /** Explicit times `[t0, …, t1]`, strictly monotone (replaces `t0`, `t1`, `steps`). */
  grid?: readonly number[];
  /** Keep the state at every grid time in `trajectory` (default false). */
  saveTrajectory?: boolean;
}

/** What a solver returns. */
export interface OdeSolution<S extends OdeState> {
  /** The state at the final time. */
  x: S;
  /** The times of `trajectory` (the grid, or the requested save times). */
  ts: number[];
  /** The states at `ts` (first entry is the initial state), when asked for. */
  trajectory?: S[];
  /** Number of vector-field evaluations. */
  evaluations: number;
  /** Number of accepted steps. */
  steps: number;
}

/**
 * Integrates `dx/dt = f(x, t)` with a fixed-step method on a uniform or explicit grid.
 * Differentiable (gradients flow through every step by the tensor autodiff) and usable under
 * `noGrad`; each step runs in a `tidy`, so only the states kept are alive afterwards.
 *
 * @example
 * ```ts
 * const rotate = (x: Tensor) => x.matmul(tensor([[0, -1], [1, 0]]));
 * const { x } = solveFixed(rotate, tensor([[1, 0]]), { method: 'rk4', t1: Math.PI / 2, steps: 32 });
 * // x ≈ [[0, 1]]
 * ```
 */
export function solveFixed<S extends OdeState>(
  f: VectorField<S>,
  x0: S,
  options: FixedStepOptions = {},
): OdeSolution<S> {
  const op = 'solveFixed';
  if (typeof f !== 'function') throw new JouleError(op, 'f', 'a function (x, t) => dx/dt', typeof f);
  leavesOf(op, 'x0', x0);
  const method = options.method ?? 'rk4';
  const spec = fixedMethods[method];
  if (!spec) throw new JouleError(op, 'method', `one of ${Object.keys(fixedMethods).join(', ')}`, String(method));
  const grid = timeGrid(op, options);
  const save = options.saveTrajectory === true;
  const trajectory: S[] = [x0];
  let x = x0;
  for (let i = 0; i + 1 < grid.length; i++) {
    const t = grid[i];
    const h = grid[i + 1] - t;
    const prev = x;
    x = tidyStep(() => spec.step(f, prev, t, h));
    if (save) trajectory.push(x);
    else if (prev !== x0) disposeExcept(prev, x);
  }
  const steps = grid.length - 1;
  return {
    x,
    ts: save ? grid : [grid[0], grid[steps]],
    trajectory: save ? trajectory : undefined,
    evaluations: steps * spec.evaluations,
    steps,
  };
}

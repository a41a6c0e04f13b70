import { JouleError } from '@joule/tensor';
import { type Dopri5Options, solveDopri5 } from './dopri5.js';
import { type FixedStepOptions, fixedMethods, type OdeSolution, solveFixed } from './fixed.js';
import type { OdeState, VectorField } from './state.js';

/**
 * Options of {@link solveOde} choosing the adaptive method.
 *
 * @example
 * ```ts
 * const options: AdaptiveSolveOptions = { method: 'dopri5', rtol: 1e-6 };
 * ```
 */
export interface AdaptiveSolveOptions extends Dopri5Options {
  /** The adaptive Dormand–Prince 5(4) method. */
  method: 'dopri5';
}

/**
 * Options of {@link solveOde}: a fixed-step method with its grid ({@link FixedStepOptions}), or
 * `'dopri5'` with its tolerances ({@link AdaptiveSolveOptions}).
 *
 * @example
 * ```ts
 * const a: SolveOptions = { method: 'heun', steps: 100 };
 * const b: SolveOptions = { method: 'dopri5', rtol: 1e-6 };
 * ```
 */
export type SolveOptions = FixedStepOptions | AdaptiveSolveOptions;

/**
 * Integrates `dx/dt = f(x, t)` with any method of this package chosen by name: `'euler'`,
 * `'midpoint'`, `'heun'`, `'rk4'` (fixed steps; default `'rk4'`) or `'dopri5'` (adaptive).
 *
 * @example
 * ```ts
 * const fixed = solveOde((x) => x.neg(), x0, { method: 'heun', steps: 100 });
 * const adaptive = solveOde((x) => x.neg(), x0, { method: 'dopri5', rtol: 1e-6 });
 * ```
 */
export function solveOde<S extends OdeState>(f: VectorField<S>, x0: S, options: SolveOptions = {}): OdeSolution<S> {
  const method = options.method ?? 'rk4';
  if (method === 'dopri5') return solveDopri5(f, x0, options as Dopri5Options);
  if (!(method in fixedMethods)) {
    throw new JouleError(
      'solveOde',
      'method',
      `one of ${[...Object.keys(fixedMethods), 'dopri5'].join(', ')}`,
      String(method),
    );
  }
  return solveFixed(f, x0, options as FixedStepOptions);
}

import type { Distribution } from '@joule/core';
import { JouleError, type Rng, Tensor, tidy, zeros } from '@joule/tensor';
import { type DivergenceOptions, divergence, hutchinsonProbes } from './divergence.js';
import { solveFixed } from './fixed.js';
import { type SolveOptions, solveOde } from './solve.js';
import { timeGrid } from './state.js';

/** A batched time-dependent vector field on points `[n, d]`, rows independent. */
export type BatchVectorField = (x: Tensor, t: number) => Tensor;

/** Options of {@link integrateWithLogDet}: a solver (see {@link SolveOptions}) and how to take divergences. */
export type LogDetOptions = SolveOptions & {
  /** Divergence method (default exact). Hutchinson probes are drawn once per solve and reused at every step. */
  divergence?: DivergenceOptions;
  /**
   * Two-time-scale quadrature (fixed-step methods only; the R-NCE paper's Appendix A): integrate
   * `x` on the fine grid alone and take the divergence only at every `every`-th grid time (and the
   * last), integrating it by the trapezoid rule. Default: the augmented ODE `[x, logDet]`.
   */
  every?: number;
};

/** What {@link integrateWithLogDet} returns. */
export interface LogDetSolution {
  /** The state at `t1`, `[n, d]`. */
  x: Tensor;
  /** `∫_{t0}^{t1} div f(x(t), t) dt = log|det ∂x(t1)/∂x(t0)|`, shape `[n]`. */
  logDet: Tensor;
  /** Vector-field evaluations (a divergence counts as one). */
  evaluations: number;
  /** Steps taken. */
  steps: number;
}

function checkPoints(op: string, arg: string, x: unknown): asserts x is Tensor {
  if (!(x instanceof Tensor) || x.rank !== 2) {
    throw new JouleError(
      op,
      arg,
      'a tensor of shape [n, d]',
      x instanceof Tensor ? `shape [${x.shape.join(', ')}]` : typeof x,
    );
  }
}

/**
 * Integrates `dx/dt = f(x, t)` from `t0` to `t1` together with the log-determinant of the flow map
 * (instantaneous change of variables, `d log p/dt = −div f`), so that
 * `log p_{t1}(x(t1)) = log p_{t0}(x(t0)) − logDet`. Integrates backward when `t1 < t0`.
 * Differentiable end to end (training a CNF by maximum likelihood differentiates the divergence:
 * second order) and usable under `noGrad`.
 *
 * @example
 * ```ts
 * const f = (x: Tensor) => x.matmul(A);
 * const { x, logDet } = integrateWithLogDet(f, x0, { method: 'rk4', steps: 50 });   // logDet ≈ tr A
 * const noisy = integrateWithLogDet(f, x0, { method: 'dopri5', divergence: { method: 'hutchinson', rng } });
 * ```
 */
export function integrateWithLogDet(f: BatchVectorField, x0: Tensor, options: LogDetOptions = {}): LogDetSolution {
  const op = 'integrateWithLogDet';
  if (typeof f !== 'function') throw new JouleError(op, 'f', 'a function (x, t) => dx/dt', typeof f);
  checkPoints(op, 'x0', x0);
  const [n, d] = x0.shape;
  const divOptions: DivergenceOptions = { ...(options.divergence ?? {}) };
  if (divOptions.method === 'hutchinson' && divOptions.eps === undefined) {
    if (!divOptions.rng) throw new JouleError(op, 'divergence.rng', "an Rng for method 'hutchinson'", 'undefined');
    divOptions.eps = hutchinsonProbes(divOptions.probes ?? 1, n, d, divOptions.noise ?? 'rademacher', divOptions.rng);
  }
  const ownsEps = divOptions.eps !== options.divergence?.eps;
  try {
    if (options.every !== undefined) return twoTimeScale(op, f, x0, options, divOptions);
    const augmented = (s: { x: Tensor; logDet: Tensor }, t: number) => {
      const r = divergence((y) => f(y, t), s.x, divOptions);
      return { x: r.value, logDet: r.divergence };
    };
    const start = { x: x0, logDet: zeros([n]) };
    const sol = solveOde(augmented, start, options);
    if (sol.x.logDet !== start.logDet) start.logDet.dispose();
    return { x: sol.x.x, logDet: sol.x.logDet, evaluations: sol.evaluations, steps: sol.steps };
  } finally {
    if (ownsEps) divOptions.eps?.dispose();
  }
}

function twoTimeScale(
  op: string,
  f: BatchVectorField,
  x0: Tensor,
  options: LogDetOptions,
  divOptions: DivergenceOptions,
): LogDetSolution {
  if (options.method === 'dopri5') throw new JouleError(op, 'every', "a fixed-step method (not 'dopri5')", 'dopri5');
  const every = options.every as number;
  if (!Number.isInteger(every) || every <= 0) throw new JouleError(op, 'every', 'a positive integer', String(every));
  const grid = timeGrid(op, options);
  const sol = solveFixed(f, x0, { method: options.method, grid, saveTrajectory: true });
  const states = sol.trajectory as Tensor[];
  const at: number[] = [];
  for (let i = 0; i < grid.length; i += every) at.push(i);
  if (at[at.length - 1] !== grid.length - 1) at.push(grid.length - 1);
  const logDet = tidy(() => {
    const divs = at.map((i) => divergence((y) => f(y, grid[i]), states[i], divOptions).divergence);
    let acc: Tensor | undefined;
    for (let j = 0; j + 1 < at.length; j++) {
      const piece = divs[j].add(divs[j + 1]).mul((grid[at[j + 1]] - grid[at[j]]) / 2);
      acc = acc ? acc.add(piece) : piece;
    }
    return acc as Tensor;
  });
  const x = states[states.length - 1];
  for (let i = 1; i + 1 < states.length; i++) states[i].dispose();
  return { x, logDet, evaluations: sol.evaluations + at.length, steps: sol.steps };
}

/** Options of {@link odeLogProb} and {@link odeSampleAndLogProb}: the flow runs from `t0` (base) to `t1` (data). */
export type OdeLogProbOptions = LogDetOptions;

/**
 * The log-density at `y` (`[n, d]`) of the push-forward of `base` by the flow of `f` from `t0` to
 * `t1`: integrates backward from `t1` to `t0` and adds the log-determinant,
 * `log p(y) = log base(x(t0)) − ∫_{t0}^{t1} div f dt`.
 *
 * @example
 * ```ts
 * const logp = odeLogProb(vectorField, y, standardNormal, { method: 'heun', steps: 100 });   // [n]
 * ```
 */
export function odeLogProb(
  f: BatchVectorField,
  y: Tensor,
  base: Distribution,
  options: OdeLogProbOptions = {},
): Tensor {
  const op = 'odeLogProb';
  checkPoints(op, 'y', y);
  if (!base || typeof base.logProb !== 'function') throw new JouleError(op, 'base', 'a Distribution', String(base));
  const reversed = reverse(options);
  return tidy(() => {
    const { x, logDet } = integrateWithLogDet(f, y, reversed);
    return base.logProb(x).add(logDet);
  });
}

/**
 * Points with their log-density, as {@link odeSampleAndLogProb} returns them.
 *
 * @example
 * ```ts
 * const { x, logProb }: SamplesWithLogProb = odeSampleAndLogProb(f, base, 16, rng);
 * ```
 */
export interface SamplesWithLogProb {
  /** The points, `[n, d]`. */
  x: Tensor;
  /** Their log-density, `[n]`. */
  logProb: Tensor;
}

/**
 * Draws `n` points from `base`, pushes them through the flow of `f` from `t0` to `t1`, and returns
 * them with their exact log-density in one pass.
 *
 * @example
 * ```ts
 * const { x, logProb } = odeSampleAndLogProb(vectorField, standardNormal, 256, new Rng(0), { method: 'heun', steps: 100 });
 * ```
 */
export function odeSampleAndLogProb(
  f: BatchVectorField,
  base: Distribution,
  n: number,
  rng: Rng,
  options: OdeLogProbOptions = {},
): SamplesWithLogProb {
  const op = 'odeSampleAndLogProb';
  if (!base || typeof base.sample !== 'function') throw new JouleError(op, 'base', 'a Distribution', String(base));
  if (!Number.isInteger(n) || n <= 0) throw new JouleError(op, 'n', 'a positive integer', String(n));
  return tidy(() => {
    const x0 = base.sample(n, rng);
    const { x, logDet } = integrateWithLogDet(f, x0, options);
    return { x, logProb: base.logProb(x0).sub(logDet) };
  });
}

/** The same solve from `t1` back to `t0`. */
function reverse(options: OdeLogProbOptions): OdeLogProbOptions {
  if (options.method !== 'dopri5' && options.grid !== undefined)
    return { ...options, grid: [...options.grid].reverse() };
  if (options.method === 'dopri5') return { ...options, t0: options.t1 ?? 1, t1: options.t0 ?? 0, saveAt: undefined };
  return { ...options, t0: options.t1 ?? 1, t1: options.t0 ?? 0 };
}

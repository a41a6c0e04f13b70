import { flattenTree, JouleError, type Tensor, type TensorTree, tidy } from '@joule/tensor';
import type { OdeSolution } from './fixed.js';
import { assertTime, combine, leavesOf, type OdeState, tidyStep, type VectorField } from './state.js';

// Dormand–Prince 5(4) tableau (Hairer, Nørsett & Wanner, Solving ODEs I, Table 5.2).
const C = [0, 1 / 5, 3 / 10, 4 / 5, 8 / 9, 1, 1];
const A: number[][] = [
  [],
  [1 / 5],
  [3 / 40, 9 / 40],
  [44 / 45, -56 / 15, 32 / 9],
  [19372 / 6561, -25360 / 2187, 64448 / 6561, -212 / 729],
  [9017 / 3168, -355 / 33, 46732 / 5247, 49 / 176, -5103 / 18656],
  [35 / 384, 0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84],
];
/** Fifth-order weights (equal to the last row of A: the FSAL property). */
const B5 = [35 / 384, 0, 500 / 1113, 125 / 192, -2187 / 6784, 11 / 84, 0];
/** Embedded fourth-order weights. */
const B4 = [5179 / 57600, 0, 7571 / 16695, 393 / 640, -92097 / 339200, 187 / 2100, 1 / 40];
const E = B5.map((b, i) => b - B4[i]);

/** Options of {@link solveDopri5}. */
export interface Dopri5Options {
  /** Start time (default 0). */
  t0?: number;
  /** End time (default 1); may be below `t0` to integrate backward. */
  t1?: number;
  /** Relative tolerance per component (default 1e-5; float32 limits useful values to ≳ 1e-6). */
  rtol?: number;
  /** Absolute tolerance per component (default 1e-6). */
  atol?: number;
  /** Maximum number of attempted steps before a `JouleError` (default 10 000). */
  maxSteps?: number;
  /** First step size (default: Hairer's starting-step heuristic). */
  h0?: number;
  /** Largest step size (default: the whole interval). */
  hMax?: number;
  /** `'pi'` (Gustafsson's proportional–integral controller, default) or `'standard'` (`h·0.9·err^(−1/5)`). */
  controller?: 'pi' | 'standard';
  /** Times (between `t0` and `t1`, in integration order) at which to save the state; steps end on them exactly. */
  saveAt?: readonly number[];
}

/** Step statistics of {@link solveDopri5} beyond {@link OdeSolution}. */
export interface Dopri5Solution<S extends OdeState> extends OdeSolution<S> {
  /** Number of rejected steps. */
  rejected: number;
}

const SAFETY = 0.9;
const MIN_FACTOR = 0.2;
const MAX_FACTOR = 10;
const PI_BETA = 0.04;
const PI_ALPHA = 1 / 5 - 0.75 * PI_BETA;

/** RMS over all components of `err / (atol + rtol·max(|x|, |y|))`, read to the host. */
function errorNorm(
  err: readonly Tensor[],
  x: readonly Tensor[],
  y: readonly Tensor[],
  atol: number,
  rtol: number,
): number {
  let total = 0;
  let count = 0;
  for (let i = 0; i < err.length; i++) {
    const e = err[i].dataSync();
    const a = x[i].dataSync();
    const b = y[i].dataSync();
    for (let j = 0; j < e.length; j++) {
      const scale = atol + rtol * Math.max(Math.abs(a[j]), Math.abs(b[j]));
      total += (e[j] / scale) ** 2;
    }
    count += e.length;
  }
  return Math.sqrt(total / count);
}

/** RMS of `v / (atol + rtol·|x|)`. */
function scaledNorm(v: readonly Tensor[], x: readonly Tensor[], atol: number, rtol: number): number {
  let total = 0;
  let count = 0;
  for (let i = 0; i < v.length; i++) {
    const a = v[i].dataSync();
    const s = x[i].dataSync();
    for (let j = 0; j < a.length; j++) total += (a[j] / (atol + rtol * Math.abs(s[j]))) ** 2;
    count += a.length;
  }
  return Math.sqrt(total / count);
}

/** `tidy` for results that hold states and numbers. */
function tidyAny<R>(fn: () => R): R {
  return tidy(fn as () => TensorTree) as R;
}

function leaves(s: OdeState): Tensor[] {
  return flattenTree(s as TensorTree).leaves;
}

/** Hairer's starting step (Solving ODEs I, II.4): from the sizes of `x0`, `f(x0)` and a trial Euler step. */
function initialStep<S extends OdeState>(
  f: VectorField<S>,
  x0: S,
  f0: S,
  t0: number,
  dir: number,
  atol: number,
  rtol: number,
): number {
  return tidyAny(() => {
    const x = leaves(x0);
    const d0 = scaledNorm(x, x, atol, rtol);
    const d1 = scaledNorm(leaves(f0), x, atol, rtol);
    const h0 = d0 < 1e-5 || d1 < 1e-5 ? 1e-6 : (0.01 * d0) / d1;
    const x1 = combine('solveDopri5', x0, [[dir * h0, f0]]);
    const f1 = f(x1, t0 + dir * h0);
    const diff = leaves(combine('solveDopri5', f1, [[-1, f0]]));
    const d2 = scaledNorm(diff, x, atol, rtol) / h0;
    const h1 = Math.max(d1, d2) <= 1e-15 ? Math.max(1e-6, h0 * 1e-3) : (0.01 / Math.max(d1, d2)) ** (1 / 5);
    return Math.min(100 * h0, h1);
  });
}

function positive(op: string, arg: string, v: number | undefined, fallback: number): number {
  const x = v ?? fallback;
  if (typeof x !== 'number' || !(x > 0) || !Number.isFinite(x))
    throw new JouleError(op, arg, 'a positive finite number', String(x));
  return x;
}

/**
 * Integrates `dx/dt = f(x, t)` with the adaptive Dormand–Prince 5(4) method (FSAL: six new
 * evaluations per step), controlling the local error of every component to
 * `atol + rtol·|x|` in the RMS norm. Steps are chosen on the host (the error norm is read with
 * `dataSync`), so the backend must read synchronously; gradients flow through the accepted steps
 * (the step sizes are treated as constants).
 *
 * @throws `JouleError` when `maxSteps` steps do not reach `t1`, or the step size underflows
 * @example
 * ```ts
 * const { x, steps } = solveDopri5((x) => x.neg(), tensor([1]), { t1: 2, rtol: 1e-6 });
 * // x ≈ [e^-2]
 * ```
 */
export function solveDopri5<S extends OdeState>(
  f: VectorField<S>,
  x0: S,
  options: Dopri5Options = {},
): Dopri5Solution<S> {
  const op = 'solveDopri5';
  if (typeof f !== 'function') throw new JouleError(op, 'f', 'a function (x, t) => dx/dt', typeof f);
  leavesOf(op, 'x0', x0);
  const t0 = options.t0 ?? 0;
  const t1 = options.t1 ?? 1;
  assertTime(op, 't0', t0);
  assertTime(op, 't1', t1);
  if (t0 === t1) throw new JouleError(op, 't1', `a time different from t0 = ${t0}`, String(t1));
  const rtol = positive(op, 'rtol', options.rtol, 1e-5);
  const atol = positive(op, 'atol', options.atol, 1e-6);
  const maxSteps = options.maxSteps ?? 10000;
  if (!Number.isInteger(maxSteps) || maxSteps <= 0)
    throw new JouleError(op, 'maxSteps', 'a positive integer', String(maxSteps));
  const controller = options.controller ?? 'pi';
  if (controller !== 'pi' && controller !== 'standard')
    throw new JouleError(op, 'controller', "'pi' or 'standard'", String(controller));
  const dir = Math.sign(t1 - t0);
  const span = Math.abs(t1 - t0);
  const hMax = positive(op, 'hMax', options.hMax, span);
  const saveAt = [...(options.saveAt ?? [])];
  for (let i = 0; i < saveAt.length; i++) {
    const s = saveAt[i];
    assertTime(op, 'saveAt', s);
    const inside = dir * (s - t0) >= 0 && dir * (t1 - s) >= 0;
    const ordered = i === 0 || dir * (s - saveAt[i - 1]) > 0;
    if (!inside || !ordered) {
      throw new JouleError(
        op,
        'saveAt',
        `times from t0 = ${t0} to t1 = ${t1}, strictly in integration order`,
        `[${saveAt.join(', ')}]`,
      );
    }
  }

  const saved: S[] = [];
  const ts: number[] = [];
  let nextSave = 0;
  while (nextSave < saveAt.length && saveAt[nextSave] === t0) {
    saved.push(x0);
    ts.push(t0);
    nextSave++;
  }
  const protectedLeaves = new Set(leaves(x0));
  /** Disposes the leaves of `s` that are not the caller's, saved, or in `keep`. */
  const release = (s: S, keep?: S) => {
    const kept = keep === undefined ? new Set<Tensor>() : new Set(leaves(keep));
    for (const l of leaves(s)) if (!protectedLeaves.has(l) && !kept.has(l)) l.dispose();
  };

  let t = t0;
  let x = x0;
  let fx = tidyStep(() => f(x0, t0));
  let evaluations = 1;
  let h = options.h0 !== undefined ? positive(op, 'h0', options.h0, 0) : initialStep(f, x0, fx, t0, dir, atol, rtol);
  if (options.h0 === undefined) evaluations++;
  if (!Number.isFinite(h)) {
    release(fx);
    throw new JouleError(
      op,
      'f',
      `finite values at t0 = ${t0}`,
      'NaN or infinite values (from the state or the field)',
    );
  }
  h = Math.min(h, hMax);
  let errPrev = 1e-4;
  let lastRejected = false;
  let accepted = 0;
  let rejected = 0;
  while (dir * (t1 - t) > 0) {
    if (accepted + rejected >= maxSteps) {
      throw new JouleError(
        op,
        'maxSteps',
        `enough steps to reach t1 = ${t1}`,
        `${maxSteps} steps, stopped at t = ${t} (loosen rtol/atol or raise maxSteps)`,
      );
    }
    const target = nextSave < saveAt.length ? saveAt[nextSave] : t1;
    const hStep = Math.min(h, Math.abs(target - t));
    const hitsTarget = hStep === Math.abs(target - t);
    if (Math.abs(t) + hStep === Math.abs(t) || hStep < 1e-12 * Math.max(1, span)) {
      throw new JouleError(
        op,
        'h',
        'a step size that does not underflow',
        `${hStep} at t = ${t} (the problem may be stiff or singular)`,
      );
    }
    const hs = dir * hStep;
    const tNow = t;
    const xNow = x;
    const fNow = fx;
    const result = tidyAny(() => {
      const k: S[] = [fNow];
      for (let s = 1; s < 7; s++) {
        const xs = combine(
          op,
          xNow,
          A[s].map((a, j) => [hs * a, k[j]] as const),
        );
        k.push(f(xs, tNow + C[s] * hs));
      }
      const xNew = combine(
        op,
        xNow,
        B5.map((b, j) => [hs * b, k[j]] as const),
      );
      const errState = combine(
        op,
        xNow,
        E.map((e, j) => [hs * e, k[j]] as const),
      );
      const err = leaves(errState).map((l, i) => l.sub(leaves(xNow)[i]));
      const norm = errorNorm(err, leaves(xNow), leaves(xNew), atol, rtol);
      return { xNew, fNew: k[6], norm };
    });
    evaluations += 6;
    const err = result.norm;
    if (!Number.isFinite(err)) {
      release(result.xNew);
      release(result.fNew);
      rejected++;
      lastRejected = true;
      h = hStep * MIN_FACTOR;
      continue;
    }
    if (err <= 1) {
      accepted++;
      t = hitsTarget ? target : tNow + hs;
      release(xNow, result.xNew);
      release(fNow, result.fNew);
      x = result.xNew;
      fx = result.fNew;
      if (hitsTarget && nextSave < saveAt.length && target === saveAt[nextSave]) {
        saved.push(x);
        for (const l of leaves(x)) protectedLeaves.add(l);
        ts.push(t);
        nextSave++;
      }
      let factor: number;
      if (controller === 'pi') factor = SAFETY * Math.max(err, 1e-10) ** -PI_ALPHA * errPrev ** PI_BETA;
      else factor = SAFETY * Math.max(err, 1e-10) ** -0.2;
      factor = Math.min(MAX_FACTOR, Math.max(MIN_FACTOR, factor));
      if (lastRejected) factor = Math.min(1, factor);
      errPrev = Math.max(err, 1e-4);
      lastRejected = false;
      // Keep the controller's proposal when a step was shortened only to land on a target.
      h = Math.min(hMax, hitsTarget && hStep < h ? Math.max(h, hStep * factor) : hStep * factor);
    } else {
      rejected++;
      lastRejected = true;
      release(result.xNew);
      release(result.fNew);
      h = hStep * Math.max(MIN_FACTOR, SAFETY * err ** -0.2);
    }
  }
  release(fx, x);
  return { x, ts, trajectory: saveAt.length > 0 ? saved : undefined, evaluations, steps: accepted, rejected };
}

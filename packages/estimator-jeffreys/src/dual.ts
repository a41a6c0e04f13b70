import { JouleError } from '@joule/core';

/**
 * The Lagrange multipliers of the resilient problem (paper eq. 3 / PVI): `fw` for the main model's
 * negative log-likelihood, `rv` for the reverse KL between main and proxy, `prx` for the proxy's
 * negative log-likelihood, and `upper` / `lower` for the normalization bounds `1 ≤ ζ ≤ 1 + ε_ζ`.
 *
 * @example
 * ```ts
 * import type { Multipliers } from '@joule/estimator-jeffreys';
 *
 * const lambda: Multipliers = { fw: 0.01, rv: 0.01, prx: 0.01, upper: 0, lower: 0 };
 * ```
 */
export interface Multipliers {
  /** λ_fw: main-model NLL constraint. */
  fw: number;
  /** λ_rv: reverse-KL constraint `KL(main ‖ proxy)`. */
  rv: number;
  /** λ_prx: proxy NLL constraint. */
  prx: number;
  /** λ_u: upper normalization bound `ζ ≤ 1 + ε_ζ`. */
  upper: number;
  /** λ_ℓ: lower normalization bound `ζ ≥ 1`. */
  lower: number;
}

/**
 * The constraint values `g` at one iteration, in nats: the two NLLs, the reverse KL, and the
 * normalization violations `ζ − 1 − ε_ζ` and `1 − ζ`.
 *
 * @example
 * ```ts
 * import type { ConstraintValues } from '@joule/estimator-jeffreys';
 *
 * const g: ConstraintValues = { fw: 1.2, rv: 0.3, prx: 1.4, upper: -0.05, lower: -0.05 };
 * ```
 */
export type ConstraintValues = Multipliers;

/**
 * Options of the dual (multiplier) updates.
 *
 * @example
 * ```ts
 * import type { DualOptions } from '@joule/estimator-jeffreys';
 *
 * const dual: DualOptions = { lr: 1e-4, lrZeta: 1e-3, init: 0.01, negativeNll: true };
 * ```
 */
export interface DualOptions {
  /** Step size α_λ of the projected ascent on λ_fw, λ_rv, λ_prx (paper D.1/D.2: 1e-4). */
  lr?: number;
  /** Step size of the ascent on λ_u, λ_ℓ (paper D.1/D.2: 1e-3). */
  lrZeta?: number;
  /** Initial λ_fw, λ_rv, λ_prx (paper D.2: 0.01); λ_u, λ_ℓ start at 0. */
  init?: number;
  /**
   * Use the negative-NLL form of App. B.7 (problem PVI) for the two NLL constraints: an extra
   * slack `δ = 1/(2λ)` lets an NLL below zero stay active (default true, as the paper's 2-D runs).
   */
  negativeNll?: boolean;
  /** The floor λ_fw, λ_prx are clamped to under the negative-NLL form, keeping δ finite (default 1e-6). */
  floor?: number;
}

/**
 * {@link DualOptions} with every default filled in, as {@link resolveDualOptions} returns them.
 *
 * @example
 * ```ts
 * import { resolveDualOptions, type ResolvedDualOptions } from '@joule/estimator-jeffreys';
 *
 * const dual: ResolvedDualOptions = resolveDualOptions({ lr: 1e-3 });
 * ```
 */
export interface ResolvedDualOptions {
  /** Step size of λ_fw, λ_rv, λ_prx. */
  lr: number;
  /** Step size of λ_u, λ_ℓ. */
  lrZeta: number;
  /** Initial λ_fw, λ_rv, λ_prx. */
  init: number;
  /** Whether the negative-NLL form (App. B.7) is used. */
  negativeNll: boolean;
  /** The floor of λ_fw, λ_prx under the negative-NLL form. */
  floor: number;
}

/**
 * The closed-form slacks of {@link resilientSlack}.
 *
 * @example
 * ```ts
 * import { resilientSlack, type ResilientSlack } from '@joule/estimator-jeffreys';
 *
 * const s: ResilientSlack = resilientSlack(2, true);
 * ```
 */
export interface ResilientSlack {
  /** The relaxation `ε = λ/2`. */
  epsilon: number;
  /** The negative-NLL slack `δ = 1/(2λ)` (0 for the plain form). */
  delta: number;
  /** The effective bound `ε − δ²` on the constraint. */
  bound: number;
}

function positive(op: string, arg: string, v: unknown, allowZero = false): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || (!allowZero && v === 0)) {
    throw new JouleError(op, arg, allowZero ? 'a finite number ≥ 0' : 'a finite number > 0', String(v));
  }
  return v;
}

/**
 * Validates and fills in {@link DualOptions} with the paper's 2-D defaults.
 *
 * @example
 * ```ts
 * import { resolveDualOptions } from '@joule/estimator-jeffreys';
 *
 * resolveDualOptions({ lr: 1e-3 }); // { lr: 1e-3, lrZeta: 1e-3, init: 0.01, negativeNll: true, floor: 1e-6 }
 * ```
 */
export function resolveDualOptions(options: DualOptions = {}, op = 'resolveDualOptions'): ResolvedDualOptions {
  if (options === null || typeof options !== 'object') throw new JouleError(op, 'dual', 'an object', String(options));
  const negativeNll = options.negativeNll ?? true;
  if (typeof negativeNll !== 'boolean') throw new JouleError(op, 'dual.negativeNll', 'a boolean', String(negativeNll));
  return {
    lr: positive(op, 'dual.lr', options.lr ?? 1e-4),
    lrZeta: positive(op, 'dual.lrZeta', options.lrZeta ?? 1e-3),
    init: positive(op, 'dual.init', options.init ?? 0.01, !negativeNll),
    negativeNll,
    floor: positive(op, 'dual.floor', options.floor ?? 1e-6),
  };
}

/**
 * The closed-form minimizer of the Lagrangian over the resilient slacks (eq. 13 and eq. 20): the
 * relaxation `ε = λ/2` and, under the negative-NLL form, `δ = 1/(2λ)`; the effective bound on the
 * constraint is `ε − δ²`.
 *
 * @example
 * ```ts
 * import { resilientSlack } from '@joule/estimator-jeffreys';
 *
 * resilientSlack(2, false); // { epsilon: 1, delta: 0, bound: 1 }
 * ```
 */
export function resilientSlack(lambda: number, negativeNll: boolean): ResilientSlack {
  const epsilon = lambda / 2;
  const delta = negativeNll ? 1 / (2 * lambda) : 0;
  return { epsilon, delta, bound: epsilon - delta * delta };
}

/**
 * One projected dual-ascent step (Algorithm 3's `λ ← max{0, λ + α_λ ∇_λ L}`), all multipliers
 * updated from the constraint values `g` measured at the same primal point:
 * `∇_λ L = g − ε + δ²` with the closed-form slacks of {@link resilientSlack} (δ only for the two NLL
 * constraints under the negative-NLL form), and `∇_λ L = g` for the normalization bounds.
 *
 * @example
 * ```ts
 * import { dualAscent, resolveDualOptions } from '@joule/estimator-jeffreys';
 *
 * const next = dualAscent(
 *   { fw: 0.01, rv: 0.01, prx: 0.01, upper: 0, lower: 0 },
 *   { fw: 1, rv: 0.5, prx: 1.2, upper: 0.3, lower: -1.3 },
 *   resolveDualOptions(),
 * );
 * ```
 */
export function dualAscent(lambda: Multipliers, g: ConstraintValues, options: ResolvedDualOptions): Multipliers {
  const nllStep = (l: number, gi: number) => {
    const { epsilon, delta } = resilientSlack(l, options.negativeNll);
    const next = l + options.lr * (gi - epsilon + delta * delta);
    return Math.max(options.negativeNll ? options.floor : 0, next);
  };
  return {
    fw: nllStep(lambda.fw, g.fw),
    rv: Math.max(0, lambda.rv + options.lr * (g.rv - lambda.rv / 2)),
    prx: nllStep(lambda.prx, g.prx),
    upper: Math.max(0, lambda.upper + options.lrZeta * g.upper),
    lower: Math.max(0, lambda.lower + options.lrZeta * g.lower),
  };
}

/**
 * The fixed point λ* of the dual ascent for a constant constraint value `g`: `2·max(0, g)` for the
 * plain resilient form, and the root of `λ/2 − 1/(4λ²) = g` under the negative-NLL form (App.
 * B.7; λ*(0) = 2^{−1/3}). It is the weight the constraint ends up with, `φ'(g)`.
 *
 * @example
 * ```ts
 * import { resilientFixedPoint } from '@joule/estimator-jeffreys';
 *
 * resilientFixedPoint(1, false); // 2
 * resilientFixedPoint(0, true);  // 0.7937…
 * ```
 */
export function resilientFixedPoint(g: number, negativeNll: boolean): number {
  if (typeof g !== 'number' || !Number.isFinite(g))
    throw new JouleError('resilientFixedPoint', 'g', 'a finite number', String(g));
  if (!negativeNll) return 2 * Math.max(0, g);
  // h(λ) = λ/2 − 1/(4λ²) − g is increasing on λ > 0: bisection.
  let lo = 1e-12;
  let hi = Math.max(1, 2 * g + 2);
  for (let i = 0; i < 200; i++) {
    const mid = (lo + hi) / 2;
    if (mid / 2 - 1 / (4 * mid * mid) - g > 0) hi = mid;
    else lo = mid;
  }
  return (lo + hi) / 2;
}

/**
 * How the normalization constraints `1 ≤ ζ ≤ 1 + ε_ζ` are measured, in the dual ascent and in the
 * Lagrangian's primal term: `'paper'` on `ζ̂` itself (`ζ̂ − 1 − ε_ζ` and `1 − ζ̂`, the paper's rule),
 * or `'log'` on `log ζ̂` against `[0, log(1 + ε_ζ)]` (`log ζ̂ − log(1 + ε_ζ)` and `−log ζ̂`; our
 * addition): the same feasible set, but a violation symmetric in scale, so that a burst of `ζ̂ ≫ 1`
 * cannot drive `λ_u` far beyond what `ζ̂ ≪ 1` can bring back down.
 *
 * @example
 * ```ts
 * import type { ZetaViolation } from '@joule/estimator-jeffreys';
 *
 * const rule: ZetaViolation = 'log';
 * ```
 */
export type ZetaViolation = 'paper' | 'log';

/**
 * The violations `g_u`, `g_ℓ` of the normalization bounds `1 ≤ ζ ≤ 1 + ε_ζ` at `log ζ̂`, under the
 * rule of {@link ZetaViolation}: `'paper'` gives `(ζ̂ − 1 − ε_ζ, 1 − ζ̂)`, `'log'` gives
 * `(log ζ̂ − log(1 + ε_ζ), −log ζ̂)`. Both are ≤ 0 exactly when `ζ̂` is in `[1, 1 + ε_ζ]`.
 *
 * @example
 * ```ts
 * import { zetaViolations } from '@joule/estimator-jeffreys';
 *
 * zetaViolations(Math.log(2), 0.1, 'paper'); // { upper: 0.9, lower: -1 }
 * zetaViolations(Math.log(2), 0.1, 'log');   // { upper: 0.5978…, lower: -0.6931… }
 * ```
 */
export function zetaViolations(
  logZeta: number,
  epsZeta: number,
  rule: ZetaViolation,
): {
  /** Violation of the upper bound ζ ≤ 1 + ε_ζ (positive when violated). */
  upper: number;
  /** Violation of the lower bound ζ ≥ 1 (positive when violated). */
  lower: number;
} {
  const op = 'zetaViolations';
  if (typeof logZeta !== 'number' || !Number.isFinite(logZeta))
    throw new JouleError(op, 'logZeta', 'a finite number', String(logZeta));
  positive(op, 'epsZeta', epsZeta);
  if (rule === 'log') return { upper: logZeta - Math.log1p(epsZeta), lower: -logZeta };
  if (rule === 'paper') {
    const zeta = Math.exp(logZeta);
    return { upper: zeta - 1 - epsZeta, lower: 1 - zeta };
  }
  throw new JouleError(op, 'rule', "'paper' or 'log'", String(rule));
}

import { JouleError } from '@joule/tensor';

/**
 * A pair of coefficients `α(t), β(t)` on `[0, 1]` with their time derivatives: the interpolant
 * moves from `x0` (`α = 1, β = 0` at `t = 0`) to `x1` (`α = 0, β = 1` at `t = 1`).
 *
 * @example
 * ```ts
 * const s = linearSchedule();
 * s.alpha(0.25); // 0.75
 * ```
 */
export interface Schedule {
  /** A short name (`'linear'`, `'trigonometric'`, `'vp'`). */
  readonly name: string;
  /** The weight of `x0`. */
  alpha(t: number): number;
  /** The weight of `x1`. */
  beta(t: number): number;
  /** `dα/dt`. */
  dAlpha(t: number): number;
  /** `dβ/dt`. */
  dBeta(t: number): number;
}

/**
 * The noise coefficient `γ(t)` of a stochastic interpolant, zero at both ends, with its derivative
 * and `γ(t) γ'(t) = ½ d(γ²)/dt`, which stays finite where `γ'` does not.
 *
 * @example
 * ```ts
 * const g = sqrtGamma(0.5);
 * g.gamma(0.5); // 0.5 · √(2 · 0.25)
 * ```
 */
export interface Gamma {
  /** A short name (`'zero'`, `'sqrt'`, `'quadratic'`). */
  readonly name: string;
  /** Whether `γ ≡ 0` (no latent noise `z` is drawn). */
  readonly isZero: boolean;
  /** `γ(t)`. */
  gamma(t: number): number;
  /** `dγ/dt`. */
  dGamma(t: number): number;
  /** `γ(t) γ'(t)`. */
  gammaDGamma(t: number): number;
}

function checkScale(op: string, scale: unknown): number {
  if (typeof scale !== 'number' || !Number.isFinite(scale) || scale < 0) {
    throw new JouleError(op, 'scale', 'a finite number ≥ 0', String(scale));
  }
  return scale;
}

/**
 * The linear schedule `α = 1 − t`, `β = t` (the rectified-flow path).
 *
 * @example
 * ```ts
 * linearSchedule().dBeta(0.3); // 1
 * ```
 */
export function linearSchedule(): Schedule {
  return {
    name: 'linear',
    alpha: (t) => 1 - t,
    beta: (t) => t,
    dAlpha: () => -1,
    dBeta: () => 1,
  };
}

/**
 * The trigonometric schedule of the R-NCE paper, `α = cos(πt/2)`, `β = sin(πt/2)`
 * (variance preserving for independent unit-variance ends: `α² + β² = 1`).
 *
 * @example
 * ```ts
 * trigonometricSchedule().beta(1); // 1
 * ```
 */
export function trigonometricSchedule(): Schedule {
  const h = Math.PI / 2;
  return {
    name: 'trigonometric',
    alpha: (t) => Math.cos(h * t),
    beta: (t) => Math.sin(h * t),
    dAlpha: (t) => -h * Math.sin(h * t),
    dBeta: (t) => h * Math.cos(h * t),
  };
}

/**
 * The variance-preserving schedule of score-based diffusion (Song et al.'s VP SDE with a linear
 * noise rate from `betaMin` to `betaMax`), run with data at `t = 1`:
 * `ᾱ(t) = exp(−∫_t^1 b(s) ds)` with `b(s) = betaMin + (1 − s)(betaMax − betaMin)`, `β = √ᾱ`,
 * `α = √(1 − ᾱ)`. Exact at `t = 1`; at `t = 0`, `β = exp(−(betaMin + betaMax)/4) ≈ 0.0066` for the
 * defaults. `α'` diverges at `t = 1` (as `1/√(1 − t)`), so train on `t < 1`.
 *
 * @example
 * ```ts
 * const vp = vpSchedule({ betaMin: 0.1, betaMax: 20 });
 * vp.alpha(1); // 0
 * ```
 */
export function vpSchedule(options: { betaMin?: number; betaMax?: number } = {}): Schedule {
  const op = 'vpSchedule';
  const betaMin = options.betaMin ?? 0.1;
  const betaMax = options.betaMax ?? 20;
  if (!Number.isFinite(betaMin) || betaMin <= 0) {
    throw new JouleError(op, 'options.betaMin', 'a finite number > 0', String(betaMin));
  }
  if (!Number.isFinite(betaMax) || betaMax < betaMin) {
    throw new JouleError(op, 'options.betaMax', `a finite number ≥ betaMin = ${betaMin}`, String(betaMax));
  }
  // ∫_t^1 b(s) ds with u = 1 − t: betaMin u + (betaMax − betaMin) u² / 2.
  const integral = (t: number) => {
    const u = 1 - t;
    return betaMin * u + ((betaMax - betaMin) * u * u) / 2;
  };
  const rate = (t: number) => betaMin + (1 - t) * (betaMax - betaMin);
  const abar = (t: number) => Math.exp(-integral(t));
  return {
    name: 'vp',
    alpha: (t) => Math.sqrt(-Math.expm1(-integral(t))),
    beta: (t) => Math.sqrt(abar(t)),
    // dᾱ/dt = b(t) ᾱ; dβ/dt = b β / 2; dα/dt = −b ᾱ / (2α).
    dAlpha: (t) => (-rate(t) * abar(t)) / (2 * Math.sqrt(-Math.expm1(-integral(t)))),
    dBeta: (t) => (rate(t) * Math.sqrt(abar(t))) / 2,
  };
}

/**
 * No latent noise, `γ ≡ 0`: a deterministic interpolant.
 *
 * @example
 * ```ts
 * zeroGamma().gamma(0.5); // 0
 * ```
 */
export function zeroGamma(): Gamma {
  return { name: 'zero', isZero: true, gamma: () => 0, dGamma: () => 0, gammaDGamma: () => 0 };
}

/**
 * `γ(t) = scale · √(2t(1 − t))` (Albergo & Vanden-Eijnden's choice; `scale = 1` by default).
 * `γ'` diverges at both ends; `γγ' = scale² (1 − 2t)` does not.
 *
 * @example
 * ```ts
 * sqrtGamma().gamma(0.5); // √0.5
 * ```
 */
export function sqrtGamma(scale = 1): Gamma {
  const a = checkScale('sqrtGamma', scale);
  return {
    name: 'sqrt',
    isZero: a === 0,
    gamma: (t) => a * Math.sqrt(2 * t * (1 - t)),
    dGamma: (t) => (a * (1 - 2 * t)) / Math.sqrt(2 * t * (1 - t)),
    gammaDGamma: (t) => a * a * (1 - 2 * t),
  };
}

/**
 * `γ(t) = scale · t(1 − t)`: a smooth noise coefficient with finite derivatives everywhere.
 *
 * @example
 * ```ts
 * quadraticGamma(2).gamma(0.5); // 0.5
 * ```
 */
export function quadraticGamma(scale = 1): Gamma {
  const a = checkScale('quadraticGamma', scale);
  return {
    name: 'quadratic',
    isZero: a === 0,
    gamma: (t) => a * t * (1 - t),
    dGamma: (t) => a * (1 - 2 * t),
    gammaDGamma: (t) => a * a * t * (1 - t) * (1 - 2 * t),
  };
}

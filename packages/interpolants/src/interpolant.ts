import { JouleError, type Rng, Tensor, tensor } from '@joule/tensor';
import {
  type Gamma,
  linearSchedule,
  type Schedule,
  sqrtGamma,
  trigonometricSchedule,
  vpSchedule,
  zeroGamma,
} from './schedules.js';

/** The coefficients of an interpolant at one time, as {@link StochasticInterpolant.coefficients} returns them. */
export interface Coefficients {
  /** `α(t)`. */
  alpha: number;
  /** `β(t)`. */
  beta: number;
  /** `γ(t)`. */
  gamma: number;
  /** `α'(t)`. */
  dAlpha: number;
  /** `β'(t)`. */
  dBeta: number;
  /** `γ'(t)` (0 when `γ ≡ 0`). */
  dGamma: number;
}

/** Options of {@link StochasticInterpolant}. */
export interface InterpolantOptions {
  /** `'linear'`, `'trigonometric'` (default, the R-NCE paper's), `'vp'`, or a {@link Schedule}. */
  schedule?: 'linear' | 'trigonometric' | 'vp' | Schedule;
  /** `'zero'` (default), `'sqrt'` (`√(2t(1 − t))`), or a {@link Gamma} (e.g. `sqrtGamma(0.3)`). */
  gamma?: 'zero' | 'sqrt' | Gamma;
}

/** A point of the interpolant with its time derivative, as {@link StochasticInterpolant.interpolate} returns it. */
export interface InterpolantPoint {
  /** `x_t = α x0 + β x1 + γ z`, `[n, d]`. */
  xt: Tensor;
  /** `∂_t x_t = α' x0 + β' x1 + γ' z`, `[n, d]` (the velocity regression target). */
  dxt: Tensor;
}

function resolveSchedule(s: InterpolantOptions['schedule']): Schedule {
  if (s === undefined || s === 'trigonometric') return trigonometricSchedule();
  if (s === 'linear') return linearSchedule();
  if (s === 'vp') return vpSchedule();
  if (typeof s === 'object' && s !== null && typeof s.alpha === 'function') return s;
  throw new JouleError(
    'StochasticInterpolant',
    'options.schedule',
    "'linear', 'trigonometric', 'vp' or a Schedule",
    String(s),
  );
}

function resolveGamma(g: InterpolantOptions['gamma']): Gamma {
  if (g === undefined || g === 'zero') return zeroGamma();
  if (g === 'sqrt') return sqrtGamma();
  if (typeof g === 'object' && g !== null && typeof g.gamma === 'function') return g;
  throw new JouleError('StochasticInterpolant', 'options.gamma', "'zero', 'sqrt' or a Gamma", String(g));
}

/** Reads a time tensor `[n]` or `[n, 1]` (values in [0, 1]) into an array. */
export function timesOf(op: string, t: Tensor, n: number): Float32Array {
  if (!(t instanceof Tensor) || t.size !== n || t.rank > 2 || (t.rank === 2 && t.shape[1] !== 1)) {
    throw new JouleError(
      op,
      't',
      `a tensor of ${n} times, shape [${n}] or [${n}, 1]`,
      t instanceof Tensor ? `shape [${t.shape.join(', ')}]` : String(t),
    );
  }
  const v = t.dataSync() as Float32Array;
  for (const x of v) {
    if (!(x >= 0 && x <= 1)) throw new JouleError(op, 't', 'times in [0, 1]', String(x));
  }
  return v;
}

/** Checks that `x` is `[n, d]` (or the given shape). */
export function checkBatch(op: string, arg: string, x: unknown, n?: number, d?: number): asserts x is Tensor {
  const ok =
    x instanceof Tensor &&
    x.rank === 2 &&
    (n === undefined || x.shape[0] === n) &&
    (d === undefined || x.shape[1] === d);
  if (!ok) {
    throw new JouleError(
      op,
      arg,
      `a tensor of shape [${n ?? 'n'}, ${d ?? 'd'}]`,
      x instanceof Tensor ? `shape [${x.shape.join(', ')}]` : typeof x,
    );
  }
}

/**
 * A stochastic interpolant `x_t = α(t) x0 + β(t) x1 + γ(t) z` between a base sample `x0` (at
 * `t = 0`) and a data sample `x1` (at `t = 1`) with independent latent noise `z ~ N(0, I)`
 * (Albergo & Vanden-Eijnden; the R-NCE paper's §5.1 uses the trigonometric schedule, `γ = 0`).
 *
 * @example
 * ```ts
 * const I = new StochasticInterpolant({ schedule: 'linear', gamma: 'sqrt' });
 * const { xt, dxt } = I.interpolate(t, x0, x1, z);   // t: [n], x0, x1, z: [n, d]
 * ```
 */
export class StochasticInterpolant {
  /** The schedule of `α, β`. */
  readonly schedule: Schedule;
  /** The noise coefficient `γ`. */
  readonly gammaSchedule: Gamma;

  /** An interpolant with the given schedule and `γ` (trigonometric, `γ = 0` by default). */
  constructor(options: InterpolantOptions = {}) {
    this.schedule = resolveSchedule(options.schedule);
    this.gammaSchedule = resolveGamma(options.gamma);
  }

  /**
   * `α, β, γ` and their derivatives at time `t`.
   *
   * @example
   * ```ts
   * new StochasticInterpolant({ schedule: 'linear' }).coefficients(0.5).beta; // 0.5
   * ```
   */
  coefficients(t: number): Coefficients {
    if (typeof t !== 'number' || !(t >= 0 && t <= 1)) {
      throw new JouleError('StochasticInterpolant.coefficients', 't', 'a number in [0, 1]', String(t));
    }
    const s = this.schedule;
    const g = this.gammaSchedule;
    return {
      alpha: s.alpha(t),
      beta: s.beta(t),
      gamma: g.gamma(t),
      dAlpha: s.dAlpha(t),
      dBeta: s.dBeta(t),
      dGamma: g.isZero ? 0 : g.dGamma(t),
    };
  }

  /**
   * The interpolant and its time derivative at per-row times `t` (`[n]` or `[n, 1]`). `z` is
   * required when `γ` is not zero and ignored otherwise.
   *
   * @example
   * ```ts
   * const { xt, dxt } = interpolant.interpolate(times, x0, x1, randn(x1.shape, rng));
   * ```
   */
  interpolate(t: Tensor, x0: Tensor, x1: Tensor, z?: Tensor): InterpolantPoint {
    const op = 'StochasticInterpolant.interpolate';
    checkBatch(op, 'x1', x1);
    const [n, d] = x1.shape;
    checkBatch(op, 'x0', x0, n, d);
    const ts = timesOf(op, t, n);
    const cs = Array.from(ts, (ti) => this.coefficients(ti));
    const col = (f: (c: Coefficients) => number) => tensor(Float32Array.from(cs, f), [n, 1]);
    let xt = x0.mul(col((c) => c.alpha)).add(x1.mul(col((c) => c.beta)));
    let dxt = x0.mul(col((c) => c.dAlpha)).add(x1.mul(col((c) => c.dBeta)));
    if (!this.gammaSchedule.isZero) {
      if (z === undefined) throw new JouleError(op, 'z', `a tensor of shape [${n}, ${d}] (γ is not zero)`, 'undefined');
      checkBatch(op, 'z', z, n, d);
      xt = xt.add(z.mul(col((c) => c.gamma)));
      dxt = dxt.add(z.mul(col((c) => c.dGamma)));
    }
    return { xt, dxt };
  }
}

/**
 * Draws `n` times from the R-NCE paper's law Λ: the push-forward of `U[0, 1]` by `u ↦ u^{1/power}`
 * (density `power · t^{power − 1}`, concentrated near the data end `t = 1` for `power > 1`;
 * `power = 1` is uniform). Returns `[n]`.
 *
 * @example
 * ```ts
 * const t = sampleTimes(256, new Rng(0), 2);   // [256], P(t ≤ s) = s²
 * ```
 */
export function sampleTimes(n: number, rng: Rng, power = 1): Tensor {
  const op = 'sampleTimes';
  if (!Number.isInteger(n) || n <= 0) throw new JouleError(op, 'n', 'a positive integer', String(n));
  if (typeof power !== 'number' || !Number.isFinite(power) || power <= 0) {
    throw new JouleError(op, 'power', 'a finite number > 0', String(power));
  }
  if (!rng || typeof rng.uniform !== 'function') throw new JouleError(op, 'rng', 'an Rng', String(rng));
  const u = rng.uniform(n);
  const t = new Float32Array(n);
  for (let i = 0; i < n; i++) t[i] = u[i] ** (1 / power);
  return tensor(t, [n]);
}

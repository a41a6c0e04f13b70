import { grad, JouleError, type Tensor, tensor } from '@joule/tensor';
import { checkBatch, type StochasticInterpolant, timesOf } from './interpolant.js';
import type { TimeField } from './losses.js';

/**
 * A time-dependent energy on a batch, as the interpolating EBMs of the R-NCE paper (§5.2) learn
 * it: `x` is `[n, d]`, `t` is `[n, 1]`, `context` `[n, c]` when given; returns `[n]`, with
 * `ρ_t(x) ∝ exp(−E(x, t))` (library convention: low energy is high probability).
 *
 * @example
 * ```ts
 * const energy: TimeEnergy = (x, t, c) => net.apply(p, concat([x, t, c as Tensor], 1)).reshape([-1]);
 * ```
 */
export type TimeEnergy = (x: Tensor, t: Tensor, context?: Tensor) => Tensor;

/**
 * The score field `s(x, t) = ∇ₓ log ρ_t(x) = −∇ₓ E(x, t)` of a time-dependent energy, as a
 * {@link TimeField} (one backward pass per call; differentiable again, so it can sit inside the
 * ODE's exact divergence).
 *
 * @example
 * ```ts
 * const score = scoreFromEnergy((x, t) => x.square().sum(1).mul(0.5));   // s(x, t) = −x
 * ```
 */
export function scoreFromEnergy(energy: TimeEnergy): TimeField {
  const op = 'scoreFromEnergy';
  if (typeof energy !== 'function')
    throw new JouleError(op, 'energy', 'a function (x, t, context?) => [n]', typeof energy);
  return (x, t, context) => {
    checkBatch(op, 'x', x);
    const n = x.shape[0];
    const total = (y: Tensor) => {
      const e = energy(y, t, context);
      if (e.rank !== 1 || e.shape[0] !== n) {
        throw new JouleError(op, 'energy', `an energy returning shape [${n}]`, `shape [${e.shape.join(', ')}]`);
      }
      return e.sum();
    };
    return grad(total)(x).neg();
  };
}

/** Per-row columns `[n, 1]` of `β'/β` and `(β'/β)(α² + γ²) − (αα' + γγ')` at the times `t`. */
function flowCoefficients(op: string, interpolant: StochasticInterpolant, t: Tensor, n: number) {
  const times = timesOf(op, t, n);
  const linear = new Float32Array(n);
  const scoreWeight = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const c = interpolant.coefficients(times[i]);
    if (!(c.beta > 0)) {
      throw new JouleError(
        op,
        't',
        'times where β(t) > 0 (t > 0 for the linear and trigonometric schedules)',
        String(times[i]),
      );
    }
    const ratio = c.dBeta / c.beta;
    const gg = interpolant.gammaSchedule.gammaDGamma(times[i]);
    linear[i] = ratio;
    scoreWeight[i] = ratio * (c.alpha * c.alpha + c.gamma * c.gamma) - (c.alpha * c.dAlpha + gg);
  }
  return { linear: tensor(linear, [n, 1]), scoreWeight: tensor(scoreWeight, [n, 1]) };
}

/**
 * The probability-flow velocity of an interpolant expressed through its score, for a Gaussian base
 * `x0 ~ N(0, I)` independent of the data: with `σ² = α² + γ²`,
 * `b(x, t) = (β'/β) x + ((β'/β) σ² − (αα' + γγ')) s(x, t)`. With the exact score of `ρ_t` this is
 * exactly the velocity {@link velocityLoss} learns, so an energy family `E(x, t)` alone (through
 * {@link scoreFromEnergy}) defines an ODE sampler. Needs `β(t) > 0`, i.e. `t > 0` for the linear and
 * trigonometric schedules.
 *
 * @example
 * ```ts
 * const v = velocityFromScore(interpolant, scoreFromEnergy(energy));
 * const y = new InterpolantFlow(v, 2, { t1: 1 }).sample(n, rng); // start the flow at t > 0 instead
 * ```
 */
export function velocityFromScore(interpolant: StochasticInterpolant, score: TimeField): TimeField {
  const op = 'velocityFromScore';
  if (typeof interpolant?.coefficients !== 'function') {
    throw new JouleError(op, 'interpolant', 'a StochasticInterpolant', String(interpolant));
  }
  if (typeof score !== 'function')
    throw new JouleError(op, 'score', 'a function (x, t, context?) => [n, d]', typeof score);
  return (x, t, context) => {
    checkBatch(op, 'x', x);
    const { linear, scoreWeight } = flowCoefficients(op, interpolant, t, x.shape[0]);
    return x.mul(linear).add(score(x, t, context).mul(scoreWeight));
  };
}

/** Options of {@link driftFromScore}. */
export interface DriftOptions {
  /** A velocity to use (e.g. the learned `v̂_ξ` of the paper's Algorithm 4); default {@link velocityFromScore}. */
  velocity?: TimeField;
  /** The diffusion coefficient `ε(t) ≥ 0` (the paper's `η`), a number or a function of `t` (default 1). */
  epsilon?: number | ((t: number) => number);
}

/** The fields {@link driftFromScore} returns. */
export interface ScoreDrift {
  /** The probability-flow velocity `b(x, t)` (ODE drift). */
  velocity: TimeField;
  /** The SDE drift `b(x, t) + ε(t) s(x, t)`. */
  drift: TimeField;
  /** The SDE diffusion `√(2 ε(t))`. */
  diffusion: (t: number) => number;
  /** `ε(t)`, checked finite and `≥ 0`. */
  epsilon: (t: number) => number;
}

/**
 * From a time-dependent score field `s(x, t) ≈ ∇ₓ log ρ_t(x)` (e.g. `scoreFromEnergy(E)` of an
 * interpolating EBM): the probability-flow drift `b` (given, or {@link velocityFromScore}) and the SDE
 * `dx = [b + ε s] dt + √(2ε) dW` of the R-NCE paper's eq. 5.6 / Algorithm 4, which has the same
 * marginals `ρ_t` as the interpolant (with its own `γ`, which enters `b`) for every `ε(t) ≥ 0`.
 *
 * @example
 * ```ts
 * const { drift, diffusion } = driftFromScore(interpolant, scoreFromEnergy(energy), { velocity, epsilon: 0.1 });
 * const dx = drift(x, full([n, 1], t)).mul(h).add(randn(x.shape, rng).mul(diffusion(t) * Math.sqrt(h)));
 * ```
 */
export function driftFromScore(
  interpolant: StochasticInterpolant,
  score: TimeField,
  options: DriftOptions = {},
): ScoreDrift {
  const op = 'driftFromScore';
  if (typeof score !== 'function')
    throw new JouleError(op, 'score', 'a function (x, t, context?) => [n, d]', typeof score);
  if (options.velocity !== undefined && typeof options.velocity !== 'function') {
    throw new JouleError(op, 'options.velocity', 'a function (x, t, context?) => [n, d]', typeof options.velocity);
  }
  const velocity = options.velocity ?? velocityFromScore(interpolant, score);
  const eps = options.epsilon ?? 1;
  if (typeof eps !== 'number' && typeof eps !== 'function') {
    throw new JouleError(op, 'options.epsilon', 'a number ≥ 0 or a function of t', typeof eps);
  }
  const epsilon = (t: number) => {
    const e = typeof eps === 'function' ? eps(t) : eps;
    if (typeof e !== 'number' || !Number.isFinite(e) || e < 0) {
      throw new JouleError(op, 'options.epsilon', 'a finite number ≥ 0', String(e));
    }
    return e;
  };
  const drift: TimeField = (x, t, context) => {
    const v = velocity(x, t, context);
    const n = x.shape[0];
    const e = Float32Array.from(timesOf(op, t, n), epsilon);
    if (e.every((ei) => ei === 0)) return v;
    return v.add(score(x, t, context).mul(tensor(e, [n, 1])));
  };
  return { velocity, drift, diffusion: (t) => Math.sqrt(2 * epsilon(t)), epsilon };
}

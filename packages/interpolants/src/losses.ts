import { concat, JouleError, type Rng, randn, type Tensor, tensor } from '@joule/tensor';
import { checkBatch, type StochasticInterpolant, sampleTimes, timesOf } from './interpolant.js';

/**
 * A time-dependent field on a batch, optionally conditional: `x` is `[n, d]`, `t` is `[n, 1]`
 * (one time per row), `context` `[n, c]` when given; returns `[n, d]`. A velocity, a score or a
 * denoiser network has this shape.
 *
 * @example
 * ```ts
 * const field: TimeField = (x, t) => net.apply(params, concat([x, t], 1));
 * ```
 */
export type TimeField = (x: Tensor, t: Tensor, context?: Tensor) => Tensor;

/** Options of {@link velocityLoss}, {@link denoiserLoss} and {@link scoreLoss}. */
export interface InterpolantLossOptions {
  /** The conditioning context `[n, c]`, one row per data point, passed to the field. */
  context?: Tensor;
  /** Base samples `[n, d]` (default: drawn from `N(0, I)`). */
  x0?: Tensor;
  /** Times `[n]` (default: drawn from {@link sampleTimes} with `power`). */
  t?: Tensor;
  /** The exponent of the time law `t = u^{1/power}` (default 1, uniform). */
  power?: number;
  /** Draws of `(t, x0, z)` per data point, averaged (the paper's `m`, default 1). */
  repeats?: number;
  /** Drawn times are clipped into `[clip, 1 − clip]` where some coefficient derivatives diverge (default 1e-5). */
  clip?: number;
}

interface Draw {
  t: Tensor;
  x0: Tensor;
  z?: Tensor;
  context?: Tensor;
  xt: Tensor;
  dxt: Tensor;
  alpha: Float32Array;
  gamma: Float32Array;
}

function repeatRows(x: Tensor, m: number): Tensor {
  return m === 1 ? x : concat(new Array<Tensor>(m).fill(x), 0);
}

function draw(op: string, interpolant: StochasticInterpolant, x1In: Tensor, rng: Rng, o: InterpolantLossOptions): Draw {
  checkBatch(op, 'x1', x1In);
  const m = o.repeats ?? 1;
  if (!Number.isInteger(m) || m <= 0) throw new JouleError(op, 'options.repeats', 'a positive integer', String(m));
  const clip = o.clip ?? 1e-5;
  if (!(clip >= 0 && clip < 0.5)) throw new JouleError(op, 'options.clip', 'a number in [0, 0.5)', String(clip));
  const [n0, d] = x1In.shape;
  const n = n0 * m;
  if (o.context !== undefined) checkBatch(op, 'options.context', o.context, n0);
  if (o.x0 !== undefined) checkBatch(op, 'options.x0', o.x0, n0, d);
  const x1 = repeatRows(x1In, m);
  const context = o.context === undefined ? undefined : repeatRows(o.context, m);
  let times: Float32Array;
  if (o.t !== undefined) times = Float32Array.from(repeatRows(tensor(timesOf(op, o.t, n0), [n0, 1]), m).dataSync());
  else {
    times = sampleTimes(n, rng, o.power ?? 1).dataSync() as Float32Array;
    for (let i = 0; i < n; i++) times[i] = Math.min(Math.max(times[i], clip), 1 - clip);
  }
  const t = tensor(times, [n, 1]);
  const x0 = o.x0 !== undefined ? repeatRows(o.x0, m) : randn([n, d], rng);
  const z = interpolant.gammaSchedule.isZero ? undefined : randn([n, d], rng);
  const { xt, dxt } = interpolant.interpolate(t, x0, x1, z);
  const cs = Array.from(times, (ti) => interpolant.coefficients(ti));
  return {
    t,
    x0,
    z,
    context,
    xt,
    dxt,
    alpha: Float32Array.from(cs, (c) => c.alpha),
    gamma: Float32Array.from(cs, (c) => c.gamma),
  };
}

/** `mean_i w_i (‖p_i‖² − 2 p_i·y_i)`: minimized over `p` by `E[y | inputs]`. */
function quadratic(prediction: Tensor, target: Tensor, op: string, weight?: Tensor): Tensor {
  if (prediction.rank !== 2 || prediction.shape.some((s, i) => s !== target.shape[i])) {
    throw new JouleError(
      op,
      'field',
      `a field returning shape [${target.shape.join(', ')}]`,
      `shape [${prediction.shape.join(', ')}]`,
    );
  }
  const perRow = prediction.square().sum(1).sub(prediction.mul(target).sum(1).mul(2));
  return (weight ? perRow.mul(weight) : perRow).mean();
}

function checkField(op: string, field: unknown): asserts field is TimeField {
  if (typeof field !== 'function')
    throw new JouleError(op, 'field', 'a function (x, t, context?) => [n, d]', typeof field);
}

/**
 * The interpolant velocity loss of the R-NCE paper (eq. 5.3):
 * `E[‖v̂(x_t, t)‖² − 2 ∂_t x_t · v̂(x_t, t)]`, which is `E‖v̂ − ∂_t x_t‖²` minus a constant and is
 * minimized by the velocity `b(t, x) = E[∂_t x_t | x_t = x]` of the probability-flow ODE. A scalar,
 * differentiable through `field`.
 *
 * @example
 * ```ts
 * const loss = velocityLoss((x, t) => net.apply(p, concat([x, t], 1)), interpolant, batch, rng, { power: 2 });
 * ```
 */
export function velocityLoss(
  field: TimeField,
  interpolant: StochasticInterpolant,
  x1: Tensor,
  rng: Rng,
  options: InterpolantLossOptions = {},
): Tensor {
  const op = 'velocityLoss';
  checkField(op, field);
  const s = draw(op, interpolant, x1, rng, options);
  return quadratic(field(s.xt, s.t, s.context), s.dxt, op);
}

/**
 * The denoiser loss `E[‖η̂(x_t, t)‖² − 2 x0 · η̂(x_t, t)]`, minimized by `η(t, x) = E[x0 | x_t = x]`
 * (for `γ = 0` and `x0 ~ N(0, I)` the score is `−η/α`). A scalar.
 *
 * @example
 * ```ts
 * const loss = denoiserLoss(denoiser, interpolant, batch, rng);
 * ```
 */
export function denoiserLoss(
  field: TimeField,
  interpolant: StochasticInterpolant,
  x1: Tensor,
  rng: Rng,
  options: InterpolantLossOptions = {},
): Tensor {
  const op = 'denoiserLoss';
  checkField(op, field);
  const s = draw(op, interpolant, x1, rng, options);
  return quadratic(field(s.xt, s.t, s.context), s.x0, op);
}

/**
 * The score loss for a Gaussian base `x0 ~ N(0, I)` independent of `x1`: denoising score matching
 * with the conditional score `−(α x0 + γ z)/σ²`, `σ² = α² + γ²`, weighted by `σ²` so it stays
 * finite at `t = 1`: `E[σ² ‖ŝ‖² + 2 ŝ · (α x0 + γ z)]`, minimized by the score `∇ log ρ_t`. A scalar.
 *
 * @example
 * ```ts
 * const loss = scoreLoss(score, interpolant, batch, rng, { power: 2 });
 * ```
 */
export function scoreLoss(
  field: TimeField,
  interpolant: StochasticInterpolant,
  x1: Tensor,
  rng: Rng,
  options: InterpolantLossOptions = {},
): Tensor {
  const op = 'scoreLoss';
  checkField(op, field);
  const s = draw(op, interpolant, x1, rng, options);
  const n = s.x0.shape[0];
  const alpha = tensor(s.alpha, [n, 1]);
  let noise = s.x0.mul(alpha);
  if (s.z) noise = noise.add(s.z.mul(tensor(s.gamma, [n, 1])));
  const variance = Float32Array.from(s.alpha, (a, i) => a * a + s.gamma[i] * s.gamma[i]);
  const weight = tensor(variance, [n]);
  const safe = tensor(
    Float32Array.from(variance, (v) => (v > 0 ? 1 / v : 0)),
    [n, 1],
  );
  // σ²(‖ŝ‖² − 2 ŝ·target) with target = −noise/σ².
  return quadratic(field(s.xt, s.t, s.context), noise.neg().mul(safe), op, weight);
}

import { assertInRange, assertPositiveInt, type EnergyFn, JouleError, type Kernel } from '@joule/core';
import { type Rng, Tensor } from '@joule/tensor';
import { assertStepSize, type ChainState, disposeReplaced, disposeState, type StepInfo } from './state.js';

/**
 * Options of {@link DualAveraging}; the defaults are Hoffman & Gelman's (2014).
 *
 * @example
 * ```ts
 * const options: DualAveragingOptions = { initialStepSize: 0.1, targetAcceptance: 0.8 };
 * ```
 */
export interface DualAveragingOptions {
  /** The first step size `ε₀`; the iterates shrink towards `μ = log(10 ε₀)`. */
  readonly initialStepSize: number;
  /** The acceptance probability to reach, δ (default 0.8; 0.574 is optimal for MALA, 0.65 for HMC). */
  readonly targetAcceptance?: number;
  /** Shrinkage towards `μ`, γ (default 0.05). */
  readonly gamma?: number;
  /** Iteration offset that damps the first updates, t₀ (default 10). */
  readonly t0?: number;
  /** Decay exponent of the averaging weights, κ (default 0.75). */
  readonly kappa?: number;
}

/**
 * Dual-averaging step-size adaptation (Nesterov; Hoffman & Gelman 2014, Alg. 5): after each
 * transition, `update(acceptanceProb)` moves `log ε` so that the average acceptance probability
 * approaches the target; `finalStepSize` is the averaged iterate `ε̄` to use after warm-up.
 *
 * @example
 * ```ts
 * import { DualAveraging } from '@joule/mcmc';
 *
 * const da = new DualAveraging({ initialStepSize: 0.1, targetAcceptance: 0.8 });
 * let eps = da.stepSize;
 * for (let t = 0; t < 500; t++) eps = da.update(runOneTransition(eps)); // returns the next step size
 * const tuned = da.finalStepSize;
 * ```
 */
export class DualAveraging {
  private readonly delta: number;
  private readonly gamma: number;
  private readonly t0: number;
  private readonly kappa: number;
  private mu = 0;
  private t = 0;
  private hBar = 0;
  private logEps = 0;
  private logEpsBar = 0;

  /** Starts the adaptation at `options.initialStepSize`. */
  constructor(options: DualAveragingOptions) {
    const op = 'DualAveraging';
    if (options === null || typeof options !== 'object')
      throw new JouleError(op, 'options', '{ initialStepSize }', typeof options);
    this.delta = options.targetAcceptance ?? 0.8;
    assertInRange(op, 'targetAcceptance', this.delta, 0, 1, '()');
    this.gamma = options.gamma ?? 0.05;
    assertInRange(op, 'gamma', this.gamma, 0, Number.POSITIVE_INFINITY, '()');
    this.t0 = options.t0 ?? 10;
    assertInRange(op, 't0', this.t0, 0, Number.POSITIVE_INFINITY, '[)');
    this.kappa = options.kappa ?? 0.75;
    assertInRange(op, 'kappa', this.kappa, 0.5, 1, '(]');
    this.restart(options.initialStepSize);
  }

  /** Starts over from step size `stepSize` (Stan does this after each mass-matrix update). */
  restart(stepSize: number): void {
    assertStepSize('DualAveraging', 'stepSize', stepSize);
    this.mu = Math.log(10 * stepSize);
    this.t = 0;
    this.hBar = 0;
    this.logEps = Math.log(stepSize);
    this.logEpsBar = 0;
  }

  /** Records the acceptance probability of the last transition (NaN counts as 0) and returns the next step size. */
  update(acceptanceProb: number): number {
    const alpha = Number.isFinite(acceptanceProb) ? Math.min(1, Math.max(0, acceptanceProb)) : 0;
    this.t++;
    const eta = 1 / (this.t + this.t0);
    this.hBar = (1 - eta) * this.hBar + eta * (this.delta - alpha);
    this.logEps = this.mu - (Math.sqrt(this.t) / this.gamma) * this.hBar;
    const w = this.t ** -this.kappa;
    this.logEpsBar = w * this.logEps + (1 - w) * this.logEpsBar;
    return this.stepSize;
  }

  /** The step size to use for the next transition during adaptation. */
  get stepSize(): number {
    return Math.exp(this.logEps);
  }

  /** The averaged step size `ε̄`, to keep after adaptation (the current one before any update). */
  get finalStepSize(): number {
    return this.t === 0 ? this.stepSize : Math.exp(this.logEpsBar);
  }
}

/**
 * Welford's running mean and variance of each coordinate, pooled over every row pushed.
 *
 * @example
 * ```ts
 * import { RunningVariance } from '@joule/mcmc';
 *
 * const v = new RunningVariance(2);
 * v.push(new Float32Array([1, 2, 3, 6]), 2); // two rows of dimension 2
 * v.variance(); // Float64Array [2, 8]
 * ```
 */
export class RunningVariance {
  /** The dimension of the vectors. */
  readonly dim: number;
  private count = 0;
  private readonly mean: Float64Array;
  private readonly m2: Float64Array;

  /** An empty accumulator for vectors of dimension `dim`. */
  constructor(dim: number) {
    assertPositiveInt('RunningVariance', 'dim', dim);
    this.dim = dim;
    this.mean = new Float64Array(dim);
    this.m2 = new Float64Array(dim);
  }

  /** Adds `rows` vectors stored row-major in `values`. */
  push(values: ArrayLike<number>, rows: number): void {
    if (values.length !== rows * this.dim) {
      throw new JouleError(
        'RunningVariance.push',
        'values',
        `${rows * this.dim} numbers (${rows} rows of ${this.dim})`,
        `${values.length}`,
      );
    }
    for (let r = 0; r < rows; r++) {
      this.count++;
      for (let j = 0; j < this.dim; j++) {
        const v = values[r * this.dim + j];
        const delta = v - this.mean[j];
        this.mean[j] += delta / this.count;
        this.m2[j] += delta * (v - this.mean[j]);
      }
    }
  }

  /** How many vectors were pushed. */
  get size(): number {
    return this.count;
  }

  /** The unbiased variance of each coordinate (NaN before two vectors). */
  variance(): Float64Array {
    return this.m2.map((s) => s / (this.count - 1));
  }

  /** Forgets everything pushed. */
  reset(): void {
    this.count = 0;
    this.mean.fill(0);
    this.m2.fill(0);
  }
}

/**
 * The tunable parameters {@link warmup} passes to the kernel factory.
 *
 * @example
 * ```ts
 * const make = ({ stepSize, inverseMassDiag }: AdaptedParams) => hmc({ stepSize, numSteps: 10, inverseMassDiag });
 * ```
 */
export interface AdaptedParams {
  /** The step size. */
  readonly stepSize: number;
  /** The diagonal inverse mass (the estimated marginal variances), once adapted; undefined before. */
  readonly inverseMassDiag?: Float32Array;
}

/**
 * Options of {@link warmup}.
 *
 * @example
 * ```ts
 * const options: WarmupOptions = { steps: 500, rng: new Rng(0), targetAcceptance: 0.8 };
 * ```
 */
export interface WarmupOptions {
  /** Warm-up transitions (at least 20 when adapting the mass matrix). */
  readonly steps: number;
  /** The random generator. */
  readonly rng: Rng;
  /** The first step size (default 0.1). */
  readonly initialStepSize?: number;
  /** The acceptance probability to reach (default 0.8). */
  readonly targetAcceptance?: number;
  /** Whether to adapt a diagonal inverse mass matrix in Stan-like windows (default true). */
  readonly adaptMass?: boolean;
  /** The conditioning context `[n, c]` passed to the energy. */
  readonly context?: Tensor;
}

/**
 * What {@link warmup} returns: the tuned parameters, the kernel built with them and the final
 * state (owned by the caller: pass it to {@link sample} as `init`).
 *
 * @example
 * ```ts
 * const { kernel, state, stepSize } = await warmup(make, energy, x0, { steps: 500, rng });
 * ```
 */
export interface WarmupResult<S, I> {
  /** The kernel built with the tuned parameters. */
  readonly kernel: Kernel<S, I>;
  /** The state at the end of warm-up. */
  readonly state: S;
  /** The tuned step size (dual averaging's averaged iterate). */
  readonly stepSize: number;
  /** The tuned inverse mass diagonal, when `adaptMass`. */
  readonly inverseMassDiag?: Float32Array;
}

/** Stan's warm-up windows: a fast initial buffer, doubling slow windows (mass matrix), a fast terminal buffer. Returns the last step of each slow window. */
function slowWindowEnds(steps: number): { start: number; ends: number[] } {
  let initBuffer = 75;
  let termBuffer = 50;
  let base = 25;
  if (initBuffer + termBuffer + base > steps) {
    initBuffer = Math.floor(0.15 * steps);
    termBuffer = Math.floor(0.1 * steps);
    base = steps - initBuffer - termBuffer;
  }
  const slowEnd = steps - termBuffer;
  const ends: number[] = [];
  let start = initBuffer;
  let size = base;
  while (start < slowEnd) {
    let end = start + size;
    if (end + 2 * size > slowEnd) end = slowEnd;
    ends.push(end - 1);
    start = end;
    size *= 2;
  }
  return { start: initBuffer, ends };
}

/**
 * Warm-up with adaptation: runs `steps` transitions of the kernel `makeKernel({ stepSize,
 * inverseMassDiag })` while dual averaging tunes the step size towards `targetAcceptance` (using
 * the acceptance probability averaged over chains: one step size is shared by all chains) and, if
 * `adaptMass`, the diagonal inverse mass is set to the variance of the positions pooled over
 * chains in Stan's windows (75-step fast buffer, slow windows of 25, 50, 100… steps, 50-step fast
 * buffer; scaled down for short warm-ups), regularized as `(k/(k+5)) var + 10⁻³ · 5/(k+5)` for `k`
 * pooled draws, with the step size adaptation restarted after each window. Non-finite proposals
 * are rejected during warm-up (they are expected while the step size is too large).
 *
 * @example
 * ```ts
 * import { hmc, sample, warmup } from '@joule/mcmc';
 *
 * const tuned = await warmup((p) => hmc({ ...p, numSteps: 10 }), energy, x0, { steps: 500, rng, targetAcceptance: 0.8 });
 * const { draws } = await sample(tuned.kernel, energy, tuned.state, { steps: 1000, rng });
 * ```
 */
export async function warmup<S extends ChainState, I extends StepInfo>(
  makeKernel: (params: AdaptedParams) => Kernel<S, I>,
  energy: EnergyFn,
  init: Tensor,
  options: WarmupOptions,
): Promise<WarmupResult<S, I>> {
  const op = 'warmup';
  if (typeof makeKernel !== 'function')
    throw new JouleError(op, 'makeKernel', 'a function (params) => Kernel', typeof makeKernel);
  if (options === null || typeof options !== 'object')
    throw new JouleError(op, 'options', '{ steps, rng }', typeof options);
  assertPositiveInt(op, 'steps', options.steps);
  if (!(init instanceof Tensor)) throw new JouleError(op, 'init', 'a Tensor [n, d]', typeof init);
  const adaptMass = options.adaptMass ?? true;
  if (adaptMass && options.steps < 20)
    throw new JouleError(op, 'steps', 'at least 20 when adapting the mass matrix', String(options.steps));
  const da = new DualAveraging({
    initialStepSize: options.initialStepSize ?? 0.1,
    targetAcceptance: options.targetAcceptance,
  });
  let inverseMassDiag: Float32Array | undefined;
  let kernel = makeKernel({ stepSize: da.stepSize });
  let state = kernel.init(init, energy, options.context);
  const [n, d] = state.x.shape;
  const variance = new RunningVariance(d);
  const windows = adaptMass ? slowWindowEnds(options.steps) : { start: options.steps, ends: [] };
  try {
    for (let t = 0; t < options.steps; t++) {
      const { state: next, info } = kernel.step(options.rng, state);
      const prob = await info.acceptanceProb.data();
      const inSlowWindow = t >= windows.start && windows.ends.length > 0 && t <= windows.ends[windows.ends.length - 1];
      if (inSlowWindow) variance.push(await next.x.data(), n);
      disposeReplaced(info, next);
      disposeReplaced(state, next);
      state = next;
      let mean = 0;
      for (let i = 0; i < n; i++) mean += Number.isFinite(prob[i]) ? prob[i] : 0;
      da.update(mean / n);
      if (windows.ends.includes(t)) {
        const k = variance.size;
        inverseMassDiag = Float32Array.from(variance.variance(), (v) => (k / (k + 5)) * v + 1e-3 * (5 / (k + 5)));
        variance.reset();
        da.restart(da.stepSize);
      }
      kernel = makeKernel({ stepSize: da.stepSize, inverseMassDiag });
    }
  } catch (e) {
    disposeState(state);
    throw e;
  }
  const stepSize = da.finalStepSize;
  return { kernel: makeKernel({ stepSize, inverseMassDiag }), state, stepSize, inverseMassDiag };
}

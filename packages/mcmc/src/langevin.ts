import { assertPositiveInt, type EnergyFn, JouleError, type Kernel } from '@joule/core';
import { concat, full, noGrad, ones, rand, randn, type Tensor, type TensorTree, tidy, zeros } from '@joule/tensor';
import {
  assertStepSize,
  baseInfo,
  type ChainState,
  disposeState,
  energyAndGrad,
  finiteChains,
  initialState,
  inverseMassTensor,
  inverseMassValues,
  type StepInfo,
  selectRows,
  type Target,
} from './state.js';

/**
 * Options of the overdamped Langevin kernels ({@link ula}, {@link mala}).
 *
 * @example
 * ```ts
 * const options: LangevinOptions = { stepSize: 0.05, inverseMassDiag: [1, 0.1] };
 * ```
 */
export interface LangevinOptions {
  /**
   * The time step `h` of the Langevin diffusion `dX = −∇E(X) dt + √2 dW`: one step is
   * `x' = x − h ∇E(x) + √(2h) ξ` (the papers' `h`/`η`; score-based papers that write
   * `x + (ε/2)∇log p + √ε z` use `ε = 2h`).
   */
  readonly stepSize: number;
  /**
   * A diagonal preconditioner `M⁻¹` (`d` positive entries): `x' = x − h M⁻¹∇E + √(2h) M^{-1/2} ξ`.
   * Identity when omitted.
   */
  readonly inverseMassDiag?: ArrayLike<number> | Tensor;
}

/** Runs a kernel step body without recording for outer gradients and releases its intermediates. */
export function stepScope<S, I>(fn: () => { state: S; info: I }): { state: S; info: I } {
  return tidy(() => noGrad(fn) as unknown as TensorTree) as unknown as { state: S; info: I };
}

function langevinPieces(op: string, options: LangevinOptions) {
  if (options === null || typeof options !== 'object')
    throw new JouleError(op, 'options', '{ stepSize }', typeof options);
  assertStepSize(op, 'stepSize', options.stepSize);
  const h = options.stepSize;
  const invMass = inverseMassValues(op, options.inverseMassDiag);
  const init = (x: Tensor, energy: EnergyFn, context?: Tensor): ChainState => {
    const state = initialState(op, x, energy, context);
    if (invMass !== null && invMass.length !== x.shape[1]) {
      disposeState(state);
      throw new JouleError(
        op,
        'inverseMassDiag',
        `${x.shape[1]} entries (one per dimension of x)`,
        `${invMass.length}`,
      );
    }
    return state;
  };
  return { h, init, massFor: (d: number) => inverseMassTensor(op, invMass, d) };
}

/** `x − h M⁻¹ g + √(2h) M^{-1/2} ξ`. */
function langevinMove(x: Tensor, g: Tensor, h: number, noise: Tensor, invMass: Tensor | null): Tensor {
  if (invMass === null) return x.sub(g.mul(h)).add(noise.mul(Math.sqrt(2 * h)));
  return x.sub(g.mul(invMass).mul(h)).add(noise.mul(invMass.sqrt()).mul(Math.sqrt(2 * h)));
}

/** `log q(to | from)` of the Langevin proposal, up to a constant that cancels in the MH ratio. */
function langevinLogProposal(to: Tensor, from: Tensor, gradFrom: Tensor, h: number, invMass: Tensor | null): Tensor {
  const r = to.sub(langevinMove(from, gradFrom, h, zeros([]), invMass));
  const q = invMass === null ? r.square() : r.square().div(invMass);
  return q.sum(1).mul(-1 / (4 * h));
}

/**
 * The Metropolis–Hastings log-acceptance ratio of a (preconditioned) MALA move from `x` to `y`:
 * `E(x) − E(y) + log q(x | y) − log q(y | x)`, shape `[n]`. Exposed for tests of detailed balance.
 *
 * @example
 * ```ts
 * const logAlpha = malaLogAcceptance(x, ex, gx, y, ey, gy, 0.1);
 * ```
 */
export function malaLogAcceptance(
  x: Tensor,
  energyX: Tensor,
  gradX: Tensor,
  y: Tensor,
  energyY: Tensor,
  gradY: Tensor,
  stepSize: number,
  inverseMassDiag: Tensor | null = null,
): Tensor {
  return energyX
    .sub(energyY)
    .add(langevinLogProposal(x, y, gradY, stepSize, inverseMassDiag))
    .sub(langevinLogProposal(y, x, gradX, stepSize, inverseMassDiag));
}

/** Moves the chains where `accept` is 1 and returns the new state with its info. */
export function moveTo(
  state: ChainState,
  y: Tensor,
  ey: Tensor,
  gy: Tensor,
  accept: Tensor,
  acceptanceProb: Tensor,
  nonFinite: Tensor,
): { state: ChainState; info: StepInfo } {
  const x = selectRows(accept, y, state.x);
  const energy = selectRows(accept, ey, state.energy);
  const grad = selectRows(accept, gy, state.grad);
  return {
    state: { x, energy, grad, target: state.target },
    info: baseInfo(acceptanceProb, accept, energy, grad, nonFinite),
  };
}

/**
 * The unadjusted Langevin algorithm (ULA): `x' = x − h ∇E(x) + √(2h) ξ`, `ξ ~ N(0, I)`, with no
 * Metropolis correction, so its samples carry an `O(h)` bias (for `E = x²/(2σ²)` the stationary
 * variance is `σ² / (1 − h/(2σ²))`). One energy and gradient evaluation per step (the gradient at
 * the current point is cached in the state). A proposal with a NaN or infinite position, energy or
 * gradient is rejected (the chain stays) and flagged in `info.nonFinite`; `acceptanceProb` and
 * `accepted` are 1 where the chain moved.
 *
 * @example
 * ```ts
 * import { ula, sample } from '@joule/mcmc';
 *
 * const { draws } = await sample(ula({ stepSize: 0.01 }), energy, x0, { steps: 1000, rng: new Rng(0) });
 * ```
 */
export function ula(options: LangevinOptions): Kernel<ChainState, StepInfo> {
  const { h, init, massFor } = langevinPieces('ula', options);
  return {
    init,
    step(rng, state) {
      return stepScope(() => {
        const invMass = massFor(state.x.shape[1]);
        const y = langevinMove(state.x, state.grad, h, randn(state.x.shape, rng), invMass);
        const { energy: ey, grad: gy } = energyAndGrad('ula', state.target, y);
        const finite = finiteChains(y, ey, gy);
        return moveTo(state, y, ey, gy, finite, finite, ones(finite.shape).sub(finite));
      });
    },
  };
}

/**
 * The Metropolis-adjusted Langevin algorithm (MALA): the {@link ula} proposal
 * `y = x − h M⁻¹∇E(x) + √(2h) M^{-1/2} ξ` accepted with probability
 * `min(1, exp(E(x) − E(y)) q(x | y) / q(y | x))`, so the chain targets `exp(−E)` exactly.
 * One energy and gradient evaluation per step; proposals with non-finite values are rejected.
 *
 * @example
 * ```ts
 * import { mala } from '@joule/mcmc';
 *
 * const kernel = mala({ stepSize: 0.1 });
 * let state = kernel.init(x0, energy);
 * const { state: next, info } = kernel.step(new Rng(0), state); // info.acceptanceProb: [n]
 * ```
 */
export function mala(options: LangevinOptions): Kernel<ChainState, StepInfo> {
  const { h, init, massFor } = langevinPieces('mala', options);
  return {
    init,
    step(rng, state) {
      return stepScope(() => {
        const invMass = massFor(state.x.shape[1]);
        const n = state.x.shape[0];
        const noise = randn(state.x.shape, rng);
        const logU = rand([n], rng).log();
        const y = langevinMove(state.x, state.grad, h, noise, invMass);
        const { energy: ey, grad: gy } = energyAndGrad('mala', state.target, y);
        const finite = finiteChains(y, ey, gy);
        const logAlpha = selectRows(
          finite,
          malaLogAcceptance(state.x, state.energy, state.grad, y, ey, gy, h, invMass),
          full([n], Number.NEGATIVE_INFINITY),
        );
        const accept = logU.lt(logAlpha);
        const prob = logAlpha.minimum(0).exp();
        return moveTo(state, y, ey, gy, accept, prob, ones([n]).sub(finite));
      });
    },
  };
}

/**
 * Options of {@link gradientDescent}.
 *
 * @example
 * ```ts
 * const options: GradientDescentOptions = { stepSize: 0.1 };
 * ```
 */
export interface GradientDescentOptions {
  /** The step `h` of `x' = x − h ∇E(x)`. */
  readonly stepSize: number;
}

/**
 * Plain gradient descent on the energy, `x' = x − h ∇E(x)`, as a kernel: mode seeking (a MAP
 * estimate, or the zero-temperature limit of {@link ula}), not sampling. It uses no randomness.
 * A step to a non-finite point is rejected and flagged.
 *
 * @example
 * ```ts
 * import { gradientDescent, sample } from '@joule/mcmc';
 *
 * const kernel = gradientDescent({ stepSize: 0.1 });
 * let state = kernel.init(x0, energy);
 * for (let t = 0; t < 100; t++) state = kernel.step(rng, state).state; // dispose old states in long loops
 * ```
 */
export function gradientDescent(options: GradientDescentOptions): Kernel<ChainState, StepInfo> {
  if (options === null || typeof options !== 'object')
    throw new JouleError('gradientDescent', 'options', '{ stepSize }', typeof options);
  assertStepSize('gradientDescent', 'stepSize', options.stepSize);
  const h = options.stepSize;
  return {
    init: (x, energy, context) => initialState('gradientDescent', x, energy, context),
    step(_rng, state) {
      return stepScope(() => {
        const y = state.x.sub(state.grad.mul(h));
        const { energy: ey, grad: gy } = energyAndGrad('gradientDescent', state.target, y);
        const finite = finiteChains(y, ey, gy);
        return moveTo(state, y, ey, gy, finite, finite, ones(finite.shape).sub(finite));
      });
    },
  };
}

/**
 * Options of {@link annealedLangevin}.
 *
 * @example
 * ```ts
 * const options: AnnealedLangevinOptions = { stepSize: 1e-3, levels: [4, 2, 1], stepsPerLevel: 100 };
 * ```
 */
export interface AnnealedLangevinOptions {
  /** The ULA step `h` at the last level; level `k` uses `h · (levels[k] / levels[last])` for temperatures and `h · (levels[k] / levels[last])²` for noise scales. */
  readonly stepSize: number;
  /** The schedule: temperatures (`'temperature'`) or noise scales σ (`'noise'`), one per level, usually decreasing. */
  readonly levels: readonly number[];
  /** How many steps each level runs; after the last level the chain keeps sampling at it. */
  readonly stepsPerLevel: number;
  /**
   * `'temperature'` (default): level `k` targets `exp(−E(x)/T_k)`. `'noise'`: level `k` targets
   * `exp(−E(x, c_k))`, the energy called with the noise scale `σ_k` appended as the last column of
   * the context (`[n, 1]` when there is no other context), as in noise-conditional score models.
   */
  readonly mode?: 'temperature' | 'noise';
}

/**
 * The state of {@link annealedLangevin}: a {@link ChainState} whose `energy` and `grad` belong to
 * the level `level` (the untempered `E(x)` in temperature mode), plus the steps taken so far.
 *
 * @example
 * ```ts
 * const { state } = kernel.step(rng, kernel.init(x0, energy));
 * state.level; // 0 during the first level
 * ```
 */
export interface AnnealedState extends ChainState {
  /** Steps taken so far. */
  readonly stepIndex: number;
  /** The level the cached energy and gradient belong to. */
  readonly level: number;
}

/**
 * What {@link annealedLangevin} reports: {@link StepInfo} plus the level of the step.
 *
 * @example
 * ```ts
 * const { info } = annealedLangevin({ stepSize: 0.1, levels: [2, 1], stepsPerLevel: 10 }).step(rng, state);
 * info.level; // 0
 * ```
 */
export interface AnnealedInfo extends StepInfo {
  /** The index of the schedule level this step ran at. */
  readonly level: number;
}

/**
 * Annealed Langevin dynamics: {@link ula} steps over a schedule of temperatures or noise scales,
 * `stepsPerLevel` steps per level, ending at the last level (with `T = 1`, or the smallest σ,
 * the target itself). In temperature mode the step is `x' = x − h_k ∇E(x)/T_k + √(2h_k) ξ` with
 * `h_k = h T_k / T_last`, so the drift keeps the size `h/T_last` while the noise anneals; in
 * noise mode `h_k = h σ_k² / σ_last²` (Song & Ermon, 2019). One evaluation per step, plus one at
 * each change of level in noise mode. Non-finite proposals are rejected and flagged.
 *
 * @example
 * ```ts
 * import { annealedLangevin } from '@joule/mcmc';
 *
 * const kernel = annealedLangevin({ stepSize: 0.01, levels: [10, 3, 1], stepsPerLevel: 200 });
 * const { draws } = await sample(kernel, energy, x0, { steps: 600, burnIn: 400, rng });
 * ```
 */
export function annealedLangevin(options: AnnealedLangevinOptions): Kernel<AnnealedState, AnnealedInfo> {
  const op = 'annealedLangevin';
  if (options === null || typeof options !== 'object')
    throw new JouleError(op, 'options', '{ stepSize, levels, stepsPerLevel }', typeof options);
  assertStepSize(op, 'stepSize', options.stepSize);
  assertPositiveInt(op, 'stepsPerLevel', options.stepsPerLevel);
  const mode = options.mode ?? 'temperature';
  if (mode !== 'temperature' && mode !== 'noise')
    throw new JouleError(op, 'mode', "'temperature' or 'noise'", String(mode));
  const levels = options.levels;
  if (!Array.isArray(levels) || levels.length === 0)
    throw new JouleError(op, 'levels', 'a non-empty array of positive numbers', String(levels));
  levels.forEach((v, i) => {
    if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0)
      throw new JouleError(op, `levels[${i}]`, 'a finite number > 0', String(v));
  });
  const last = levels[levels.length - 1];
  const h = options.stepSize;
  const stepSizeAt = (k: number) =>
    mode === 'temperature' ? (h * levels[k]) / last : (h * levels[k] ** 2) / last ** 2;
  const levelAt = (stepIndex: number) => Math.min(Math.floor(stepIndex / options.stepsPerLevel), levels.length - 1);
  /** The target of level `k`: in noise mode, the energy with σ_k appended to the context. */
  const targetAt = (base: Target, k: number, n: number): Target => {
    if (mode === 'temperature') return base;
    const sigma = full([n, 1], levels[k]);
    return { energy: base.energy, context: base.context === undefined ? sigma : concat([base.context, sigma], 1) };
  };
  return {
    init(x, energy, context) {
      const state = initialState(op, x, energy, context, (target) => targetAt(target, 0, x.shape[0]));
      return { ...state, stepIndex: 0, level: 0 };
    },
    step(rng, state) {
      const k = levelAt(state.stepIndex);
      return stepScope(() => {
        const n = state.x.shape[0];
        const levelTarget = targetAt(state.target, k, n);
        let { energy: e, grad: g } = state;
        if (k !== state.level) ({ energy: e, grad: g } = energyAndGrad(op, levelTarget, state.x));
        const hk = stepSizeAt(k);
        const drift = mode === 'temperature' ? g.div(levels[k]) : g;
        const y = langevinMove(state.x, drift, hk, randn(state.x.shape, rng), null);
        const { energy: ey, grad: gy } = energyAndGrad(op, levelTarget, y);
        const finite = finiteChains(y, ey, gy);
        const moved = moveTo({ ...state, energy: e, grad: g }, y, ey, gy, finite, finite, ones([n]).sub(finite));
        return {
          state: { ...moved.state, stepIndex: state.stepIndex + 1, level: k },
          info: { ...moved.info, level: k },
        };
      });
    },
  };
}

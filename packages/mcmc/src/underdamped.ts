import { assertInRange, JouleError, type Kernel } from '@joule/core';
import { ones, randn, type Tensor, zerosLike } from '@joule/tensor';
import { stepScope } from './langevin.js';
import {
  assertStepSize,
  baseInfo,
  type ChainState,
  disposeState,
  energyAndGrad,
  finiteChains,
  finiteRows,
  initialState,
  inverseMassTensor,
  inverseMassValues,
  type StepInfo,
  selectRows,
} from './state.js';

/**
 * Options of {@link underdampedLangevin}.
 *
 * @example
 * ```ts
 * const options: UnderdampedLangevinOptions = { stepSize: 0.1, friction: 1 };
 * ```
 */
export interface UnderdampedLangevinOptions {
  /** The time step `h` of the discretized SDE. */
  readonly stepSize: number;
  /** The friction `γ > 0` (high friction approaches overdamped Langevin, low friction Hamiltonian motion). */
  readonly friction: number;
  /** The diagonal of the inverse mass matrix (identity when omitted). */
  readonly inverseMassDiag?: ArrayLike<number> | Tensor;
}

/**
 * The state of {@link underdampedLangevin}: a {@link ChainState} plus the momenta `p` `[n, d]`.
 *
 * @example
 * ```ts
 * const state = underdampedLangevin({ stepSize: 0.1, friction: 1 }).init(x0, energy);
 * state.p; // zeros [n, d] at the start
 * ```
 */
export interface UnderdampedState extends ChainState {
  /** Momenta, `[n, d]` (zero at `init`, refreshed by the friction-noise part of each step). */
  readonly p: Tensor;
}

/**
 * Underdamped (kinetic) Langevin dynamics `dx = M⁻¹p dt`, `dp = −∇E(x) dt − γ p dt + √(2γ) M^{1/2} dW`,
 * integrated with the BAOAB splitting (Leimkuhler & Matthews, 2013): half kick, half drift, the
 * exact Ornstein–Uhlenbeck momentum update `p ← e^{−γh} p + √(1 − e^{−2γh}) M^{1/2} ξ`, half drift,
 * half kick. Unadjusted (no Metropolis step); its configurational bias is `O(h²)` and vanishes for
 * Gaussian targets. One gradient evaluation per step; momenta persist between steps and start at
 * zero. A step to a non-finite point is rejected (the chain keeps its position and momentum) and
 * flagged.
 *
 * @example
 * ```ts
 * import { underdampedLangevin, sample } from '@joule/mcmc';
 *
 * const kernel = underdampedLangevin({ stepSize: 0.2, friction: 1 });
 * const { draws } = await sample(kernel, energy, x0, { steps: 2000, burnIn: 200, rng: new Rng(3) });
 * ```
 */
export function underdampedLangevin(options: UnderdampedLangevinOptions): Kernel<UnderdampedState, StepInfo> {
  const op = 'underdampedLangevin';
  if (options === null || typeof options !== 'object')
    throw new JouleError(op, 'options', '{ stepSize, friction }', typeof options);
  assertStepSize(op, 'stepSize', options.stepSize);
  assertInRange(op, 'friction', options.friction, 0, Number.POSITIVE_INFINITY, '()');
  const h = options.stepSize;
  const c = Math.exp(-options.friction * h);
  const noiseScale = Math.sqrt(1 - c * c);
  const invMass = inverseMassValues(op, options.inverseMassDiag);
  return {
    init(x, energy, context) {
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
      return { ...state, p: zerosLike(x) };
    },
    step(rng, state) {
      return stepScope(() => {
        const m = inverseMassTensor(op, invMass, state.x.shape[1]);
        const velocity = (p: Tensor) => (m === null ? p : p.mul(m));
        const xi = randn(state.x.shape, rng);
        const kick = state.p.sub(state.grad.mul(h / 2));
        const drifted = state.x.add(velocity(kick).mul(h / 2));
        const refreshed = kick.mul(c).add((m === null ? xi : xi.div(m.sqrt())).mul(noiseScale));
        const y = drifted.add(velocity(refreshed).mul(h / 2));
        const { energy: ey, grad: gy } = energyAndGrad(op, state.target, y);
        const py = refreshed.sub(gy.mul(h / 2));
        const finite = finiteChains(y, ey, gy).mul(finiteRows(py));
        const x = selectRows(finite, y, state.x);
        const energy = selectRows(finite, ey, state.energy);
        const grad = selectRows(finite, gy, state.grad);
        return {
          state: { x, energy, grad, p: selectRows(finite, py, state.p), target: state.target },
          info: baseInfo(finite, finite, energy, grad, ones(finite.shape).sub(finite)),
        };
      });
    },
  };
}

import { assertInRange, assertPositiveInt, type EnergyFn, JouleError, type Kernel } from '@joule/core';
import {
  full,
  getBackend,
  isFinite,
  ones,
  type Rng,
  rand,
  randn,
  type Tensor,
  tensor,
  where,
  zeros,
} from '@joule/tensor';
import { stepScope } from './langevin.js';
import {
  advance,
  assertStepSize,
  baseInfo,
  type ChainState,
  disposeReplaced,
  disposeState,
  energyAndGrad,
  finiteChains,
  finiteRows,
  initialState,
  inverseMassTensor,
  inverseMassValues,
  logAddExp,
  type StepInfo,
  selectRows,
  type Target,
} from './state.js';

/**
 * Options of {@link hmc}.
 *
 * @example
 * ```ts
 * const options: HmcOptions = { stepSize: 0.2, numSteps: 10, inverseMassDiag: [1, 4] };
 * ```
 */
export interface HmcOptions {
  /** The leapfrog step `ε` (one leapfrog step of HMC is a MALA step with `h = ε²/2`). */
  readonly stepSize: number;
  /** Leapfrog steps per transition `L` (the trajectory length is `L ε`). */
  readonly numSteps: number;
  /** The diagonal of the inverse mass matrix `M⁻¹` (`d` positive entries; identity when omitted). Set it to the target's marginal variances. */
  readonly inverseMassDiag?: ArrayLike<number> | Tensor;
  /** An energy error `H(end) − H(start)` above this marks the transition divergent (default 1000). */
  readonly maxEnergyError?: number;
}

/**
 * What {@link hmc} reports per chain, beyond {@link StepInfo}.
 *
 * @example
 * ```ts
 * const { info } = hmc({ stepSize: 0.1, numSteps: 10 }).step(rng, state);
 * info.divergent; // [n]
 * ```
 */
export interface HmcInfo extends StepInfo {
  /** 1 where the energy error exceeded `maxEnergyError` or went non-finite. */
  readonly divergent: Tensor;
}

/** Momentum tools for a diagonal inverse mass: velocity `M⁻¹p`, kinetic energy `½ pᵀM⁻¹p`, sampling `p ~ N(0, M)`. */
function momentumTools(invMass: Tensor | null) {
  const velocity = (p: Tensor) => (invMass === null ? p : p.mul(invMass));
  return {
    velocity,
    kinetic: (p: Tensor) => velocity(p).mul(p).sum(1).mul(0.5),
    draw: (shape: readonly number[], rng: Rng) => {
      const z = randn(shape, rng);
      return invMass === null ? z : z.div(invMass.sqrt());
    },
  };
}

/** One leapfrog step of size `eps` (a number or a `[n, 1]` tensor of signed per-chain steps). */
function leapfrog(
  op: string,
  target: Target,
  x: Tensor,
  p: Tensor,
  g: Tensor,
  eps: number | Tensor,
  velocity: (p: Tensor) => Tensor,
) {
  const halfEps = typeof eps === 'number' ? eps / 2 : eps.mul(0.5);
  const pHalf = p.sub(g.mul(halfEps));
  const x1 = x.add(velocity(pHalf).mul(eps));
  const { energy: e1, grad: g1 } = energyAndGrad(op, target, x1);
  return { x: x1, p: pHalf.sub(g1.mul(halfEps)), g: g1, e: e1 };
}

function hmcPieces(
  op: string,
  options: { stepSize: number; inverseMassDiag?: ArrayLike<number> | Tensor; maxEnergyError?: number },
) {
  if (options === null || typeof options !== 'object')
    throw new JouleError(op, 'options', '{ stepSize, … }', typeof options);
  assertStepSize(op, 'stepSize', options.stepSize);
  const maxEnergyError = options.maxEnergyError ?? 1000;
  assertInRange(op, 'maxEnergyError', maxEnergyError, 0, Number.POSITIVE_INFINITY, '(]');
  const invMass = inverseMassValues(op, options.inverseMassDiag);
  const init = (x: Tensor, energy: EnergyFn, context?: Tensor) => {
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
  return { eps: options.stepSize, maxEnergyError, init, massFor: (d: number) => inverseMassTensor(op, invMass, d) };
}

/** A new tensor object sharing `t`'s storage, so that disposing it leaves `t` alive. */
function view(t: Tensor): Tensor {
  return t.reshape(t.shape);
}

/**
 * Hamiltonian Monte Carlo: a fresh momentum `p ~ N(0, M)`, `numSteps` leapfrog steps of size `ε`
 * on `H(x, p) = E(x) + ½ pᵀM⁻¹p`, and a Metropolis accept with probability `min(1, e^{H₀ − H₁})`,
 * vectorized over chains. `numSteps` gradient evaluations per transition (the gradient at the
 * current point is cached). A trajectory that goes non-finite is rejected and flagged.
 *
 * @example
 * ```ts
 * import { hmc, sample } from '@joule/mcmc';
 *
 * const kernel = hmc({ stepSize: 0.2, numSteps: 10 });
 * const { draws } = await sample(kernel, energy, x0, { steps: 500, burnIn: 100, rng: new Rng(1) });
 * ```
 */
export function hmc(options: HmcOptions): Kernel<ChainState, HmcInfo> {
  const op = 'hmc';
  const { eps, maxEnergyError, init, massFor } = hmcPieces(op, options);
  assertPositiveInt(op, 'numSteps', options.numSteps);
  const numSteps = options.numSteps;
  return {
    init,
    step(rng, state) {
      return stepScope(() => {
        const [n, d] = state.x.shape;
        const { velocity, kinetic, draw } = momentumTools(massFor(d));
        const p0 = draw([n, d], rng);
        const logU = rand([n], rng).log();
        const h0 = state.energy.add(kinetic(p0));
        let traj = { x: view(state.x), p: p0, g: view(state.grad), e: view(state.energy) };
        for (let s = 0; s < numSteps; s++) {
          const from = traj;
          traj = advance(from, () => leapfrog(op, state.target, from.x, from.p, from.g, eps, velocity));
        }
        const h1 = traj.e.add(kinetic(traj.p));
        const finite = finiteChains(traj.x, traj.e, traj.g).mul(finiteRows(traj.p)).mul(isFinite(h1));
        const logAlpha = where(finite, h0.sub(h1), Number.NEGATIVE_INFINITY);
        const accept = logU.lt(logAlpha);
        const x = selectRows(accept, traj.x, state.x);
        const energy = selectRows(accept, traj.e, state.energy);
        const grad = selectRows(accept, traj.g, state.grad);
        const divergent = ones([n]).sub(finite.mul(h1.sub(h0).le(maxEnergyError)));
        return {
          state: { x, energy, grad, target: state.target },
          info: { ...baseInfo(logAlpha.minimum(0).exp(), accept, energy, grad, ones([n]).sub(finite)), divergent },
        };
      });
    },
  };
}

/**
 * Options of {@link nuts}.
 *
 * @example
 * ```ts
 * const options: NutsOptions = { stepSize: 0.3, maxDepth: 8 };
 * ```
 */
export interface NutsOptions {
  /** The leapfrog step `ε`. */
  readonly stepSize: number;
  /** The most doublings of the trajectory (at most `2^maxDepth − 1` leapfrog steps; default 10). */
  readonly maxDepth?: number;
  /** The diagonal of the inverse mass matrix (identity when omitted). */
  readonly inverseMassDiag?: ArrayLike<number> | Tensor;
  /** An energy error above this is a divergence that stops the trajectory (default 1000). */
  readonly maxEnergyError?: number;
}

/**
 * What {@link nuts} reports per chain, beyond {@link StepInfo} (whose `acceptanceProb` is the
 * mean of `min(1, e^{H₀ − H})` over the trajectory's leaves, the statistic step-size adaptation
 * targets).
 *
 * @example
 * ```ts
 * const { info } = nuts({ stepSize: 0.3 }).step(rng, state);
 * info.depth; info.numSteps; info.divergent; // [n] each
 * ```
 */
export interface NutsInfo extends StepInfo {
  /** How many doublings the trajectory made. */
  readonly depth: Tensor;
  /** Leapfrog steps (gradient evaluations) the chain used. */
  readonly numSteps: Tensor;
  /** 1 where the trajectory stopped on a divergence (energy error above `maxEnergyError`, or non-finite). */
  readonly divergent: Tensor;
}

/** Checkpoint slots for leaf `k` of a subtree (iterative NUTS): the highest slot, and the lowest one to check at odd `k`. */
function checkpointSlots(k: number): { max: number; min: number } {
  let max = 0;
  for (let m = k >> 1; m > 0; m >>= 1) max += m & 1;
  let trailingOnes = 0;
  for (let m = k; (m & 1) === 1; m >>= 1) trailingOnes++;
  return { max, min: max - trailingOnes + 1 };
}

/** True when every entry of a 0/1 mask is 1 (false on backends that cannot read synchronously: the loop then runs to its bound). */
function allSet(mask: Tensor): boolean {
  if (!getBackend().canReadSync) return false;
  return mask.min().dataSync()[0] === 1;
}

/**
 * The No-U-Turn Sampler (Hoffman & Gelman, 2014) in its multinomial form (Betancourt, 2017): the
 * trajectory doubles forwards or backwards at random until the generalized U-turn criterion
 * `M⁻¹p± · ρ ≤ 0` holds on the whole trajectory or on any of its binary sub-trees, a divergence
 * occurs, or `maxDepth` doublings are done. Within a new sub-tree a state is drawn with weights
 * `e^{−H}` (progressive multinomial sampling); the sub-tree's draw replaces the current one with
 * probability `min(1, W_new / W_old)` (biased progressive sampling).
 *
 * Chains run in lockstep over one batched energy: all chains take the same leaf index at the same
 * time, a chain whose trajectory has stopped is frozen (step 0) and its updates masked, and the
 * step ends when every chain has stopped. Trees therefore differ per chain at the cost of some
 * idle evaluations for finished chains. Stopping early reads a flag per leapfrog step
 * synchronously; on a backend without synchronous reads each step runs to `maxDepth`.
 *
 * @example
 * ```ts
 * import { nuts, sample } from '@joule/mcmc';
 *
 * const { draws } = await sample(nuts({ stepSize: 0.3 }), energy, x0, { steps: 300, burnIn: 100, rng: new Rng(2) });
 * ```
 */
export function nuts(options: NutsOptions): Kernel<ChainState, NutsInfo> {
  const op = 'nuts';
  const { eps, maxEnergyError, init, massFor } = hmcPieces(op, options);
  const maxDepth = options.maxDepth ?? 10;
  assertPositiveInt(op, 'maxDepth', maxDepth);
  if (maxDepth > 30) throw new JouleError(op, 'maxDepth', 'an integer in [1, 30]', String(maxDepth));
  return {
    init,
    step(rng, state) {
      return stepScope(() => {
        const [n, d] = state.x.shape;
        const { velocity, kinetic, draw } = momentumTools(massFor(d));
        const turned = (pLeft: Tensor, pRight: Tensor, rho: Tensor) =>
          velocity(pLeft).mul(rho).sum(1).le(0).maximum(velocity(pRight).mul(rho).sum(1).le(0));
        const p0 = draw([n, d], rng);
        const h0 = state.energy.add(kinetic(p0));
        let tree = {
          xL: view(state.x),
          pL: view(p0),
          gL: view(state.grad),
          xR: view(state.x),
          pR: view(p0),
          gR: view(state.grad),
          xP: view(state.x),
          eP: view(state.energy),
          gP: view(state.grad),
          logW: zeros([n]),
          rho: view(p0),
          done: zeros([n]),
          depth: zeros([n]),
          moved: zeros([n]),
          sumAccept: zeros([n]),
          numSteps: zeros([n]),
          divergent: zeros([n]),
          nonFinite: zeros([n]),
        };
        for (let j = 0; j < maxDepth && !allSet(tree.done); j++) {
          const goRight = tensor(
            Float32Array.from(rng.uniform(n), (u) => (u < 0.5 ? 1 : 0)),
            [n],
          );
          const signedEps = where(goRight, eps, -eps).reshape([n, 1]);
          const start = tree;
          let sub = {
            x: selectRows(goRight, start.xR, start.xL),
            p: selectRows(goRight, start.pR, start.pL),
            g: selectRows(goRight, start.gR, start.gL),
            xP: view(start.xP),
            eP: view(start.eP),
            gP: view(start.gP),
            logW: full([n], Number.NEGATIVE_INFINITY),
            rho: zeros([n, d]),
            stop: view(start.done),
            turning: zeros([n]),
            diverging: zeros([n]),
            nonFinite: zeros([n]),
            sumAccept: zeros([n]),
            numSteps: zeros([n]),
            ckptP: [] as Tensor[],
            ckptRho: [] as Tensor[],
          };
          const leaves = 2 ** j;
          for (let k = 0; k < leaves && !allSet(sub.stop); k++) {
            const s = sub;
            const slots = checkpointSlots(k);
            sub = advance(s, () => {
              const active = ones([n]).sub(s.stop);
              const leaf = leapfrog(op, state.target, s.x, s.p, s.g, signedEps.mul(active.reshape([n, 1])), velocity);
              const h1 = leaf.e.add(kinetic(leaf.p));
              const finite = finiteChains(leaf.x, leaf.e, leaf.g).mul(finiteRows(leaf.p)).mul(isFinite(h1));
              const delta = where(finite, h1.sub(h0), Number.POSITIVE_INFINITY);
              const diverging = delta.gt(maxEnergyError).mul(active);
              const leafW = delta.neg();
              const logW = logAddExp(s.logW, leafW);
              const live = active.mul(ones([n]).sub(diverging));
              const take = rand([n], rng).lt(leafW.sub(logW).exp()).mul(live);
              const rho = s.rho.add(leaf.p.mul(active.reshape([n, 1])));
              const ckptP = [...s.ckptP];
              const ckptRho = [...s.ckptRho];
              let turning = zeros([n]);
              if (k % 2 === 0) {
                ckptP[slots.max] = leaf.p;
                ckptRho[slots.max] = rho;
              } else {
                for (let i = slots.max; i >= slots.min; i--) {
                  turning = turning.maximum(turned(ckptP[i], leaf.p, rho.sub(ckptRho[i]).add(ckptP[i])));
                }
                turning = turning.mul(live);
              }
              const moveOn = active.mul(finite);
              return {
                x: selectRows(moveOn, leaf.x, s.x),
                p: selectRows(moveOn, leaf.p, s.p),
                g: selectRows(moveOn, leaf.g, s.g),
                xP: selectRows(take, leaf.x, s.xP),
                eP: selectRows(take, leaf.e, s.eP),
                gP: selectRows(take, leaf.g, s.gP),
                logW: selectRows(active, logW, s.logW),
                rho,
                stop: s.stop.maximum(diverging).maximum(turning),
                turning: s.turning.maximum(turning),
                diverging: s.diverging.maximum(diverging),
                nonFinite: s.nonFinite.maximum(ones([n]).sub(finite).mul(active)),
                sumAccept: s.sumAccept.add(delta.neg().minimum(0).exp().mul(active)),
                numSteps: s.numSteps.add(active),
                ckptP,
                ckptRho,
              };
            });
          }
          const last = j === maxDepth - 1;
          const done = sub;
          tree = advance(start, () => {
            const wasActive = ones([n]).sub(start.done);
            const valid = wasActive.mul(ones([n]).sub(done.turning)).mul(ones([n]).sub(done.diverging));
            const take = rand([n], rng).lt(done.logW.sub(start.logW).exp()).mul(valid);
            const right = wasActive.mul(goRight);
            const left = wasActive.mul(ones([n]).sub(goRight));
            const pL = selectRows(left, done.p, start.pL);
            const pR = selectRows(right, done.p, start.pR);
            const rho = start.rho.add(done.rho);
            const stop = ones([n])
              .sub(valid)
              .maximum(turned(pL, pR, rho));
            return {
              xL: selectRows(left, done.x, start.xL),
              pL,
              gL: selectRows(left, done.g, start.gL),
              xR: selectRows(right, done.x, start.xR),
              pR,
              gR: selectRows(right, done.g, start.gR),
              xP: selectRows(take, done.xP, start.xP),
              eP: selectRows(take, done.eP, start.eP),
              gP: selectRows(take, done.gP, start.gP),
              logW: selectRows(valid, logAddExp(start.logW, done.logW), start.logW),
              rho,
              done: last ? ones([n]) : start.done.maximum(stop),
              depth: start.depth.add(wasActive),
              moved: start.moved.maximum(take),
              sumAccept: start.sumAccept.add(done.sumAccept),
              numSteps: start.numSteps.add(done.numSteps),
              divergent: start.divergent.maximum(done.diverging),
              nonFinite: start.nonFinite.maximum(done.nonFinite),
            };
          });
          disposeReplaced(done, tree);
        }
        const acceptanceProb = tree.sumAccept.div(tree.numSteps.maximum(1));
        return {
          state: { x: tree.xP, energy: tree.eP, grad: tree.gP, target: state.target },
          info: {
            ...baseInfo(acceptanceProb, tree.moved, tree.eP, tree.gP, tree.nonFinite),
            depth: tree.depth,
            numSteps: tree.numSteps,
            divergent: tree.divergent,
          },
        };
      });
    },
  };
}

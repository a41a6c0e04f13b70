import { assertFinite, assertInRange, assertShape, type EnergyFn, JouleError } from '@joule/core';
import {
  exp,
  flattenTree,
  getBackend,
  isFinite,
  maximum,
  noGrad,
  ones,
  type Tensor,
  type TensorTree,
  tensor,
  tidy,
  vjp,
  where,
} from '@joule/tensor';

/**
 * What a chain samples from: the energy (`p(x) ∝ exp(-energy(x, context))`) and, for a
 * conditional energy, the context `[n, c]` passed to it on every evaluation.
 *
 * @example
 * ```ts
 * import type { Target } from '@joule/mcmc';
 *
 * const target: Target = { energy: (x) => x.square().sum(1).mul(0.5) };
 * ```
 */
export interface Target {
  /** The energy, `[n, d] -> [n]`. */
  readonly energy: EnergyFn;
  /** The conditioning context `[n, c]`, when the energy takes one. */
  readonly context?: Tensor;
}

/**
 * The state every kernel of this package carries: positions `x` `[n, d]` with their energies `[n]`
 * and energy gradients `[n, d]`, cached so that a step evaluates the energy once at the new point
 * only, plus the {@link Target} sampled from.
 *
 * @example
 * ```ts
 * const state = mala({ stepSize: 0.1 }).init(x0, energy);
 * state.x;      // [n, d]
 * state.energy; // [n]
 * state.grad;   // [n, d]
 * ```
 */
export interface ChainState {
  /** Positions, `[n, d]`. */
  readonly x: Tensor;
  /** `E(x)` per chain, `[n]`. */
  readonly energy: Tensor;
  /** `∇ₓE(x)`, `[n, d]`. */
  readonly grad: Tensor;
  /** The energy (and context) sampled from. */
  readonly target: Target;
}

/**
 * Per-chain information of one transition, every field of shape `[n]`.
 *
 * @example
 * ```ts
 * const { info } = kernel.step(rng, state);
 * const meanAcceptance = info.acceptanceProb.mean();
 * ```
 */
export interface StepInfo {
  /** The Metropolis–Hastings acceptance probability `min(1, α)` (1 for unadjusted kernels; for NUTS the mean over the trajectory). */
  readonly acceptanceProb: Tensor;
  /** 1 where the chain moved to its proposal, 0 where it stayed. */
  readonly accepted: Tensor;
  /** The energy at the chain's new position. */
  readonly energy: Tensor;
  /** The Euclidean norm of the energy gradient at the new position. */
  readonly gradNorm: Tensor;
  /** 1 where the proposal had a NaN or infinite position, energy or gradient (and was rejected). */
  readonly nonFinite: Tensor;
}

/** Throws unless `value` is a finite number > 0. */
export function assertStepSize(op: string, arg: string, value: unknown): asserts value is number {
  assertInRange(op, arg, value, 0, Number.POSITIVE_INFINITY, '()');
}

/** Checks an optional diagonal inverse mass (finite, positive entries) and copies it; `null` when omitted. */
export function inverseMassValues(
  op: string,
  inverseMassDiag: ArrayLike<number> | Tensor | undefined,
): Float32Array | null {
  if (inverseMassDiag === undefined) return null;
  const values =
    inverseMassDiag !== null && typeof (inverseMassDiag as Tensor).dataSync === 'function'
      ? (inverseMassDiag as Tensor).dataSync()
      : Float32Array.from(inverseMassDiag as ArrayLike<number>);
  if (values.length === 0)
    throw new JouleError(op, 'inverseMassDiag', 'one positive entry per dimension of x', 'an empty array');
  assertFinite(op, 'inverseMassDiag', values);
  for (let i = 0; i < values.length; i++) {
    if (!(values[i] > 0)) throw new JouleError(op, 'inverseMassDiag', 'positive entries', `${values[i]} at index ${i}`);
  }
  return values;
}

/** The inverse mass as a `[d]` tensor for chains of dimension `d` (`null` for the identity). */
export function inverseMassTensor(op: string, values: Float32Array | null, d: number): Tensor | null {
  if (values === null) return null;
  if (values.length !== d)
    throw new JouleError(op, 'inverseMassDiag', `${d} entries (one per dimension of x)`, `${values.length}`);
  return tensor(values, [d]);
}

/** Checks the starting points and context of `init` and returns the number of chains and the dimension. */
export function checkInit(op: string, x: Tensor, energy: EnergyFn, context?: Tensor): { n: number; d: number } {
  if (x === null || typeof x !== 'object' || !Array.isArray(x.shape)) {
    throw new JouleError(op, 'x', 'a Tensor of shape [n, d]', typeof x);
  }
  const dims = assertShape(op, 'x', x, ['n', 'd']);
  if (dims.n === 0 || dims.d === 0)
    throw new JouleError(op, 'x', 'at least one chain of dimension ≥ 1', `shape [${x.shape.join(', ')}]`);
  if (typeof energy !== 'function')
    throw new JouleError(op, 'energy', 'a function (x, context?) => energies [n]', typeof energy);
  if (context !== undefined) assertShape(op, 'context', context, ['n', -1], dims);
  return { n: dims.n, d: dims.d };
}

/**
 * The energies `[n]` and their gradient `∇ₓ Σᵢ E(xᵢ)` `[n, d]` in one forward and one backward
 * pass (energies are independent per chain, so the gradient of the sum is each chain's gradient).
 * Throws a `JouleError` when the energy does not return shape `[n]`.
 */
export function energyAndGrad(op: string, target: Target, x: Tensor): { energy: Tensor; grad: Tensor } {
  const n = x.shape[0];
  const r = vjp((y: Tensor) => {
    const e = target.energy(y, target.context);
    if (e === null || typeof e !== 'object' || !Array.isArray((e as Tensor).shape)) {
      throw new JouleError(op, 'energy', `a function returning a Tensor of shape [${n}]`, `one returning ${typeof e}`);
    }
    if (e.shape.length !== 1 || e.shape[0] !== n) {
      throw new JouleError(
        op,
        'energy',
        `a function returning shape [${n}] (one energy per chain)`,
        `one returning shape [${e.shape.join(', ')}]`,
      );
    }
    return e;
  }, x);
  try {
    const grad = r.vjp(ones([n]));
    return { energy: r.out, grad };
  } finally {
    r.release();
  }
}

/** 1 per row of `x` (`[n, d]`) whose entries are all finite, else 0, shape `[n]`. */
export function finiteRows(x: Tensor): Tensor {
  return isFinite(x).min(1);
}

/** 1 where the position, energy and gradient of a chain are all finite, shape `[n]`. */
export function finiteChains(x: Tensor, energy: Tensor, grad: Tensor): Tensor {
  return finiteRows(x).mul(isFinite(energy)).mul(finiteRows(grad));
}

/** `mask ? a : b` per chain: `mask` `[n]`, `a` and `b` `[n]` or `[n, d]`. */
export function selectRows(mask: Tensor, a: Tensor, b: Tensor): Tensor {
  return where(a.rank === 2 ? mask.reshape([mask.shape[0], 1]) : mask, a, b);
}

/** `log(eᵃ + eᵇ)` element-wise, with `-∞` where both are `-∞` (never NaN for non-NaN inputs). */
export function logAddExp(a: Tensor, b: Tensor): Tensor {
  const m = maximum(a, b);
  const finiteM = isFinite(m);
  const safeM = where(finiteM, m, 0);
  const s = exp(a.sub(safeM))
    .add(exp(b.sub(safeM)))
    .log()
    .add(safeM);
  return where(finiteM, s, m);
}

/**
 * Evaluates the energy (of `evaluateAs(target)`, the target itself by default) at the starting
 * points and throws a `JouleError` naming the first
 * chain whose energy or gradient is not finite (when the backend reads synchronously; the
 * {@link sample} driver repeats the check asynchronously on every backend).
 */
export function initialState(
  op: string,
  x: Tensor,
  energy: EnergyFn,
  context?: Tensor,
  evaluateAs: (target: Target) => Target = (target) => target,
): ChainState {
  checkInit(op, x, energy, context);
  const target: Target = context === undefined ? { energy } : { energy, context };
  const { energy: e, grad } = tidy(() => noGrad(() => energyAndGrad(op, evaluateAs(target), x)));
  const state: ChainState = { x: x.reshape(x.shape), energy: e, grad, target };
  if (getBackend().canReadSync) assertFiniteState(op, e.dataSync(), grad.dataSync(), x.shape[1]);
  return state;
}

/** Throws naming the first chain whose energy or gradient is not finite. */
export function assertFiniteState(op: string, energy: ArrayLike<number>, grad: ArrayLike<number>, d: number): void {
  for (let i = 0; i < energy.length; i++) {
    if (!Number.isFinite(energy[i])) {
      throw new JouleError(op, 'energy', 'a finite energy at every starting point', `${energy[i]} for chain ${i}`);
    }
    for (let j = 0; j < d; j++) {
      const g = grad[i * d + j];
      if (!Number.isFinite(g)) {
        throw new JouleError(
          op,
          'energy',
          'a finite gradient at every starting point',
          `${g} in dimension ${j} of chain ${i}`,
        );
      }
    }
  }
}

/** Disposes the tensors a state owns (its position, energy, gradient and any other tensor fields; not the context). */
export function disposeState(state: object): void {
  const context = (state as { target?: Target }).target?.context;
  for (const t of flattenTree(state as TensorTree).leaves) if (t !== context) t.dispose();
}

/** Disposes the tensors of `old` that `next` does not hold (the context and shared tensors survive). */
export function disposeReplaced(old: unknown, next: unknown): void {
  const keepSet = new Set(flattenTree(next as TensorTree).leaves);
  for (const t of flattenTree(old as TensorTree).leaves) if (!keepSet.has(t)) t.dispose();
}

/** Runs `fn` in a `tidy`, then disposes the tensors of `old` it replaced: bounds memory inside a long step. */
export function advance<T>(old: T, fn: () => T): T {
  const next = tidy(fn as () => TensorTree) as T;
  disposeReplaced(old, next);
  return next;
}

/** The standard per-chain info fields for a chain now at `x` with `energy` and `grad`. */
export function baseInfo(
  acceptanceProb: Tensor,
  accepted: Tensor,
  energy: Tensor,
  grad: Tensor,
  nonFinite: Tensor,
): StepInfo {
  return { acceptanceProb, accepted, energy, gradNorm: grad.square().sum(1).sqrt(), nonFinite };
}

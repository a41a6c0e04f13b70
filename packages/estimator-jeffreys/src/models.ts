import { JouleError } from '@joule/core';
import type { ParamTree } from '@joule/nn';
import type { Rng, Tensor } from '@joule/tensor';

/**
 * A trainable density with exact log-density and sampling (the paper's normalizing flow `p_θ`):
 * a parameter tree, its log-density as a pure function of the parameters (differentiable), and
 * samples with log-density at the current parameters. An `@joule/flows` `Flow` is one as it is:
 * `const flow: TrainableDensity = new Flow([...])`.
 *
 * @example
 * ```ts
 * import type { TrainableDensity } from '@joule/estimator-jeffreys';
 * import { AffineCoupling, Flow } from '@joule/flows';
 *
 * const flow: TrainableDensity = new Flow([
 *   new AffineCoupling(2, { rng, keep: 'first' }),
 *   new AffineCoupling(2, { rng, keep: 'last' }),
 * ]);
 * ```
 */
export interface TrainableDensity {
  /** The current parameters θ. */
  parameters(): ParamTree;
  /** `log p_θ(x)` for `x` `[n, d]` under `params`, shape `[n]`. */
  apply(params: ParamTree, x: Tensor): Tensor;
  /** Replaces the parameters. */
  load(params: ParamTree): unknown;
  /** `k` samples `[k, d]` at the current parameters with their log-density `[k]`. */
  sampleAndLogProb(
    k: number,
    rng: Rng,
  ): {
    /** The samples, `[k, d]`. */
    x: Tensor;
    /** Their log-density, `[k]`. */
    logProb: Tensor;
  };
}

/**
 * A trainable energy `E_ψ` (the paper's EBM with `f_ψ = −E_ψ`): a parameter tree and the energy
 * as a pure function of it, `[n, d] → [n]` (or `[n, 1]`). An `@joule/nn` `MLP(d, 1, …)` is one.
 *
 * @example
 * ```ts
 * import type { EnergyModel } from '@joule/estimator-jeffreys';
 * import { MLP } from '@joule/nn';
 *
 * const ebm: EnergyModel = new MLP(2, 1, { rng, width: 64, depth: 3, residual: true });
 * ```
 */
export interface EnergyModel {
  /** The current parameters ψ. */
  parameters(): ParamTree;
  /** `E_ψ(x)` for `x` `[n, d]` under `params`, shape `[n]` or `[n, 1]`. */
  apply(params: ParamTree, x: Tensor): Tensor;
  /** Replaces the parameters. */
  load(params: ParamTree): unknown;
}

/** `[n, 1]` → `[n]`. */
export function flat(e: Tensor): Tensor {
  return e.rank === 2 && e.shape[1] === 1 ? e.reshape([e.shape[0] as number]) : e;
}

/** Throws unless `m` looks like a {@link TrainableDensity}. */
export function checkDensity(op: string, arg: string, m: unknown): asserts m is TrainableDensity {
  const d = m as Partial<TrainableDensity> | null;
  if (
    !d ||
    typeof d.parameters !== 'function' ||
    typeof d.apply !== 'function' ||
    typeof d.load !== 'function' ||
    typeof d.sampleAndLogProb !== 'function'
  ) {
    throw new JouleError(op, arg, 'a TrainableDensity (parameters, apply, load, sampleAndLogProb)', String(m));
  }
}

/** Throws unless `m` looks like an {@link EnergyModel}. */
export function checkEnergy(op: string, arg: string, m: unknown): asserts m is EnergyModel {
  const e = m as Partial<EnergyModel> | null;
  if (!e || typeof e.parameters !== 'function' || typeof e.apply !== 'function' || typeof e.load !== 'function') {
    throw new JouleError(op, arg, 'an EnergyModel (parameters, apply, load)', String(m));
  }
}

/** Throws unless `x` is a `[n, d]` batch. */
export function checkBatch(op: string, x: unknown, d?: number): asserts x is Tensor {
  const t = x as Tensor | null;
  if (!t || !Array.isArray(t.shape) || t.shape.length !== 2 || (d !== undefined && t.shape[1] !== d)) {
    throw new JouleError(
      op,
      'batch',
      d === undefined ? 'a tensor of shape [n, d]' : `a tensor of shape [n, ${d}]`,
      t && Array.isArray(t.shape) ? `shape [${t.shape.join(', ')}]` : String(x),
    );
  }
}

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

import { type ConditionalDistribution, type Distribution, JouleError, type SampleWithLogProb } from '@joule/core';
import { type Rng, stack, Tensor } from '@joule/tensor';
import { checkSampleSize, fmt } from './util.js';

/**
 * A {@link ConditionalDistribution} from a function of the context: `given(context)` checks that
 * the context is a batch `[n, c]` and returns `build(context)`, typically a batched distribution
 * with one row per context (e.g. a `DiagNormal` whose `[n, d]` loc is computed from the
 * context, so gradients flow through it to the parameters used by `build`).
 *
 * @example
 * ```ts
 * import { Conditional, DiagNormal } from '@joule/distributions';
 * import { Rng, tensor } from '@joule/tensor';
 *
 * const w = tensor([[1, 0], [0, 2]]);
 * const q = new Conditional((c) => new DiagNormal(c.matmul(w), 0.1), 2);
 * const context = tensor([[1, 1], [0, 1]]);
 * const x = q.given(context).sample(2, new Rng(0)); // [2, 2], one per context
 * ```
 */
export class Conditional<D extends Distribution = Distribution> implements ConditionalDistribution {
  private readonly build: (context: Tensor) => D;
  /** The required number of context features `c`, or `undefined` for any. */
  readonly contextDim: number | undefined;

  /**
   * @param build - maps a context batch `[n, c]` to the distribution of `x` given it
   * @param contextDim - when set, `given` rejects contexts whose last axis differs
   */
  constructor(build: (context: Tensor) => D, contextDim?: number) {
    if (typeof build !== 'function')
      throw new JouleError('Conditional', 'build', 'a function context → Distribution', typeof build);
    if (contextDim !== undefined && (!Number.isInteger(contextDim) || contextDim <= 0)) {
      throw new JouleError('Conditional', 'contextDim', 'a positive integer', String(contextDim));
    }
    this.build = build;
    this.contextDim = contextDim;
  }

  /**
   * The distribution of `x` given `context` (`[n, c]`).
   *
   * @example
   * ```ts
   * const lp = q.given(context).logProb(x); // [n]
   * ```
   */
  given(context: Tensor): D {
    if (!(context instanceof Tensor) || context.rank !== 2) {
      throw new JouleError(
        'Conditional.given',
        'context',
        'a Tensor of shape [n, c]',
        context instanceof Tensor ? `shape ${fmt(context.shape)}` : typeof context,
      );
    }
    if (this.contextDim !== undefined && context.shape[1] !== this.contextDim) {
      throw new JouleError(
        'Conditional.given',
        'context',
        `shape [n, ${this.contextDim}]`,
        `shape ${fmt(context.shape)}`,
      );
    }
    return this.build(context);
  }
}

/**
 * Adapts any {@link Distribution} with batch size `batch` (say `q.given(context)` with `batch`
 * contexts, or an unbatched distribution with `batch = 1`) to {@link SampleWithLogProb}:
 * `sampleAndLogProb(k)` draws `k` independent batches, `x` of shape `[k, batch, d]`, and their
 * log-densities, `[k, batch]` (each batch is sampled and scored with the distribution's own
 * `sample(batch)` and `logProb`, so gradients flow as they do there).
 *
 * @example
 * ```ts
 * import { Conditional, DiagNormal, withLogProb } from '@joule/distributions';
 * import { Rng, tensor } from '@joule/tensor';
 *
 * const q = new Conditional((c) => new DiagNormal(c, 0.5));
 * const context = tensor([[0, 0], [3, 3], [6, 6]]);
 * const { x, logProb } = withLogProb(q.given(context), 3).sampleAndLogProb(16, new Rng(0));
 * // x: [16, 3, 2], logProb: [16, 3]
 * ```
 */
export function withLogProb(dist: Distribution, batch: number): SampleWithLogProb {
  checkSampleSize('withLogProb', batch, undefined);
  return {
    sampleAndLogProb(k: number, rng: Rng) {
      checkSampleSize('sampleAndLogProb', k, undefined);
      const xs: Tensor[] = [];
      const lps: Tensor[] = [];
      for (let j = 0; j < k; j++) {
        const x = dist.sample(batch, rng);
        xs.push(x);
        lps.push(dist.logProb(x));
      }
      return { x: stack(xs, 0), logProb: stack(lps, 0) };
    },
  };
}

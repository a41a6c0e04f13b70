import { type ConditionalDistribution, type Distribution, JouleError } from '@joule/core';
import { concat, noGrad, type Rng, rand, Tensor, tensor, zeros } from '@joule/tensor';

/**
 * Where R-NCE draws its `K` negatives from: a `Distribution` (unconditional) or a
 * `ConditionalDistribution` (its `given(context)` is used). Both give samples and their exact
 * log-density, which R-NCE also needs at the data point itself (eq. 3.3). When the distribution
 * returned by `given` also has `sampleAndLogProb(k, rng)` (as `@joule/flows` flows do), the `K`
 * negatives are drawn with it in one pass.
 *
 * @example
 * ```ts
 * import type { NegativeSampler } from '@joule/estimator-rnce';
 * import { DiagNormal } from '@joule/distributions';
 *
 * const sampler: NegativeSampler = new DiagNormal([0, 0], [2, 2]);
 * ```
 */
export type NegativeSampler = Distribution | ConditionalDistribution;

/**
 * `K` negatives per data point with their log-density under the sampler, and the sampler's
 * log-density at the data points.
 *
 * @example
 * ```ts
 * import { drawNegatives } from '@joule/estimator-rnce';
 *
 * const { negatives, logqNegatives, logqPositives } = drawNegatives(sampler, y, 15, rng);
 * // negatives [15, n, d], logqNegatives [15, n], logqPositives [n]
 * ```
 */
export interface Negatives {
  /** The negatives, `[K, n, d]`. */
  negatives: Tensor;
  /** `log q(negative)`, `[K, n]`. */
  logqNegatives: Tensor;
  /** `log q(y)` at the data points, `[n]`. */
  logqPositives: Tensor;
}

function isConditional(s: NegativeSampler): s is ConditionalDistribution {
  return typeof (s as ConditionalDistribution).given === 'function';
}

function checkSampler(op: string, s: unknown): asserts s is NegativeSampler {
  const ok =
    s !== null &&
    typeof s === 'object' &&
    (typeof (s as ConditionalDistribution).given === 'function' ||
      (typeof (s as Distribution).sample === 'function' && typeof (s as Distribution).logProb === 'function'));
  if (!ok) throw new JouleError(op, 'sampler', 'a Distribution or a ConditionalDistribution', String(s));
}

function checkPoints(op: string, arg: string, y: unknown): asserts y is Tensor {
  if (!(y instanceof Tensor) || y.rank !== 2 || y.shape[0] === 0) {
    throw new JouleError(
      op,
      arg,
      'a Tensor of shape [n, d] with n ≥ 1',
      y instanceof Tensor ? `shape [${y.shape}]` : typeof y,
    );
  }
}

function checkContext(op: string, context: Tensor | undefined, n: number): void {
  if (context === undefined) return;
  if (!(context instanceof Tensor) || context.rank !== 2 || context.shape[0] !== n) {
    throw new JouleError(
      op,
      'context',
      `a Tensor of shape [${n}, c]`,
      context instanceof Tensor ? `shape [${context.shape}]` : typeof context,
    );
  }
}

function checkK(op: string, k: unknown): asserts k is number {
  if (typeof k !== 'number' || !Number.isInteger(k) || k < 1) {
    throw new JouleError(op, 'k', 'a positive integer', String(k));
  }
}

/** `x` (`[n, c]`) repeated `k` times along the first axis, `[k·n, c]`. */
export function tileRows(x: Tensor, k: number): Tensor {
  return concat(
    Array.from({ length: k }, () => x),
    0,
  );
}

/**
 * Draws `k` negatives per data point `y` (`[n, d]`) from `sampler` (given `context` `[n, c]` when
 * the sampler is conditional), with `log q` at the negatives and at the data points. No gradient is
 * recorded: the negatives are constants for the energy's update (the paper's Remark 3.2).
 *
 * @example
 * ```ts
 * import { drawNegatives } from '@joule/estimator-rnce';
 * import { DiagNormal } from '@joule/distributions';
 * import { Rng, tensor } from '@joule/tensor';
 *
 * const y = tensor([[0.1], [0.4]]);
 * const { negatives } = drawNegatives(new DiagNormal([0], [1]), y, 8, new Rng(0)); // [8, 2, 1]
 * ```
 */
export function drawNegatives(sampler: NegativeSampler, y: Tensor, k: number, rng: Rng, context?: Tensor): Negatives {
  const op = 'drawNegatives';
  checkSampler(op, sampler);
  checkPoints(op, 'y', y);
  checkK(op, k);
  const [n, d] = y.shape as [number, number];
  checkContext(op, context, n);
  if (isConditional(sampler) && context === undefined) {
    throw new JouleError(op, 'context', 'a context [n, c] for a conditional sampler', 'undefined');
  }
  return noGrad(() => {
    if (isConditional(sampler)) {
      const dist = sampler.given(context as Tensor);
      const logqPositives = dist.logProb(y);
      const batched = dist as Distribution & {
        sampleAndLogProb?: (k: number, rng: Rng) => { x: Tensor; logProb: Tensor };
      };
      if (typeof batched.sampleAndLogProb === 'function') {
        const { x, logProb } = batched.sampleAndLogProb(k, rng);
        return { negatives: x, logqNegatives: logProb, logqPositives };
      }
      const tiled = sampler.given(tileRows(context as Tensor, k));
      const x = tiled.sample(k * n, rng);
      return {
        negatives: x.reshape([k, n, d]),
        logqNegatives: tiled.logProb(x).reshape([k, n]),
        logqPositives,
      };
    }
    const x = sampler.sample(k * n, rng);
    return {
      negatives: x.reshape([k, n, d]),
      logqNegatives: sampler.logProb(x).reshape([k, n]),
      logqPositives: sampler.logProb(y),
    };
  });
}

/**
 * `K` negatives per data point drawn uniformly from the box `[low, high]` (IBC's negatives,
 * eq. 4.3). Their log-density is constant and cancels in the IBC loss, so it is reported as 0.
 *
 * @example
 * ```ts
 * import { uniformBoxNegatives } from '@joule/estimator-rnce';
 * import { Rng, tensor } from '@joule/tensor';
 *
 * const { negatives } = uniformBoxNegatives([-1, -1], [1, 1], tensor([[0, 0]]), 16, new Rng(0)); // [16, 1, 2]
 * ```
 */
export function uniformBoxNegatives(
  low: readonly number[],
  high: readonly number[],
  y: Tensor,
  k: number,
  rng: Rng,
): Negatives {
  const op = 'uniformBoxNegatives';
  checkPoints(op, 'y', y);
  checkK(op, k);
  const [n, d] = y.shape as [number, number];
  checkBox(op, low, high, d);
  return noGrad(() => {
    const u = rand([k, n, d], rng);
    const lo = tensor(Array.from(low), [d]);
    const width = tensor(
      high.map((h, i) => h - (low[i] as number)),
      [d],
    );
    return {
      negatives: u.mul(width).add(lo),
      logqNegatives: zeros([k, n]),
      logqPositives: zeros([n]),
    };
  });
}

/** The uniform distribution on the box `[low, high]`: IBC's proposal, Algorithm 2's start for IBC. */
export function uniformBox(low: readonly number[], high: readonly number[]): Distribution {
  const d = low.length;
  const lo = tensor(Array.from(low), [d]);
  const width = tensor(
    high.map((h, i) => h - (low[i] as number)),
    [d],
  );
  const logVolume = high.reduce((s, h, i) => s + Math.log(h - (low[i] as number)), 0);
  return {
    dim: d,
    sample: (n, rng) => rand([n, d], rng).mul(width).add(lo),
    logProb: (x) => zeros([x.shape[0] as number]).sub(logVolume),
  };
}

/** Checks that `[low, high]` is a non-empty box of dimension `d`. */
export function checkBox(op: string, low: readonly number[], high: readonly number[], d: number): void {
  if (!Array.isArray(low) || low.length !== d || !low.every(Number.isFinite)) {
    throw new JouleError(op, 'low', `${d} finite numbers`, String(low));
  }
  if (!Array.isArray(high) || high.length !== d || !high.every((h, i) => Number.isFinite(h) && h > low[i])) {
    throw new JouleError(op, 'high', `${d} finite numbers, each above low`, String(high));
  }
}

/**
 * What {@link rnceLoss} returns.
 *
 * @example
 * ```ts
 * import type { RnceLossResult } from '@joule/estimator-rnce';
 *
 * const { loss, accuracy }: RnceLossResult = rnceLoss(energy, y, negs);
 * ```
 */
export interface RnceLossResult {
  /** The mean ranking cross-entropy, a scalar tensor differentiable through the energy. */
  loss: Tensor;
  /** The share of data points whose logit is the largest of their `K + 1` candidates. */
  accuracy: number;
}

/**
 * The R-NCE loss (eq. 3.3/3.4 of Singh, Tu & Sindhwani 2023, in joule's `p ∝ exp(−E)` sign): for
 * each data point `y_i` and its `K` negatives, the cross-entropy of picking `y_i` among the `K + 1`
 * candidates with logits `s = −E(candidate) − log q(candidate)`, averaged over the batch:
 * `mean_i [logsumexp_j s_ij − s_i0]`. The minimum over energies is `p_data ∝ exp(−E)` up to a
 * constant; at the perfect energy the loss is `log(K + 1)` (Prop. 4.13).
 *
 * With `logqNegatives` and `logqPositives` all zero this is the IBC loss (eq. 4.3).
 *
 * Returns the loss (a scalar tensor, differentiable through `energy`) and the share of data points
 * ranked first (`accuracy`).
 *
 * @example
 * ```ts
 * import { drawNegatives, rnceLoss } from '@joule/estimator-rnce';
 *
 * const negs = drawNegatives(sampler, y, 15, rng);
 * const { loss } = rnceLoss((u) => u.square().sum(1).mul(0.5), y, negs);
 * ```
 */
export function rnceLoss(
  energy: (y: Tensor, context?: Tensor) => Tensor,
  y: Tensor,
  negatives: Negatives,
  context?: Tensor,
): RnceLossResult {
  const op = 'rnceLoss';
  checkPoints(op, 'y', y);
  const [n, d] = y.shape as [number, number];
  checkContext(op, context, n);
  const { negatives: neg, logqNegatives, logqPositives } = negatives;
  if (!(neg instanceof Tensor) || neg.rank !== 3 || neg.shape[1] !== n || neg.shape[2] !== d) {
    throw new JouleError(
      op,
      'negatives.negatives',
      `a Tensor of shape [K, ${n}, ${d}]`,
      neg instanceof Tensor ? `shape [${neg.shape}]` : typeof neg,
    );
  }
  const k = neg.shape[0] as number;
  if (!(logqNegatives instanceof Tensor) || logqNegatives.shape.join() !== `${k},${n}`) {
    throw new JouleError(op, 'negatives.logqNegatives', `shape [${k}, ${n}]`, String(logqNegatives?.shape));
  }
  if (!(logqPositives instanceof Tensor) || logqPositives.shape.join() !== `${n}`) {
    throw new JouleError(op, 'negatives.logqPositives', `shape [${n}]`, String(logqPositives?.shape));
  }
  const candidates = concat([y, neg.reshape([k * n, d])], 0);
  const ctx = context === undefined ? undefined : tileRows(context, k + 1);
  let e = energy(candidates, ctx);
  if (e.rank === 2 && e.shape[1] === 1) e = e.reshape([e.shape[0] as number]);
  if (e.rank !== 1 || e.shape[0] !== (k + 1) * n) {
    throw new JouleError(op, 'energy', `energies of shape [${(k + 1) * n}]`, `shape [${e.shape}]`);
  }
  const logq = concat([logqPositives.reshape([1, n]), logqNegatives], 0);
  const logits = e
    .reshape([k + 1, n])
    .neg()
    .sub(logq);
  const positive = logits.slice([0, 0], [1, n]).reshape([n]);
  const loss = logits.logSumExp(0).sub(positive).mean();
  const accuracy = noGrad(() => positive.reshape([1, n]).sub(logits.max(0, true)).ge(0).mean().dataSync()[0] as number);
  return { loss, accuracy };
}

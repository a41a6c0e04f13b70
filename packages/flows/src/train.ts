import { Adam, type ParamTree } from '@joule/nn';
import { JouleError, type Rng, Tensor, tensor, tidy, valueAndGrad } from '@joule/tensor';
import type { FlowDistribution } from './flow.js';

/** Options of {@link fitFlow}. */
export interface FitFlowOptions {
  /** Generator of the minibatch indices. */
  rng: Rng;
  /** Optimizer steps (default 500). */
  steps?: number;
  /** Minibatch size (default 256, at most the number of points). */
  batchSize?: number;
  /** Adam learning rate (default 1e-3). */
  lr?: number;
  /** Clip the gradient to this global norm (default 10). */
  clipNorm?: number;
  /** Contexts `[N, c]` paired with the data, for a conditional flow. */
  context?: Tensor;
}

/**
 * What {@link fitFlow} returns.
 *
 * @example
 * ```ts
 * const { losses }: FitFlowResult = fitFlow(flow, data, { rng });
 * ```
 */
export interface FitFlowResult {
  /** The minibatch negative log-likelihood of every step. */
  losses: number[];
}

/**
 * Maximum-likelihood training: Adam on the mean negative log-likelihood of random minibatches of
 * `data` (`[N, d]`, with `context` `[N, c]` for a conditional flow). Updates `flow` in place and
 * returns the loss of every step.
 *
 * @throws `JouleError` when the loss becomes non-finite (naming the step)
 * @example
 * ```ts
 * const { losses } = fitFlow(flow, data, { rng: new Rng(0), steps: 1000, lr: 1e-3 });
 * ```
 */
export function fitFlow(flow: FlowDistribution, data: Tensor, options: FitFlowOptions): FitFlowResult {
  const op = 'fitFlow';
  if (!(data instanceof Tensor) || data.rank !== 2 || data.shape[1] !== flow.dim) {
    throw new JouleError(
      op,
      'data',
      `a tensor of shape [N, ${flow.dim}]`,
      data instanceof Tensor ? `shape [${data.shape.join(', ')}]` : typeof data,
    );
  }
  const N = data.shape[0];
  const { rng, context } = options;
  if (!rng || typeof rng.integers !== 'function') throw new JouleError(op, 'rng', 'an Rng', String(rng));
  if (flow.contextDim > 0 !== (context !== undefined)) {
    throw new JouleError(
      op,
      'context',
      flow.contextDim > 0 ? `contexts [${N}, ${flow.contextDim}]` : 'no context',
      context === undefined ? 'none' : 'a context',
    );
  }
  if (context !== undefined && (context.rank !== 2 || context.shape[0] !== N || context.shape[1] !== flow.contextDim)) {
    throw new JouleError(
      op,
      'context',
      `a tensor of shape [${N}, ${flow.contextDim}]`,
      `shape [${context.shape.join(', ')}]`,
    );
  }
  const steps = options.steps ?? 500;
  const batchSize = Math.min(options.batchSize ?? 256, N);
  if (!Number.isInteger(steps) || steps <= 0) throw new JouleError(op, 'steps', 'a positive integer', String(steps));
  if (!Number.isInteger(batchSize) || batchSize <= 0)
    throw new JouleError(op, 'batchSize', 'a positive integer', String(batchSize));
  const opt = new Adam(flow.parameters(), { lr: options.lr ?? 1e-3, clipNorm: options.clipNorm ?? 10 });
  const lossFn = valueAndGrad((p: ParamTree, x: Tensor, c?: Tensor) => flow.apply(p, x, c).mean().neg());
  const losses: number[] = [];
  for (let s = 0; s < steps; s++) {
    const loss = tidy(() => {
      const idx = tensor(rng.integers(batchSize, 0, N));
      const x = data.indexSelect(idx, 0);
      const c = context?.indexSelect(idx, 0);
      const { value, grad } = lossFn(flow.parameters(), x, c);
      const v = value.dataSync()[0];
      if (!Number.isFinite(v))
        throw new JouleError(op, 'loss', 'a finite negative log-likelihood', `${v} at step ${s}`);
      flow.load(opt.step(flow.parameters(), grad));
      return v;
    });
    losses.push(loss);
  }
  return { losses };
}

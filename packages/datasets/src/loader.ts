import { JouleError } from '@joule/core';
import type { Rng, Tensor } from '@joule/tensor';
import { tensor } from '@joule/tensor';

/**
 * A uniformly random permutation of `0 … n−1` (Fisher–Yates with the given generator).
 *
 * @example
 * ```ts
 * import { permutation } from '@joule/datasets';
 * import { Rng } from '@joule/tensor';
 *
 * permutation(5, new Rng(0)); // Int32Array, e.g. [3, 0, 4, 1, 2]
 * ```
 */
export function permutation(n: number, rng: Rng): Int32Array {
  if (!Number.isInteger(n) || n < 0) throw new JouleError('permutation', 'n', 'a non-negative integer', String(n));
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = i;
  const u = rng.uniform(n);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.min(i, Math.floor(u[i]! * (i + 1)));
    const t = out[i]!;
    out[i] = out[j]!;
    out[j] = t;
  }
  return out;
}

/**
 * One mini-batch: the rows `indices` of the data (and of the context, when there is one).
 *
 * @example
 * ```ts
 * import type { Batch } from '@joule/datasets';
 *
 * function size(b: Batch): number {
 *   return b.x.shape[0]!;
 * }
 * ```
 */
export interface Batch {
  /** The points, `[b, d]`. */
  x: Tensor;
  /** The matching context rows, `[b, c]`, when a context was given. */
  context?: Tensor;
  /** The row indices into the full data. */
  indices: Int32Array;
}

/**
 * Options of {@link miniBatches} and {@link randomBatch}.
 *
 * @example
 * ```ts
 * import type { BatchOptions } from '@joule/datasets';
 *
 * const options: BatchOptions = { batchSize: 128, dropLast: true };
 * ```
 */
export interface BatchOptions {
  /** Rows per batch. */
  batchSize: number;
  /** A context `[N, c]` row-aligned with the data, batched alongside it. */
  context?: Tensor;
  /** Skip the last, smaller batch of an epoch (default false). */
  dropLast?: boolean;
}

function checkData(op: string, x: Tensor, options: BatchOptions): number {
  if (!x || x.rank < 1 || x.shape[0] === 0)
    throw new JouleError(op, 'x', 'a non-empty tensor [N, ...]', String(x?.shape));
  const N = x.shape[0]!;
  const b = options?.batchSize;
  if (!Number.isInteger(b) || b <= 0) throw new JouleError(op, 'batchSize', 'a positive integer', String(b));
  const c = options.context;
  if (c !== undefined && (c.rank < 1 || c.shape[0] !== N)) {
    throw new JouleError(op, 'context', `a tensor with ${N} rows (one per data row)`, `shape [${c.shape.join(', ')}]`);
  }
  return N;
}

function take(x: Tensor, context: Tensor | undefined, indices: Int32Array): Batch {
  const idx = tensor(Float32Array.from(indices));
  const batch: Batch = { x: x.indexSelect(idx, 0), indices };
  if (context !== undefined) batch.context = context.indexSelect(idx, 0);
  return batch;
}

/**
 * One epoch of shuffled mini-batches without replacement: every row once, in an order drawn from
 * `rng`, `batchSize` rows at a time (the last batch smaller unless `dropLast`). Pass a `context`
 * to batch it alongside. Call again with the same generator for the next epoch.
 *
 * @example
 * ```ts
 * import { miniBatches } from '@joule/datasets';
 * import { Rng } from '@joule/tensor';
 *
 * const rng = new Rng(0);
 * for (let epoch = 0; epoch < 10; epoch++) {
 *   for (const { x, context } of miniBatches(data, rng, { batchSize: 128, context: labels })) {
 *     // train on x [≤128, d] and context [≤128, c]
 *   }
 * }
 * ```
 */
export function* miniBatches(x: Tensor, rng: Rng, options: BatchOptions): Generator<Batch> {
  const N = checkData('miniBatches', x, options);
  const order = permutation(N, rng);
  const b = options.batchSize;
  for (let start = 0; start < N; start += b) {
    const end = Math.min(N, start + b);
    if (end - start < b && options.dropLast) return;
    yield take(x, options.context, order.slice(start, end));
  }
}

/**
 * One mini-batch of `batchSize` rows drawn uniformly with replacement (the CNCE and Jarzynski
 * papers' sampler), with the matching context rows when a context is given.
 *
 * @example
 * ```ts
 * import { randomBatch } from '@joule/datasets';
 * import { Rng } from '@joule/tensor';
 *
 * const { x } = randomBatch(data, new Rng(0), { batchSize: 256 }); // [256, d]
 * ```
 */
export function randomBatch(x: Tensor, rng: Rng, options: BatchOptions): Batch {
  const N = checkData('randomBatch', x, options);
  const idx = Int32Array.from(rng.integers(options.batchSize, 0, N));
  return take(x, options.context, idx);
}

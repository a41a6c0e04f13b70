import { assertInRange, assertPositiveInt, assertShape, type Distribution, JouleError } from '@joule/core';
import { type Rng, Tensor, tensor, where } from '@joule/tensor';

/**
 * Where a {@link ReplayBuffer} draws fresh chains from: a distribution, or a function `(n, rng) ->
 * [n, d]`.
 *
 * @example
 * ```ts
 * const uniform: ChainInitializer = (n, rng) => rand([n, 2], rng, -1, 1);
 * ```
 */
export type ChainInitializer = Distribution | ((n: number, rng: Rng) => Tensor);

/**
 * Options of {@link ReplayBuffer}.
 *
 * @example
 * ```ts
 * const options: ReplayBufferOptions = { capacity: 10000, dim: 2, init: (n, rng) => randn([n, 2], rng), reinitProb: 0.05 };
 * ```
 */
export interface ReplayBufferOptions {
  /** How many chains the buffer holds. */
  readonly capacity: number;
  /** The dimension `d` of a chain's position. */
  readonly dim: number;
  /** Where fresh chains come from. */
  readonly init: ChainInitializer;
  /** The probability that a sampled chain is replaced by a fresh one (default 0.05). */
  readonly reinitProb?: number;
}

/**
 * A batch drawn from a {@link ReplayBuffer}.
 *
 * @example
 * ```ts
 * const { x, indices, reinitialized } = buffer.sample(64, rng);
 * ```
 */
export interface ReplayBatch {
  /** The chains' positions, `[batch, d]`. */
  readonly x: Tensor;
  /** The buffer slot of each row, to {@link ReplayBuffer.push} the updated chains back. */
  readonly indices: Int32Array;
  /** 1 where the row is a fresh chain from `init` rather than a stored one. */
  readonly reinitialized: Uint8Array;
}

/**
 * A replay buffer of persistent chains (as in persistent contrastive divergence and JEM): a
 * reservoir of `capacity` positions kept on the host. `sample(batch, rng)` picks distinct slots
 * uniformly at random, replacing each by a fresh draw from `init` with probability `reinitProb`
 * (and always for slots never written); after running MCMC on the batch, `push(x, indices)`
 * writes the updated chains back. `add(x, rng)` inserts new chains by reservoir sampling, so the
 * buffer stays a uniform sample of everything added. All randomness comes from the `rng` passed.
 *
 * @example
 * ```ts
 * import { ReplayBuffer, sample, ula } from '@joule/mcmc';
 * import { rand, Rng } from '@joule/tensor';
 *
 * const buffer = new ReplayBuffer({ capacity: 10000, dim: 2, init: (n, rng) => rand([n, 2], rng, -4, 4) });
 * const rng = new Rng(0);
 * const { x, indices } = buffer.sample(128, rng);
 * const { state } = await sample(ula({ stepSize: 0.01 }), energy, x, { steps: 20, rng });
 * await buffer.push(state.x, indices);
 * ```
 */
export class ReplayBuffer {
  /** How many chains the buffer holds. */
  readonly capacity: number;
  /** The dimension of a chain. */
  readonly dim: number;
  /** The reinitialization probability. */
  readonly reinitProb: number;
  private readonly init: ChainInitializer;
  private readonly data: Float32Array;
  private readonly written: Uint8Array;
  private filled = 0;
  private seen = 0;

  /** An empty buffer (every slot is drawn fresh from `init` until written). */
  constructor(options: ReplayBufferOptions) {
    const op = 'ReplayBuffer';
    if (options === null || typeof options !== 'object')
      throw new JouleError(op, 'options', '{ capacity, dim, init }', typeof options);
    assertPositiveInt(op, 'capacity', options.capacity);
    assertPositiveInt(op, 'dim', options.dim);
    const reinitProb = options.reinitProb ?? 0.05;
    assertInRange(op, 'reinitProb', reinitProb, 0, 1);
    const init = options.init;
    const isDistribution =
      init !== null && typeof init === 'object' && typeof (init as Distribution).sample === 'function';
    if (typeof init !== 'function' && !isDistribution) {
      throw new JouleError(op, 'init', 'a Distribution or a function (n, rng) => Tensor [n, d]', typeof init);
    }
    if (isDistribution && (init as Distribution).dim !== options.dim) {
      throw new JouleError(
        op,
        'init',
        `a distribution of dimension ${options.dim}`,
        `one of dimension ${(init as Distribution).dim}`,
      );
    }
    this.capacity = options.capacity;
    this.dim = options.dim;
    this.reinitProb = reinitProb;
    this.init = init;
    this.data = new Float32Array(this.capacity * this.dim);
    this.written = new Uint8Array(this.capacity);
  }

  /** How many slots hold a chain written by `push` or `add`. */
  get size(): number {
    return this.filled;
  }

  private fresh(n: number, rng: Rng): Tensor {
    const x = typeof this.init === 'function' ? this.init(n, rng) : this.init.sample(n, rng);
    if (!(x instanceof Tensor)) throw new JouleError('ReplayBuffer', 'init', `a Tensor [${n}, ${this.dim}]`, typeof x);
    assertShape('ReplayBuffer', 'init', x, [n, this.dim]);
    return x;
  }

  /** Draws `batch` distinct slots; each row is its stored chain, or a fresh one with probability `reinitProb` (always for an unwritten slot). */
  sample(batch: number, rng: Rng): ReplayBatch {
    assertPositiveInt('ReplayBuffer.sample', 'batch', batch);
    if (batch > this.capacity)
      throw new JouleError('ReplayBuffer.sample', 'batch', `at most the capacity ${this.capacity}`, String(batch));
    const slots = Int32Array.from({ length: this.capacity }, (_, i) => i);
    const u = rng.uniform(2 * batch);
    for (let i = 0; i < batch; i++) {
      const j = i + Math.floor(u[i] * (this.capacity - i));
      [slots[i], slots[j]] = [slots[j], slots[i]];
    }
    const indices = slots.slice(0, batch);
    const reinitialized = Uint8Array.from(indices, (slot, i) =>
      this.written[slot] === 0 || u[batch + i] < this.reinitProb ? 1 : 0,
    );
    const stored = new Float32Array(batch * this.dim);
    for (let i = 0; i < batch; i++)
      stored.set(this.data.subarray(indices[i] * this.dim, (indices[i] + 1) * this.dim), i * this.dim);
    const freshX = this.fresh(batch, rng);
    const storedX = tensor(stored, [batch, this.dim]);
    const mask = tensor(Float32Array.from(reinitialized), [batch, 1]);
    const x = where(mask, freshX, storedX);
    freshX.dispose();
    storedX.dispose();
    mask.dispose();
    return { x, indices, reinitialized };
  }

  /** Writes chains `x` (`[k, d]`) back into the slots `indices` (as returned by {@link ReplayBuffer.sample}). */
  async push(x: Tensor, indices: ArrayLike<number>): Promise<void> {
    const op = 'ReplayBuffer.push';
    if (!(x instanceof Tensor)) throw new JouleError(op, 'x', `a Tensor [k, ${this.dim}]`, typeof x);
    assertShape(op, 'x', x, [indices.length, this.dim]);
    for (let i = 0; i < indices.length; i++) {
      const slot = indices[i];
      if (!Number.isInteger(slot) || slot < 0 || slot >= this.capacity) {
        throw new JouleError(op, 'indices', `slots in [0, ${this.capacity})`, `${slot} at position ${i}`);
      }
    }
    const values = await x.data();
    for (let i = 0; i < indices.length; i++) this.write(indices[i], values, i);
  }

  /** Inserts new chains `x` (`[k, d]`) by reservoir sampling (Algorithm R): free slots first, then each replaces a random slot with probability `capacity / added so far`. */
  async add(x: Tensor, rng: Rng): Promise<void> {
    const op = 'ReplayBuffer.add';
    if (!(x instanceof Tensor)) throw new JouleError(op, 'x', `a Tensor [k, ${this.dim}]`, typeof x);
    const k = assertShape(op, 'x', x, ['k', this.dim]).k;
    const values = await x.data();
    const u = rng.uniform(k);
    for (let i = 0; i < k; i++) {
      this.seen++;
      if (this.filled < this.capacity) {
        this.write(this.written.indexOf(0), values, i);
      } else {
        const j = Math.floor(u[i] * this.seen);
        if (j < this.capacity) this.write(j, values, i);
      }
    }
  }

  /** A copy of the stored chains, `[capacity, d]` row-major, with the mask of written slots. */
  snapshot(): {
    /** The positions, `[capacity, d]` row-major. */
    data: Float32Array;
    /** 1 for each slot written by `push` or `add`. */
    written: Uint8Array;
  } {
    return { data: this.data.slice(), written: this.written.slice() };
  }

  private write(slot: number, values: Float32Array, row: number): void {
    if (this.written[slot] === 0) {
      this.written[slot] = 1;
      this.filled++;
    }
    this.data.set(values.subarray(row * this.dim, (row + 1) * this.dim), slot * this.dim);
  }
}

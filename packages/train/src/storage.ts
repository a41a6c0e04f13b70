import { JouleError } from '@joule/core';

/**
 * Where checkpoints go: a tiny key → bytes store, so the loop runs the same in Node (files, see
 * `fileStorage` in `@joule/train/node`) and in the browser (memory, IndexedDB, a download…).
 * `write` must replace the previous bytes atomically: a failed write must leave the old ones.
 *
 * @example
 * ```ts
 * const storage: CheckpointStorage = {
 *   async write(name, bytes) { cache.set(name, bytes); },
 *   async read(name) { return cache.get(name); },
 * };
 * ```
 */
export interface CheckpointStorage {
  /** Stores `bytes` under `name`, replacing what was there. */
  write(name: string, bytes: Uint8Array): Promise<void>;
  /** The bytes stored under `name`, or `undefined` when there are none. */
  read(name: string): Promise<Uint8Array | undefined>;
}

/**
 * A {@link CheckpointStorage} kept in memory, with its entries visible.
 *
 * @example
 * ```ts
 * const storage: MemoryStorage = memoryStorage();
 * console.log([...storage.entries.keys()]); // ['checkpoint.safetensors']
 * ```
 */
export interface MemoryStorage extends CheckpointStorage {
  /** Name → stored bytes. */
  readonly entries: Map<string, Uint8Array>;
}

/**
 * A {@link CheckpointStorage} in memory (a `Map`), for tests and browser sessions.
 *
 * @example
 * ```ts
 * import { memoryStorage, train } from '@joule/train';
 *
 * const storage = memoryStorage();
 * await train(estimator, data, { steps: 100, batchSize: 64, storage, checkpointEvery: 10 });
 * ```
 */
export function memoryStorage(): MemoryStorage {
  const entries = new Map<string, Uint8Array>();
  return {
    entries,
    async write(name, bytes) {
      if (!(bytes instanceof Uint8Array))
        throw new JouleError('memoryStorage.write', 'bytes', 'a Uint8Array', typeof bytes);
      entries.set(name, bytes.slice());
    },
    async read(name) {
      const bytes = entries.get(name);
      return bytes === undefined ? undefined : bytes.slice();
    },
  };
}

/**
 * Node-only helpers of `@joule/train`: checkpoints as files. Import them from `@joule/train/node`, so
 * browser bundles of `@joule/train` never pull in `node:fs`.
 *
 * @packageDocumentation
 */
import { mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { JouleError } from '@joule/core';
import { loadFile, saveFile } from '@joule/nn/node';
import type { CheckpointStorage } from './storage.js';

/**
 * A {@link CheckpointStorage} that keeps each checkpoint as a file in `dir` (created when missing),
 * written atomically (temporary file, flush, rename), so a crash never leaves a torn checkpoint.
 *
 * @example
 * ```ts
 * import { train } from '@joule/train';
 * import { fileStorage } from '@joule/train/node';
 *
 * await train(estimator, data, { steps: 1000, batchSize: 128, storage: fileStorage('run'), resume: true });
 * ```
 */
export function fileStorage(dir: string): CheckpointStorage {
  if (typeof dir !== 'string' || dir === '') throw new JouleError('fileStorage', 'dir', 'a folder path', String(dir));
  return {
    async write(name, bytes) {
      await mkdir(dir, { recursive: true });
      await saveFile(join(dir, name), bytes);
    },
    async read(name) {
      const path = join(dir, name);
      const exists = await stat(path).then(
        (s) => s.isFile(),
        () => false,
      );
      return exists ? loadFile(path) : undefined;
    },
  };
}

export type { CheckpointStorage } from './storage.js';

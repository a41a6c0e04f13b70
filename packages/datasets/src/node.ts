/// <reference types="node" />
/**
 * Node-only helpers of `@joule/datasets` (file system and zlib), kept apart so browser bundles of
 * the main entry stay free of Node built-ins: `import { loadIdx } from '@joule/datasets/node'`.
 *
 * @packageDocumentation
 */
import { readFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import { JouleError } from '@joule/core';
import { type IdxArray, isGzip, parseIdx } from './idx.js';

/**
 * Reads and decodes an IDX file from disk, gzipped (`.gz`) or not. Debian's
 * `dataset-fashion-mnist` package ships the real Fashion-MNIST files
 * (`dpkg -L dataset-fashion-mnist` lists them).
 *
 * @example
 * ```ts
 * import { idxToTensor } from '@joule/datasets';
 * import { loadIdx } from '@joule/datasets/node';
 *
 * const images = idxToTensor(await loadIdx('train-images-idx3-ubyte.gz')); // [60000, 784]
 * ```
 */
export async function loadIdx(path: string): Promise<IdxArray> {
  if (typeof path !== 'string' || path.length === 0)
    throw new JouleError('loadIdx', 'path', 'a file path', String(path));
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (e) {
    throw new JouleError(
      'loadIdx',
      'path',
      'a readable file',
      `${path} (${e instanceof Error ? e.message : String(e)})`,
    );
  }
  if (isGzip(bytes)) {
    try {
      bytes = gunzipSync(bytes);
    } catch (e) {
      throw new JouleError(
        'loadIdx',
        'path',
        'valid gzip data',
        `${path} (${e instanceof Error ? e.message : String(e)})`,
      );
    }
  }
  return parseIdx(bytes);
}

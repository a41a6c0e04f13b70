/**
 * Node-only file helpers of `@joule/nn`: atomic writes and reads of checkpoint bytes. Import them
 * from `@joule/nn/node`, so browser bundles of `@joule/nn` never pull in `node:fs`.
 *
 * @packageDocumentation
 */
import { randomBytes } from 'node:crypto';
import { open, readFile, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { JouleError } from '@joule/tensor';

/**
 * Writes `data` to `path` atomically: into a temporary file in the same folder, flushed to disk,
 * then renamed over `path`. A crash mid-write leaves the previous file intact, never a torn one.
 *
 * @example
 * ```ts
 * import { saveCheckpoint } from '@joule/nn';
 * import { saveFile } from '@joule/nn/node';
 *
 * await saveFile('run/checkpoint.safetensors', await saveCheckpoint({ module: model, optimizer: opt }));
 * ```
 */
export async function saveFile(path: string, data: Uint8Array): Promise<void> {
  if (typeof path !== 'string' || path === '') throw new JouleError('saveFile', 'path', 'a file path', String(path));
  if (!(data instanceof Uint8Array)) throw new JouleError('saveFile', 'data', 'a Uint8Array', typeof data);
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await open(temp, 'wx');
  try {
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
  } catch (e) {
    await unlink(temp).catch(() => undefined);
    throw e;
  }
}

/**
 * Reads a whole file as bytes (for `decodeSafetensors`, `loadModule`, `loadCheckpoint`).
 *
 * @example
 * ```ts
 * import { loadCheckpoint } from '@joule/nn';
 * import { loadFile } from '@joule/nn/node';
 *
 * loadCheckpoint(await loadFile('run/checkpoint.safetensors'), { module: model, optimizer: opt });
 * ```
 */
export async function loadFile(path: string): Promise<Uint8Array> {
  if (typeof path !== 'string' || path === '') throw new JouleError('loadFile', 'path', 'a file path', String(path));
  const buf = await readFile(path);
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

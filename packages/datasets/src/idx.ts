import { JouleError } from '@joule/core';
import { type Tensor, tensor } from '@joule/tensor';

/**
 * The element types of the IDX format, by their type byte: `0x08` uint8, `0x09` int8, `0x0B`
 * int16, `0x0C` int32, `0x0D` float32, `0x0E` float64.
 *
 * @example
 * ```ts
 * import type { IdxDataType } from '@joule/datasets';
 *
 * const t: IdxDataType = 'uint8'; // MNIST images and labels
 * ```
 */
export type IdxDataType = 'uint8' | 'int8' | 'int16' | 'int32' | 'float32' | 'float64';

/**
 * A decoded IDX file: its element type, its dimensions and its values in row-major order (in the
 * platform's byte order, converted from the file's big-endian).
 *
 * @example
 * ```ts
 * import type { IdxArray } from '@joule/datasets';
 *
 * function count(images: IdxArray): number {
 *   return images.shape[0]!; // e.g. 60000 for MNIST train images [60000, 28, 28]
 * }
 * ```
 */
export interface IdxArray {
  /** The element type. */
  dtype: IdxDataType;
  /** The dimensions, outermost first. */
  shape: number[];
  /** The values, row-major. */
  data: Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;
}

const TYPES: Record<number, { dtype: IdxDataType; bytes: number }> = {
  8: { dtype: 'uint8', bytes: 1 },
  9: { dtype: 'int8', bytes: 1 },
  11: { dtype: 'int16', bytes: 2 },
  12: { dtype: 'int32', bytes: 4 },
  13: { dtype: 'float32', bytes: 4 },
  14: { dtype: 'float64', bytes: 8 },
};

function asBytes(op: string, buffer: ArrayBuffer | ArrayBufferView): Uint8Array {
  if (buffer instanceof ArrayBuffer) return new Uint8Array(buffer);
  if (ArrayBuffer.isView(buffer)) return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  throw new JouleError(op, 'buffer', 'an ArrayBuffer or a typed array / Buffer', typeof buffer);
}

/**
 * Whether the bytes start with the gzip magic number `1f 8b`.
 *
 * @example
 * ```ts
 * import { isGzip } from '@joule/datasets';
 *
 * isGzip(new Uint8Array([0x1f, 0x8b, 8])); // true
 * ```
 */
export function isGzip(buffer: ArrayBuffer | ArrayBufferView): boolean {
  const b = asBytes('isGzip', buffer);
  return b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b;
}

/**
 * Parses an uncompressed IDX file (the MNIST / Fashion-MNIST format): a magic number of two zero
 * bytes, a type byte and the number of dimensions, then each dimension as a big-endian 32-bit
 * integer, then the values, big-endian. Throws a `JouleError` saying what is wrong for a bad magic
 * number, an unknown type, a truncated header or body, trailing bytes, or gzipped input (use
 * {@link decodeIdx} for `.gz` files).
 *
 * @example
 * ```ts
 * import { parseIdx } from '@joule/datasets';
 *
 * // a 2 × 3 uint8 array
 * const bytes = new Uint8Array([0, 0, 0x08, 2, 0, 0, 0, 2, 0, 0, 0, 3, 1, 2, 3, 4, 5, 6]);
 * const { dtype, shape, data } = parseIdx(bytes); // 'uint8', [2, 3], Uint8Array [1 … 6]
 * ```
 */
export function parseIdx(buffer: ArrayBuffer | ArrayBufferView): IdxArray {
  const op = 'parseIdx';
  const bytes = asBytes(op, buffer);
  if (isGzip(bytes))
    throw new JouleError(op, 'buffer', 'uncompressed IDX bytes', 'gzip data (decompress first, or use decodeIdx)');
  if (bytes.length < 4)
    throw new JouleError(op, 'buffer', 'at least the 4-byte IDX magic number', `${bytes.length} bytes`);
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    throw new JouleError(
      op,
      'buffer',
      'an IDX magic number starting with two zero bytes',
      `0x${hex(bytes[0]!)}${hex(bytes[1]!)}`,
    );
  }
  const type = TYPES[bytes[2]!];
  if (!type) throw new JouleError(op, 'buffer', 'an IDX type byte among 08, 09, 0B, 0C, 0D, 0E', `0x${hex(bytes[2]!)}`);
  const rank = bytes[3]!;
  if (rank === 0) throw new JouleError(op, 'buffer', 'at least one dimension', '0 dimensions');
  const header = 4 + 4 * rank;
  if (bytes.length < header)
    throw new JouleError(op, 'buffer', `a ${header}-byte header for ${rank} dimensions`, `${bytes.length} bytes`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shape: number[] = [];
  let count = 1;
  for (let i = 0; i < rank; i++) {
    const s = view.getUint32(4 + 4 * i, false);
    if (s > 0x7fffffff) throw new JouleError(op, 'buffer', 'dimensions below 2^31', `dimension ${i} = ${s}`);
    shape.push(s);
    count *= s;
  }
  const expected = header + count * type.bytes;
  if (bytes.length !== expected) {
    const what = bytes.length < expected ? 'truncated data' : 'trailing bytes';
    throw new JouleError(
      op,
      'buffer',
      `${expected} bytes for a ${type.dtype} array of shape [${shape.join(', ')}]`,
      `${bytes.length} bytes (${what})`,
    );
  }
  return { dtype: type.dtype, shape, data: readValues(view, header, count, type.dtype) };
}

function readValues(view: DataView, at: number, n: number, dtype: IdxDataType): IdxArray['data'] {
  switch (dtype) {
    case 'uint8':
      return new Uint8Array(view.buffer.slice(view.byteOffset + at, view.byteOffset + at + n));
    case 'int8':
      return new Int8Array(view.buffer.slice(view.byteOffset + at, view.byteOffset + at + n));
    case 'int16': {
      const out = new Int16Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getInt16(at + 2 * i, false);
      return out;
    }
    case 'int32': {
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getInt32(at + 4 * i, false);
      return out;
    }
    case 'float32': {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getFloat32(at + 4 * i, false);
      return out;
    }
    case 'float64': {
      const out = new Float64Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getFloat64(at + 8 * i, false);
      return out;
    }
  }
}

function hex(b: number): string {
  return b.toString(16).padStart(2, '0');
}

/**
 * Decodes an IDX file that may be gzipped (`.gz`, as MNIST is distributed): gzip is undone with
 * the standard `DecompressionStream` (browsers and Node ≥ 18), then {@link parseIdx}.
 *
 * @example
 * ```ts
 * import { decodeIdx } from '@joule/datasets';
 *
 * const response = await fetch('/data/train-images-idx3-ubyte.gz');
 * const images = await decodeIdx(await response.arrayBuffer()); // shape [60000, 28, 28]
 * ```
 */
export async function decodeIdx(buffer: ArrayBuffer | ArrayBufferView): Promise<IdxArray> {
  const bytes = asBytes('decodeIdx', buffer);
  if (!isGzip(bytes)) return parseIdx(bytes);
  const stream = new Blob([bytes.slice()]).stream().pipeThrough(new DecompressionStream('gzip'));
  let raw: ArrayBuffer;
  try {
    raw = await new Response(stream).arrayBuffer();
  } catch (e) {
    throw new JouleError('decodeIdx', 'buffer', 'valid gzip data', e instanceof Error ? e.message : String(e));
  }
  return parseIdx(raw);
}

/**
 * Options of {@link idxToTensor}.
 *
 * @example
 * ```ts
 * import type { IdxToTensorOptions } from '@joule/datasets';
 *
 * const options: IdxToTensorOptions = { flatten: false, scale: 1 };
 * ```
 */
export interface IdxToTensorOptions {
  /** Collapse all but the first dimension (`[n, 28, 28]` → `[n, 784]`), true by default. */
  flatten?: boolean;
  /** Multiply the values by this, `1/255` for uint8 data (pixels to `[0, 1]`) and 1 otherwise by default. */
  scale?: number;
}

/**
 * A decoded IDX array as a float32 tensor: images `[n, h, w]` become `[n, h·w]` with pixels in
 * `[0, 1]` by default; a 1-D array (labels) stays `[n]` with its integer values.
 *
 * @example
 * ```ts
 * import { idxToTensor, parseIdx } from '@joule/datasets';
 *
 * const x = idxToTensor(parseIdx(imageBytes));                  // [n, 784] in [0, 1]
 * const y = idxToTensor(parseIdx(labelBytes));                  // [n] of 0 … 9
 * ```
 */
export function idxToTensor(idx: IdxArray, options: IdxToTensorOptions = {}): Tensor {
  const op = 'idxToTensor';
  if (!idx || !Array.isArray(idx.shape) || !idx.data)
    throw new JouleError(op, 'idx', 'an IdxArray from parseIdx', String(idx));
  const rank = idx.shape.length;
  const scale = options.scale ?? (idx.dtype === 'uint8' && rank > 1 ? 1 / 255 : 1);
  if (!Number.isFinite(scale)) throw new JouleError(op, 'scale', 'a finite number', String(scale));
  const out = new Float32Array(idx.data.length);
  for (let i = 0; i < out.length; i++) out[i] = idx.data[i]! * scale;
  const flatten = options.flatten ?? true;
  const shape = flatten && rank > 2 ? [idx.shape[0]!, idx.shape.slice(1).reduce((a, b) => a * b, 1)] : idx.shape;
  return tensor(out, shape);
}

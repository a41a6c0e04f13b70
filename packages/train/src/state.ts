import { JouleError } from '@joule/core';
import { decodeSafetensors, encodeSafetensors } from '@joule/nn';
import { Tensor } from '@joule/tensor';

/** JSON-safe encoding of a state tree whose tensors live in a separate name → tensor table. */
type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const TYPED: Record<string, { new (values: number[]): ArrayLike<number> }> = {
  $f32: Float32Array,
  $f64: Float64Array,
  $i32: Int32Array,
  $u32: Uint32Array,
  $u8: Uint8Array,
};

function typedTag(value: unknown): string | undefined {
  if (value instanceof Float32Array) return '$f32';
  if (value instanceof Float64Array) return '$f64';
  if (value instanceof Int32Array) return '$i32';
  if (value instanceof Uint32Array) return '$u32';
  if (value instanceof Uint8Array) return '$u8';
  return undefined;
}

function encodeNumber(v: number): Json {
  return Number.isFinite(v) ? v : { $num: String(v) };
}

/**
 * Splits a state tree into JSON and a table of tensors: each tensor leaf becomes
 * `{ $tensor: path }`, typed arrays and non-finite numbers get tagged so they round-trip exactly.
 */
function encodeTree(op: string, value: unknown, path: string, tensors: Record<string, Tensor>): Json {
  if (value === null) return null;
  if (typeof value === 'number') return encodeNumber(value);
  if (typeof value === 'string' || typeof value === 'boolean') return value;
  if (value instanceof Tensor) {
    tensors[path] = value;
    return { $tensor: path };
  }
  const tag = typedTag(value);
  if (tag !== undefined) return { [tag]: Array.from(value as ArrayLike<number>, encodeNumber) };
  if (Array.isArray(value)) return value.map((v, i) => encodeTree(op, v, `${path}.${i}`, tensors));
  if (typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    const out: Record<string, Json> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      if (v === undefined) continue;
      out[k] = encodeTree(op, v, path === '' ? k : `${path}.${k}`, tensors);
    }
    return Object.keys(out).some((k) => k.startsWith('$')) ? { $obj: out } : out;
  }
  throw new JouleError(
    op,
    `state${path === '' ? '' : `.${path}`}`,
    'plain data (numbers, strings, booleans, arrays, objects, typed arrays, tensors)',
    value === undefined
      ? 'undefined'
      : typeof value === 'object'
        ? (value.constructor?.name ?? 'object')
        : typeof value,
  );
}

function decodeNumber(v: Json): number {
  if (typeof v === 'number') return v;
  if (v !== null && typeof v === 'object' && !Array.isArray(v) && typeof v.$num === 'string') return Number(v.$num);
  throw new JouleError('readCheckpoint', 'state', 'a number', JSON.stringify(v));
}

function decodeTree(value: Json, tensors: Record<string, Tensor>): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => decodeTree(v, tensors));
  const keys = Object.keys(value);
  if (keys.length === 1) {
    const key = keys[0]!;
    const inner = value[key]!;
    if (key === '$tensor') {
      const t = tensors[inner as string];
      if (t === undefined) throw new JouleError('readCheckpoint', 'bytes', `a tensor named '${inner}'`, 'none');
      return t;
    }
    if (key === '$num') return decodeNumber(value);
    if (key === '$obj') return decodeObject(inner as Record<string, Json>, tensors);
    const Typed = TYPED[key];
    if (Typed !== undefined) return new Typed((inner as Json[]).map(decodeNumber));
  }
  return decodeObject(value, tensors);
}

function decodeObject(value: Record<string, Json>, tensors: Record<string, Tensor>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = decodeTree(v, tensors);
  return out;
}

/** The metadata key under which the JSON part of a checkpoint is stored. */
const META_KEY = 'joule.train';

/**
 * Options of {@link encodeState}.
 *
 * @example
 * ```ts
 * const options: EncodeStateOptions = { op: 'train', where: 'at step 100' };
 * ```
 */
export interface EncodeStateOptions {
  /** The operation named in errors (default `'encodeState'`). */
  op?: string;
  /** Appended to the error's "got" part, e.g. `'at step 100'`. */
  where?: string;
}

/**
 * Encodes a plain-data tree that may hold tensors (an estimator's `state()`, plus anything else) as
 * safetensors bytes: the tensors as float32 tensors named by their path in the tree, everything else
 * as JSON in the safetensors metadata. Fails, naming the tensor, when a tensor holds NaN or ±Inf.
 *
 * @example
 * ```ts
 * const bytes = await encodeState({ weights: { w }, step: 10 });
 * const back = decodeState(bytes); // { weights: { w: Tensor }, step: 10 }
 * ```
 */
export async function encodeState(
  tree: Record<string, unknown>,
  options: EncodeStateOptions = {},
): Promise<Uint8Array> {
  const op = options.op ?? 'encodeState';
  const where = options.where === undefined ? '' : ` ${options.where}`;
  if (tree === null || typeof tree !== 'object')
    throw new JouleError(op, 'state', 'a plain object', tree === null ? 'null' : typeof tree);
  const tensors: Record<string, Tensor> = {};
  const json = encodeTree(op, tree, '', tensors);
  for (const [name, t] of Object.entries(tensors)) {
    const values = await t.data();
    for (let i = 0; i < values.length; i++) {
      if (!Number.isFinite(values[i]!))
        throw new JouleError(op, `state.${name}`, 'finite values', `${values[i]} at index ${i}${where}`);
    }
  }
  return encodeSafetensors(tensors, { [META_KEY]: JSON.stringify(json) });
}

/**
 * Decodes what {@link encodeState} wrote back into the tree, tensors included.
 *
 * @example
 * ```ts
 * const state = decodeState(await storage.read('checkpoint.safetensors'));
 * ```
 */
export function decodeState(bytes: Uint8Array | ArrayBuffer): Record<string, unknown> {
  const { tensors, metadata } = decodeSafetensors(bytes);
  const text = metadata[META_KEY];
  if (text === undefined)
    throw new JouleError('decodeState', 'bytes', `a safetensors file with '${META_KEY}' metadata`, 'none');
  let json: Json;
  try {
    json = JSON.parse(text) as Json;
  } catch (e) {
    throw new JouleError('decodeState', 'bytes', 'valid JSON metadata', (e as Error).message);
  }
  const tree = decodeTree(json, tensors);
  if (tree === null || typeof tree !== 'object' || Array.isArray(tree))
    throw new JouleError('decodeState', 'bytes', 'an object at the root', JSON.stringify(json).slice(0, 80));
  return tree as Record<string, unknown>;
}

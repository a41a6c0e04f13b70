import { JouleError, Tensor, tensor } from '@joule/tensor';
import type { EMA, EMAState } from './ema.js';
import type { LoadOptions, Module } from './module.js';
import type { BaseHyper, Optimizer, OptimizerState } from './optim.js';
import { describe } from './tree.js';

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const MAX_HEADER = 100_000_000;
const ITEM_SIZE: Record<string, number> = { F32: 4, F64: 8, F16: 2, BF16: 2 };

/**
 * What a safetensors file holds: float32 tensors by name and the `__metadata__` string map.
 *
 * @example
 * ```ts
 * const { tensors, metadata } = decodeSafetensors(bytes);
 * ```
 */
export interface SafetensorsContents {
  /** The tensors by name. */
  tensors: Record<string, Tensor>;
  /** The `__metadata__` map (empty when the file has none). */
  metadata: Record<string, string>;
}

function checkMetadata(op: string, metadata: unknown): Record<string, string> {
  if (metadata === undefined) return {};
  if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata)) {
    throw new JouleError(op, 'metadata', 'a record of strings', describe(metadata));
  }
  for (const [k, v] of Object.entries(metadata)) {
    if (typeof v !== 'string') throw new JouleError(op, `metadata.${k}`, 'a string', describe(v));
  }
  return metadata as Record<string, string>;
}

/**
 * Encodes tensors in the safetensors format
 * (<https://github.com/huggingface/safetensors>): an 8-byte little-endian header length `N`, `N`
 * bytes of JSON (`{ "__metadata__": {...}, name: { "dtype": "F32", "shape": [...],
 * "data_offsets": [begin, end] } }`, padded with spaces to a multiple of 8), then the little-endian
 * float32 data of each tensor, in name order. PyTorch reads it with `safetensors.torch.load`.
 * Asynchronous because reading tensor values is (GPU backends).
 *
 * @example
 * ```ts
 * const bytes = await encodeSafetensors({ weight: w, bias: b }, { step: '1000' });
 * ```
 */
export async function encodeSafetensors(
  tensors: Record<string, Tensor>,
  metadata?: Record<string, string>,
): Promise<Uint8Array> {
  const op = 'encodeSafetensors';
  if (tensors === null || typeof tensors !== 'object')
    throw new JouleError(op, 'tensors', 'a record of tensors', describe(tensors));
  const meta = checkMetadata(op, metadata);
  const names = Object.keys(tensors).sort();
  const header: Record<string, unknown> = {};
  if (Object.keys(meta).length > 0) header.__metadata__ = meta;
  let offset = 0;
  for (const name of names) {
    const t = tensors[name];
    if (name === '' || name === '__metadata__')
      throw new JouleError(op, 'tensors', 'names other than "" and "__metadata__"', JSON.stringify(name));
    if (!(t instanceof Tensor)) throw new JouleError(op, `tensors.${name}`, 'a Tensor', describe(t));
    header[name] = { dtype: 'F32', shape: [...t.shape], data_offsets: [offset, offset + 4 * t.size] };
    offset += 4 * t.size;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const headerLength = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + headerLength + offset);
  const view = new DataView(out.buffer);
  view.setUint32(0, headerLength % 2 ** 32, true);
  view.setUint32(4, Math.floor(headerLength / 2 ** 32), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerLength);
  let at = 8 + headerLength;
  for (const name of names) {
    const values = await tensors[name].data();
    if (LITTLE_ENDIAN) out.set(new Uint8Array(values.buffer, values.byteOffset, values.byteLength), at);
    else for (let i = 0; i < values.length; i++) view.setFloat32(at + 4 * i, values[i], true);
    at += values.byteLength;
  }
  return out;
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

function readValues(bytes: Uint8Array, start: number, count: number, dtype: string): Float32Array {
  const out = new Float32Array(count);
  if (dtype === 'F32' && LITTLE_ENDIAN) {
    new Uint8Array(out.buffer).set(bytes.subarray(start, start + 4 * count));
    return out;
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset + start, count * ITEM_SIZE[dtype]);
  if (dtype === 'F32') for (let i = 0; i < count; i++) out[i] = view.getFloat32(4 * i, true);
  else if (dtype === 'F64') for (let i = 0; i < count; i++) out[i] = view.getFloat64(8 * i, true);
  else if (dtype === 'F16') for (let i = 0; i < count; i++) out[i] = halfToFloat(view.getUint16(2 * i, true));
  else {
    const bits = new Uint32Array(out.buffer);
    for (let i = 0; i < count; i++) bits[i] = view.getUint16(2 * i, true) << 16;
  }
  return out;
}

/**
 * Decodes a safetensors file. Every entry is checked (dtype, shape, offsets inside the file, data
 * covering the buffer without gaps or overlaps) before any tensor is made. `F32` is read exactly;
 * `F64`, `F16` and `BF16` (common in PyTorch exports) are converted to float32.
 *
 * @example
 * ```ts
 * const { tensors, metadata } = decodeSafetensors(new Uint8Array(await (await fetch(url)).arrayBuffer()));
 * ```
 */
export function decodeSafetensors(bytes: Uint8Array | ArrayBuffer): SafetensorsContents {
  const op = 'decodeSafetensors';
  const buf = bytes instanceof ArrayBuffer ? new Uint8Array(bytes) : bytes;
  if (!(buf instanceof Uint8Array))
    throw new JouleError(op, 'bytes', 'a Uint8Array or an ArrayBuffer', describe(bytes));
  if (buf.length < 8) throw new JouleError(op, 'bytes', 'at least 8 bytes (the header length)', `${buf.length} bytes`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const headerLength = view.getUint32(0, true) + view.getUint32(4, true) * 2 ** 32;
  if (headerLength > buf.length - 8 || headerLength > MAX_HEADER) {
    throw new JouleError(
      op,
      'bytes',
      `a header length of at most ${Math.min(buf.length - 8, MAX_HEADER)} bytes`,
      String(headerLength),
    );
  }
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(buf.subarray(8, 8 + headerLength)));
  } catch (e) {
    throw new JouleError(op, 'bytes', 'a JSON header', `unreadable JSON (${(e as Error).message})`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header))
    throw new JouleError(op, 'header', 'a JSON object', describe(header));
  const dataStart = 8 + headerLength;
  const dataLength = buf.length - dataStart;
  const entries: { name: string; dtype: string; shape: number[]; begin: number; end: number }[] = [];
  let metadata: Record<string, string> = {};
  for (const [name, info] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      metadata = checkMetadata(op, info);
      continue;
    }
    const arg = `header.${name}`;
    const {
      dtype,
      shape,
      data_offsets: offsets,
    } = (info ?? {}) as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof dtype !== 'string' || !(dtype in ITEM_SIZE)) {
      throw new JouleError(
        op,
        `${arg}.dtype`,
        'F32 (or F64, F16, BF16, converted to float32)',
        describe(dtype === undefined ? info : dtype),
      );
    }
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
      throw new JouleError(op, `${arg}.shape`, 'an array of non-negative integers', describe(shape));
    }
    if (
      !Array.isArray(offsets) ||
      offsets.length !== 2 ||
      !offsets.every((o) => Number.isInteger(o) && o >= 0) ||
      offsets[1] < offsets[0]
    ) {
      throw new JouleError(op, `${arg}.data_offsets`, '[begin, end] with 0 ≤ begin ≤ end', JSON.stringify(offsets));
    }
    const count = shape.reduce((a: number, b: number) => a * b, 1);
    if (offsets[1] - offsets[0] !== count * ITEM_SIZE[dtype]) {
      throw new JouleError(
        op,
        `${arg}.data_offsets`,
        `${count * ITEM_SIZE[dtype]} bytes for ${dtype} of shape [${shape.join(', ')}]`,
        `${offsets[1] - offsets[0]} bytes`,
      );
    }
    if (offsets[1] > dataLength)
      throw new JouleError(op, `${arg}.data_offsets`, `an end within the ${dataLength} data bytes`, String(offsets[1]));
    entries.push({ name, dtype, shape, begin: offsets[0], end: offsets[1] });
  }
  const ordered = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let covered = 0;
  for (const e of ordered) {
    if (e.begin !== covered) {
      const what = e.begin < covered ? 'overlaps the previous tensor' : `leaves a gap at byte ${covered}`;
      throw new JouleError(
        op,
        `header.${e.name}.data_offsets`,
        'tensors packed back to back',
        `[${e.begin}, ${e.end}], which ${what}`,
      );
    }
    covered = e.end;
  }
  if (covered !== dataLength)
    throw new JouleError(op, 'bytes', `${covered} data bytes after the header`, `${dataLength}`);
  const tensors: Record<string, Tensor> = {};
  for (const e of entries) {
    const count = e.shape.reduce((a, b) => a * b, 1);
    tensors[e.name] = tensor(readValues(buf, dataStart + e.begin, count, e.dtype), e.shape);
  }
  return { tensors, metadata };
}

/**
 * A module's parameters and buffers ({@link Module.stateDict}) as safetensors bytes, named as in
 * PyTorch (`layer0.weight`), so `model.load_state_dict(safetensors.torch.load(data))` reads them.
 *
 * @example
 * ```ts
 * const bytes = await saveModule(model, { note: 'epoch 10' });
 * ```
 */
export function saveModule(module: Module<never, unknown>, metadata?: Record<string, string>): Promise<Uint8Array> {
  return encodeSafetensors(module.stateDict(), metadata);
}

/**
 * Loads safetensors bytes into a module: names, shapes and dtypes are validated before anything is
 * assigned, so a bad file leaves the module unchanged. Returns the file's metadata.
 *
 * @example
 * ```ts
 * loadModule(model, bytes); // throws on a missing, unknown or mis-shaped tensor
 * ```
 */
export function loadModule(
  module: Module<never, unknown>,
  bytes: Uint8Array | ArrayBuffer,
  options: LoadOptions = {},
): Record<string, string> {
  const { tensors, metadata } = decodeSafetensors(bytes);
  module.loadStateDict(tensors, options);
  return metadata;
}

/**
 * What a checkpoint holds: a module, and optionally its optimizer and parameter average.
 *
 * @example
 * ```ts
 * const parts: CheckpointParts = { module: model, optimizer: opt, ema };
 * ```
 */
export interface CheckpointParts {
  /** The model; its tensors are stored under their plain names. */
  module: Module<never, unknown>;
  /** The optimizer; its slots are stored as `optimizer/<param>/<slot>`. */
  optimizer?: Optimizer<BaseHyper>;
  /** The moving average; stored as `ema/<param>`. */
  ema?: EMA;
}

const OPTIMIZER_KEY = 'joule.optimizer';
const EMA_KEY = 'joule.ema';

/**
 * A training checkpoint in one safetensors file: the module's tensors under their own names (so
 * PyTorch can read the weights), optimizer slots under `optimizer/…`, the EMA under `ema/…`, and
 * their JSON state (step count, hyperparameters) in the metadata next to yours.
 *
 * @example
 * ```ts
 * const bytes = await saveCheckpoint({ module: model, optimizer: opt, ema }, { step: '500' });
 * ```
 */
export function saveCheckpoint(parts: CheckpointParts, metadata?: Record<string, string>): Promise<Uint8Array> {
  const op = 'saveCheckpoint';
  const meta = { ...checkMetadata(op, metadata) };
  for (const k of Object.keys(meta)) {
    if (k.startsWith('joule.'))
      throw new JouleError(op, `metadata.${k}`, 'a key not starting with "joule." (reserved)', k);
  }
  const tensors: Record<string, Tensor> = { ...parts.module.stateDict() };
  if (parts.optimizer) {
    const { slots, ...rest } = parts.optimizer.state();
    meta[OPTIMIZER_KEY] = JSON.stringify(rest);
    for (const [name, s] of Object.entries(slots))
      for (const [k, t] of Object.entries(s)) tensors[`optimizer/${name}/${k}`] = t;
  }
  if (parts.ema) {
    const { shadow, ...rest } = parts.ema.state();
    meta[EMA_KEY] = JSON.stringify(rest);
    for (const [name, t] of Object.entries(shadow)) tensors[`ema/${name}`] = t;
  }
  return encodeSafetensors(tensors, meta);
}

function parseJson(op: string, key: string, text: string | undefined): Record<string, unknown> {
  if (text === undefined) throw new JouleError(op, 'bytes', `a checkpoint with metadata '${key}'`, 'none');
  try {
    return JSON.parse(text);
  } catch {
    throw new JouleError(op, `metadata.${key}`, 'JSON', text);
  }
}

/**
 * Restores a checkpoint written by {@link saveCheckpoint} into the given parts. Everything (module
 * tensors, optimizer state, EMA state) is validated before anything is assigned: a file that does
 * not fit leaves all parts unchanged. Returns the user metadata.
 *
 * @example
 * ```ts
 * const meta = loadCheckpoint(bytes, { module: model, optimizer: opt, ema });
 * ```
 */
export function loadCheckpoint(bytes: Uint8Array | ArrayBuffer, parts: CheckpointParts): Record<string, string> {
  const op = 'loadCheckpoint';
  const { tensors, metadata } = decodeSafetensors(bytes);
  const moduleDict: Record<string, Tensor> = {};
  const slots: Record<string, Record<string, Tensor>> = {};
  const shadow: Record<string, Tensor> = {};
  for (const [key, t] of Object.entries(tensors)) {
    if (key.startsWith('optimizer/')) {
      const cut = key.lastIndexOf('/');
      const name = key.slice('optimizer/'.length, cut);
      if (cut <= 'optimizer/'.length) throw new JouleError(op, key, 'optimizer/<param>/<slot>', key);
      slots[name] ??= {};
      slots[name][key.slice(cut + 1)] = t;
    } else if (key.startsWith('ema/')) shadow[key.slice('ema/'.length)] = t;
    else moduleDict[key] = t;
  }
  let optState: OptimizerState | undefined;
  let emaState: EMAState | undefined;
  parts.module.validateStateDict(moduleDict);
  if (parts.optimizer) {
    optState = { ...(parseJson(op, OPTIMIZER_KEY, metadata[OPTIMIZER_KEY]) as Omit<OptimizerState, 'slots'>), slots };
    parts.optimizer.validateState(optState);
  }
  if (parts.ema) {
    emaState = { ...(parseJson(op, EMA_KEY, metadata[EMA_KEY]) as Omit<EMAState, 'shadow'>), shadow };
    parts.ema.validateState(emaState);
  }
  parts.module.loadStateDict(moduleDict);
  if (optState) parts.optimizer!.load(optState);
  if (emaState) parts.ema!.load(emaState);
  const user: Record<string, string> = {};
  for (const [k, v] of Object.entries(metadata)) if (!k.startsWith('joule.')) user[k] = v;
  return user;
}

import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JouleError, Rng, randn, type Tensor, tensor, valueAndGrad } from '@joule/tensor';
import { afterAll, describe, expect, it } from 'vitest';
import {
  Adam,
  ConditionalMLP,
  decodeSafetensors,
  EMA,
  encodeSafetensors,
  Linear,
  loadCheckpoint,
  loadModule,
  MLP,
  type ParamTree,
  SpectralNorm,
  saveCheckpoint,
  saveModule,
} from '../src/index.js';
import { loadFile, saveFile } from '../src/node.js';
import { values } from './helpers.js';

const bits = (t: Tensor) => Array.from(new Uint32Array(t.dataSync().buffer.slice(0)));

/** A file from a header object and raw data bytes, padded as the reference writer does. */
function handBuilt(header: object, data: number[]): Uint8Array {
  let json = JSON.stringify(header);
  while ((json.length + 8) % 8 !== 0) json += ' ';
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setUint32(0, json.length, true);
  out.set(new TextEncoder().encode(json), 8);
  out.set(data, 8 + json.length);
  return out;
}

function le(kind: 'f32' | 'f64' | 'u16', xs: number[]): number[] {
  const size = kind === 'f64' ? 8 : kind === 'f32' ? 4 : 2;
  const view = new DataView(new ArrayBuffer(size * xs.length));
  xs.forEach((x, i) => {
    if (kind === 'f32') view.setFloat32(4 * i, x, true);
    else if (kind === 'f64') view.setFloat64(8 * i, x, true);
    else view.setUint16(2 * i, x, true);
  });
  return Array.from(new Uint8Array(view.buffer));
}

describe('safetensors format', () => {
  it('writes the byte layout the format specifies', async () => {
    const bytes = await encodeSafetensors({ b: tensor([1, 2]), a: tensor([[3, 4, 5]]) }, { format: 'pt' });
    const view = new DataView(bytes.buffer, bytes.byteOffset);
    const n = view.getUint32(0, true);
    expect(view.getUint32(4, true)).toBe(0);
    expect(n % 8).toBe(0);
    const headerBytes = bytes.subarray(8, 8 + n);
    const text = new TextDecoder().decode(headerBytes);
    expect(text.startsWith('{')).toBe(true);
    const trimmed = text.trimEnd();
    expect(text.slice(trimmed.length)).toMatch(/^ *$/); // padding is spaces
    const header = JSON.parse(text);
    expect(header).toEqual({
      __metadata__: { format: 'pt' },
      a: { dtype: 'F32', shape: [1, 3], data_offsets: [0, 12] },
      b: { dtype: 'F32', shape: [2], data_offsets: [12, 20] },
    });
    expect(bytes.length).toBe(8 + n + 20);
    const data = [0, 1, 2, 3, 4].map((i) => view.getFloat32(8 + n + 4 * i, true));
    expect(data).toEqual([3, 4, 5, 1, 2]);
  });

  it('reads a hand-built file with F32, F64, F16 and BF16 tensors', () => {
    const data = [
      ...le('f32', [1, -2, 0.5, 3]),
      ...le('f64', [0.25, -1e10]),
      ...le('u16', [0x3e00, 0xc000, 0x7bff]),
      ...le('u16', [0x3fc0]),
    ];
    const file = handBuilt(
      {
        w: { dtype: 'F32', shape: [2, 2], data_offsets: [0, 16] },
        d: { dtype: 'F64', shape: [2], data_offsets: [16, 32] },
        h: { dtype: 'F16', shape: [3], data_offsets: [32, 38] },
        z: { dtype: 'BF16', shape: [], data_offsets: [38, 40] },
        __metadata__: { source: 'hand' },
      },
      data,
    );
    const { tensors, metadata } = decodeSafetensors(file.buffer as ArrayBuffer);
    expect(metadata).toEqual({ source: 'hand' });
    expect(tensors.w.toArray()).toEqual([
      [1, -2],
      [0.5, 3],
    ]);
    expect(values(tensors.d)).toEqual([0.25, Math.fround(-1e10)]);
    expect(values(tensors.h)).toEqual([1.5, -2, 65504]);
    expect(tensors.z.shape).toEqual([]);
    expect(values(tensors.z)).toEqual([1.5]);
  });

  it('round-trips bit-exactly, special values included', async () => {
    const special = tensor(
      new Float32Array([
        0,
        -0,
        Number.NaN,
        Number.POSITIVE_INFINITY,
        Number.NEGATIVE_INFINITY,
        1e-40,
        3.4028234663852886e38,
        Math.PI,
      ]),
    );
    const r = randn([3, 5], new Rng(0));
    const { tensors } = decodeSafetensors(
      await encodeSafetensors({ special, r, empty: tensor(new Float32Array(0), [0, 4]) }),
    );
    expect(bits(tensors.special)).toEqual(bits(special));
    expect(bits(tensors.r)).toEqual(bits(r));
    expect(tensors.empty.shape).toEqual([0, 4]);
  });

  it('rejects malformed files with clear errors', () => {
    const ok = { w: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } };
    const data = le('f32', [1, 2]);
    expect(() => decodeSafetensors(new Uint8Array(4))).toThrow(/at least 8 bytes/);
    const huge = handBuilt(ok, data);
    new DataView(huge.buffer).setUint32(0, 1e6, true);
    expect(() => decodeSafetensors(huge)).toThrow(/header length/);
    expect(() => decodeSafetensors(handBuilt({ w: { dtype: 'I64', shape: [1], data_offsets: [0, 8] } }, data))).toThrow(
      /dtype/,
    );
    expect(() => decodeSafetensors(handBuilt({ w: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, data))).toThrow(
      /12 bytes/,
    );
    expect(() =>
      decodeSafetensors(
        handBuilt(
          {
            w: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
            v: { dtype: 'F32', shape: [1], data_offsets: [4, 8] },
          },
          data,
        ),
      ),
    ).toThrow(/overlaps/);
    expect(() => decodeSafetensors(handBuilt({ w: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, data))).toThrow(
      /gap/,
    );
    expect(() => decodeSafetensors(handBuilt(ok, [...data, 0, 0, 0, 0]))).toThrow(JouleError);
    const bad = handBuilt(ok, data);
    bad[8] = 0x5b; // '['
    expect(() => decodeSafetensors(bad)).toThrow(JouleError);
  });
});

describe('modules and checkpoints', () => {
  it('saveModule → loadModule restores every parameter and buffer bit-exactly', async () => {
    const a = new MLP(2, 1, { width: 8, depth: 2, layerNorm: true, rng: new Rng(0) });
    const b = new MLP(2, 1, { width: 8, depth: 2, layerNorm: true, rng: new Rng(1) });
    loadModule(b, await saveModule(a));
    for (const [name, t] of Object.entries(a.stateDict())) expect(bits(b.stateDict()[name]), name).toEqual(bits(t));
    const sa = new SpectralNorm(new Linear(3, 2, { rng: new Rng(2) }), { rng: new Rng(3) });
    const sb = new SpectralNorm(new Linear(3, 2, { rng: new Rng(4) }), { rng: new Rng(5) });
    loadModule(sb, await saveModule(sa));
    expect(bits(sb.stateDict().u)).toEqual(bits(sa.stateDict().u));
    const ca = new ConditionalMLP(2, 3, 1, { width: 4, depth: 1, mode: 'film', rng: new Rng(6) });
    const cb = new ConditionalMLP(2, 3, 1, { width: 4, depth: 1, mode: 'film', rng: new Rng(7) });
    loadModule(cb, await saveModule(ca));
    expect(bits(cb.stateDict()['layer0.weight'])).toEqual(bits(ca.stateDict()['layer0.weight']));
  });

  it('loading a file with a wrong shape, a missing or an unknown name changes nothing', async () => {
    const target = new MLP(2, 1, { width: 8, depth: 1, rng: new Rng(0) });
    const before = Object.fromEntries(Object.entries(target.stateDict()).map(([n, t]) => [n, bits(t)]));
    const src = new MLP(2, 1, { width: 8, depth: 1, rng: new Rng(1) }).stateDict();
    // layer0.* are valid and come first: a half-loading reader would have assigned them
    const wrongShape = { ...src, 'layer1.weight': randn([1, 9], new Rng(2)) };
    expect(() => loadModule(target, 0 as never)).toThrow(JouleError);
    const files = [
      await encodeSafetensors(wrongShape),
      await encodeSafetensors(Object.fromEntries(Object.entries(src).filter(([n]) => n !== 'layer1.bias'))),
      await encodeSafetensors({ ...src, 'layer2.weight': randn([1], new Rng(3)) }),
    ];
    const messages = files.map((f) => {
      try {
        loadModule(target, f);
        return 'loaded';
      } catch (e) {
        return (e as Error).message;
      }
    });
    expect(messages[0]).toMatch(/layer1.weight.*shape \[1, 8\]/);
    expect(messages[1]).toMatch(/layer1.bias/);
    expect(messages[2]).toMatch(/layer2.weight/);
    for (const [n, t] of Object.entries(target.stateDict())) expect(bits(t), n).toEqual(before[n]);
  });

  it('a checkpoint restores module, optimizer and EMA so training continues identically', async () => {
    const x = randn([16, 2], new Rng(0));
    const make = (seed: number) => {
      const model = new MLP(2, 1, { width: 8, depth: 2, rng: new Rng(seed) });
      return {
        model,
        opt: new Adam(model.parameters(), { lr: 0.01 }),
        ema: new EMA(model.parameters(), { decay: 0.9 }),
      };
    };
    const loss = (m: MLP) => (p: ParamTree) => m.apply(p, x).square().mean();
    const step = (s: ReturnType<typeof make>) => {
      const { grad } = valueAndGrad(loss(s.model))(s.model.parameters());
      s.model.load(s.opt.step(s.model.parameters(), grad));
      s.ema.update(s.model.parameters());
    };
    const a = make(1);
    for (let i = 0; i < 3; i++) step(a);
    const file = await saveCheckpoint({ module: a.model, optimizer: a.opt, ema: a.ema }, { note: 'three steps' });
    const b = make(2);
    expect(loadCheckpoint(file, { module: b.model, optimizer: b.opt, ema: b.ema })).toEqual({ note: 'three steps' });
    expect(b.opt.stepCount).toBe(3);
    step(a);
    step(b);
    for (const [n, t] of Object.entries(a.model.stateDict())) expect(bits(b.model.stateDict()[n]), n).toEqual(bits(t));
    const ea = a.ema.state().shadow;
    for (const [n, t] of Object.entries(b.ema.state().shadow)) expect(bits(t), n).toEqual(bits(ea[n]));
    // the module tensors keep their plain names, so PyTorch reads them directly
    const names = Object.keys(decodeSafetensors(file).tensors);
    expect(names).toContain('layer0.weight');
    expect(names).toContain('optimizer/layer0.weight/m');
    expect(names).toContain('ema/layer0.weight');
  });

  it('a checkpoint that does not fit the optimizer leaves the module unchanged', async () => {
    const model = new MLP(2, 1, { width: 4, depth: 1, rng: new Rng(0) });
    const opt = new Adam(model.parameters());
    const p = model.parameters();
    model.load(opt.step(p, valueAndGrad((q: ParamTree) => model.apply(q, tensor([[1, 2]])).sum())(p).grad));
    const other = new MLP(2, 1, { width: 4, depth: 1, rng: new Rng(1) });
    const otherOpt = new Adam({ w: tensor([1]) });
    const file = await saveCheckpoint({ module: model, optimizer: opt });
    const before = bits(other.stateDict()['layer0.weight']);
    expect(() => loadCheckpoint(file, { module: other, optimizer: otherOpt })).toThrow(JouleError);
    expect(bits(other.stateDict()['layer0.weight'])).toEqual(before);
  });
});

describe('@joule/nn/node', () => {
  const dir = mkdtempSync(join(tmpdir(), 'joule-nn-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('saveFile writes atomically (no temp file left) and loadFile reads the bytes back', async () => {
    const path = join(dir, 'model.safetensors');
    const model = new MLP(2, 1, { width: 4, depth: 1, rng: new Rng(0) });
    writeFileSync(path, 'old contents');
    await saveFile(path, await saveModule(model));
    expect(readdirSync(dir)).toEqual(['model.safetensors']);
    const copy = new MLP(2, 1, { width: 4, depth: 1, rng: new Rng(1) });
    loadModule(copy, await loadFile(path));
    expect(bits(copy.stateDict()['layer1.weight'])).toEqual(bits(model.stateDict()['layer1.weight']));
  });

  it('a failed write leaves the previous file and no temporary file', async () => {
    const target = join(dir, 'taken');
    mkdirSync(join(target, 'inside'), { recursive: true }); // renaming a file over a non-empty folder fails
    await expect(saveFile(target, new Uint8Array([1, 2, 3]))).rejects.toThrow();
    expect(readdirSync(dir).sort()).toEqual(['model.safetensors', 'taken']);
    expect(readFileSync(join(dir, 'model.safetensors')).length).toBeGreaterThan(8);
    await expect(saveFile('', new Uint8Array(1))).rejects.toThrow(JouleError);
  });
});

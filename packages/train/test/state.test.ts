import { encodeSafetensors } from '@joule/nn';
import { JouleError, tensor } from '@joule/tensor';
import { describe, expect, it } from 'vitest';
import { decodeState, encodeState, memoryStorage } from '../src/index.js';

describe('encodeState / decodeState', () => {
  it('round-trips tensors, typed arrays, non-finite numbers and $-keys exactly', async () => {
    const w = tensor([1.5, -2, 3e-8, 7], [2, 2]);
    const tree = {
      params: { w, layers: [{ b: tensor([0.25]) }] },
      optimizer: { m: new Float64Array([0.1, 1 / 3]), t: 4, order: new Int32Array([3, -1]) },
      rng: { key: [4294967295, 0], counter: [5, 0], splits: 2 },
      stats: { best: Number.POSITIVE_INFINITY, worst: Number.NEGATIVE_INFINITY, missing: Number.NaN },
      odd: { $tensor: 'not a tensor', plain: 'text' },
      flags: [true, null, 'x'],
      bytes: new Uint8Array([0, 255]),
      words: new Uint32Array([4294967295]),
      singles: new Float32Array([0.1]),
    };
    const back = decodeState(await encodeState(tree)) as typeof tree;
    expect(back.params.w.shape).toEqual([2, 2]);
    expect(Array.from(await back.params.w.data())).toEqual(Array.from(await w.data()));
    expect(Array.from(await back.params.layers[0]!.b.data())).toEqual([0.25]);
    expect(back.optimizer.m).toBeInstanceOf(Float64Array);
    expect(Array.from(back.optimizer.m)).toEqual([0.1, 1 / 3]);
    expect(back.optimizer.order).toEqual(new Int32Array([3, -1]));
    expect(back.optimizer.t).toBe(4);
    expect(back.rng).toEqual(tree.rng);
    expect(back.stats.best).toBe(Number.POSITIVE_INFINITY);
    expect(back.stats.worst).toBe(Number.NEGATIVE_INFINITY);
    expect(back.stats.missing).toBeNaN();
    expect(back.odd).toEqual(tree.odd);
    expect(back.flags).toEqual(tree.flags);
    expect(back.bytes).toEqual(tree.bytes);
    expect(back.words).toEqual(tree.words);
    expect(back.singles).toEqual(tree.singles);
  });

  it('refuses non-finite tensors and non-plain values, naming them', async () => {
    await expect(encodeState({ a: { w: tensor([1, Number.NaN]) } })).rejects.toThrow(/'state.a.w'.*NaN at index 1/);
    await expect(encodeState({ when: new Date(0) })).rejects.toThrow(/'state.when'.*got Date/);
    await expect(encodeState({ f: () => 1 })).rejects.toThrow(/'state.f'.*got function/);
    await expect(encodeState(null as never)).rejects.toThrow(JouleError);
  });

  it('rejects bytes that are not a state file', async () => {
    const bytes = await encodeSafetensors({ w: tensor([1]) });
    expect(() => decodeState(bytes)).toThrow(/'joule.train' metadata/);
  });

  it('memoryStorage copies what it stores', async () => {
    const storage = memoryStorage();
    const bytes = new Uint8Array([1, 2, 3]);
    await storage.write('a', bytes);
    bytes[0] = 9;
    expect(Array.from((await storage.read('a'))!)).toEqual([1, 2, 3]);
    expect(await storage.read('b')).toBeUndefined();
  });
});

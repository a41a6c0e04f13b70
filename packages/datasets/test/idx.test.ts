/// <reference types="node" />
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeIdx, idxToTensor, isGzip, parseIdx } from '../src/index.js';
import { loadIdx } from '../src/node.js';

/** Writes an IDX file by hand: magic 00 00 type rank, big-endian dims, big-endian values. */
function idxBytes(type: number, shape: number[], values: number[]): Uint8Array {
  const size = { 8: 1, 9: 1, 11: 2, 12: 4, 13: 4, 14: 8 }[type]!;
  const buf = new ArrayBuffer(4 + 4 * shape.length + size * values.length);
  const view = new DataView(buf);
  view.setUint8(2, type);
  view.setUint8(3, shape.length);
  shape.forEach((s, i) => {
    view.setUint32(4 + 4 * i, s, false);
  });
  const at = 4 + 4 * shape.length;
  values.forEach((v, i) => {
    const o = at + size * i;
    if (type === 0x08) view.setUint8(o, v);
    else if (type === 0x09) view.setInt8(o, v);
    else if (type === 0x0b) view.setInt16(o, v, false);
    else if (type === 0x0c) view.setInt32(o, v, false);
    else if (type === 0x0d) view.setFloat32(o, v, false);
    else view.setFloat64(o, v, false);
  });
  return new Uint8Array(buf);
}

// a tiny "MNIST": 3 images of 2 × 2 pixels and their labels
const pixels = [0, 255, 128, 1, 2, 3, 4, 5, 250, 251, 252, 253];
const images = idxBytes(0x08, [3, 2, 2], pixels);
const labels = idxBytes(0x08, [3], [7, 0, 9]);

describe('IDX', () => {
  it('parses uint8 images and labels (MNIST layout)', () => {
    const im = parseIdx(images);
    expect(im.dtype).toBe('uint8');
    expect(im.shape).toEqual([3, 2, 2]);
    expect(Array.from(im.data)).toEqual(pixels);
    const x = idxToTensor(im);
    expect(x.shape).toEqual([3, 4]);
    expect(x.dataSync()[1]).toBeCloseTo(1, 6);
    expect(x.dataSync()[2]).toBeCloseTo(128 / 255, 6);
    expect(idxToTensor(im, { flatten: false, scale: 1 }).shape).toEqual([3, 2, 2]);
    const y = idxToTensor(parseIdx(labels.buffer as ArrayBuffer));
    expect(Array.from(y.dataSync())).toEqual([7, 0, 9]);
  });

  it('reads big-endian int8, int16, int32, float32 and float64', () => {
    expect(Array.from(parseIdx(idxBytes(0x09, [3], [-128, 0, 127])).data)).toEqual([-128, 0, 127]);
    expect(Array.from(parseIdx(idxBytes(0x0b, [3], [-30000, 1, 258])).data)).toEqual([-30000, 1, 258]);
    expect(Array.from(parseIdx(idxBytes(0x0c, [2], [-2e9, 70000])).data)).toEqual([-2e9, 70000]);
    expect(Array.from(parseIdx(idxBytes(0x0d, [2], [1.5, -0.25])).data)).toEqual([1.5, -0.25]);
    const f64 = parseIdx(idxBytes(0x0e, [1, 2], [Math.PI, -1e-300]));
    expect(f64.shape).toEqual([1, 2]);
    expect(Array.from(f64.data)).toEqual([Math.PI, -1e-300]);
  });

  it('rejects malformed files with clear errors', () => {
    expect(() => parseIdx(new Uint8Array([0, 0]))).toThrow(/4-byte IDX magic/);
    expect(() => parseIdx(new Uint8Array([1, 0, 8, 1, 0, 0, 0, 0]))).toThrow(/two zero bytes/);
    expect(() => parseIdx(new Uint8Array([0, 0, 0x07, 1, 0, 0, 0, 0]))).toThrow(/type byte.*0x07/);
    expect(() => parseIdx(new Uint8Array([0, 0, 8, 0]))).toThrow(/at least one dimension/);
    expect(() => parseIdx(new Uint8Array([0, 0, 8, 2, 0, 0, 0, 1]))).toThrow(/12-byte header/);
    expect(() => parseIdx(images.slice(0, images.length - 1))).toThrow(/truncated data/);
    expect(() => parseIdx(new Uint8Array([...images, 0]))).toThrow(/trailing bytes/);
    expect(() => parseIdx(gzipSync(images))).toThrow(/gzip/);
    expect(() => parseIdx('nope' as unknown as ArrayBuffer)).toThrow(/ArrayBuffer/);
  });

  it('decodeIdx undoes gzip (DecompressionStream) and passes plain files through', async () => {
    const gz = gzipSync(images);
    expect(isGzip(gz)).toBe(true);
    expect(isGzip(images)).toBe(false);
    const a = await decodeIdx(gz);
    expect(a.shape).toEqual([3, 2, 2]);
    expect(Array.from(a.data)).toEqual(pixels);
    expect((await decodeIdx(labels)).shape).toEqual([3]);
    await expect(decodeIdx(new Uint8Array([0x1f, 0x8b, 1, 2, 3]))).rejects.toThrow(/gzip/);
  });

  describe('loadIdx (Node)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'joule-idx-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('reads plain and gzipped files from disk', async () => {
      writeFileSync(join(dir, 't10k-images-idx3-ubyte'), images);
      writeFileSync(join(dir, 't10k-labels-idx1-ubyte.gz'), gzipSync(labels));
      expect(Array.from((await loadIdx(join(dir, 't10k-images-idx3-ubyte'))).data)).toEqual(pixels);
      expect(Array.from((await loadIdx(join(dir, 't10k-labels-idx1-ubyte.gz'))).data)).toEqual([7, 0, 9]);
      await expect(loadIdx(join(dir, 'missing'))).rejects.toThrow(/readable file/);
    });
  });
});

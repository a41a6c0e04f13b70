/**
 * The element-wise module keeps its last result in memory and reads it in place when the next call takes
 * that result as an operand. These tests chain calls through resident results and check them against a
 * fresh module (which copies everything in), and check that storage recycled by the CPU backend's pool is
 * never mistaken for its earlier, resident contents.
 */
import { describe, expect, it } from 'vitest';
import { WasmElementwise, wasmElementwiseAvailable } from '../src/cpu/elementwise-wasm.js';
import { CpuBackend, Rng } from '../src/index.js';

/** A fresh module for every call: every operand is copied in. */
function fresh(): WasmElementwise {
  return new WasmElementwise();
}

describe.skipIf(!wasmElementwiseAvailable())('resident results of the element-wise module', () => {
  it('chained calls reading the previous result in place match calls that copy every operand', () => {
    const w = new WasmElementwise();
    const rng = new Rng(31);
    for (const n of [5, 64, 1027, 4096, 30001]) {
      const x = rng.normal(n);
      const g = rng.normal(n);
      const h = new Float32Array(n);
      const s = new Float32Array(n);
      const d = new Float32Array(n);
      const dg = new Float32Array(n);
      const p = new Float32Array(n);
      const sums = new Float32Array(1);
      // h = silu(x); s = g · silu'(h) (h resident); d = s · s (the same resident array twice)
      w.unary('silu', x, h, n);
      w.siluGrad(h, g, s, n);
      w.arith('mul', s, n, 0, 1, s, n, 0, 1, d, 1, n);
      // dx, dg of the silu gradient with the resident d as the cotangent, then a product with the resident dx
      w.siluGradBackward(x, g, d, p, dg, n);
      w.arith('add', g, n, 0, 1, p, n, 0, 1, d, 1, n);
      w.reduce('sum', d, sums, 1, n, 1);

      const h2 = new Float32Array(n);
      const s2 = new Float32Array(n);
      const d2 = new Float32Array(n);
      const p2 = new Float32Array(n);
      const dg2 = new Float32Array(n);
      const e2 = new Float32Array(n);
      const sums2 = new Float32Array(1);
      fresh().unary('silu', x, h2, n);
      fresh().siluGrad(h2, g, s2, n);
      fresh().arith('mul', s2, n, 0, 1, s2, n, 0, 1, d2, 1, n);
      fresh().siluGradBackward(x, g, d2, p2, dg2, n);
      fresh().arith('add', g, n, 0, 1, p2, n, 0, 1, e2, 1, n);
      fresh().reduce('sum', e2, sums2, 1, n, 1);
      expect(Array.from(h)).toEqual(Array.from(h2));
      expect(Array.from(s)).toEqual(Array.from(s2));
      expect(Array.from(p)).toEqual(Array.from(p2));
      expect(Array.from(dg)).toEqual(Array.from(dg2));
      expect(Array.from(d)).toEqual(Array.from(e2));
      expect(sums[0]).toBe(sums2[0]);
    }
  });

  it('a forgotten result is copied in again', () => {
    const w = new WasmElementwise();
    const x = new Rng(32).normal(100);
    const y = new Float32Array(100);
    const z = new Float32Array(100);
    w.unary('silu', x, y, 100);
    w.forget(y);
    y.fill(2); // the storage is reused for other values
    w.unary('sigmoid', y, z, 100);
    // the kernel's sigmoid is within 4 ulp of float64 (see cpu-kernels.test.ts); silu(x) values are far from it
    for (const v of z) expect(Math.abs(v - 1 / (1 + Math.exp(-2)))).toBeLessThanOrEqual(4 * 2 ** -24);
  });

  it('a prefix of the resident result and a broadcast row read in place', () => {
    const w = new WasmElementwise();
    const rng = new Rng(33);
    const x = rng.normal(64);
    const row = new Float32Array(64);
    w.unary('sigmoid', x, row, 64);
    // [16, 4] + the first 4 of the resident row broadcast along the rows
    const a = rng.normal(64);
    const out = new Float32Array(64);
    w.arith('add', a, 64, 4, 1, row, 4, 0, 1, out, 16, 4);
    for (let i = 0; i < 64; i++) expect(out[i]).toBe(Math.fround(a[i] + row[i % 4]));
  });
});

describe('the CPU backend never reads a recycled array as its earlier resident contents', () => {
  it('free, reuse by a JavaScript kernel, then a WebAssembly kernel on the reused storage', () => {
    const cpu = new CpuBackend();
    const n = 5000; // pooled (≥ 1024) and above every WebAssembly threshold
    const x = new Rng(34).normal(n);
    const y = cpu.unary('silu', x, n) as Float32Array; // resident in the element-wise module
    cpu.free(y);
    const z = cpu.unary('neg', x, n) as Float32Array; // the JavaScript kernel, into y's recycled storage
    expect(z).toBe(y);
    const s = cpu.unary('sigmoid', z, n) as Float32Array;
    for (let i = 0; i < n; i++) {
      const v = -x[i];
      expect(Math.abs(s[i] - 1 / (1 + Math.exp(-v)))).toBeLessThanOrEqual(4 * 2 ** -24);
    }
  });
});

/**
 * The cheap unary kernels on WebAssembly SIMD (neg, abs, square, sqrt, relu) are single correctly rounded
 * operations, so they must give bit for bit the plain JavaScript loops' float32 results, special values
 * included; and the CPU backend's gather copies short and long rows alike.
 */
import { describe, expect, it } from 'vitest';
import { CpuBackend, Rng } from '../src/index.js';

const SPECIALS = [
  0,
  -0,
  1,
  -1,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
  1e-45, // the smallest subnormal
  -1e-45,
  1.1754942e-38, // the largest subnormal
  3.4028235e38,
  -3.4028235e38,
  1e20, // its square overflows float32
];

/** Same bits (any NaN matches any NaN). */
function sameFloat(a: number, b: number): boolean {
  return Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b));
}

describe('exact unary kernels match the JavaScript loops bit for bit', () => {
  const simd = new CpuBackend();
  const js = new CpuBackend({ simd: false });
  // below, at and above the 1024-element threshold, and not multiples of 4
  for (const n of [13, 1023, 1024, 1025, 4099]) {
    it(`neg, abs, square, sqrt, relu on ${n} elements`, () => {
      const x = new Rng(n).normal(n);
      for (let i = 0; i < x.length; i++) x[i] *= 10 ** ((i % 9) - 4);
      SPECIALS.forEach((v, i) => {
        if (i < n) x[(i * 37) % n] = v;
      });
      for (const op of ['neg', 'abs', 'square', 'sqrt', 'relu'] as const) {
        const got = simd.unary(op, x, n) as Float32Array;
        const want = js.unary(op, x, n) as Float32Array;
        for (let i = 0; i < n; i++) {
          if (!sameFloat(got[i], want[i])) throw new Error(`${op}(${x[i]}): ${got[i]}, expected ${want[i]}`);
        }
      }
    });
  }
});

describe('gather copies rows of every length', () => {
  for (const inner of [1, 2, 31, 32, 40]) {
    it(`rows of ${inner}`, () => {
      const cpu = new CpuBackend();
      const [outer, dim, count] = [2, 7, 5];
      const x = new Rng(inner).normal(outer * dim * inner);
      const idx = Float32Array.from([6, 0, 3, 3, 1]);
      const out = cpu.gather(x, outer, dim, inner, idx, count) as Float32Array;
      for (let o = 0; o < outer; o++) {
        for (let j = 0; j < count; j++) {
          for (let i = 0; i < inner; i++) {
            expect(out[(o * count + j) * inner + i]).toBe(x[(o * dim + idx[j]) * inner + i]);
          }
        }
      }
    });
  }
});

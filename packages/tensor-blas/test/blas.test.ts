import { CpuBackend, JouleError, Rng, randn, setBackend } from '@joule/tensor';
import { afterAll, describe, expect, it } from 'vitest';
import { blasBackend, blasInfo, blasMatmul, defaultLibraries } from '../src/index.js';

const U = 2 ** -24; // float32 unit roundoff

/**
 * Checks `c` against op(A)·op(B) in float64 with the rounding-error bound of any float32 summation
 * order, fused or not: |ĉ − c| ≤ γ_{k+1} Σ|a||b|, γ_j = jU / (1 − jU).
 */
function expectProduct(
  a: Float32Array,
  aOff: number,
  b: Float32Array,
  bOff: number,
  c: Float32Array,
  cOff: number,
  m: number,
  k: number,
  n: number,
  transA: boolean,
  transB: boolean,
): void {
  const gamma = ((k + 1) * U) / (1 - (k + 1) * U);
  let worst = 0;
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let exact = 0;
      let magnitude = 0;
      for (let q = 0; q < k; q++) {
        const t = a[aOff + (transA ? q * m + i : i * k + q)] * b[bOff + (transB ? j * k + q : q * n + j)];
        exact += t;
        magnitude += Math.abs(t);
      }
      worst = Math.max(worst, Math.abs(c[cOff + i * n + j] - exact) / (gamma * magnitude + Number.MIN_VALUE));
    }
  expect(worst).toBeLessThanOrEqual(1);
}

function filled(length: number, rng: Rng): Float32Array {
  return randn([length], rng).dataSync() as Float32Array;
}

describe('blasMatmul', () => {
  const kernel = blasMatmul({ minInner: 0 });

  it('opens OpenBLAS by default and says so', () => {
    expect(kernel.name).toBe('openblas');
    const info = blasInfo();
    expect(info?.library).toBe(defaultLibraries()[0]);
    expect(info?.config).toMatch(/OpenBLAS/);
    expect(info?.threads).toBeGreaterThanOrEqual(1);
  });

  for (const [transA, transB] of [
    [false, false],
    [true, false],
    [false, true],
    [true, true],
  ] as const) {
    it(`multiplies within float32's error bound (transA ${transA}, transB ${transB}, offsets, odd sizes)`, () => {
      const rng = new Rng(7);
      for (const [m, k, n] of [
        [1, 1, 1],
        [3, 5, 7],
        [33, 17, 65],
        [128, 96, 40],
      ]) {
        const a = filled(2 + m * k, rng);
        const b = filled(5 + k * n, rng);
        const c = new Float32Array(3 + m * n).fill(Number.NaN);
        kernel.matmul(a, 2, b, 5, c, 3, m, k, n, transA, transB);
        expectProduct(a, 2, b, 5, c, 3, m, k, n, transA, transB);
        expect(c.subarray(0, 3).every(Number.isNaN)).toBe(true); // nothing written before cOffset
      }
    });
  }

  it('works on views of a shared WebAssembly memory, as CpuBackend stores tensors', () => {
    const memory = new WebAssembly.Memory({ initial: 16, maximum: 64, shared: true });
    const [m, k, n] = [64, 48, 80];
    const a = new Float32Array(memory.buffer, 64, m * k);
    const b = new Float32Array(memory.buffer, 64 + 4 * m * k, k * n);
    const c = new Float32Array(memory.buffer, 64 + 4 * (m * k + k * n), m * n);
    const rng = new Rng(3);
    a.set(filled(m * k, rng));
    b.set(filled(k * n, rng));
    kernel.matmul(a, 0, b, 0, c, 0, m, k, n, false, true);
    expectProduct(a, 0, b, 0, c, 0, m, k, n, false, true);
  });

  it('writes zeros for an empty sum (k = 0) and nothing for an empty product', () => {
    const c = new Float32Array(6).fill(Number.NaN);
    kernel.matmul(new Float32Array(0), 0, new Float32Array(0), 0, c, 0, 2, 0, 3, false, false);
    expect([...c]).toEqual([0, 0, 0, 0, 0, 0]);
    const untouched = new Float32Array(2).fill(5);
    kernel.matmul(new Float32Array(4), 0, new Float32Array(0), 0, untouched, 0, 0, 4, 0, false, false);
    expect([...untouched]).toEqual([5, 5]);
  });

  it('declines products with k below minInner (default 4), writing nothing', () => {
    const c = new Float32Array(4).fill(7);
    expect(blasMatmul().matmul(new Float32Array(6), 0, new Float32Array(6), 0, c, 0, 2, 3, 2, false, false)).toBe(
      false,
    );
    expect([...c]).toEqual([7, 7, 7, 7]);
    expect(blasMatmul().matmul(new Float32Array(8), 0, new Float32Array(8), 0, c, 0, 2, 4, 2, false, false)).toBe(true);
    expect([...c]).toEqual([0, 0, 0, 0]);
  });

  it('rejects operands that run past their arrays, and non-float32 arrays, with JouleErrors', () => {
    const a = new Float32Array(6);
    const b = new Float32Array(6);
    const c = new Float32Array(4);
    expect(() => kernel.matmul(a, 1, b, 0, c, 0, 2, 3, 2, false, false)).toThrow(/'aOffset' expected an offset/);
    expect(() => kernel.matmul(a, 0, b, 0, c, 1, 2, 3, 2, false, false)).toThrow(/'cOffset'/);
    expect(() => kernel.matmul(a, 0, b, 0, c, 0, 2, 3.5, 2, false, false)).toThrow(/'k' expected an integer/);
    expect(() =>
      kernel.matmul(new Float64Array(6) as unknown as Float32Array, 0, b, 0, c, 0, 2, 3, 2, false, false),
    ).toThrow(/'a' expected a Float32Array, got \[object Float64Array\]/);
  });

  it('rejects bad options, a second library and a library without cblas_sgemm', () => {
    expect(() => blasMatmul({ minInner: -1 })).toThrow(JouleError);
    expect(() => blasMatmul({ threads: 0 })).toThrow(/'options.threads' expected an integer/);
    expect(() => blasMatmul({ library: '' })).toThrow(/'options.library' expected a non-empty path/);
    expect(() => blasMatmul({ library: 'libc.so.6' })).toThrow(/one BLAS per process/);
    expect(() => blasMatmul({ library: defaultLibraries()[0] })).not.toThrow();
  });

  it('sets OpenBLAS threads for the process', () => {
    const before = blasInfo()?.threads ?? 1;
    blasMatmul({ threads: 1 });
    expect(blasInfo()?.threads).toBe(1);
    blasMatmul({ threads: before });
    expect(blasInfo()?.threads).toBe(before);
  });
});

describe('a CpuBackend with BLAS products', () => {
  afterAll(() => setBackend(new CpuBackend()));

  it('gives matmul values within float32 bounds, like the built-in kernel', () => {
    const blas = blasBackend();
    expect(blas.matmulKernel?.name).toBe('openblas');
    const [m, k, n] = [70, 130, 90];
    const results: Float32Array[] = [];
    for (const backend of [new CpuBackend(), blas]) {
      setBackend(backend);
      const local = new Rng(5);
      const a = randn([m, k], local);
      const b = randn([k, n], local);
      results.push(a.matmul(b).dataSync() as Float32Array);
    }
    // both are float32 sums of the same 130 products, each within γ_131 Σ|a||b| of the exact value
    const local = new Rng(5);
    setBackend(new CpuBackend());
    const a = randn([m, k], local).dataSync() as Float32Array;
    const b = randn([k, n], local).dataSync() as Float32Array;
    expectProduct(a, 0, b, 0, results[1], 0, m, k, n, false, false);
    expectProduct(a, 0, b, 0, results[0], 0, m, k, n, false, false);
  });
});

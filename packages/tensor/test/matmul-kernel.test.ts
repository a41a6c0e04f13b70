import { afterAll, describe, expect, it } from 'vitest';
import { CpuBackend, JouleError, type MatmulKernel, Rng, randn, setBackend } from '../src/index.js';

/** A loop kernel that takes products of at least `minWork` multiply-adds, and records their sizes. */
function countingKernel(minWork: number): MatmulKernel & { calls: number[][] } {
  const calls: number[][] = [];
  return {
    name: 'loops',
    calls,
    matmul(a, aOffset, b, bOffset, c, cOffset, m, k, n, transA, transB) {
      if (m * k * n < minWork) return false;
      calls.push([m, k, n]);
      for (let i = 0; i < m; i++)
        for (let j = 0; j < n; j++) {
          let s = 0;
          for (let q = 0; q < k; q++)
            s += a[aOffset + (transA ? q * m + i : i * k + q)] * b[bOffset + (transB ? j * k + q : q * n + j)];
          c[cOffset + i * n + j] = s;
        }
      return true;
    },
  };
}

describe('CpuBackend option matmul', () => {
  afterAll(() => setBackend(new CpuBackend()));

  it('runs the products the given kernel takes on it, per batch, and the ones it declines on its own', () => {
    const kernel = countingKernel(1000);
    const backend = new CpuBackend({ matmul: kernel });
    expect(backend.matmulKernel).toBe(kernel);
    const product = (): Float32Array => {
      const rng = new Rng(1);
      return randn([3, 10, 20], rng)
        .matmul(randn([20, 6], rng))
        .dataSync() as Float32Array;
    };
    setBackend(new CpuBackend());
    const reference = product();
    setBackend(backend);
    const y = product();
    expect(kernel.calls).toEqual([
      [10, 20, 6],
      [10, 20, 6],
      [10, 20, 6],
    ]);
    // the same values as the built-in kernel, within float32 rounding of sums of 20 products of N(0, 1)s
    for (let i = 0; i < y.length; i++) expect(Math.abs(y[i] - reference[i])).toBeLessThan(1e-4);
    const rng = new Rng(2);
    randn([4, 5], rng)
      .matmul(randn([5, 6], rng))
      .dataSync(); // 120 < 1000
    expect(kernel.calls.length).toBe(3);
  });

  it('rejects what is not a MatmulKernel', () => {
    const bad = { name: 'x', matmul: 'loops' } as unknown as MatmulKernel;
    expect(() => new CpuBackend({ matmul: bad })).toThrow(JouleError);
    expect(() => new CpuBackend({ matmul: bad })).toThrow(/'options.matmul' expected a MatmulKernel/);
    expect(() => new CpuBackend({ matmul: 3 as unknown as MatmulKernel })).toThrow(/got number/);
  });
});

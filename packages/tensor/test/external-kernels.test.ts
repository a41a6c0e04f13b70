import { afterAll, describe, expect, it } from 'vitest';
import {
  CpuBackend,
  grad,
  JouleError,
  type MatmulKernel,
  Rng,
  randn,
  type SiluKernels,
  setBackend,
  type Tensor,
} from '../src/index.js';

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

describe('CpuBackend option silu', () => {
  afterAll(() => setBackend(new CpuBackend()));

  /** Float64 loop kernels that record which kernel ran; `decline` names the ones that return false. */
  function loopKernels(decline: string[]): SiluKernels & { ran: string[] } {
    const ran: string[] = [];
    const sig = (v: number) => 1 / (1 + Math.exp(-v));
    return {
      name: 'loops',
      ran,
      siluSaved(x, y, m, size) {
        if (decline.includes('siluSaved')) return false;
        ran.push('siluSaved');
        for (let i = 0; i < size; i++) {
          y[i] = x[i] * sig(x[i]);
          m[i] = sig(-Math.abs(x[i]));
        }
        return true;
      },
      siluGrad(x, m, g, out, size) {
        if (decline.includes('siluGrad')) return false;
        ran.push('siluGrad');
        for (let i = 0; i < size; i++) {
          const s = x[i] < 0 ? m[i] : 1 - m[i];
          out[i] = g[i] * s * (1 + x[i] * (1 - s));
        }
        return true;
      },
      siluGradBackward(x, m, g, h, dx, dg, size) {
        if (decline.includes('siluGradBackward')) return false;
        ran.push('siluGradBackward');
        for (let i = 0; i < size; i++) {
          const s = x[i] < 0 ? m[i] : 1 - m[i];
          const q = 1 - s;
          dx[i] = h[i] * g[i] * s * q * (2 + x[i] * (q - s));
          dg[i] = h[i] * s * (1 + x[i] * q);
        }
        return true;
      },
    };
  }

  /** silu, its gradient and the gradient of the gradient's sum, on the current backend. */
  function run(): Float32Array[] {
    const x = randn([300], new Rng(3));
    const first = (t: Tensor) => grad((v: Tensor) => v.silu().sum())(t);
    return [
      x.silu().dataSync() as Float32Array,
      first(x).dataSync() as Float32Array,
      grad((t: Tensor) => first(t).sum())(x).dataSync() as Float32Array,
    ];
  }

  it('runs silu, its gradient and the backward pass on the given kernels, with the built-in values', () => {
    setBackend(new CpuBackend());
    const reference = run();
    const kernels = loopKernels([]);
    setBackend(new CpuBackend({ silu: kernels }));
    const got = run();
    expect(new Set(kernels.ran)).toEqual(new Set(['siluSaved', 'siluGrad', 'siluGradBackward']));
    // float64 loops against the float32 kernels: within a few float32 ulp of values of order 1
    for (let k = 0; k < 3; k++)
      for (let i = 0; i < 300; i++) expect(Math.abs(got[k][i] - reference[k][i])).toBeLessThan(2e-6);
  });

  it('falls back to the built-in kernels where the given ones decline', () => {
    setBackend(new CpuBackend());
    const reference = run();
    const kernels = loopKernels(['siluSaved', 'siluGrad', 'siluGradBackward']);
    setBackend(new CpuBackend({ silu: kernels }));
    const got = run();
    expect(kernels.ran).toEqual([]);
    for (let k = 0; k < 3; k++) expect([...got[k]]).toEqual([...reference[k]]);
  });

  it('rejects what is not SiluKernels', () => {
    const bad = { name: 'x', siluSaved: () => true } as unknown as SiluKernels;
    expect(() => new CpuBackend({ silu: bad })).toThrow(/'options.silu' expected SiluKernels/);
  });
});

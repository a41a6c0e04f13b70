/**
 * The CPU backend with worker threads: the threaded matrix product against the single-thread one
 * (bit for bit: every element is summed in the same order whichever thread computes it), and the
 * whole op suite with every product threaded (`parallelMinFlops: 0`).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { WasmElementwise, wasmElementwiseAvailable } from '../src/cpu/elementwise-wasm.js';
import { WasmGemm, wasmFeatures } from '../src/cpu/gemm-wasm.js';
import { workerThreads } from '../src/cpu/wasm-threads.js';
import { CpuBackend, JouleError, Rng } from '../src/index.js';
import { runOpSuite } from './suite/ops.suite.js';

const threaded = wasmFeatures().simd && workerThreads() !== null;

describe.runIf(threaded)('threaded matrix products', () => {
  const one = new WasmGemm(false);
  const two = new WasmGemm(false, 2, 0);
  const three = new WasmGemm(false, 3, 0);

  it('start their workers', () => {
    expect(two.threads).toBe(2);
    expect(two.waitForThreads(60_000)).toBe(true);
    expect(three.waitForThreads(60_000)).toBe(true);
  });

  const shapes: [number, number, number][] = [
    [1, 1, 1],
    [5, 3, 7],
    [128, 4352, 128],
    [4352, 128, 2],
    [131, 520, 263],
    [64, 300, 512],
    [1024, 128, 1],
    [513, 257, 129],
  ];
  for (const [m, k, n] of shapes) {
    for (const [transA, transB] of [
      [false, false],
      [true, false],
      [false, true],
      [true, true],
    ] as const) {
      it(`match one thread bit for bit: [${m}, ${k}]·[${k}, ${n}], transA ${transA}, transB ${transB}`, () => {
        const rng = new Rng(m * 7 + k * 3 + n);
        const A = rng.normal(m * k + 3);
        const B = rng.normal(k * n + 5);
        const want = new Float32Array(m * n + 2);
        one.matmul(A, 3, B, 5, want, 2, m, k, n, transA, transB);
        for (const g of [two, three]) {
          const got = new Float32Array(m * n + 2);
          // twice: the second run reuses the grown memory and the started workers
          for (let r = 0; r < 2; r++) g.matmul(A, 3, B, 5, got, 2, m, k, n, transA, transB);
          expect(new Uint32Array(got.buffer)).toEqual(new Uint32Array(want.buffer));
        }
      });
    }
  }
});

describe.runIf(threaded && wasmElementwiseAvailable())('threaded maps with an exponential', () => {
  const one = new WasmElementwise();
  const two = new WasmElementwise(2, 0);
  afterAll(() => two.close());

  it('match one thread bit for bit (sigmoid, SiLU, its gradient and that gradient’s backward pass, with σ saved or not)', () => {
    for (const size of [4, 6, 4100, 100_003, 131_072]) {
      const rng = new Rng(size);
      const [x, g, h] = [0, 1, 2].map(() => rng.normal(size).map((v) => 6 * v));
      const run = (e: WasmElementwise) => {
        const outs = Array.from({ length: 10 }, () => new Float32Array(size));
        e.unary('sigmoid', x, outs[0], size);
        e.unary('silu', x, outs[1], size);
        e.siluGrad(x, g, outs[2], size);
        e.siluGradBackward(x, g, h, outs[3], outs[4], size);
        e.siluSaved(x, outs[5], outs[6], size);
        e.siluGrad(x, g, outs[7], size, outs[6]);
        e.siluGradBackward(x, g, h, outs[8], outs[9], size, outs[6]);
        return outs.map((o) => new Uint32Array(o.buffer));
      };
      // twice on the threaded one: the second run reuses the workers
      const want = run(one);
      run(two);
      expect(run(two)).toEqual(want);
    }
  });
});

describe('CpuBackend threads option', () => {
  it('rejects a bad thread count or threshold, naming it', () => {
    for (const threads of [0, 1.5, -2, 1000]) expect(() => new CpuBackend({ threads })).toThrow(/options\.threads/);
    expect(() => new CpuBackend({ threads: 0 })).toThrow(JouleError);
    expect(() => new CpuBackend({ parallelMinFlops: -1 })).toThrow(/options\.parallelMinFlops/);
  });

  it('reports the threads it uses, and goes on with one after destroy()', () => {
    expect(new CpuBackend().threads).toBe(1);
    const cpu = new CpuBackend({ threads: 2, parallelMinFlops: 0 });
    expect(cpu.threads).toBe(threaded ? 2 : 1);
    cpu.destroy();
    expect(cpu.threads).toBe(1);
    const a = new Float32Array([1, 2, 3, 4]);
    expect(Array.from(cpu.matmul(a, a, 1, 1, 1, 2, 2, 2, false, false) as Float32Array)).toEqual([7, 10, 15, 22]);
  });
});

const backends: CpuBackend[] = [];
afterAll(() => {
  for (const b of backends) b.destroy();
});
runOpSuite('cpu (2 threads, every product threaded)', () => {
  const b = new CpuBackend({ threads: 2, parallelMinFlops: 0 });
  backends.push(b);
  return b;
});

/**
 * Kernel-level tests of the CPU backend's variants (WebAssembly SIMD, with and without relaxed-SIMD
 * FMA, and the plain JavaScript loops) against float64 references, plus the whole op suite on the
 * JavaScript variant (cpu.test.ts runs it on the default, WebAssembly one).
 */

import { describe, expect, it } from 'vitest';
import { WasmElementwise, wasmElementwiseAvailable } from '../src/cpu/elementwise-wasm.js';
import { gemmModuleBytes, MR, NR, type PackFn } from '../src/cpu/gemm-kernel.js';
import { WasmGemm, wasmFeatures } from '../src/cpu/gemm-wasm.js';
import { ArrayPool } from '../src/cpu/pool.js';
import { validates } from '../src/cpu/wasm-asm.js';
import { CpuBackend, getBackend, grad, Rng, setBackend, type Tensor, tensor } from '../src/index.js';
import { runOpSuite } from './suite/ops.suite.js';

// (the suite checks the backend's name, 'cpu' for every variant)
runOpSuite('cpu', () => new CpuBackend({ simd: false }));

const features = wasmFeatures();

/**
 * Node 20 validates relaxed SIMD only behind a V8 flag; setting it at run time, before a module is compiled,
 * is enough (measured; the backend never does it). Set after `features` is probed, so the backends of this
 * file keep their default kernels; true where the FMA kernel can then be checked.
 */
const fmaWithFlag = await (async () => {
  if (!features.fma) {
    const v8Module = 'node:v8'; // (the package has no Node type declarations)
    const v8 = (await import(v8Module)) as { setFlagsFromString(flags: string): void };
    v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
  }
  return validates(gemmModuleBytes(true));
})();

function randomArray(n: number, rng: Rng): Float32Array {
  return rng.normal(n);
}

/** op(A)·op(B) in float64, with A stored [k, m] when transA and B stored [n, k] when transB. */
function matmulRef(
  a: Float32Array,
  b: Float32Array,
  m: number,
  k: number,
  n: number,
  transA: boolean,
  transB: boolean,
) {
  const out = new Float64Array(m * n);
  const absOut = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      let sa = 0;
      for (let p = 0; p < k; p++) {
        const x = (transA ? a[p * m + i] : a[i * k + p]) * (transB ? b[j * k + p] : b[p * n + j]);
        s += x;
        sa += Math.abs(x);
      }
      out[i * n + j] = s;
      absOut[i * n + j] = sa;
    }
  }
  return { out, absOut };
}

// Sizes around the register tile (4×8), the row block (128), the column block (256) and the depth block (256).
const SHAPES: [number, number, number][] = [
  [1, 1, 1],
  [3, 17, 5],
  [17, 3, 129],
  [129, 17, 3],
  [4, 8, 8],
  [33, 300, 17],
  [130, 257, 9],
  [1, 129, 1],
  // whole panels of 8 columns (B read in place when not transposed), across the depth block
  [33, 300, 16],
  [130, 513, 24],
  // several units (row blocks × column blocks), a depth remainder, partial tiles and panels everywhere
  [131, 520, 263],
  // a few panels: A read in place (not packed), over several row blocks and depth blocks
  [133, 300, 5],
  [130, 260, 31],
];

type Gemm = (
  a: Float32Array,
  b: Float32Array,
  m: number,
  k: number,
  n: number,
  tA: boolean,
  tB: boolean,
) => Float32Array;

const variants: { name: string; enabled: boolean; make: () => Gemm }[] = [
  {
    name: 'plain JavaScript',
    enabled: true,
    make: () => {
      const cpu = new CpuBackend({ simd: false });
      return (a, b, m, k, n, tA, tB) => cpu.matmul(a, b, 1, 1, 1, m, k, n, tA, tB) as Float32Array;
    },
  },
  {
    name: 'WebAssembly SIMD',
    enabled: features.simd,
    make: () => {
      const g = new WasmGemm(false);
      return (a, b, m, k, n, tA, tB) => {
        const out = new Float32Array(m * n);
        g.matmul(a, 0, b, 0, out, 0, m, k, n, tA, tB);
        return out;
      };
    },
  },
  {
    name: 'WebAssembly relaxed-SIMD FMA',
    enabled: features.fma,
    make: () => {
      const g = new WasmGemm(true);
      return (a, b, m, k, n, tA, tB) => {
        const out = new Float32Array(m * n);
        g.matmul(a, 0, b, 0, out, 0, m, k, n, tA, tB);
        return out;
      };
    },
  },
];

describe('matmul kernels against a float64 reference', () => {
  for (const v of variants) {
    // The FMA variant needs relaxed SIMD (Node ≥ 22, or Node 20 with --experimental-wasm-relaxed-simd).
    it.skipIf(!v.enabled)(`${v.name}: every shape and transpose`, () => {
      const gemm = v.make();
      const rng = new Rng(42);
      for (const [m, k, n] of SHAPES) {
        for (const tA of [false, true]) {
          for (const tB of [false, true]) {
            const a = randomArray(m * k, rng);
            const b = randomArray(k * n, rng);
            const got = gemm(a, b, m, k, n, tA, tB);
            const { out, absOut } = matmulRef(a, b, m, k, n, tA, tB);
            expect(got.length).toBe(m * n);
            for (let i = 0; i < m * n; i++) {
              // float32 accumulation over k terms: |error| ≤ k·2⁻²³·Σ|aᵢbᵢ| (a loose worst case) plus rounding of the result
              const tol = k * 2 ** -23 * absOut[i] + 1e-30;
              if (!(Math.abs(got[i] - out[i]) <= tol)) {
                throw new Error(`${v.name} m=${m} k=${k} n=${n} tA=${tA} tB=${tB} [${i}]: ${got[i]} vs ${out[i]}`);
              }
            }
          }
        }
      }
    });
  }

  it.skipIf(!features.simd)('the WebAssembly kernel reads operands at offsets in larger arrays and batches', () => {
    const rng = new Rng(7);
    const [m, k, n] = [5, 9, 11];
    const a = randomArray(3 * m * k, rng);
    const b = randomArray(k * n, rng);
    const cpu = new CpuBackend();
    expect(cpu.kernels).not.toBe('js');
    // A batched product with a broadcast B, large enough for the WebAssembly path
    const big = [64, 64, 64] as const;
    const a2 = randomArray(3 * big[0] * big[1], rng);
    const b2 = randomArray(big[1] * big[2], rng);
    const got = cpu.matmul(a2, b2, 3, 3, 1, big[0], big[1], big[2], false, false) as Float32Array;
    for (let p = 0; p < 3; p++) {
      const { out, absOut } = matmulRef(a2.subarray(p * 64 * 64, (p + 1) * 64 * 64), b2, 64, 64, 64, false, false);
      for (let i = 0; i < out.length; i++) {
        expect(Math.abs(got[p * 4096 + i] - out[i])).toBeLessThanOrEqual(64 * 2 ** -23 * absOut[i] + 1e-30);
      }
    }
    const g = new WasmGemm(false);
    const out = new Float32Array(2 * m * n).fill(Number.NaN);
    g.matmul(a, m * k, b, 0, out, m * n, m, k, n, false, false);
    const ref = matmulRef(a.subarray(m * k, 2 * m * k), b, m, k, n, false, false);
    for (let i = 0; i < m * n; i++)
      expect(Math.abs(out[m * n + i] - ref.out[i])).toBeLessThanOrEqual(k * 2 ** -23 * ref.absOut[i]);
    // nothing written outside the target block
    expect(out.subarray(0, m * n).every(Number.isNaN)).toBe(true);
  });
});

describe('gemm packing and units', () => {
  it.skipIf(!features.simd)('packA and packB lay out tiles step by step and zero the last tile past its width', () => {
    const memory = new WebAssembly.Memory({ initial: 1 });
    const { exports } = new WebAssembly.Instance(new WebAssembly.Module(gemmModuleBytes(false)), {
      env: { mem: memory },
    });
    const mem = new Float32Array(memory.buffer);
    // a [rows, cols] source at float 0 holding 1 + its index; the packed copy at float 4096, pre-filled with NaN
    const [rows, cols, kc] = [7, 10, 5];
    for (let i = 0; i < rows * cols; i++) mem[i] = 1 + i;
    for (const [name, width] of [
      ['packA', MR],
      ['packB', NR],
    ] as const) {
      const pack = exports[name] as PackFn;
      for (const contiguous of [true, false]) {
        // tiles across the contiguous dimension (js = 4, steps along rows) or across rows (js = a row)
        const [ps, js, extent] = contiguous ? [cols * 4, 4, cols] : [4, cols * 4, rows];
        const count = Math.ceil(extent / width);
        const lastWidth = extent - (count - 1) * width;
        mem.fill(Number.NaN, 4096, 4096 + count * kc * width);
        pack(0, 4096 * 4, count, kc, ps, js, lastWidth);
        for (let t = 0; t < count; t++)
          for (let p = 0; p < kc; p++)
            for (let j = 0; j < width; j++) {
              const e = t * width + j;
              const want = e < extent ? 1 + (contiguous ? p * cols + e : e * cols + p) : 0;
              expect(mem[4096 + (t * kc + p) * width + j], `${name} t=${t} p=${p} j=${j}`).toBe(want);
            }
      }
    }
  });

  it.skipIf(!features.simd)('the units of a plan cover C once and run in any order, A packed or in place', () => {
    const rng = new Rng(9);
    const g = new WasmGemm(false);
    const layouts = new Set<string>();
    for (const [m, k, n, transA] of [
      [261, 300, 530, false],
      [261, 300, 20, false],
      [261, 300, 20, true],
    ] as const) {
      const a = randomArray(m * k, rng);
      const b = randomArray(k * n, rng);
      const whole = new Float32Array(m * n);
      g.matmul(a, 0, b, 0, whole, 0, m, k, n, transA, false);
      const out = new Float32Array(m * n);
      const plan = g.prepare(a, 0, b, 0, out, 0, m, k, n, transA, false);
      if (!plan) throw new Error('the memory is full');
      layouts.add(plan.aLayout);
      expect(plan.units.length).toBeGreaterThan(2);
      const panels = plan.nPad / NR;
      const covered = new Uint8Array(plan.mPad * panels);
      for (const u of plan.units) {
        expect(u.row0 % MR).toBe(0);
        expect(u.rows % MR).toBe(0);
        for (let i = u.row0; i < u.row0 + u.rows; i++)
          for (let jp = u.panel0; jp < u.panel0 + u.panels; jp++) covered[i * panels + jp]++;
      }
      expect(covered.every((c) => c === 1)).toBe(true);
      // reversed and rotated order: the same bits (each unit sums its depth in the same order)
      const order = [...plan.units].reverse();
      order.push(order.shift() as (typeof order)[number]);
      for (const u of order) g.run(plan, u);
      g.finish(plan, out, 0);
      let same = true;
      for (let i = 0; i < m * n; i++) same &&= Object.is(out[i], whole[i]);
      expect(same).toBe(true);
    }
    expect([...layouts].sort()).toEqual(['columns', 'packed', 'rows']);
  });

  it.skipIf(!features.simd)('an empty depth gives zeros, whatever the module memory held before', () => {
    const g = new WasmGemm(false);
    const rng = new Rng(4);
    g.matmul(
      randomArray(64 * 64, rng),
      0,
      randomArray(64 * 64, rng),
      0,
      new Float32Array(64 * 64),
      0,
      64,
      64,
      64,
      false,
      false,
    );
    const out = new Float32Array(6 * 10).fill(Number.NaN);
    g.matmul(new Float32Array(0), 0, new Float32Array(0), 0, out, 0, 6, 0, 10, false, false);
    expect(out.every((x) => x === 0)).toBe(true);
  });

  it.skipIf(!fmaWithFlag)('relaxed-SIMD FMA kernel (the V8 flag set at run time on Node 20)', () => {
    const g = new WasmGemm(true);
    const rng = new Rng(21);
    for (const [m, k, n] of [
      [131, 520, 263],
      [133, 300, 5],
      [9, 3, 17],
    ]) {
      for (const tA of [false, true]) {
        for (const tB of [false, true]) {
          const a = randomArray(m * k, rng);
          const b = randomArray(k * n, rng);
          const got = new Float32Array(m * n);
          g.matmul(a, 0, b, 0, got, 0, m, k, n, tA, tB);
          const { out, absOut } = matmulRef(a, b, m, k, n, tA, tB);
          for (let i = 0; i < m * n; i++) {
            // the same bound as the unfused kernels (a fused multiply–add rounds once instead of twice)
            const tol = k * 2 ** -23 * absOut[i] + 1e-30;
            if (!(Math.abs(got[i] - out[i]) <= tol))
              throw new Error(`FMA m=${m} k=${k} n=${n} tA=${tA} tB=${tB} [${i}]: ${got[i]} vs ${out[i]}`);
          }
        }
      }
    }
  });
});

function sigmoid64(x: number): number {
  return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
}

/** 1 − σ(x) = σ(−x) without cancellation. */
function oneMinusSigmoid64(x: number): number {
  return sigmoid64(-x);
}

/** Distance in units of float32 spacing at the reference value (subnormals count as the smallest normal). */
function ulps(got: number, ref: number): number {
  const spacing = Math.max(Math.abs(ref), 2 ** -126) * 2 ** -23;
  return Math.abs(got - ref) / spacing;
}

describe('element-wise WebAssembly kernels against float64', () => {
  const inputs = (() => {
    const xs: number[] = [0, -0, 1e-30, -1e-30, 0.5, -0.5, 17, -17, 40, -40, 80, -80, 87.5, -87.5];
    for (let i = 0; i <= 4000; i++) xs.push(Math.fround(-100 + (200 * i) / 4000));
    xs.push(...new Rng(3).normal(999));
    return Float32Array.from(xs);
  })();
  const n = inputs.length; // not a multiple of 4: exercises the padded tail

  // Within 4 float32 ulp of the float64 value, measured on the magnitude of the terms (|g| σ (1 + |x| (1 − σ))
  // for the gradient, which crosses zero near x = −1.28); where σ(x) itself is below the smallest normal
  // float32 (x < −87.3) the kernels flush it to 0, so an absolute error of 2⁻¹²⁶ in σ (times the factors
  // around it) is allowed.
  it.skipIf(!wasmElementwiseAvailable())('sigmoid, silu and the silu gradient stay within 4 ulp of float64', () => {
    const w = new WasmElementwise();
    const out = new Float32Array(n);
    const g = new Rng(5).normal(n);
    type F = (x: number, i: number) => number;
    const check = (name: string, ref: F, scale: F, magnitude: F = (x, i) => Math.abs(ref(x, i))) => {
      for (let i = 0; i < n; i++) {
        const r = ref(inputs[i], i);
        const bound = 4 * magnitude(inputs[i], i) * 2 ** -23 + scale(inputs[i], i) * 2 ** -126;
        if (!(Math.abs(out[i] - r) <= bound)) {
          throw new Error(`${name}(${inputs[i]}) = ${out[i]}, expected ${r} (${ulps(out[i], r).toFixed(1)} ulp)`);
        }
      }
    };
    w.unary('sigmoid', inputs, out, n);
    check('sigmoid', sigmoid64, () => 1);
    w.unary('silu', inputs, out, n);
    check(
      'silu',
      (x) => x * sigmoid64(x),
      (x) => 1 + Math.abs(x),
    );
    w.siluGrad(inputs, g, out, n);
    const siluGrad64 = (x: number, i: number) => {
      const s = sigmoid64(x);
      return g[i] * s * (1 + x * (1 - s));
    };
    const magnitude = (x: number, i: number) => {
      const s = sigmoid64(x);
      return Math.abs(g[i]) * s * (1 + Math.abs(x) * (1 - s));
    };
    check('siluGrad', siluGrad64, (x, i) => Math.abs(g[i]) * (1 + Math.abs(x)), magnitude);
  });

  // dg = h σ (1 + x q) and dx = h g σ q (2 + x (q − σ)) with q = 1 − σ: a few more roundings than above, so
  // within 8 ulp of the magnitude of the terms (|x| in place of x), plus the flush of σ below 2⁻¹²⁶.
  it.skipIf(!wasmElementwiseAvailable())('the backward pass of the silu gradient stays within 8 ulp of float64', () => {
    const w = new WasmElementwise();
    const g = new Rng(5).normal(n);
    const h = new Rng(6).normal(n);
    const m = new Float32Array(n);
    w.siluSaved(inputs, new Float32Array(n), m, n);
    // evaluating the exponential, and from σ(−|x|) saved by the forward pass
    for (const saved of [undefined, m]) {
      const dx = new Float32Array(n);
      const dg = new Float32Array(n);
      w.siluGradBackward(inputs, g, h, dx, dg, n, saved);
      for (let i = 0; i < n; i++) {
        const x = inputs[i];
        const s = sigmoid64(x);
        const q = oneMinusSigmoid64(x);
        const scale = Math.abs(h[i]) * (1 + Math.abs(x)) * (1 + Math.abs(g[i]) * (2 + Math.abs(x))) * 2 ** -126;
        const refG = h[i] * s * (1 + x * q);
        const boundG = 8 * Math.abs(h[i]) * s * (1 + Math.abs(x) * q) * 2 ** -23 + scale;
        const refX = h[i] * g[i] * s * q * (2 + x * (q - s));
        const boundX = 8 * Math.abs(h[i] * g[i]) * s * q * (2 + Math.abs(x) * (q + s)) * 2 ** -23 + scale;
        if (!(Math.abs(dg[i] - refG) <= boundG)) throw new Error(`dg at x = ${x}: ${dg[i]}, expected ${refG}`);
        if (!(Math.abs(dx[i] - refX) <= boundX)) throw new Error(`dx at x = ${x}: ${dx[i]}, expected ${refX}`);
      }
    }
  });

  // The saved path: siluSaved gives silu with the same bits as the plain kernel and σ(−|x|) within 4 ulp; the
  // gradient kernel that takes it meets the same bound as the one that evaluates the exponential (the backward
  // pass of the gradient is checked on both paths above).
  it.skipIf(!wasmElementwiseAvailable())('silu with σ(−|x|) saved, and the gradient kernel that takes it', () => {
    const w = new WasmElementwise();
    const y = new Float32Array(n);
    const m = new Float32Array(n);
    const plain = new Float32Array(n);
    w.siluSaved(inputs, y, m, n);
    w.unary('silu', inputs, plain, n);
    expect(y.every((v, i) => Object.is(v, plain[i]))).toBe(true);
    for (let i = 0; i < n; i++) {
      const r = sigmoid64(-Math.abs(inputs[i]));
      if (!(Math.abs(m[i] - r) <= 4 * r * 2 ** -23 + 2 ** -126))
        throw new Error(`m(${inputs[i]}) = ${m[i]}, expected ${r}`);
    }
    const g = new Rng(5).normal(n);
    const out = new Float32Array(n);
    w.siluGrad(inputs, g, out, n, m);
    for (let i = 0; i < n; i++) {
      const x = inputs[i];
      const s = sigmoid64(x);
      const q = oneMinusSigmoid64(x);
      const magnitude = Math.abs(g[i]) * s * (1 + Math.abs(x) * q);
      const ref = g[i] * s * (1 + x * q);
      if (!(Math.abs(out[i] - ref) <= 4 * magnitude * 2 ** -23 + Math.abs(g[i]) * (1 + Math.abs(x)) * 2 ** -126))
        throw new Error(`siluGrad at x = ${x}: ${out[i]}, expected ${ref}`);
    }
  });

  it.skipIf(!wasmElementwiseAvailable())('propagates NaN and saturates at ±∞', () => {
    const w = new WasmElementwise();
    const x = Float32Array.from([Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 200, -200]);
    const out = new Float32Array(5);
    w.unary('sigmoid', x, out, 5);
    expect(Array.from(out)).toEqual([Number.NaN, 1, 0, 1, 0]);
    w.unary('silu', x, out, 5);
    // silu(−∞) = −∞ · 0 is NaN, as in the JavaScript kernel
    expect(Array.from(out)).toEqual([Number.NaN, Number.POSITIVE_INFINITY, Number.NaN, 200, -0]);
  });
});

describe('array pool', () => {
  it('reuses only arrays it allocated, by length', () => {
    const pool = new ArrayPool(4);
    const a = pool.take(8);
    const foreign = new Float32Array(8);
    pool.give(foreign);
    pool.give(a);
    expect(pool.take(8)).toBe(a);
    expect(pool.take(8)).not.toBe(foreign);
    const small = pool.take(2);
    pool.give(small);
    expect(pool.take(2)).not.toBe(small);
  });

  it('CPU backend results are unaffected by recycled storage', () => {
    const cpu = new CpuBackend();
    const x = new Rng(1).normal(5000);
    const first = Float32Array.from(cpu.unary('exp', x, 5000) as Float32Array);
    for (let i = 0; i < 3; i++) {
      const y = cpu.unary('neg', x, 5000);
      cpu.free(y);
      expect(Array.from(cpu.unary('exp', x, 5000) as Float32Array)).toEqual(Array.from(first));
    }
  });
});

describe('second derivatives of silu on every kernel variant', () => {
  // f(x, c) = Σ d · ∂/∂x Σ c · silu(x) = Σ d c silu'(x): ∂f/∂x = d c silu''(x) and ∂f/∂c = d silu'(x), which
  // run the fused backward pass of the silu gradient (or its element-wise form without the kernel).
  const n = 301; // above the WebAssembly threshold, not a multiple of 4
  const xs = Float32Array.from(new Rng(11).normal(n).map((v) => 4 * v));
  const cs = new Rng(12).normal(n);
  const ds = new Rng(13).normal(n);
  for (const simd of [true, false]) {
    it(`matches float64 with simd ${simd}`, () => {
      const before = getBackend();
      setBackend(new CpuBackend({ simd }));
      try {
        const d = tensor(ds);
        const f = (p: { x: Tensor; c: Tensor }) =>
          grad((y: Tensor) => y.silu().mul(p.c).sum())(p.x)
            .mul(d)
            .sum();
        const r = grad(f)({ x: tensor(xs), c: tensor(cs) });
        const gx = r.x.dataSync();
        const gc = r.c.dataSync();
        for (let i = 0; i < n; i++) {
          const x = xs[i];
          const s = sigmoid64(x);
          const q = oneMinusSigmoid64(x);
          const first = s * (1 + x * q);
          const second = s * q * (2 + x * (q - s));
          // float32 evaluation: a few ulp of the terms' magnitude (16 ulp allows the element-wise fallback)
          const mag = s * (1 + Math.abs(x));
          expect(Math.abs(gc[i] - ds[i] * first)).toBeLessThanOrEqual(16 * Math.abs(ds[i]) * mag * 2 ** -23);
          expect(Math.abs(gx[i] - ds[i] * cs[i] * second)).toBeLessThanOrEqual(
            16 * Math.abs(ds[i] * cs[i]) * s * q * (2 + Math.abs(x)) * 2 ** -23,
          );
        }
      } finally {
        setBackend(before);
      }
    });

    // A third derivative records the backward pass of the silu gradient: the element-wise form runs, not the kernel.
    it(`third derivative matches float64 with simd ${simd}`, () => {
      const before = getBackend();
      setBackend(new CpuBackend({ simd }));
      try {
        const d1 = (y: Tensor) => grad((z: Tensor) => z.silu().sum())(y);
        const d2 = (y: Tensor) => grad((z: Tensor) => d1(z).sum())(y);
        const g3 = grad((y: Tensor) => d2(y).sum())(tensor(xs)).dataSync();
        for (let i = 0; i < n; i++) {
          const x = xs[i];
          const s = sigmoid64(x);
          const q = oneMinusSigmoid64(x);
          const third = s * q * ((q - s) * (3 + x * (q - s)) - 2 * x * s * q);
          // the element-wise form computes 1 − σ(x) with an absolute error up to 2⁻²⁴, which the third
          // derivative amplifies by up to σ(1 + |x|)²; a few ulp of that plus the terms' magnitude
          const mag = s * q * (3 + 3 * Math.abs(x)) + s * (1 + Math.abs(x)) ** 2;
          expect(Math.abs(g3[i] - third)).toBeLessThanOrEqual(4 * mag * 2 ** -23);
        }
      } finally {
        setBackend(before);
      }
    });
  }
});

describe('arithmetic with broadcasting (the monomorphic loops and the strided walk)', () => {
  const cases: [number[], number[]][] = [
    [
      [5, 7],
      [5, 7],
    ],
    [[5, 7], [7]],
    [[7], [5, 7]],
    [
      [5, 7],
      [5, 1],
    ],
    [
      [5, 1],
      [5, 7],
    ],
    [
      [5, 1],
      [1, 7],
    ],
    [
      [1, 7],
      [5, 1],
    ],
    [[6], []],
    [[], [6]],
    [[], []],
    [
      [2, 3, 4],
      [3, 1],
    ],
    [
      [2, 1, 4],
      [2, 3, 1],
    ],
    [
      [3, 1, 5],
      [3, 4, 5],
    ],
    [[0, 3], [3]],
    // from 1024 elements with rows of a multiple of 4: the WebAssembly SIMD kernel
    [
      [64, 32],
      [64, 32],
    ],
    [[64, 32], [32]],
    [[32], [64, 32]],
    [
      [64, 32],
      [64, 1],
    ],
    [
      [64, 1],
      [64, 32],
    ],
    [
      [64, 1],
      [1, 32],
    ],
    [[2048], []],
    [[], [2048]],
    [
      [4, 16, 32],
      [16, 32],
    ],
    [[64, 30], [30]],
  ];
  const ops = {
    add: (x: number, y: number) => x + y,
    sub: (x: number, y: number) => x - y,
    mul: (x: number, y: number) => x * y,
    div: (x: number, y: number) => x / y,
  };
  /** Element `i` of the broadcast output read from an operand of `shape`. */
  const at = (values: Float32Array, shape: number[], out: number[], i: number) => {
    let rest = i;
    let index = 0;
    let stride = 1;
    for (let d = out.length - 1; d >= 0; d--) {
      const coord = rest % out[d];
      rest = Math.floor(rest / out[d]);
      const sd = d - (out.length - shape.length);
      if (sd >= 0) {
        if (shape[sd] !== 1) index += coord * stride;
        stride *= shape[sd];
      }
    }
    return values[index];
  };
  for (const [[aShape, bShape], simd] of cases.flatMap((c) => [true, false].map((simd) => [c, simd] as const))) {
    it(`${JSON.stringify(aShape)} with ${JSON.stringify(bShape)}, simd ${simd}`, () => {
      const cpu = new CpuBackend({ simd });
      const size = (s: number[]) => s.reduce((p, q) => p * q, 1);
      const rank = Math.max(aShape.length, bShape.length);
      const pad = (s: number[]) => [...Array(rank - s.length).fill(1), ...s];
      const out = pad(aShape).map((d, i) => (d === 1 ? pad(bShape)[i] : d));
      const a = new Rng(1).normal(size(aShape));
      const b = new Rng(2).normal(size(bShape)).map((v) => v + 3); // away from 0 for div
      for (const [op, f] of Object.entries(ops)) {
        const got = cpu.binary(op as keyof typeof ops, a, aShape, b, bShape, out) as Float32Array;
        expect(got.length).toBe(size(out));
        // float32 operations are correctly rounded: equal to the float64 result rounded once
        const wrong: string[] = [];
        for (let i = 0; i < got.length; i++) {
          const want = Math.fround(f(at(a, aShape, out, i), at(b, bShape, out, i)));
          if (got[i] !== want && wrong.length < 3) wrong.push(`${op} at ${i}: ${got[i]}, expected ${want}`);
        }
        expect(wrong).toEqual([]);
      }
    });
  }
});

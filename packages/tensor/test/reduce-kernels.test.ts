/**
 * The WebAssembly SIMD reductions (sum, max, min over rows and over the leading axis) against float64
 * references on random shapes around the vector width and the size threshold, NaN/±∞ propagation, and
 * gradients of reductions large enough for the WebAssembly path against central differences, on the
 * SIMD and the plain JavaScript (`simd: false`) variants of the CPU backend.
 */
import { describe, expect, it } from 'vitest';
import { WasmElementwise, type WasmReduce, wasmElementwiseAvailable } from '../src/cpu/elementwise-wasm.js';
import {
  CpuBackend,
  getBackend,
  grad,
  logSumExp,
  max,
  mean,
  min,
  mul,
  Rng,
  setBackend,
  sum,
  type Tensor,
  tensor,
} from '../src/index.js';

const OPS: WasmReduce[] = ['sum', 'max', 'min'];

/** `[outer, reduced, inner]` reduced over the middle axis in float64, with the sum of magnitudes for error bounds. */
function reduceRef(op: WasmReduce, x: Float32Array, outer: number, reduced: number, inner: number) {
  const out = new Float64Array(outer * inner);
  const absSum = new Float64Array(outer * inner);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      let acc = op === 'sum' ? 0 : op === 'max' ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
      let abs = 0;
      for (let r = 0; r < reduced; r++) {
        const v = x[(o * reduced + r) * inner + i];
        abs += Math.abs(v);
        if (op === 'sum') acc += v;
        else if (Number.isNaN(v) || Number.isNaN(acc)) acc = Number.NaN;
        else acc = op === 'max' ? Math.max(acc, v) : Math.min(acc, v);
      }
      out[o * inner + i] = acc;
      absSum[o * inner + i] = abs;
    }
  }
  return { out, absSum };
}

/**
 * Checks `got` against the float64 reference: max and min exactly (NaN where the reference is NaN); sums
 * accumulate in float64 and round once, so within one float32 ulp of the reference plus the float64
 * accumulation error of either order (reduced · 2⁻⁵² · Σ|x|).
 */
function expectReduced(
  label: string,
  op: WasmReduce,
  got: Float32Array,
  x: Float32Array,
  outer: number,
  reduced: number,
  inner: number,
) {
  const { out, absSum } = reduceRef(op, x, outer, reduced, inner);
  expect(got.length, label).toBe(out.length);
  for (let i = 0; i < out.length; i++) {
    const ok =
      op === 'sum'
        ? Math.abs(got[i] - out[i]) <= 2 ** -23 * Math.abs(out[i]) + reduced * 2 ** -52 * absSum[i]
        : Object.is(got[i], Math.fround(out[i])) || (Number.isNaN(got[i]) && Number.isNaN(out[i]));
    if (!ok) throw new Error(`${label} [${i}]: got ${got[i]}, expected ${out[i]}`);
  }
}

// rows of every length around the four-float vector and its unrolled loop; columns around the vector width
const ROW_LENGTHS = [1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 31, 64, 65, 257];
const INNER_SIZES = [2, 3, 4, 5, 7, 8, 9, 127, 128, 129];

describe.skipIf(!wasmElementwiseAvailable())('WebAssembly reductions against float64', () => {
  it('over rows (the last axis): every length, one and several rows', () => {
    const w = new WasmElementwise();
    const rng = new Rng(21);
    for (const op of OPS) {
      for (const len of ROW_LENGTHS) {
        for (const outer of [1, 3, 256]) {
          const x = rng.normal(outer * len);
          const out = new Float32Array(outer);
          w.reduce(op, x, out, outer, len, 1);
          expectReduced(`${op} rows [${outer}, ${len}]`, op, out, x, outer, len, 1);
        }
      }
    }
  });

  it('over the leading axis (column sums): every inner size, outer blocks, one and several rows', () => {
    const w = new WasmElementwise();
    const rng = new Rng(22);
    for (const op of OPS) {
      for (const inner of INNER_SIZES) {
        for (const [outer, reduced] of [
          [1, 1],
          [1, 2],
          [2, 5],
          [1, 33],
          [3, 17],
        ]) {
          const x = rng.normal(outer * reduced * inner);
          const out = new Float32Array(outer * inner);
          w.reduce(op, x, out, outer, reduced, inner);
          expectReduced(`${op} columns [${outer}, ${reduced}, ${inner}]`, op, out, x, outer, reduced, inner);
        }
      }
    }
  });

  it('column sums of a bias gradient [4352, 128] and row sums of large magnitudes stay float64-accurate', () => {
    const w = new WasmElementwise();
    const rng = new Rng(23);
    const x = rng.normal(4352 * 128);
    const out = new Float32Array(128);
    w.reduce('sum', x, out, 1, 4352, 128);
    expectReduced('sum [4352, 128] over axis 0', 'sum', out, x, 1, 4352, 128);
    // 1e8 + small terms − 1e8: float32 accumulation would lose the small terms entirely
    const big = Float32Array.from({ length: 64 }, (_, i) => (i === 0 ? 1e8 : i === 63 ? -1e8 : 1));
    w.reduce('sum', big, out, 1, 64, 1);
    expect(out[0]).toBe(62);
  });

  it('max and min propagate NaN from the vector body and the tail, and handle ±∞', () => {
    const w = new WasmElementwise();
    const out = new Float32Array(4);
    // rows of 7: position 1 is in the vector body, position 5 in the scalar tail
    for (const at of [0, 1, 3, 4, 5, 6]) {
      const x = new Float32Array(14).fill(1);
      x[at] = Number.NaN;
      x[7 + at] = Number.POSITIVE_INFINITY;
      for (const op of ['max', 'min'] as const) {
        w.reduce(op, x, out, 2, 7, 1);
        expect(Number.isNaN(out[0]), `${op} NaN at ${at}`).toBe(true);
        expect(out[1]).toBe(op === 'max' ? Number.POSITIVE_INFINITY : 1);
      }
    }
    // columns [3 rows, 5 inner]: NaN in the vector part (column 2) and in the tail (column 4)
    const cols = Float32Array.from({ length: 15 }, (_, i) => i);
    cols[5 + 2] = Number.NaN;
    cols[10 + 4] = Number.NaN;
    cols[0] = Number.NEGATIVE_INFINITY;
    const c = new Float32Array(5);
    w.reduce('max', cols, c, 1, 3, 5);
    expect(Array.from(c)).toEqual([10, 11, Number.NaN, 13, Number.NaN]);
    w.reduce('min', cols, c, 1, 3, 5);
    expect(Array.from(c)).toEqual([Number.NEGATIVE_INFINITY, 1, Number.NaN, 3, Number.NaN]);
    const negInf = new Float32Array(9).fill(Number.NEGATIVE_INFINITY);
    w.reduce('max', negInf, out, 1, 9, 1);
    expect(out[0]).toBe(Number.NEGATIVE_INFINITY);
  });

  it('reads operands longer than the reduced block (pooled storage) and reuses its memory across calls', () => {
    const w = new WasmElementwise();
    const rng = new Rng(24);
    const x = rng.normal(1000);
    const out = new Float32Array(10);
    w.reduce('sum', rng.normal(100000), new Float32Array(100), 1, 1000, 100);
    w.reduce('sum', x, out, 1, 50, 10);
    expectReduced('sum of the leading 500 of 1000', 'sum', out, x.subarray(0, 500), 1, 50, 10);
  });
});

const VARIANTS = [
  { name: 'WebAssembly SIMD', simd: true },
  { name: 'plain JavaScript', simd: false },
];

// Sizes below, at and above the 256-element threshold of the WebAssembly path, rows and columns.
const BACKEND_SHAPES: [number, number, number][] = [
  [85, 3, 1],
  [64, 4, 1],
  [1, 257, 1],
  [1, 255, 1],
  [1, 64, 4],
  [1, 65, 4],
  [2, 9, 14],
  [3, 7, 13],
];

describe('CPU backend reductions on every variant', () => {
  for (const v of VARIANTS) {
    it(`${v.name}: below, at and above the WebAssembly threshold`, () => {
      const cpu = new CpuBackend({ simd: v.simd });
      const rng = new Rng(25);
      for (const op of OPS) {
        for (const [outer, reduced, inner] of BACKEND_SHAPES) {
          const x = rng.normal(outer * reduced * inner);
          if (op !== 'sum') x[(outer * reduced * inner) >> 1] = Number.NaN;
          const got = cpu.reduce(op, x, outer, reduced, inner) as Float32Array;
          expectReduced(`${v.name} ${op} [${outer}, ${reduced}, ${inner}]`, op, got, x, outer, reduced, inner);
        }
      }
    });
  }
});

/** Central differences of a float64 function at `x` (step 1e-4 relative to |x|). */
function centralDiff(f: (x: Float64Array) => number, x: Float32Array): Float64Array {
  const at = Float64Array.from(x);
  const g = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const v = at[i];
    const h = 1e-4 * Math.max(1, Math.abs(v));
    at[i] = v + h;
    const plus = f(at);
    at[i] = v - h;
    const minus = f(at);
    at[i] = v;
    g[i] = (plus - minus) / (2 * h);
  }
  return g;
}

/** `Σ c ⊙ reduce(x)` over the axis `axis` of `[rows, cols]`, in float64. */
function weightedReduction(
  reduceRow: (v: number[]) => number,
  rows: number,
  cols: number,
  axis: 0 | 1,
  c: Float32Array,
): (x: Float64Array) => number {
  return (x) => {
    let s = 0;
    const lines = axis === 1 ? rows : cols;
    const len = axis === 1 ? cols : rows;
    const v = new Array<number>(len);
    for (let l = 0; l < lines; l++) {
      for (let k = 0; k < len; k++) v[k] = axis === 1 ? x[l * cols + k] : x[k * cols + l];
      s += c[l] * reduceRow(v);
    }
    return s;
  };
}

const GRAD_CASES: {
  name: string;
  f: (x: Tensor, axis: number) => Tensor;
  ref: (v: number[]) => number;
}[] = [
  { name: 'sum', f: (x, a) => sum(x, a), ref: (v) => v.reduce((p, q) => p + q, 0) },
  { name: 'mean', f: (x, a) => mean(x, a), ref: (v) => v.reduce((p, q) => p + q, 0) / v.length },
  { name: 'max', f: (x, a) => max(x, a), ref: (v) => Math.max(...v) },
  { name: 'min', f: (x, a) => min(x, a), ref: (v) => Math.min(...v) },
  {
    name: 'logSumExp',
    f: (x, a) => logSumExp(x, a),
    ref: (v) => {
      const m = Math.max(...v);
      return m + Math.log(v.reduce((p, q) => p + Math.exp(q - m), 0));
    },
  },
];

describe('gradients of reductions on the WebAssembly path match central differences', () => {
  // [24, 17] over its rows (the log-sum-exp of R-NCE) and [33, 9] over its leading axis (a bias gradient),
  // both above the 256-element threshold
  const shapes: [number, number, 0 | 1][] = [
    [24, 17, 1],
    [33, 9, 0],
  ];
  for (const v of VARIANTS) {
    it(`${v.name}: sum, mean, max, min, logSumExp over rows and columns`, () => {
      const before = getBackend();
      setBackend(new CpuBackend({ simd: v.simd }));
      try {
        const rng = new Rng(26);
        for (const [rows, cols, axis] of shapes) {
          // distinct values a grid step of 2 / size apart, so max and min have no near-ties within the step
          const n = rows * cols;
          const order = Array.from(rng.uniform(n), (u, i) => [u, i]).sort((p, q) => p[0] - q[0]);
          const x = new Float32Array(n);
          order.forEach(([, i], k) => {
            x[i] = -1 + (2 * (k + 0.5)) / n;
          });
          const c = rng.normal(axis === 1 ? rows : cols);
          for (const spec of GRAD_CASES) {
            const got = grad((t: Tensor) => sum(mul(spec.f(t, axis), tensor(c))))(tensor(x, [rows, cols])).dataSync();
            const want = centralDiff(weightedReduction(spec.ref, rows, cols, axis, c), x);
            // float32 gradients against float64 differences with O(h²) error: 1e-3 relative, 1e-4 absolute
            for (let i = 0; i < n; i++) {
              if (!(Math.abs(got[i] - want[i]) <= 1e-3 * Math.abs(want[i]) + 1e-4)) {
                throw new Error(`${spec.name} [${rows}, ${cols}] axis ${axis} [${i}]: ${got[i]} vs ${want[i]}`);
              }
            }
          }
        }
      } finally {
        setBackend(before);
      }
    });
  }
});

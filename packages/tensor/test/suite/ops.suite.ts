/**
 * The op suite, written once and run on every backend: `runOpSuite('cpu', () => new CpuBackend())`.
 *
 * For every op it checks forward values against the float64 references of `reference.ts` on seeded
 * random inputs (broadcasting, edge values), argument errors, first-order gradients against central
 * finite differences of the float64 reference, and second-order gradients (a gradient of a gradient)
 * against mixed finite differences of the same reference. Values are read with `await t.data()`
 * only, so backends that cannot read synchronously run it unchanged.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  abs,
  add,
  arange,
  argmax,
  argmin,
  type Backend,
  broadcastTo,
  CpuBackend,
  ceil,
  cholesky,
  clamp,
  concat,
  cos,
  cumsum,
  diagonal,
  dispose,
  div,
  dot,
  eq,
  erf,
  exp,
  expm1,
  eye,
  floor,
  full,
  gather,
  ge,
  gelu,
  getBackend,
  grad,
  gt,
  indexAdd,
  indexSelect,
  isFinite,
  JouleError,
  le,
  linspace,
  log,
  log1p,
  logdetFromCholesky,
  logSigmoid,
  logSoftmax,
  logSumExp,
  lt,
  matmul,
  max,
  maximum,
  mean,
  min,
  minimum,
  mul,
  ne,
  neg,
  norm,
  oneHot,
  ones,
  onesLike,
  outer,
  pad,
  pow,
  Rng,
  rand,
  randint,
  randn,
  reciprocal,
  relu,
  reshape,
  round,
  rsqrt,
  scatterAddAlongAxis,
  setBackend,
  sigmoid,
  sign,
  silu,
  sin,
  slice,
  softmax,
  softplus,
  split,
  sqrt,
  square,
  squeeze,
  stack,
  std,
  stopGradient,
  sub,
  sum,
  sumToShape,
  type Tensor,
  takeAlongAxis,
  tanh,
  tensor,
  tidy,
  transpose,
  triangularSolve,
  tril,
  triu,
  unsqueeze,
  variance,
  where,
  zeros,
  zerosLike,
} from '../../src/index.js';
import {
  type Arr,
  arr,
  choleskyRef,
  concatRef,
  cumsumRef,
  erfRef,
  indexSelectRef,
  logSumExpOf,
  map,
  matmulRef,
  maxOf,
  minOf,
  padRef,
  reduce,
  reshapeRef,
  sizeOfShape,
  sliceRef,
  sumOf,
  takeAlongRef,
  transposeRef,
  triangularSolveRef,
  varOf,
} from './reference.js';

/** Absolute and relative tolerance: `|got − want| ≤ atol + rtol·|want|`. */
export interface Tolerance {
  rtol: number;
  atol: number;
}

interface OpTolerance {
  /** forward values against the float64 reference rounded to float32 */
  fwd: Tolerance;
  /** first-order gradient against float64 central differences */
  grad: Tolerance;
  /** second-order gradient against float64 mixed differences */
  grad2: Tolerance;
}

/**
 * Per-op tolerances, the one place they are set. Defaults: forward values within ~100 float32 ulps
 * (kernels may use float32 math on a GPU); gradients within 1e-3 relative (float32 accumulation over
 * ≤ 100 terms is ~1e-5; a wrong gradient rule is off by O(1)); second order within 2e-3 relative.
 */
export const TOLERANCES: Record<string, Partial<OpTolerance>> = {
  default: { fwd: { rtol: 1e-5, atol: 1e-6 }, grad: { rtol: 1e-3, atol: 1e-4 }, grad2: { rtol: 2e-3, atol: 2e-4 } },
  // float32 Simpson-free series and 1 − erf cancellation near the tails
  erf: { fwd: { rtol: 1e-5, atol: 2e-6 } },
  gelu: { fwd: { rtol: 1e-5, atol: 2e-6 } },
  // sums of ~24 float32 terms
  logSumExp: { fwd: { rtol: 1e-5, atol: 5e-6 } },
  var: { fwd: { rtol: 1e-4, atol: 1e-5 } },
  std: { fwd: { rtol: 1e-4, atol: 1e-5 } },
  // a triangular solve / Cholesky of a 3×3 with condition number ≲ 10 in float32
  cholesky: { fwd: { rtol: 1e-4, atol: 1e-5 }, grad: { rtol: 2e-3, atol: 2e-4 } },
  triangularSolve: {
    fwd: { rtol: 1e-4, atol: 1e-5 },
    grad: { rtol: 2e-3, atol: 2e-4 },
    grad2: { rtol: 5e-3, atol: 5e-4 },
  },
  logdetFromCholesky: { fwd: { rtol: 1e-4, atol: 1e-5 }, grad: { rtol: 2e-3, atol: 2e-4 } },
};

function tol(op: string, kind: keyof OpTolerance): Tolerance {
  return TOLERANCES[op]?.[kind] ?? (TOLERANCES.default[kind] as Tolerance);
}

// ---------------------------------------------------------------------------------------------
// helpers

/** Float32-valued random array on [lo, hi), from a seeded generator. */
function randArr(rng: Rng, shape: number[], lo = -1, hi = 1): Arr {
  const u = rng.uniform(sizeOfShape(shape));
  return arr(
    shape,
    Array.from(u, (v) => Math.fround(lo + (hi - lo) * v)),
  );
}

/** Random values with `|x − kink| ≥ away` (for ops with a kink), float32. */
function randAway(rng: Rng, shape: number[], lo: number, hi: number, kink: number, away: number): Arr {
  const a = randArr(rng, shape, lo, hi);
  for (let i = 0; i < a.data.length; i++) {
    const d = a.data[i] - kink;
    if (Math.abs(d) < away) a.data[i] = Math.fround(kink + (d < 0 ? d - away : d + away));
  }
  return a;
}

/** Distinct values (a shuffled grid with spacing 2/size, jittered), so max/min have no near-ties. */
function randDistinct(rng: Rng, shape: number[]): Arr {
  const n = sizeOfShape(shape);
  const u = rng.uniform(2 * n);
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => u[i] - u[j]);
  return arr(
    shape,
    order.map((k, i) => Math.fround(-1 + (2 * (k + 0.25 + 0.5 * u[n + i])) / n)),
  );
}

function toT(a: Arr): Tensor {
  return tensor(Float32Array.from(a.data), a.shape);
}

async function read(t: Tensor): Promise<Arr> {
  return { shape: [...t.shape], data: Float64Array.from(await t.data()) };
}

/** Reads a tensor made inside `tidy` and disposes it. */
async function run(fn: () => Tensor): Promise<Arr> {
  const t = tidy(fn);
  const v = await read(t);
  t.dispose();
  return v;
}

function mismatch(got: Arr, want: Arr, t: Tolerance, round: boolean): string | undefined {
  if (got.shape.join() !== want.shape.join()) return `shape [${got.shape}] instead of [${want.shape}]`;
  for (let i = 0; i < want.data.length; i++) {
    const w = round ? Math.fround(want.data[i]) : want.data[i];
    const g = got.data[i];
    if (w !== w) {
      if (g === g) return `at ${i}: got ${g}, want NaN`;
      continue;
    }
    if (!Number.isFinite(w)) {
      if (g !== w) return `at ${i}: got ${g}, want ${w}`;
      continue;
    }
    if (!(Math.abs(g - w) <= t.atol + t.rtol * Math.abs(w))) return `at ${i}: got ${g}, want ${w} (diff ${g - w})`;
  }
  return undefined;
}

/** Values (compared with the reference rounded to float32) and shape. */
function expectValues(got: Arr, want: Arr, t: Tolerance, label = '') {
  expect(mismatch(got, want, t, true), label).toBeUndefined();
}

function expectJouleError(fn: () => unknown, op: string, arg: string) {
  let caught: unknown;
  try {
    const r = fn();
    if (r && typeof r === 'object' && 'dispose' in r) (r as Tensor).dispose();
  } catch (e) {
    caught = e;
  }
  expect(caught, `${op} should throw`).toBeInstanceOf(JouleError);
  const e = caught as JouleError;
  expect(e.op).toBe(op);
  expect(e.arg).toContain(arg);
  expect(e.message).toContain(arg);
}

type OpFn = (xs: Tensor[]) => Tensor;
type RefFn = (xs: Arr[]) => Arr;

const copy = (xs: Arr[]) => xs.map((x) => ({ shape: x.shape.slice(), data: x.data.slice() }));

/** Central differences of a float64 scalar function of several arrays (step relative to |x|). */
function centralDiff(L: (xs: Arr[]) => number, at: Arr[], step: number): Arr[] {
  const xs = copy(at);
  return xs.map((x) => {
    const g = new Float64Array(x.data.length);
    for (let j = 0; j < g.length; j++) {
      const v = x.data[j];
      const h = step * Math.max(1, Math.abs(v));
      x.data[j] = v + h;
      const lp = L(xs);
      x.data[j] = v - h;
      const lm = L(xs);
      x.data[j] = v;
      g[j] = (lp - lm) / (2 * h);
    }
    return { shape: x.shape.slice(), data: g };
  });
}

function weighted(ref: RefFn, c: Arr): (xs: Arr[]) => number {
  return (xs) => {
    const y = ref(xs).data;
    let s = 0;
    for (let i = 0; i < y.length; i++) s += c.data[i] * y[i];
    return s;
  };
}

/**
 * Checks the gradient of `L(xs) = Σ c ⊙ op(xs)` (random cotangent `c`) against central differences
 * of the float64 reference; with `order: 2`, also the gradient of `Σᵢ c2ᵢ ⊙ ∂L/∂xᵢ` (a
 * Hessian–vector product through nested `grad`) against mixed differences of the reference.
 */
async function checkGrad(name: string, op: OpFn, ref: RefFn, inputs: Arr[], seed: number, order: 1 | 2 = 1) {
  const rng = new Rng(seed);
  const c = randArr(rng, ref(copy(inputs)).shape);
  const L = weighted(ref, c);
  const lossOf = (ts: Tensor[]) => sum(mul(op(ts), toT(c)));
  const got = tidy(() => grad(lossOf)(inputs.map(toT)));
  const gotArr = await Promise.all(got.map(read));
  dispose(got);
  const want = centralDiff(L, inputs, 1e-5);
  gotArr.forEach((g, i) => {
    expect(mismatch(g, want[i], tol(name, 'grad'), false), `${name}: d/dx${i}`).toBeUndefined();
  });
  if (order === 1) return;
  const c2 = inputs.map((x) => randArr(rng, x.shape));
  // D(x) = directional derivative of L along c2, by central differences in float64
  const h = 3e-4;
  const D = (xs: Arr[]) => {
    const plus = xs.map((x, i) => ({ shape: x.shape, data: x.data.map((v, j) => v + h * c2[i].data[j]) }));
    const minus = xs.map((x, i) => ({ shape: x.shape, data: x.data.map((v, j) => v - h * c2[i].data[j]) }));
    return (L(plus) - L(minus)) / (2 * h);
  };
  const want2 = centralDiff(D, inputs, 3e-4);
  const got2 = tidy(() =>
    grad((ts: Tensor[]) => {
      const g = grad(lossOf)(ts);
      return g.map((gi, i) => sum(mul(gi, toT(c2[i])))).reduce((p, q) => add(p, q));
    })(inputs.map(toT)),
  );
  const got2Arr = await Promise.all(got2.map(read));
  dispose(got2);
  got2Arr.forEach((g, i) => {
    expect(mismatch(g, want2[i], tol(name, 'grad2'), false), `${name}: second order, x${i}`).toBeUndefined();
  });
}

/** The gradient through an op without a gradient rule is zero. */
async function expectZeroGrad(op: OpFn, inputs: Arr[]) {
  const g = tidy(() => grad((ts: Tensor[]) => sum(op(ts)))(inputs.map(toT)));
  for (const t of g) expect(Array.from(await t.data()).every((v) => v === 0)).toBe(true);
  dispose(g);
}

// ---------------------------------------------------------------------------------------------
// op tables

interface UnarySpec {
  name: string;
  f: (x: Tensor) => Tensor;
  ref: (x: number) => number;
  lo: number;
  hi: number;
  /** keep random inputs this far from `kink` (non-differentiable points, poles) */
  away?: [kink: number, distance: number];
  /** false: no gradient rule, the gradient through it is zero */
  differentiable?: boolean;
  edges?: number[];
}

const sigmoidRef = (x: number) => 1 / (1 + Math.exp(-x));
const softplusRef = (x: number) => (x > 30 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x)));

const EDGES = [0, -0, 1, -1, 1e-7, -1e-7, 20, -20, 90, -90, 1e30, -1e30, Infinity, -Infinity, Number.NaN];
const TRIG_EDGES = [0, -0, 1, -1, 1e-7, -1e-7, 20, -20, Infinity, -Infinity, Number.NaN];

const UNARY: UnarySpec[] = [
  { name: 'neg', f: neg, ref: (x) => -x, lo: -3, hi: 3 },
  { name: 'abs', f: abs, ref: Math.abs, lo: -3, hi: 3, away: [0, 0.05] },
  { name: 'sign', f: sign, ref: Math.sign, lo: -3, hi: 3, differentiable: false },
  { name: 'exp', f: exp, ref: Math.exp, lo: -3, hi: 3 },
  { name: 'log', f: log, ref: Math.log, lo: 0.1, hi: 5 },
  { name: 'log1p', f: log1p, ref: Math.log1p, lo: -0.9, hi: 5 },
  { name: 'expm1', f: expm1, ref: Math.expm1, lo: -3, hi: 3 },
  { name: 'sqrt', f: sqrt, ref: Math.sqrt, lo: 0.1, hi: 5 },
  { name: 'rsqrt', f: rsqrt, ref: (x) => 1 / Math.sqrt(x), lo: 0.1, hi: 5 },
  { name: 'square', f: square, ref: (x) => x * x, lo: -3, hi: 3 },
  { name: 'reciprocal', f: reciprocal, ref: (x) => 1 / x, lo: -3, hi: 3, away: [0, 0.3] },
  { name: 'sin', f: sin, ref: Math.sin, lo: -4, hi: 4, edges: TRIG_EDGES },
  { name: 'cos', f: cos, ref: Math.cos, lo: -4, hi: 4, edges: TRIG_EDGES },
  { name: 'tanh', f: tanh, ref: Math.tanh, lo: -3, hi: 3 },
  { name: 'sigmoid', f: sigmoid, ref: sigmoidRef, lo: -5, hi: 5 },
  { name: 'softplus', f: softplus, ref: softplusRef, lo: -5, hi: 5 },
  { name: 'logSigmoid', f: logSigmoid, ref: (x) => -softplusRef(-x), lo: -5, hi: 5 },
  { name: 'relu', f: relu, ref: (x) => (x < 0 ? 0 : x), lo: -3, hi: 3, away: [0, 0.05] },
  { name: 'silu', f: silu, ref: (x) => x * sigmoidRef(x), lo: -4, hi: 4 },
  { name: 'erf', f: erf, ref: erfRef, lo: -3, hi: 3 },
  { name: 'gelu', f: gelu, ref: (x) => 0.5 * x * (1 + erfRef(x / Math.SQRT2)), lo: -3, hi: 3 },
  { name: 'floor', f: floor, ref: Math.floor, lo: -3, hi: 3, differentiable: false },
  { name: 'ceil', f: ceil, ref: Math.ceil, lo: -3, hi: 3, differentiable: false },
  { name: 'round', f: round, ref: Math.round, lo: -3, hi: 3, differentiable: false },
  { name: 'isFinite', f: isFinite, ref: (x) => (Number.isFinite(x) ? 1 : 0), lo: -3, hi: 3, differentiable: false },
];

interface BinarySpec {
  name: string;
  f: (a: Tensor, b: Tensor) => Tensor;
  ref: (a: number, b: number) => number;
  a: [number, number];
  b: [number, number];
  bAway?: number;
  differentiable?: boolean;
}

const nanOr = (a: number, b: number, v: number) => (a !== a || b !== b ? Number.NaN : v);

const BINARY: BinarySpec[] = [
  { name: 'add', f: add, ref: (a, b) => a + b, a: [-3, 3], b: [-3, 3] },
  { name: 'sub', f: sub, ref: (a, b) => a - b, a: [-3, 3], b: [-3, 3] },
  { name: 'mul', f: mul, ref: (a, b) => a * b, a: [-3, 3], b: [-3, 3] },
  { name: 'div', f: div, ref: (a, b) => a / b, a: [-3, 3], b: [-3, 3], bAway: 0.3 },
  { name: 'pow', f: pow, ref: (a, b) => a ** b, a: [0.3, 3], b: [-2, 2] },
  { name: 'maximum', f: maximum, ref: (a, b) => nanOr(a, b, a >= b ? a : b), a: [-3, 3], b: [-3, 3] },
  { name: 'minimum', f: minimum, ref: (a, b) => nanOr(a, b, a <= b ? a : b), a: [-3, 3], b: [-3, 3] },
  { name: 'eq', f: eq, ref: (a, b) => (a === b ? 1 : 0), a: [-2, 2], b: [-2, 2], differentiable: false },
  { name: 'ne', f: ne, ref: (a, b) => (a !== b ? 1 : 0), a: [-2, 2], b: [-2, 2], differentiable: false },
  { name: 'lt', f: lt, ref: (a, b) => (a < b ? 1 : 0), a: [-2, 2], b: [-2, 2], differentiable: false },
  { name: 'le', f: le, ref: (a, b) => (a <= b ? 1 : 0), a: [-2, 2], b: [-2, 2], differentiable: false },
  { name: 'gt', f: gt, ref: (a, b) => (a > b ? 1 : 0), a: [-2, 2], b: [-2, 2], differentiable: false },
  { name: 'ge', f: ge, ref: (a, b) => (a >= b ? 1 : 0), a: [-2, 2], b: [-2, 2], differentiable: false },
];

/** Shape pairs covering NumPy broadcasting: column × row, scalars, rank 3, both sides expanding. */
const BROADCAST_CASES: [number[], number[]][] = [
  [[5], [5]],
  [[3, 1], [4]],
  [[], [2, 3]],
  [[2, 3], []],
  [
    [2, 3, 4],
    [3, 1],
  ],
  [
    [2, 1, 4],
    [1, 3, 1],
  ],
];

/** Edge pairs for the binary ops (each side also NaN, ±∞, 0, large). */
const BINARY_EDGES: [number, number][] = [
  [0, 0],
  [-0, 0],
  [1, 0],
  [-1, 0],
  [0, -1],
  [2, 3],
  [-2, 3],
  [-2, 0.5],
  [1e30, 1e30],
  [-1e30, 1e-30],
  [Infinity, Infinity],
  [Infinity, -Infinity],
  [-Infinity, 2],
  [Number.NaN, 1],
  [1, Number.NaN],
  [Number.NaN, Number.NaN],
];

function sampleBinary(spec: BinarySpec, rng: Rng, aShape: number[], bShape: number[]): [Arr, Arr] {
  const a = randArr(rng, aShape, ...spec.a);
  const b = spec.bAway ? randAway(rng, bShape, ...spec.b, 0, spec.bAway) : randArr(rng, bShape, ...spec.b);
  if (spec.differentiable === false) {
    // integer values so that ties (a == b) occur
    a.data = a.data.map(Math.round);
    b.data = b.data.map(Math.round);
  }
  return [a, b];
}

interface ReductionSpec {
  name: string;
  f: (x: Tensor, axes: number | number[] | undefined, keepDims: boolean) => Tensor;
  ref: (v: number[]) => number;
  secondOrder: boolean;
}

const REDUCTIONS: ReductionSpec[] = [
  { name: 'sum', f: (x, a, k) => sum(x, a, k), ref: sumOf, secondOrder: true },
  { name: 'mean', f: (x, a, k) => mean(x, a, k), ref: (v) => sumOf(v) / v.length, secondOrder: true },
  { name: 'max', f: (x, a, k) => max(x, a, k), ref: maxOf, secondOrder: true },
  { name: 'min', f: (x, a, k) => min(x, a, k), ref: minOf, secondOrder: true },
  { name: 'logSumExp', f: (x, a, k) => logSumExp(x, a, k), ref: logSumExpOf, secondOrder: true },
  { name: 'var', f: (x, a, k) => variance(x, a, k), ref: varOf(0), secondOrder: true },
  { name: 'var', f: (x, a, k) => variance(x, a, k, 1), ref: varOf(1), secondOrder: true },
  { name: 'std', f: (x, a, k) => std(x, a, k), ref: (v) => Math.sqrt(varOf(0)(v)), secondOrder: true },
  { name: 'std', f: (x, a, k) => std(x, a, k, 1), ref: (v) => Math.sqrt(varOf(1)(v)), secondOrder: false },
];

const AXES_CASES: [number | number[] | undefined, boolean][] = [
  [undefined, false],
  [undefined, true],
  [0, false],
  [1, true],
  [-1, false],
  [[0, 2], false],
  [[0, 2], true],
  [[1, 2], false],
  [[0, 1, 2], true],
];

function softmaxRef(x: Arr, axis: number, logOut: boolean): Arr {
  const lse = reduce(x, axis, true, logSumExpOf);
  return map([x, lse], (a, l) => (logOut ? a - l : Math.exp(a - l)));
}

function argRef(x: Arr, axis: number, isMax: boolean): Arr {
  return reduce(x, axis, false, (v) => {
    let at = 0;
    for (let i = 1; i < v.length && v[at] === v[at]; i++)
      if (v[i] !== v[i] || (isMax ? v[i] > v[at] : v[i] < v[at])) at = i;
    return at;
  });
}

/** `M Mᵀ + 3 I` for a batch of square M: symmetric positive definite, well conditioned. */
function spdRef(m: Arr): Arr {
  const n = m.shape[m.shape.length - 1];
  const p = matmulRef(m, m, false, true);
  for (let b = 0; b < p.data.length; b += n * n) for (let i = 0; i < n; i++) p.data[b + i * n + i] += 3;
  return p;
}

function spd(m: Tensor): Tensor {
  const n = m.shape[m.rank - 1];
  return add(matmul(m, m, { transB: true }), mul(eye(n), 3));
}

// ---------------------------------------------------------------------------------------------

/**
 * Registers the op suite for one backend: `makeBackend()` becomes the active backend for the
 * suite's duration and the CPU backend is restored afterwards.
 */
export function runOpSuite(backendName: string, makeBackend: () => Backend): void {
  describe(`ops on the ${backendName} backend`, () => {
    let backend: Backend | undefined;
    beforeAll(() => {
      backend = makeBackend();
      setBackend(backend);
    });
    afterAll(() => {
      setBackend(new CpuBackend());
    });

    it('runs on the requested backend', () => {
      expect(getBackend()).toBe(backend);
    });

    describe('creation', () => {
      it('tensor from nested arrays, flat arrays with a shape, typed arrays and scalars', async () => {
        expectValues(
          await run(() =>
            tensor([
              [1, 2, 3],
              [4, 5, 6],
            ]),
          ),
          arr([2, 3], [1, 2, 3, 4, 5, 6]),
          tol('tensor', 'fwd'),
        );
        expectValues(await run(() => tensor([1, 2, 3, 4], [2, 2])), arr([2, 2], [1, 2, 3, 4]), tol('tensor', 'fwd'));
        expectValues(await run(() => tensor(new Float32Array([0.1, -2]))), arr([2], [0.1, -2]), tol('tensor', 'fwd'));
        expectValues(await run(() => tensor(7)), arr([], [7]), tol('tensor', 'fwd'));
        expectValues(await run(() => tensor([])), arr([0], []), tol('tensor', 'fwd'));
        expectValues(await run(() => tensor(2, [2, 2])), arr([2, 2], [2, 2, 2, 2]), tol('tensor', 'fwd'));
        // float32 rounding of the stored values
        expect((await run(() => tensor([0.1]))).data[0]).toBe(Math.fround(0.1));
      });

      it('tensor rejects ragged arrays, wrong counts and bad shapes', () => {
        expectJouleError(() => tensor([[1, 2], [3]]), 'tensor', 'values');
        expectJouleError(() => tensor([1, 2, 3], [2, 2]), 'tensor', 'values');
        expectJouleError(() => tensor([1, 2], [2, -1]), 'tensor', 'shape');
        expectJouleError(() => tensor([1, 2], [1.5]), 'tensor', 'shape');
      });

      it('full, zeros, ones, zerosLike, onesLike', async () => {
        expectValues(await run(() => full([2, 3], -1.5)), arr([2, 3], new Array(6).fill(-1.5)), tol('full', 'fwd'));
        expectValues(await run(() => zeros([3, 0])), arr([3, 0], []), tol('zeros', 'fwd'));
        expectValues(await run(() => zeros([2])), arr([2], [0, 0]), tol('zeros', 'fwd'));
        expectValues(await run(() => ones([])), arr([], [1]), tol('ones', 'fwd'));
        expectValues(await run(() => zerosLike(ones([2, 2]))), arr([2, 2], [0, 0, 0, 0]), tol('zerosLike', 'fwd'));
        expectValues(await run(() => onesLike(zeros([3]))), arr([3], [1, 1, 1]), tol('onesLike', 'fwd'));
        expectJouleError(() => zeros([-1]), 'zeros', 'shape');
        expectJouleError(() => full([2.5], 1), 'full', 'shape');
      });

      it('eye, arange, linspace', async () => {
        expectValues(await run(() => eye(3)), arr([3, 3], [1, 0, 0, 0, 1, 0, 0, 0, 1]), tol('eye', 'fwd'));
        expectValues(await run(() => eye(2, 3)), arr([2, 3], [1, 0, 0, 0, 1, 0]), tol('eye', 'fwd'));
        expectValues(await run(() => arange(4)), arr([4], [0, 1, 2, 3]), tol('arange', 'fwd'));
        expectValues(await run(() => arange(1, 2, 0.25)), arr([4], [1, 1.25, 1.5, 1.75]), tol('arange', 'fwd'));
        expectValues(await run(() => arange(3, 0, -1)), arr([3], [3, 2, 1]), tol('arange', 'fwd'));
        expectValues(await run(() => arange(2, 1)), arr([0], []), tol('arange', 'fwd'));
        expectValues(await run(() => linspace(0, 1, 5)), arr([5], [0, 0.25, 0.5, 0.75, 1]), tol('linspace', 'fwd'));
        expectValues(await run(() => linspace(2, 3, 1)), arr([1], [2]), tol('linspace', 'fwd'));
        expectJouleError(() => eye(-1), 'eye', 'n');
        expectJouleError(() => arange(0, 1, 0), 'arange', 'step');
        expectJouleError(() => linspace(0, 1, 0), 'linspace', 'n');
      });

      it('rand, randn, randint: shapes, ranges, reproducibility', async () => {
        const u = await run(() => rand([200], new Rng(3), -2, 5));
        expect(u.data.every((v) => v >= -2 && v < 5)).toBe(true);
        const again = await run(() => rand([200], new Rng(3), -2, 5));
        expect(Array.from(again.data)).toEqual(Array.from(u.data));
        const z = await run(() => randn([4, 50], new Rng(4), 10, 0.01));
        expect(z.shape).toEqual([4, 50]);
        expect(z.data.every((v) => Math.abs(v - 10) < 0.1)).toBe(true);
        const k = await run(() => randint([300], -3, 4, new Rng(5)));
        expect(k.data.every((v) => Number.isInteger(v) && v >= -3 && v < 4)).toBe(true);
        expect(new Set(k.data).size).toBe(7);
        expectJouleError(() => rand([2], undefined as unknown as Rng), 'rand', 'rng');
        expectJouleError(() => randn([2], {} as Rng), 'randn', 'rng');
        expectJouleError(() => randint([2], 3, 3, new Rng(0)), 'Rng.integers', 'high');
      });
    });

    describe('element-wise, one argument', () => {
      for (const spec of UNARY) {
        it(`${spec.name}: random values and edge values`, async () => {
          const rng = new Rng(11);
          const x = spec.away
            ? randAway(rng, [3, 4], spec.lo, spec.hi, ...spec.away)
            : randArr(rng, [3, 4], spec.lo, spec.hi);
          expectValues(await run(() => spec.f(toT(x))), map([x], spec.ref), tol(spec.name, 'fwd'), spec.name);
          const e = arr([(spec.edges ?? EDGES).length], (spec.edges ?? EDGES).map(Math.fround));
          expectValues(
            await run(() => spec.f(toT(e))),
            map([e], spec.ref),
            tol(spec.name, 'fwd'),
            `${spec.name} edges`,
          );
          // a scalar
          expectValues(await run(() => spec.f(tensor(0.5))), arr([], [spec.ref(0.5)]), tol(spec.name, 'fwd'));
        });
        if (spec.differentiable === false) {
          it(`${spec.name}: no gradient flows`, async () => {
            await expectZeroGrad(([t]) => spec.f(t), [randArr(new Rng(12), [5], spec.lo, spec.hi)]);
          });
        } else {
          it(`${spec.name}: first- and second-order gradients`, async () => {
            const rng = new Rng(13);
            const x = spec.away
              ? randAway(rng, [3, 4], spec.lo, spec.hi, ...spec.away)
              : randArr(rng, [3, 4], spec.lo, spec.hi);
            await checkGrad(
              spec.name,
              ([t]) => spec.f(t),
              ([a]) => map([a], spec.ref),
              [x],
              14,
              2,
            );
          });
        }
      }

      it('a non-tensor argument throws naming it', () => {
        expectJouleError(() => exp([1, 2] as unknown as Tensor), 'exp', 'x');
        expectJouleError(() => neg('a' as unknown as Tensor), 'neg', 'x');
      });
    });

    describe('element-wise, two arguments', () => {
      for (const spec of BINARY) {
        it(`${spec.name}: broadcasting cases`, async () => {
          const rng = new Rng(21);
          for (const [as, bs] of BROADCAST_CASES) {
            const [a, b] = sampleBinary(spec, rng, as, bs);
            expectValues(
              await run(() => spec.f(toT(a), toT(b))),
              map([a, b], spec.ref),
              tol(spec.name, 'fwd'),
              `${spec.name} [${as}] [${bs}]`,
            );
          }
        });
        it(`${spec.name}: edge values (NaN, ±∞, 0, large)`, async () => {
          const a = arr(
            [BINARY_EDGES.length],
            BINARY_EDGES.map((p) => Math.fround(p[0])),
          );
          const b = arr(
            [BINARY_EDGES.length],
            BINARY_EDGES.map((p) => Math.fround(p[1])),
          );
          expectValues(
            await run(() => spec.f(toT(a), toT(b))),
            map([a, b], spec.ref),
            tol(spec.name, 'fwd'),
            `${spec.name} edges`,
          );
          // a plain number on either side
          expectValues(
            await run(() => spec.f(toT(a), 2 as unknown as Tensor)),
            map([a, arr([], [2])], spec.ref),
            tol(spec.name, 'fwd'),
          );
        });
        if (spec.differentiable === false) {
          it(`${spec.name}: no gradient flows`, async () => {
            await expectZeroGrad(([p, q]) => spec.f(p, q), sampleBinary(spec, new Rng(22), [3, 1], [4]));
          });
        } else {
          it(`${spec.name}: gradients (first and second order) with broadcasting`, async () => {
            const rng = new Rng(23);
            for (const [as, bs] of [
              [[3, 1], [4]],
              [
                [2, 3, 4],
                [3, 1],
              ],
              [[], [2, 2]],
            ] as [number[], number[]][]) {
              const inputs = sampleBinary(spec, rng, as, bs);
              await checkGrad(
                spec.name,
                ([p, q]) => spec.f(p, q),
                ([p, q]) => map([p, q], spec.ref),
                inputs,
                24,
                2,
              );
            }
          });
        }
        it(`${spec.name}: shapes that do not broadcast throw`, () => {
          expectJouleError(() => spec.f(zeros([2, 3]), zeros([4])), spec.name, 'b');
          expectJouleError(() => spec.f(zeros([2]), [1, 2] as unknown as Tensor), spec.name, 'b');
        });
      }

      it('pow with a constant exponent; maximum/minimum propagate NaN', async () => {
        const x = arr([4], [-2, -1, 0.5, 3]);
        expectValues(
          await run(() => pow(toT(x), 3)),
          map([x], (v) => v ** 3),
          tol('pow', 'fwd'),
        );
        expectValues(
          await run(() => pow(toT(x), 0.5)),
          map([x], (v) => v ** 0.5),
          tol('pow', 'fwd'),
        );
        const n = arr([3], [Number.NaN, 1, 2]);
        const got = await run(() => maximum(toT(n), 1.5));
        expect(Number.isNaN(got.data[0])).toBe(true);
        expect(Number.isNaN((await run(() => minimum(1.5 as unknown as Tensor, toT(n)))).data[0])).toBe(true);
      });

      it('clamp: values, NaN, gradient 1 inside and 0 outside, bad bounds', async () => {
        const x = arr([6], [-2, -0.5, 0.2, 0.7, 3, Number.NaN]);
        expectValues(
          await run(() => clamp(toT(x), -1, 1)),
          arr([6], [-1, -0.5, 0.2, 0.7, 1, Number.NaN]),
          tol('clamp', 'fwd'),
        );
        const inputs = [randAway(new Rng(25), [3, 4], -2, 2, 1, 0.05)];
        inputs[0].data = inputs[0].data.map((v) => (Math.abs(v + 1) < 0.05 ? v + 0.1 : v));
        await checkGrad(
          'clamp',
          ([t]) => clamp(t, -1, 1),
          ([a]) => map([a], (v) => Math.min(Math.max(v, -1), 1)),
          inputs,
          26,
          2,
        );
        expectJouleError(() => clamp(zeros([2]), 1, 0), 'clamp', 'hi');
      });

      it('where: broadcasting of condition and both branches, gradients to each branch', async () => {
        const rng = new Rng(27);
        const cond = arr([3, 1], [1, 0, 1]);
        const a = randArr(rng, [4]);
        const b = randArr(rng, [3, 4]);
        const pick = (c: number, p: number, q: number) => (c !== 0 ? p : q);
        expectValues(await run(() => where(toT(cond), toT(a), toT(b))), map([cond, a, b], pick), tol('where', 'fwd'));
        expectValues(
          await run(() => where(toT(cond), toT(a), -1 as unknown as Tensor)),
          map([cond, a, arr([], [-1])], pick),
          tol('where', 'fwd'),
        );
        await checkGrad(
          'where',
          ([p, q]) => where(toT(cond), p, q),
          ([p, q]) => map([cond, p, q], pick),
          [a, b],
          28,
          2,
        );
        expectJouleError(() => where(zeros([2]), zeros([3]), zeros([2])), 'where', 'a');
      });

      it('stopGradient: same values, no gradient through it', async () => {
        const x = randArr(new Rng(29), [4]);
        expectValues(await run(() => stopGradient(toT(x))), x, tol('stopGradient', 'fwd'));
        const g = tidy(() => grad((t: Tensor) => sum(mul(stopGradient(t), t)))(toT(x)));
        expectValues(await read(g), x, tol('stopGradient', 'fwd'));
        g.dispose();
      });
    });

    describe('reductions', () => {
      for (const spec of REDUCTIONS) {
        it(`${spec.name}: every axes case, keepDims both ways`, async () => {
          const x = randDistinct(new Rng(31), [2, 3, 4]);
          for (const [axes, keep] of AXES_CASES) {
            expectValues(
              await run(() => spec.f(toT(x), axes, keep)),
              reduce(x, axes, keep, spec.ref),
              tol(spec.name, 'fwd'),
              `${spec.name} ${axes} ${keep}`,
            );
          }
          const big = arr([2, 3], [1000, 1001, 999, -1000, -1002, -999]);
          expectValues(
            await run(() => spec.f(toT(big), 1, false)),
            reduce(big, 1, false, spec.ref),
            tol(spec.name, 'fwd'),
            `${spec.name} large`,
          );
        });
        it(`${spec.name}: gradients${spec.secondOrder ? ' (first and second order)' : ''}`, async () => {
          const x = randDistinct(new Rng(32), [2, 3, 4]);
          for (const axes of [undefined, 1, [0, 2]]) {
            await checkGrad(
              spec.name,
              ([t]) => spec.f(t, axes, false),
              ([a]) => reduce(a, axes, false, spec.ref),
              [x],
              33,
              spec.secondOrder ? 2 : 1,
            );
          }
        });
      }

      it('reductions reject bad axes and empty extrema; sum of an empty axis is 0', async () => {
        expectJouleError(() => sum(zeros([2, 3]), 2), 'sum', 'axes');
        expectJouleError(() => mean(zeros([2, 3]), [0, 0]), 'mean', 'axes');
        expectJouleError(() => max(zeros([2, 0]), 1), 'max', 'x');
        expectJouleError(() => variance(zeros([3]), 0, false, 3), 'var', 'correction');
        expectValues(await run(() => sum(zeros([2, 0]), 1)), arr([2], [0, 0]), tol('sum', 'fwd'));
      });

      it('max/min propagate NaN; logSumExp handles −∞ rows, +∞ and large magnitudes', async () => {
        const n = arr([2, 3], [1, Number.NaN, 3, 4, 5, 6]);
        const mx = await run(() => max(toT(n), 1));
        expect(Number.isNaN(mx.data[0]) && mx.data[1] === 6).toBe(true);
        const mn = await run(() => min(toT(n), 1));
        expect(Number.isNaN(mn.data[0]) && mn.data[1] === 4).toBe(true);
        const x = arr([5, 2], [-Infinity, -Infinity, 0, -Infinity, 1000, 1000, -1000, -1000, Infinity, 0]);
        expectValues(await run(() => logSumExp(toT(x), 1)), reduce(x, 1, false, logSumExpOf), tol('logSumExp', 'fwd'));
        // its gradient is the softmax, 0 on −∞ entries, and no NaN from the all −∞ row
        const finiteRows = arr([2, 3], [0, -Infinity, 1, 500, -Infinity, 500]);
        const g = tidy(() => grad((t: Tensor) => sum(logSumExp(t, 1)))(toT(finiteRows)));
        expectValues(
          await read(g),
          arr([2, 3], [1 / (1 + Math.E), 0, Math.E / (1 + Math.E), 0.5, 0, 0.5]),
          tol('logSumExp', 'grad'),
        );
        g.dispose();
      });

      it('argmax/argmin: first on ties, NaN wins, flattened when no axis', async () => {
        const x = arr([2, 4], [1, 5, 5, 0, Number.NaN, 2, -1, 2]);
        expectValues(await run(() => argmax(toT(x), 1)), argRef(x, 1, true), tol('argmax', 'fwd'));
        expectValues(await run(() => argmin(toT(x), 1)), argRef(x, 1, false), tol('argmin', 'fwd'));
        const y = randDistinct(new Rng(34), [3, 4]);
        expectValues(await run(() => argmax(toT(y), 0)), argRef(y, 0, true), tol('argmax', 'fwd'));
        expectValues(await run(() => argmin(toT(y), -1)), argRef(y, 1, false), tol('argmin', 'fwd'));
        const flat = reshapeRef(y, [12]);
        expectValues(await run(() => argmax(toT(y))), argRef(flat, 0, true), tol('argmax', 'fwd'));
        expectJouleError(() => argmax(zeros([2]), 1), 'argmax', 'axis');
        expectJouleError(() => argmin(zeros([0])), 'argmin', 'x');
      });

      it('softmax and logSoftmax: values on any axis, stable at large magnitudes, gradients to second order', async () => {
        const x = randArr(new Rng(35), [3, 4], -3, 3);
        for (const axis of [0, 1, -1]) {
          const a = (axis + 2) % 2;
          expectValues(await run(() => softmax(toT(x), axis)), softmaxRef(x, a, false), tol('softmax', 'fwd'));
          expectValues(await run(() => logSoftmax(toT(x), axis)), softmaxRef(x, a, true), tol('logSoftmax', 'fwd'));
        }
        const big = arr([1, 3], [1000, 0, -1000]);
        expectValues(await run(() => softmax(toT(big))), arr([1, 3], [1, Math.exp(-1000), 0]), tol('softmax', 'fwd'));
        expectValues(await run(() => logSoftmax(toT(big))), arr([1, 3], [0, -1000, -2000]), tol('logSoftmax', 'fwd'));
        await checkGrad(
          'softmax',
          ([t]) => softmax(t, 0),
          ([a]) => softmaxRef(a, 0, false),
          [x],
          36,
          2,
        );
        await checkGrad(
          'logSoftmax',
          ([t]) => logSoftmax(t, -1),
          ([a]) => softmaxRef(a, 1, true),
          [x],
          37,
          2,
        );
        expectJouleError(() => softmax(zeros([2]), 1), 'logSoftmax', 'axis');
      });

      it('cumsum: forward and reverse on every axis, gradients', async () => {
        const x = randArr(new Rng(38), [2, 3, 4]);
        for (const axis of [0, 1, 2, -1]) {
          for (const reverse of [false, true]) {
            expectValues(
              await run(() => cumsum(toT(x), axis, reverse)),
              cumsumRef(x, (axis + 3) % 3, reverse),
              tol('cumsum', 'fwd'),
            );
          }
        }
        await checkGrad(
          'cumsum',
          ([t]) => cumsum(t, 1),
          ([a]) => cumsumRef(a, 1, false),
          [x],
          39,
          2,
        );
        await checkGrad(
          'cumsum',
          ([t]) => cumsum(t, -1, true),
          ([a]) => cumsumRef(a, 2, true),
          [x],
          40,
        );
        expectJouleError(() => cumsum(zeros([2]), 3), 'cumsum', 'axis');
      });

      it('norm: ord 2, 1, ∞ and 3 over axes, gradients', async () => {
        const x = randAway(new Rng(41), [3, 4], -2, 2, 0, 0.1);
        const refs: [number, (v: number[]) => number][] = [
          [2, (v) => Math.sqrt(sumOf(v.map((q) => q * q)))],
          [1, (v) => sumOf(v.map(Math.abs))],
          [Infinity, (v) => maxOf(v.map(Math.abs))],
          [3, (v) => sumOf(v.map((q) => Math.abs(q) ** 3)) ** (1 / 3)],
        ];
        for (const [ord, f] of refs) {
          expectValues(await run(() => norm(toT(x), ord)), reduce(x, undefined, false, f), tol('norm', 'fwd'));
          expectValues(await run(() => norm(toT(x), ord, 1, true)), reduce(x, 1, true, f), tol('norm', 'fwd'));
          await checkGrad(
            'norm',
            ([t]) => norm(t, ord, 1),
            ([a]) => reduce(a, 1, false, f),
            [x],
            42,
            ord === Infinity ? 1 : 2,
          );
        }
        expectJouleError(() => norm(zeros([2]), -1), 'norm', 'ord');
      });
    });

    describe('shape', () => {
      const x = randArr(new Rng(51), [2, 3, 4]);

      it('reshape (with −1), flatten; gradients; bad shapes throw', async () => {
        expectValues(await run(() => reshape(toT(x), [4, -1])), reshapeRef(x, [4, 6]), tol('reshape', 'fwd'));
        expectValues(await run(() => toT(x).flatten()), reshapeRef(x, [24]), tol('reshape', 'fwd'));
        await checkGrad(
          'reshape',
          ([t]) => reshape(t, [6, 4]),
          ([a]) => reshapeRef(a, [6, 4]),
          [x],
          52,
          2,
        );
        expectJouleError(() => reshape(zeros([6]), [4, -1]), 'reshape', 'shape');
        expectJouleError(() => reshape(zeros([6]), [-1, -1]), 'reshape', 'shape');
        expectJouleError(() => reshape(zeros([6]), [5]), 'reshape', 'shape');
      });

      it('transpose (default reverses), gradients; a bad permutation throws', async () => {
        for (const perm of [[2, 0, 1], [0, 2, 1], undefined]) {
          const p = perm ?? [2, 1, 0];
          expectValues(await run(() => transpose(toT(x), perm)), transposeRef(x, p), tol('transpose', 'fwd'));
          await checkGrad(
            'transpose',
            ([t]) => transpose(t, perm),
            ([a]) => transposeRef(a, p),
            [x],
            53,
          );
        }
        expectJouleError(() => transpose(zeros([2, 3]), [0, 0]), 'transpose', 'perm');
        expectJouleError(() => transpose(zeros([2, 3]), [0, 2]), 'transpose', 'perm');
      });

      it('broadcastTo, squeeze, unsqueeze; gradients sum over broadcast axes', async () => {
        const c = randArr(new Rng(54), [3, 1]);
        const bref = (a: Arr) => map([a, arr([2, 3, 4], new Array(24).fill(0))], (p) => p);
        expectValues(await run(() => broadcastTo(toT(c), [2, 3, 4])), bref(c), tol('broadcastTo', 'fwd'));
        await checkGrad(
          'broadcastTo',
          ([t]) => broadcastTo(t, [2, 3, 4]),
          ([a]) => bref(a),
          [c],
          55,
          2,
        );
        expectJouleError(() => broadcastTo(zeros([3]), [4]), 'broadcastTo', 'shape');
        expectJouleError(() => broadcastTo(zeros([2, 3]), [3]), 'broadcastTo', 'shape');
        const s = randArr(new Rng(56), [2, 1, 3, 1]);
        expect((await run(() => squeeze(toT(s)))).shape).toEqual([2, 3]);
        expect((await run(() => squeeze(toT(s), 1))).shape).toEqual([2, 3, 1]);
        expect((await run(() => squeeze(toT(s), [1, -1]))).shape).toEqual([2, 3]);
        expect((await run(() => unsqueeze(toT(x), -1))).shape).toEqual([2, 3, 4, 1]);
        expect((await run(() => unsqueeze(toT(x), 0))).shape).toEqual([1, 2, 3, 4]);
        await checkGrad(
          'squeeze',
          ([t]) => squeeze(t),
          ([a]) => reshapeRef(a, [2, 3]),
          [s],
          57,
        );
        await checkGrad(
          'unsqueeze',
          ([t]) => unsqueeze(t, 1),
          ([a]) => reshapeRef(a, [2, 1, 3, 4]),
          [x],
          58,
        );
        expectJouleError(() => squeeze(zeros([2, 1]), 0), 'squeeze', 'axes');
        expectJouleError(() => unsqueeze(zeros([2]), 3), 'unsqueeze', 'axis');
      });

      it('sumToShape sums a broadcast gradient back', async () => {
        expectValues(
          await run(() => sumToShape(toT(x), [3, 1])),
          reshapeRef(reduce(x, [0, 2], false, sumOf), [3, 1]),
          tol('sumToShape', 'fwd'),
        );
      });

      it('slice and pad: values, gradients, bad arguments', async () => {
        expectValues(
          await run(() => slice(toT(x), [1, 1, 0], [1, -1, 3])),
          sliceRef(x, [1, 1, 0], [1, 2, 3]),
          tol('slice', 'fwd'),
        );
        expectValues(await run(() => slice(toT(x), [0, 2])), sliceRef(x, [0, 2, 0], [2, 1, 4]), tol('slice', 'fwd'));
        await checkGrad(
          'slice',
          ([t]) => slice(t, [0, 1, 1], [2, 2, 2]),
          ([a]) => sliceRef(a, [0, 1, 1], [2, 2, 2]),
          [x],
          59,
          2,
        );
        expectJouleError(() => slice(zeros([4]), [3], [2]), 'slice', 'begin');
        expectJouleError(() => slice(zeros([4]), [0, 0]), 'slice', 'begin');
        const pads: [number, number][] = [
          [1, 0],
          [0, 2],
          [2, 1],
        ];
        expectValues(await run(() => pad(toT(x), pads)), padRef(x, pads), tol('pad', 'fwd'));
        await checkGrad(
          'pad',
          ([t]) => pad(t, pads),
          ([a]) => padRef(a, pads),
          [x],
          60,
          2,
        );
        expectJouleError(() => pad(zeros([2]), [[1, -1]]), 'pad', 'paddings');
        expectJouleError(
          () =>
            pad(zeros([2]), [
              [1, 1],
              [0, 0],
            ]),
          'pad',
          'paddings',
        );
      });

      it('concat, stack, split: values, gradients, mismatched shapes', async () => {
        const rng = new Rng(61);
        const parts = [randArr(rng, [2, 3]), randArr(rng, [2, 1]), randArr(rng, [2, 2])];
        expectValues(await run(() => concat(parts.map(toT), 1)), concatRef(parts, 1), tol('concat', 'fwd'));
        expectValues(await run(() => concat(parts.map(toT), -1)), concatRef(parts, 1), tol('concat', 'fwd'));
        const rows = [randArr(rng, [1, 3]), randArr(rng, [2, 3])];
        expectValues(await run(() => concat(rows.map(toT), 0)), concatRef(rows, 0), tol('concat', 'fwd'));
        expectValues(await run(() => concat([toT(rows[1])])), rows[1], tol('concat', 'fwd'));
        await checkGrad(
          'concat',
          (ts) => concat(ts, 1),
          (as) => concatRef(as, 1),
          parts,
          62,
          2,
        );
        expectJouleError(() => concat([zeros([2, 3]), zeros([3, 3])], 1), 'concat', 'xs[1]');
        expectJouleError(() => concat([], 0), 'concat', 'xs');

        const same = [randArr(rng, [2, 3]), randArr(rng, [2, 3]), randArr(rng, [2, 3])];
        for (const axis of [0, 1, 2, -1]) {
          const a = (axis + 3) % 3;
          const want = concatRef(
            same.map((s) => reshapeRef(s, [...s.shape.slice(0, a), 1, ...s.shape.slice(a)])),
            a,
          );
          expectValues(await run(() => stack(same.map(toT), axis)), want, tol('stack', 'fwd'));
        }
        await checkGrad(
          'stack',
          (ts) => stack(ts, 1),
          (as) =>
            concatRef(
              as.map((s) => reshapeRef(s, [2, 1, 3])),
              1,
            ),
          same,
          63,
        );
        expectJouleError(() => stack([zeros([2]), zeros([3])]), 'stack', 'xs[1]');

        const y = randArr(rng, [6, 2]);
        const three = await Promise.all(
          tidy(() => split(toT(y), 3)).map(async (t) => {
            const v = await read(t);
            t.dispose();
            return v;
          }),
        );
        three.forEach((p, i) => {
          expectValues(p, sliceRef(y, [2 * i, 0], [2, 2]), tol('split', 'fwd'));
        });
        // weighting the parts differently checks that each part's gradient lands in its own place
        const splitOp = (t: Tensor) =>
          concat(
            split(t, [1, 0, 5], 0).map((p, i) => mul(p, i + 1)),
            0,
          );
        const splitRef = (a: Arr) =>
          concatRef(
            [sliceRef(a, [0, 0], [1, 2]), sliceRef(a, [1, 0], [5, 2])].map((p, i) =>
              map([p], (v) => v * (i === 0 ? 1 : 3)),
            ),
            0,
          );
        expectValues(await run(() => splitOp(toT(y))), splitRef(y), tol('split', 'fwd'));
        await checkGrad(
          'split',
          ([t]) => splitOp(t),
          ([a]) => splitRef(a),
          [y],
          64,
        );
        expectJouleError(() => split(zeros([5]), 2), 'split', 'sections');
        expectJouleError(() => split(zeros([5]), [2, 2]), 'split', 'sections');
      });
    });

    describe('indexing', () => {
      it('indexSelect / gather: repeated indices, index tensors of rank 2, gradients accumulate', async () => {
        const rng = new Rng(71);
        const x = randArr(rng, [4, 3]);
        const idx = [2, 0, 2, 3];
        expectValues(
          await run(() => indexSelect(toT(x), idx)),
          indexSelectRef(x, idx, [4], 0),
          tol('indexSelect', 'fwd'),
        );
        expectValues(
          await run(() => gather(toT(x), tensor([1, 1]), 1)),
          indexSelectRef(x, [1, 1], [2], 1),
          tol('indexSelect', 'fwd'),
        );
        await checkGrad(
          'indexSelect',
          ([t]) => indexSelect(t, idx),
          ([a]) => indexSelectRef(a, idx, [4], 0),
          [x],
          72,
          2,
        );
        const y = randArr(rng, [2, 3, 2]);
        const idx2 = [0, 2, 1, 1];
        expectValues(
          await run(() => indexSelect(toT(y), tensor(idx2, [2, 2]), 1)),
          indexSelectRef(y, idx2, [2, 2], 1),
          tol('indexSelect', 'fwd'),
        );
        await checkGrad(
          'indexSelect',
          ([t]) => indexSelect(t, tensor(idx2, [2, 2]), 1),
          ([a]) => indexSelectRef(a, idx2, [2, 2], 1),
          [y],
          73,
        );
        if (getBackend().canReadSync) {
          expectJouleError(() => indexSelect(toT(x), [4]), 'indexSelect', 'indices');
          expectJouleError(() => indexSelect(toT(x), [0.5]), 'indexSelect', 'indices');
          expectJouleError(() => indexSelect(toT(x), [-1]), 'indexSelect', 'indices');
        }
        expectJouleError(() => indexSelect(toT(x), [0], 2), 'indexSelect', 'axis');
      });

      it('indexAdd: the adjoint of indexSelect, values and gradient', async () => {
        const g = randArr(new Rng(74), [4, 3]);
        const idx = [2, 0, 2, 1];
        const ref = (a: Arr) => {
          const out = new Float64Array(9);
          for (let j = 0; j < 4; j++) for (let i = 0; i < 3; i++) out[idx[j] * 3 + i] += a.data[j * 3 + i];
          return arr([3, 3], out);
        };
        expectValues(await run(() => indexAdd(toT(g), idx, 0, 3)), ref(g), tol('indexAdd', 'fwd'));
        await checkGrad(
          'indexAdd',
          ([t]) => indexAdd(t, idx, 0, 3),
          ([a]) => ref(a),
          [g],
          75,
          2,
        );
        expectJouleError(() => indexAdd(toT(g), [0, 1], 0, 3), 'indexAdd', 'g');
      });

      it('takeAlongAxis and scatterAddAlongAxis: values, gradients, bad indices', async () => {
        const rng = new Rng(76);
        const x = randArr(rng, [3, 4]);
        const idx1 = arr([3, 2], [3, 0, 1, 1, 2, 3]);
        expectValues(
          await run(() => takeAlongAxis(toT(x), toT(idx1), 1)),
          takeAlongRef(x, idx1, 1),
          tol('takeAlongAxis', 'fwd'),
        );
        const idx0 = arr([2, 4], [0, 2, 1, 2, 2, 2, 0, 1]);
        expectValues(
          await run(() => takeAlongAxis(toT(x), toT(idx0), 0)),
          takeAlongRef(x, idx0, 0),
          tol('takeAlongAxis', 'fwd'),
        );
        await checkGrad(
          'takeAlongAxis',
          ([t]) => takeAlongAxis(t, toT(idx1), 1),
          ([a]) => takeAlongRef(a, idx1, 1),
          [x],
          77,
          2,
        );
        await checkGrad(
          'takeAlongAxis',
          ([t]) => takeAlongAxis(t, toT(idx0), -2),
          ([a]) => takeAlongRef(a, idx0, 0),
          [x],
          78,
        );
        const scatterRef = (g: Arr) => {
          const out = new Float64Array(12);
          for (let o = 0; o < 3; o++)
            for (let j = 0; j < 2; j++) out[o * 4 + idx1.data[o * 2 + j]] += g.data[o * 2 + j];
          return arr([3, 4], out);
        };
        const g = randArr(rng, [3, 2]);
        expectValues(
          await run(() => scatterAddAlongAxis(toT(g), toT(idx1), 1, 4)),
          scatterRef(g),
          tol('scatterAddAlongAxis', 'fwd'),
        );
        await checkGrad(
          'scatterAddAlongAxis',
          ([t]) => scatterAddAlongAxis(t, toT(idx1), 1, 4),
          ([a]) => scatterRef(a),
          [g],
          79,
          2,
        );
        expectJouleError(() => takeAlongAxis(toT(x), tensor([[0, 1]]), 1), 'takeAlongAxis', 'indices');
        if (getBackend().canReadSync)
          expectJouleError(() => takeAlongAxis(toT(x), tensor([[4], [0], [0]]), 1), 'takeAlongAxis', 'indices');
      });

      it('oneHot', async () => {
        expectValues(
          await run(() => oneHot(tensor([0, 2, 1]), 3)),
          arr([3, 3], [1, 0, 0, 0, 0, 1, 0, 1, 0]),
          tol('oneHot', 'fwd'),
        );
        expectValues(
          await run(() => oneHot([[1], [0]] as unknown as number[], 2)),
          arr([2, 1, 2], [0, 1, 1, 0]),
          tol('oneHot', 'fwd'),
        );
        expectJouleError(() => oneHot([0], 0), 'oneHot', 'depth');
        if (getBackend().canReadSync) expectJouleError(() => oneHot([3], 3), 'oneHot', 'indices');
      });
    });

    describe('linear algebra', () => {
      const combos: [boolean, boolean][] = [
        [false, false],
        [false, true],
        [true, false],
        [true, true],
      ];
      const stored = (shape: number[], trans: boolean) =>
        trans ? [...shape.slice(0, -2), shape[shape.length - 1], shape[shape.length - 2]] : shape;

      for (const [transA, transB] of combos) {
        it(`matmul transA=${transA} transB=${transB}: 2-D and batch-broadcast values and gradients to second order`, async () => {
          const rng = new Rng(81);
          for (const [as, bs] of [
            [
              [3, 4],
              [4, 2],
            ],
            [
              [2, 1, 3, 4],
              [3, 4, 2],
            ],
            [
              [2, 3, 4],
              [4, 2],
            ],
          ] as [number[], number[]][]) {
            const a = randArr(rng, stored(as, transA));
            const b = randArr(rng, stored(bs, transB));
            const op = ([p, q]: Tensor[]) => matmul(p, q, { transA, transB });
            const ref = ([p, q]: Arr[]) => matmulRef(p, q, transA, transB);
            expectValues(await run(() => op([toT(a), toT(b)])), ref([a, b]), tol('matmul', 'fwd'), `[${as}]·[${bs}]`);
            await checkGrad('matmul', op, ref, [a, b], 82, 2);
          }
        });
      }

      it('matmul with vectors, errors on inner dimension and scalars', async () => {
        const rng = new Rng(83);
        const v = randArr(rng, [4]);
        const m = randArr(rng, [4, 2]);
        const w = randArr(rng, [3, 4]);
        const asRow = (a: Arr) => reshapeRef(a, [1, a.data.length]);
        const asCol = (a: Arr) => reshapeRef(a, [a.data.length, 1]);
        expectValues(
          await run(() => matmul(toT(v), toT(m))),
          reshapeRef(matmulRef(asRow(v), m), [2]),
          tol('matmul', 'fwd'),
        );
        expectValues(
          await run(() => matmul(toT(w), toT(v))),
          reshapeRef(matmulRef(w, asCol(v)), [3]),
          tol('matmul', 'fwd'),
        );
        expectValues(
          await run(() => matmul(toT(v), toT(v))),
          reshapeRef(matmulRef(asRow(v), asCol(v)), []),
          tol('matmul', 'fwd'),
        );
        expectValues(
          await run(() => matmul(toT(w), toT(v), { transA: false, transB: true })),
          reshapeRef(matmulRef(w, asCol(v)), [3]),
          tol('matmul', 'fwd'),
        );
        await checkGrad(
          'matmul',
          ([p, q]) => matmul(p, q),
          ([p, q]) => reshapeRef(matmulRef(asRow(p), q), [2]),
          [v, m],
          84,
        );
        await checkGrad(
          'matmul',
          ([p, q]) => matmul(p, q),
          ([p, q]) => reshapeRef(matmulRef(p, asCol(q)), [3]),
          [w, v],
          85,
        );
        expectJouleError(() => matmul(zeros([3, 4]), zeros([3, 2])), 'matmul', 'b');
        expectJouleError(() => matmul(zeros([2, 3, 4]), zeros([3, 4, 2])), 'matmul', 'b');
        expectJouleError(() => matmul(zeros([]), zeros([2])), 'matmul', 'a');
      });

      it('outer, dot, diagonal, tril, triu: values and gradients', async () => {
        const rng = new Rng(86);
        const a = randArr(rng, [2, 3]);
        const b = randArr(rng, [2, 4]);
        const outerRef = ([p, q]: Arr[]) => map([reshapeRef(p, [2, 3, 1]), reshapeRef(q, [2, 1, 4])], (s, t) => s * t);
        expectValues(await run(() => outer(toT(a), toT(b))), outerRef([a, b]), tol('outer', 'fwd'));
        await checkGrad('outer', ([p, q]) => outer(p, q), outerRef, [a, b], 87, 2);
        const c = randArr(rng, [2, 3]);
        const dotRef = ([p, q]: Arr[]) =>
          reduce(
            map([p, q], (s, t) => s * t),
            -1,
            false,
            sumOf,
          );
        expectValues(await run(() => dot(toT(a), toT(c))), dotRef([a, c]), tol('dot', 'fwd'));
        await checkGrad('dot', ([p, q]) => dot(p, q), dotRef, [a, c], 88, 2);
        const sq = randArr(rng, [2, 3, 3]);
        const diagRef = ([p]: Arr[]) =>
          arr(
            [2, 3],
            [0, 1, 2, 3, 4, 5].map((i) => p.data[Math.floor(i / 3) * 9 + (i % 3) * 4]),
          );
        expectValues(await run(() => diagonal(toT(sq))), diagRef([sq]), tol('diagonal', 'fwd'));
        await checkGrad('diagonal', ([p]) => diagonal(p), diagRef, [sq], 89, 2);
        expectJouleError(() => diagonal(zeros([2, 3])), 'diagonal', 'x');
        const r = randArr(rng, [3, 4]);
        for (const k of [0, 1, -1]) {
          const triRef =
            (lower: boolean) =>
            ([p]: Arr[]) =>
              arr(
                [3, 4],
                p.data.map((v, i) => {
                  const d = (i % 4) - Math.floor(i / 4);
                  return (lower ? d <= k : d >= k) ? v : 0;
                }),
              );
          expectValues(await run(() => tril(toT(r), k)), triRef(true)([r]), tol('tril', 'fwd'));
          expectValues(await run(() => triu(toT(r), k)), triRef(false)([r]), tol('triu', 'fwd'));
          await checkGrad('tril', ([p]) => tril(p, k), triRef(true), [r], 90);
          await checkGrad('triu', ([p]) => triu(p, k), triRef(false), [r], 91);
        }
        expectJouleError(() => tril(zeros([3]), 0), 'tril', 'x');
        expectJouleError(() => triu(zeros([3]), 0), 'triu', 'x');
      });

      it('cholesky: batched values, gradient through A = M Mᵀ + 3I, errors', async () => {
        const m = randArr(new Rng(92), [2, 3, 3]);
        const A = spdRef(m);
        expectValues(await run(() => cholesky(toT(A))), choleskyRef(A), tol('cholesky', 'fwd'));
        await checkGrad(
          'cholesky',
          ([t]) => cholesky(spd(t)),
          ([p]) => choleskyRef(spdRef(p)),
          [m],
          93,
        );
        expectJouleError(() => cholesky(zeros([2, 3])), 'cholesky', 'a');
        if (getBackend().canReadSync)
          expectJouleError(
            () =>
              cholesky(
                tensor([
                  [1, 2],
                  [2, 1],
                ]),
              ),
            'cholesky',
            'a',
          );
      });

      for (const [lower, transpose] of combos) {
        it(`triangularSolve lower=${lower} transpose=${transpose}: values, broadcasting, gradients in L and B`, async () => {
          const rng = new Rng(94);
          const l = randArr(rng, [3, 3], -0.5, 0.5);
          for (let i = 0; i < 3; i++) l.data[i * 4] = Math.fround(1.5 + l.data[i * 4]);
          const b = randArr(rng, [2, 3, 2]);
          const op = ([p, q]: Tensor[]) => triangularSolve(p, q, { lower, transpose });
          const ref = ([p, q]: Arr[]) => triangularSolveRef(p, q, lower, transpose);
          expectValues(await run(() => op([toT(l), toT(b)])), ref([l, b]), tol('triangularSolve', 'fwd'));
          await checkGrad('triangularSolve', op, ref, [l, b], 95, 2);
          const lb = randArr(rng, [2, 3, 3], -0.5, 0.5);
          for (let i = 0; i < 6; i++) lb.data[(i % 2) * 9 + Math.floor(i / 2) * 4] += 2;
          const b2 = randArr(rng, [3, 1]);
          expectValues(await run(() => op([toT(lb), toT(b2)])), ref([lb, b2]), tol('triangularSolve', 'fwd'));
          await checkGrad('triangularSolve', op, ref, [lb, b2], 96);
        });
      }

      it('triangularSolve errors; logdetFromCholesky values and gradient', async () => {
        expectJouleError(() => triangularSolve(zeros([3, 2]), zeros([3, 1])), 'triangularSolve', 'l');
        expectJouleError(() => triangularSolve(eye(3), zeros([2, 1])), 'triangularSolve', 'b');
        const m = randArr(new Rng(97), [2, 3, 3]);
        const logdetRef = ([p]: Arr[]) => {
          const L = choleskyRef(spdRef(p));
          return arr(
            [2],
            [0, 1].map((k) => 2 * sumOf([0, 1, 2].map((i) => Math.log(L.data[k * 9 + i * 4])))),
          );
        };
        const L = choleskyRef(spdRef(m));
        expectValues(await run(() => logdetFromCholesky(toT(L))), logdetRef([m]), tol('logdetFromCholesky', 'fwd'));
        await checkGrad('logdetFromCholesky', ([t]) => logdetFromCholesky(cholesky(spd(t))), logdetRef, [m], 98);
      });
    });
  });
}

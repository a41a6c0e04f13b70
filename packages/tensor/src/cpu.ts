import type { Backend, BackendData, BinaryOp, ReduceOp, UnaryOp } from './backend.js';
import { WasmArena } from './cpu/arena.js';
import { type ArithKernel, arithKernels } from './cpu/arith.js';
import {
  elementwiseThreadedModule,
  type WasmArith,
  WasmElementwise,
  type WasmUnary,
  wasmElementwiseAvailable,
} from './cpu/elementwise-wasm.js';
import { gemmThreadedModule, WasmGemm, wasmFeatures } from './cpu/gemm-wasm.js';
import { ArrayPool } from './cpu/pool.js';
import { WasmThreads } from './cpu/wasm-threads.js';
import { JouleError } from './errors.js';
import { broadcastStrides, coalesce, type Shape, sizeOf, stridesOf } from './shape.js';

type Row = (
  o: Float32Array,
  oi: number,
  a: Float32Array,
  ai: number,
  as: number,
  b: Float32Array,
  bi: number,
  bs: number,
  n: number,
) => void;
type Map1 = (x: Float32Array, o: Float32Array, n: number) => void;

function erf(x: number): number {
  // Abramowitz–Stegun 7.1.26 is too coarse for float32 gradients; use the series / continued fraction split.
  const ax = Math.abs(x);
  // erfc(6) < 2.2e-17: ±1 in float64 (also at ±∞, where the continued fraction gives NaN)
  if (ax > 6) return x < 0 ? -1 : 1;
  if (ax < 2.5) {
    // Maclaurin series, converges fast for |x| < 2.5 in float64.
    let term = ax;
    let sum = ax;
    const x2 = ax * ax;
    for (let k = 1; k < 60; k++) {
      term *= -x2 / k;
      const add = term / (2 * k + 1);
      sum += add;
      if (Math.abs(add) < 1e-17 * Math.abs(sum)) break;
    }
    const r = (2 / Math.sqrt(Math.PI)) * sum;
    return x < 0 ? -r : r;
  }
  // erfc by a continued fraction (Lentz), accurate for |x| ≥ 2.5.
  let f = ax;
  let c = ax;
  let d = 0;
  for (let k = 1; k < 80; k++) {
    const an = k / 2;
    d = ax + an * d;
    d = d === 0 ? 1e-300 : 1 / d;
    c = ax + an / c;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  const erfc = Math.exp(-ax * ax) / Math.sqrt(Math.PI) / f;
  return x < 0 ? erfc - 1 : 1 - erfc;
}

function softplus(x: number): number {
  return x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x));
}

function sigmoid(x: number): number {
  if (x >= 0) return 1 / (1 + Math.exp(-x));
  const e = Math.exp(x);
  return e / (1 + e);
}

/**
 * `[σ(x), 1 − σ(x)]` without cancellation: from `saved` = σ(−|x|) (the smaller of the two) when given, else
 * from two sigmoids.
 */
function sigmoidPair(x: number, saved: number | undefined): [number, number] {
  if (saved === undefined) return [sigmoid(x), sigmoid(-x)];
  return x < 0 ? [saved, 1 - saved] : [1 - saved, saved];
}

const unaryKernels: Record<UnaryOp, Map1> = {
  neg: (x, o, n) => {
    for (let i = 0; i < n; i++) o[i] = -x[i];
  },
  abs: (x, o, n) => {
    for (let i = 0; i < n; i++) o[i] = Math.abs(x[i]);
  },
  sign: (x, o, n) => {
    for (let i = 0; i < n; i++) o[i] = Math.sign(x[i]);
  },
  exp: (x, o, n) => {
    for (let i = 0; i < n; i++) o[i] = Math.exp(x[i]);
  },
  log: (x, o, n) => {
    for (let i = 0; i < n; i++) o[i] = Math.log(x[i]);
  },
  log1p: (x, o, n) => {
    for (let i = 0; i < n; i++) o[i] = Math.log1p(x[i]);
  },
  expm1: (x, o, n) => {
    for (let i = 0; i < n; i++) o[i] = Math.expm1(x[i]);
  },
  sqrt: (x, o, n) => {
    for (let i = 0; i < n; i++) o[i] = Math.sqrt(x[i]);
  },
  rsqrt: (x, o, n) => {
    for (let i = 0; i < n; i++) o[i] = 1 / Math.sqrt(x[i]);
  },
  square: (x, o, n) => {
    for (let i = 0; i < n; i++) o[i] = x[i] * x[i];
  },
  reciprocal: (x, o, n) => {
    for (let i = 0; i < n; i++) o[i] = 1 / x[i];
  },
  sin: (x, o, n) => {
    for (let i = 0; i < n; i++) o[i] = Math.sin(x[i]);
  },
  cos: (x, o, n) => {
    for (let i = 0; i < n; i++) o[i] = Math.cos(x[i]);
  },
  tanh: (x, o, n) => {
    for (let i = 0; i < n; i++) o[i] = Math.tanh(x[i]);
  },
  sigmoid: (x, o, n) => {
    for (let i = 0; i < n; i++) o[i] = sigmoid(x[i]);
  },
  softplus: (x, o, n) => {
    for (let i = 0; i < n; i++) o[i] = softplus(x[i]);
  },
  relu: (x, o, n) => {
    for (let i = 0; i < n; i++) o[i] = x[i] < 0 ? 0 : x[i];
  }, // NaN stays NaN
  silu: (x, o, n) => {
    for (let i = 0; i < n; i++) o[i] = x[i] * sigmoid(x[i]);
  },
  erf: (x, o, n) => {
    for (let i = 0; i < n; i++) o[i] = erf(x[i]);
  },
  floor: (x, o, n) => {
    for (let i = 0; i < n; i++) o[i] = Math.floor(x[i]);
  },
  ceil: (x, o, n) => {
    for (let i = 0; i < n; i++) o[i] = Math.ceil(x[i]);
  },
  round: (x, o, n) => {
    for (let i = 0; i < n; i++) o[i] = Math.round(x[i]);
  },
  isFinite: (x, o, n) => {
    for (let i = 0; i < n; i++) o[i] = Number.isFinite(x[i]) ? 1 : 0;
  },
};

const binaryRows: Record<BinaryOp, Row> = {
  add: (o, oi, a, ai, as, b, bi, bs, n) => {
    for (let i = 0; i < n; i++) o[oi + i] = a[ai + i * as] + b[bi + i * bs];
  },
  sub: (o, oi, a, ai, as, b, bi, bs, n) => {
    for (let i = 0; i < n; i++) o[oi + i] = a[ai + i * as] - b[bi + i * bs];
  },
  mul: (o, oi, a, ai, as, b, bi, bs, n) => {
    for (let i = 0; i < n; i++) o[oi + i] = a[ai + i * as] * b[bi + i * bs];
  },
  div: (o, oi, a, ai, as, b, bi, bs, n) => {
    for (let i = 0; i < n; i++) o[oi + i] = a[ai + i * as] / b[bi + i * bs];
  },
  pow: (o, oi, a, ai, as, b, bi, bs, n) => {
    for (let i = 0; i < n; i++) o[oi + i] = a[ai + i * as] ** b[bi + i * bs];
  },
  maximum: (o, oi, a, ai, as, b, bi, bs, n) => {
    for (let i = 0; i < n; i++) {
      const x = a[ai + i * as];
      const y = b[bi + i * bs];
      o[oi + i] = x !== x || y !== y ? Number.NaN : x >= y ? x : y;
    }
  },
  minimum: (o, oi, a, ai, as, b, bi, bs, n) => {
    for (let i = 0; i < n; i++) {
      const x = a[ai + i * as];
      const y = b[bi + i * bs];
      o[oi + i] = x !== x || y !== y ? Number.NaN : x <= y ? x : y;
    }
  },
  eq: (o, oi, a, ai, as, b, bi, bs, n) => {
    for (let i = 0; i < n; i++) o[oi + i] = a[ai + i * as] === b[bi + i * bs] ? 1 : 0;
  },
  ne: (o, oi, a, ai, as, b, bi, bs, n) => {
    for (let i = 0; i < n; i++) o[oi + i] = a[ai + i * as] !== b[bi + i * bs] ? 1 : 0;
  },
  lt: (o, oi, a, ai, as, b, bi, bs, n) => {
    for (let i = 0; i < n; i++) o[oi + i] = a[ai + i * as] < b[bi + i * bs] ? 1 : 0;
  },
  le: (o, oi, a, ai, as, b, bi, bs, n) => {
    for (let i = 0; i < n; i++) o[oi + i] = a[ai + i * as] <= b[bi + i * bs] ? 1 : 0;
  },
  gt: (o, oi, a, ai, as, b, bi, bs, n) => {
    for (let i = 0; i < n; i++) o[oi + i] = a[ai + i * as] > b[bi + i * bs] ? 1 : 0;
  },
  ge: (o, oi, a, ai, as, b, bi, bs, n) => {
    for (let i = 0; i < n; i++) o[oi + i] = a[ai + i * as] >= b[bi + i * bs] ? 1 : 0;
  },
};

/**
 * Walks the outer dimensions of a coalesced iteration space, calling `row` on each innermost run.
 * `strides[k]` are operand k's strides; operand 0 is the output.
 */
function forEachRow(
  shape: number[],
  strides: number[][],
  row: (offsets: number[], n: number, innerStrides: number[]) => void,
) {
  const rank = shape.length;
  const k = strides.length;
  if (rank === 0) {
    row(new Array(k).fill(0), 1, new Array(k).fill(0));
    return;
  }
  const n = shape[rank - 1];
  const inner = strides.map((s) => s[rank - 1]);
  const idx = new Array<number>(rank - 1).fill(0);
  const off = new Array<number>(k).fill(0);
  let rows = 1;
  for (let d = 0; d < rank - 1; d++) rows *= shape[d];
  for (let r = 0; r < rows; r++) {
    row(off, n, inner);
    for (let d = rank - 2; d >= 0; d--) {
      idx[d]++;
      for (let j = 0; j < k; j++) off[j] += strides[j][d];
      if (idx[d] < shape[d]) break;
      for (let j = 0; j < k; j++) off[j] -= strides[j][d] * shape[d];
      idx[d] = 0;
    }
  }
}

/** The operators with a monomorphic loop for the common broadcasts. */
const ARITH: Partial<Record<BinaryOp, ArithKernel>> = arithKernels;

/** Below this many multiply–adds the copies into WebAssembly memory cost more than they save. */
const WASM_GEMM_MIN_WORK = 4096;
/** The unary functions with a WebAssembly SIMD kernel, and the size from which it pays. */
const WASM_UNARY: ReadonlySet<UnaryOp> = new Set<WasmUnary>(['sigmoid', 'silu']);
const WASM_UNARY_MIN_SIZE = 64;
/** The cheap unary functions with an exact WebAssembly SIMD kernel, and the size from which it pays (copies included). */
const WASM_EXACT_UNARY: ReadonlySet<UnaryOp> = new Set<WasmUnary>(['neg', 'abs', 'square', 'sqrt', 'relu']);
const WASM_EXACT_UNARY_MIN_SIZE = 1024;
/** From this many elements the arithmetic operators run on WebAssembly SIMD (copies included, it pays). */
const WASM_ARITH_MIN_SIZE = 1024;
/** From this many input elements sums, maxima and minima run on WebAssembly SIMD (copies included, it pays). */
const WASM_REDUCE_MIN_SIZE = 256;

/** Tensors of at least this many floats are stored in the kernels' WebAssembly memory; shorter ones are ordinary arrays. */
const ARENA_MIN_LENGTH = 64;

/** Gathered rows of at least this many floats are copied with `set` on a subarray, shorter ones by a loop. */
const GATHER_MIN_ROW_COPY = 32;

function f32(data: BackendData): Float32Array {
  return data as Float32Array;
}

/** Options of {@link CpuBackend}: both default to true and fall back silently where unsupported. */
export interface CpuBackendOptions {
  /** Use the WebAssembly SIMD kernels where the engine has WebAssembly SIMD. */
  simd?: boolean;
  /** Use relaxed-SIMD fused multiply–add where the engine has it (Node ≥ 22; Node 20 with `--experimental-wasm-relaxed-simd`). */
  fma?: boolean;
  /**
   * Threads that share large matrix products and long maps with an exponential (sigmoid, SiLU and its
   * gradients), this one included (default 1). More than 1 starts one pool of that many − 1 Node
   * `worker_threads` on the shared WebAssembly memory (they do not keep the process
   * alive); where `worker_threads` or a shared memory is missing (browsers, Node < 20.16) one thread is used, and
   * {@link CpuBackend.threads} says so. Pays on idle cores only: on a loaded machine the threads wait for each other.
   */
  threads?: number;
  /** Products of fewer flops (`2·m·n·k`, default 2²¹) run on one thread even when `threads` > 1. */
  parallelMinFlops?: number;
  /**
   * Most bytes of live tensors kept in the WebAssembly memory that the kernels read and write in place
   * (default 256 MiB). Tensors past it are ordinary arrays: still correct, copied in for each kernel. The
   * memory is recycled when tensors are disposed (or garbage-collected), and never returned to the system.
   */
  memoryBytes?: number;
  /**
   * A matrix-product kernel to call before the built-in one, such as `@joule/tensor-blas`'s native BLAS.
   * Products it declines, and every other op, stay on the built-in kernels.
   */
  matmul?: MatmulKernel;
  /**
   * SiLU kernels to call before the built-in ones (forward, gradient and its backward pass), such as
   * `@joule/tensor-blas`'s AVX2 kernels. Calls they decline stay on the built-in kernels.
   */
  silu?: SiluKernels;
}

/**
 * SiLU kernels that {@link CpuBackend} can call in place of its own (option `silu`). Each works from
 * `m` = σ(−|x|), the smaller of σ(x) and 1 − σ(x), so that both follow from it without cancellation, and
 * each returns true when it wrote its outputs, or false, writing nothing, to leave the call to the built-in
 * kernels. Arrays never overlap.
 *
 * @example
 * ```ts
 * // kernels of loops in float64: correct, slow, and enough to show the contract
 * const sig = (v: number) => 1 / (1 + Math.exp(-v));
 * const loops: SiluKernels = {
 *   name: 'loops',
 *   siluSaved(x, y, m, size) {
 *     for (let i = 0; i < size; i++) [y[i], m[i]] = [x[i] * sig(x[i]), sig(-Math.abs(x[i]))];
 *     return true;
 *   },
 *   siluGrad: () => false, // declined: the built-in kernel runs
 *   siluGradBackward: () => false,
 * };
 * setBackend(new CpuBackend({ silu: loops }));
 * ```
 */
export interface SiluKernels {
  /** What they are, for messages and benchmarks (say `'avx2'`). */
  readonly name: string;
  /** `y = silu(x) = x σ(x)` and `m = σ(−|x|)` over `size` elements. */
  siluSaved(x: Float32Array, y: Float32Array, m: Float32Array, size: number): boolean;
  /** `out = g · silu'(x) = g σ(x)(1 + x(1 − σ(x)))` over `size` elements, from `m`. */
  siluGrad(x: Float32Array, m: Float32Array, g: Float32Array, out: Float32Array, size: number): boolean;
  /**
   * The backward pass of `siluGrad` for a cotangent `h`: `dx = h g silu''(x)` and `dg = h silu'(x)`, with
   * `silu''(x) = σ(x)(1 − σ(x))(2 + x(1 − 2σ(x)))`, from `m`.
   */
  siluGradBackward(
    x: Float32Array,
    m: Float32Array,
    g: Float32Array,
    h: Float32Array,
    dx: Float32Array,
    dg: Float32Array,
    size: number,
  ): boolean;
}

/**
 * A matrix-product kernel that {@link CpuBackend} can call in place of its own (option `matmul`):
 * `@joule/tensor-blas` implements it with a native BLAS.
 *
 * @example
 * ```ts
 * // a kernel of loops for thin products only: correct, slow, and enough to show the contract
 * const loops: MatmulKernel = {
 *   name: 'loops',
 *   matmul(a, aOffset, b, bOffset, c, cOffset, m, k, n, transA, transB) {
 *     if (n > 1) return false; // the built-in kernel does it
 *     for (let i = 0; i < m; i++)
 *       for (let j = 0; j < n; j++) {
 *         let s = 0;
 *         for (let q = 0; q < k; q++)
 *           s += a[aOffset + (transA ? q * m + i : i * k + q)] * b[bOffset + (transB ? j * k + q : q * n + j)];
 *         c[cOffset + i * n + j] = s;
 *       }
 *     return true;
 *   },
 * };
 * setBackend(new CpuBackend({ matmul: loops }));
 * ```
 */
export interface MatmulKernel {
  /** What it is, for messages and benchmarks (say `'openblas'`). */
  readonly name: string;
  /**
   * Overwrites `c[cOffset …]` with `op(A)·op(B)`, `[m, n]` row-major, and returns true; or returns false,
   * writing nothing, to leave the product to the backend's own kernel (one too small to pay, say). `A`
   * starts at `aOffset` and is `[m, k]` (`[k, m]` when `transA`), `B` starts at `bOffset` and is `[k, n]`
   * (`[n, k]` when `transB`). `c` may hold anything before the call, and never overlaps `a` or `b`.
   */
  matmul(
    a: Float32Array,
    aOffset: number,
    b: Float32Array,
    bOffset: number,
    c: Float32Array,
    cOffset: number,
    m: number,
    k: number,
    n: number,
    transA: boolean,
    transB: boolean,
  ): boolean;
}

/** Option `option` of {@link CpuBackend} checked to be `what`: a name and the `functions` (null when absent). */
function pluggedKernels<K extends object>(
  kernels: K | undefined,
  option: string,
  what: string,
  functions: readonly string[],
): K | null {
  if (kernels === undefined || kernels === null) return null;
  const fields = kernels as Record<string, unknown>;
  if (
    typeof kernels !== 'object' ||
    typeof fields.name !== 'string' ||
    functions.some((f) => typeof fields[f] !== 'function')
  )
    throw new JouleError(
      'CpuBackend',
      `options.${option}`,
      `${what} (a name and ${functions.join(', ')} functions)`,
      typeof kernels === 'object' ? `an object with keys ${Object.keys(kernels).join(', ')}` : typeof kernels,
    );
  return kernels;
}

/**
 * The CPU backend: synchronous, always available. Matrix products run on a WebAssembly SIMD
 * micro-kernel emitted at run time (plain JavaScript loops where WebAssembly SIMD is missing).
 *
 * @example
 * ```ts
 * import { CpuBackend, setBackend } from '@joule/tensor';
 * setBackend(new CpuBackend());
 * ```
 */
export class CpuBackend implements Backend {
  readonly name: string = 'cpu';
  readonly canReadSync = true;
  /**
   * Which built-in kernels run: `'wasm-simd-fma'`, `'wasm-simd'` or the plain `'js'` loops. The kernels of
   * options `matmul` and `silu` ({@link CpuBackend.matmulKernel}, {@link CpuBackend.siluKernels}) go first.
   */
  readonly kernels: 'wasm-simd-fma' | 'wasm-simd' | 'js';
  /** The kernel of option `matmul`, called before the built-in one for every product, or null. */
  readonly matmulKernel: MatmulKernel | null;
  /** The kernels of option `silu`, called before the built-in ones, or null. */
  readonly siluKernels: SiluKernels | null;
  private readonly gemm: WasmGemm | null;
  private readonly elementwise: WasmElementwise | null;
  /** The WebAssembly memory that holds tensors' storage (none without WebAssembly SIMD). */
  private readonly arena: WasmArena | null;
  private readonly pool = new ArrayPool();

  constructor(options: CpuBackendOptions = {}) {
    const features = wasmFeatures();
    const simd = options.simd !== false && features.simd;
    const fma = simd && options.fma !== false && features.fma;
    const threads = options.threads ?? 1;
    if (!Number.isInteger(threads) || threads < 1 || threads > 256)
      throw new JouleError('CpuBackend', 'options.threads', 'an integer in [1, 256]', String(threads));
    const minFlops = options.parallelMinFlops ?? 1 << 21;
    if (typeof minFlops !== 'number' || !(minFlops >= 0))
      throw new JouleError('CpuBackend', 'options.parallelMinFlops', 'a number ≥ 0', String(minFlops));
    this.matmulKernel = pluggedKernels(options.matmul, 'matmul', 'a MatmulKernel', ['matmul']);
    this.siluKernels = pluggedKernels(options.silu, 'silu', 'SiluKernels', [
      'siluSaved',
      'siluGrad',
      'siluGradBackward',
    ]);
    const memoryBytes = options.memoryBytes ?? 256 * 1024 * 1024;
    if (typeof memoryBytes !== 'number' || !(memoryBytes >= 0))
      throw new JouleError('CpuBackend', 'options.memoryBytes', 'a number ≥ 0', String(memoryBytes));
    this.arena = simd ? new WasmArena(memoryBytes) : null;
    const arena = this.arena;
    const elementwise = arena !== null && wasmElementwiseAvailable();
    // one pool of worker threads for both kernel modules: its threads never wait on another pool's
    const pool =
      arena && threads > 1 && arena.threadable
        ? new WasmThreads(
            arena.memory,
            elementwise
              ? [gemmThreadedModule(fma, arena.shared), elementwiseThreadedModule(arena.shared)]
              : [gemmThreadedModule(fma, arena.shared)],
            threads,
          )
        : null;
    this.gemm = arena ? new WasmGemm(fma, pool?.part(0) ?? 1, minFlops, arena) : null;
    this.elementwise = arena && elementwise ? new WasmElementwise(pool?.part(1) ?? 1, undefined, arena) : null;
    this.kernels = fma ? 'wasm-simd-fma' : simd ? 'wasm-simd' : 'js';
  }

  /** Threads that share large matrix products (see {@link CpuBackendOptions.threads}). */
  get threads(): number {
    return this.gemm?.threads ?? 1;
  }

  /**
   * Stops the worker threads of {@link CpuBackendOptions.threads}; the backend goes on, on one thread.
   *
   * @example
   * ```ts
   * const cpu = new CpuBackend({ threads: 2 });
   * setBackend(cpu);
   * // … train …
   * cpu.destroy();
   * ```
   */
  destroy(): void {
    this.gemm?.close();
    this.elementwise?.close();
  }

  upload(values: Float32Array): BackendData {
    if (!this.arena || values.length < ARENA_MIN_LENGTH) return values;
    const stored = this.arena.alloc(values.length);
    if (!stored) return values;
    stored.set(values);
    return stored;
  }

  /** Storage for a kernel's output of `length` floats (arbitrary contents): in the arena where it fits. */
  private take(length: number): Float32Array {
    return (length >= ARENA_MIN_LENGTH && this.arena?.alloc(length)) || this.pool.take(length);
  }

  read(data: BackendData, size: number): Promise<Float32Array> {
    return Promise.resolve(this.readSync(data, size));
  }

  readSync(data: BackendData, size: number): Float32Array {
    return f32(data).slice(0, size);
  }

  free(data: BackendData): void {
    if (this.arena?.owns(f32(data))) this.arena.release(f32(data));
    else this.pool.give(f32(data));
  }

  unary(op: UnaryOp, x: BackendData, size: number): BackendData {
    const out = this.take(size);
    if (op === 'silu' && this.siluKernels) {
      // the kernel that saves σ(−|x|), into a scratch block: the same bits as with a tape
      const m = this.take(size);
      const done = this.siluKernels.siluSaved(f32(x), out, m, size);
      this.free(m);
      if (done) return out;
    }
    if (
      this.elementwise &&
      ((size >= WASM_UNARY_MIN_SIZE && WASM_UNARY.has(op)) ||
        (size >= WASM_EXACT_UNARY_MIN_SIZE && WASM_EXACT_UNARY.has(op)))
    ) {
      if (this.elementwise.unary(op as WasmUnary, f32(x), out, size)) return out;
    }
    unaryKernels[op](f32(x), out, size);
    return out;
  }

  siluSaved(x: BackendData, size: number): [BackendData, BackendData] {
    const y = this.take(size);
    const m = this.take(size);
    const fx = f32(x);
    if (this.siluKernels?.siluSaved(fx, y, m, size)) return [y, m];
    if (this.elementwise && size >= WASM_UNARY_MIN_SIZE && this.elementwise.siluSaved(fx, y, m, size)) return [y, m];
    unaryKernels.silu(fx, y, size);
    for (let i = 0; i < size; i++) m[i] = sigmoid(-Math.abs(fx[i]));
    return [y, m];
  }

  siluGrad(x: BackendData, g: BackendData, size: number, saved?: BackendData): BackendData {
    const out = this.take(size);
    const fx = f32(x);
    const fg = f32(g);
    const fm = saved === undefined ? undefined : f32(saved);
    if (this.siluKernels && fm && this.siluKernels.siluGrad(fx, fm, fg, out, size)) return out;
    if (this.elementwise && size >= WASM_UNARY_MIN_SIZE && this.elementwise.siluGrad(fx, fg, out, size, fm)) return out;
    for (let i = 0; i < size; i++) {
      const v = fx[i];
      const [s, q] = sigmoidPair(v, fm?.[i]);
      out[i] = fg[i] * s * (1 + v * q);
    }
    return out;
  }

  siluGradBackward(
    x: BackendData,
    g: BackendData,
    h: BackendData,
    size: number,
    saved?: BackendData,
  ): [BackendData, BackendData] {
    const dx = this.take(size);
    const dg = this.take(size);
    const fx = f32(x);
    const fg = f32(g);
    const fh = f32(h);
    const fm = saved === undefined ? undefined : f32(saved);
    if (this.siluKernels && fm && this.siluKernels.siluGradBackward(fx, fm, fg, fh, dx, dg, size)) return [dx, dg];
    if (
      this.elementwise &&
      size >= WASM_UNARY_MIN_SIZE &&
      this.elementwise.siluGradBackward(fx, fg, fh, dx, dg, size, fm)
    )
      return [dx, dg];
    for (let i = 0; i < size; i++) {
      const v = fx[i];
      const [s, q] = sigmoidPair(v, fm?.[i]);
      dg[i] = fh[i] * s * (1 + v * q);
      dx[i] = fh[i] * fg[i] * s * q * (2 + v * (q - s));
    }
    return [dx, dg];
  }

  binary(op: BinaryOp, a: BackendData, aShape: Shape, b: BackendData, bShape: Shape, outShape: Shape): BackendData {
    const size = sizeOf(outShape);
    const out = this.take(size);
    const fa = f32(a);
    const fb = f32(b);
    const aSize = sizeOf(aShape);
    const bSize = sizeOf(bShape);
    const arith = ARITH[op];
    if (arith && aSize === size && bSize === size) {
      this.arith(op, out, fa, aSize, 0, 1, fb, bSize, 0, 1, 1, size);
      return out;
    }
    if (arith && bSize === 1 && aSize === size) {
      this.arith(op, out, fa, aSize, 0, 1, fb, bSize, 0, 0, 1, size);
      return out;
    }
    if (arith && aSize === 1 && bSize === size) {
      this.arith(op, out, fa, aSize, 0, 0, fb, bSize, 0, 1, 1, size);
      return out;
    }
    const row = binaryRows[op];
    if (!arith && aSize === size && bSize === size) {
      row(out, 0, fa, 0, 1, fb, 0, 1, size);
      return out;
    }
    const c = coalesce(outShape, [
      stridesOf(outShape),
      broadcastStrides(aShape, outShape),
      broadcastStrides(bShape, outShape),
    ]);
    if (arith && c.shape.length <= 2) {
      // at most [rows, cols] with unit or zero column strides: one monomorphic loop
      const [, sa, sb] = c.strides;
      const two = c.shape.length === 2;
      const ac = sa[sa.length - 1] ?? 0;
      const bc = sb[sb.length - 1] ?? 0;
      if (ac <= 1 && bc <= 1) {
        const rows = two ? c.shape[0] : 1;
        const cols = c.shape[c.shape.length - 1] ?? 1;
        this.arith(op, out, fa, aSize, two ? sa[0] : 0, ac, fb, bSize, two ? sb[0] : 0, bc, rows, cols);
        return out;
      }
    }
    forEachRow(c.shape, c.strides, (off, n, s) => row(out, off[0], fa, off[1], s[1], fb, off[2], s[2], n));
    return out;
  }

  /** `out = a op b` over `[rows, cols]` (see arith.ts), on WebAssembly SIMD where it pays. */
  private arith(
    op: BinaryOp,
    out: Float32Array,
    a: Float32Array,
    aSize: number,
    ar: number,
    ac: number,
    b: Float32Array,
    bSize: number,
    br: number,
    bc: number,
    rows: number,
    cols: number,
  ): void {
    const wasm =
      this.elementwise &&
      cols % 4 === 0 &&
      rows * cols >= WASM_ARITH_MIN_SIZE &&
      this.elementwise.arith(op as WasmArith, a, aSize, ar, ac, b, bSize, br, bc, out, rows, cols);
    if (!wasm) (ARITH[op] as ArithKernel)(out, a, ar, ac, b, br, bc, rows, cols);
  }

  select(
    c: BackendData,
    cShape: Shape,
    a: BackendData,
    aShape: Shape,
    b: BackendData,
    bShape: Shape,
    outShape: Shape,
  ): BackendData {
    const out = this.take(sizeOf(outShape));
    const fc = f32(c);
    const fa = f32(a);
    const fb = f32(b);
    const st = coalesce(outShape, [
      stridesOf(outShape),
      broadcastStrides(cShape, outShape),
      broadcastStrides(aShape, outShape),
      broadcastStrides(bShape, outShape),
    ]);
    forEachRow(st.shape, st.strides, (off, n, s) => {
      for (let i = 0; i < n; i++) {
        out[off[0] + i] = fc[off[1] + i * s[1]] !== 0 ? fa[off[2] + i * s[2]] : fb[off[3] + i * s[3]];
      }
    });
    return out;
  }

  reduce(op: ReduceOp, x: BackendData, outer: number, reduced: number, inner: number): BackendData {
    const fx = f32(x);
    const out = this.take(outer * inner);
    if (
      this.elementwise &&
      outer * reduced * inner >= WASM_REDUCE_MIN_SIZE &&
      this.elementwise.reduce(op, fx, out, outer, reduced, inner)
    )
      return out;
    if (op === 'sum') {
      if (inner === 1) {
        for (let o = 0; o < outer; o++) {
          let s = 0;
          const base = o * reduced;
          for (let r = 0; r < reduced; r++) s += fx[base + r];
          out[o] = s;
        }
      } else {
        const acc = new Float64Array(inner);
        for (let o = 0; o < outer; o++) {
          acc.fill(0);
          for (let r = 0; r < reduced; r++) {
            const base = (o * reduced + r) * inner;
            for (let i = 0; i < inner; i++) acc[i] += fx[base + i];
          }
          out.set(acc, o * inner);
        }
      }
      return out;
    }
    const isMax = op === 'max';
    for (let o = 0; o < outer; o++) {
      for (let i = 0; i < inner; i++) {
        let best = isMax ? -Infinity : Infinity;
        for (let r = 0; r < reduced; r++) {
          const v = fx[(o * reduced + r) * inner + i];
          if (v !== v) {
            best = Number.NaN;
            break;
          }
          if (isMax ? v > best : v < best) best = v;
        }
        out[o * inner + i] = best;
      }
    }
    return out;
  }

  argReduce(op: 'argmax' | 'argmin', x: BackendData, outer: number, reduced: number, inner: number): BackendData {
    const fx = f32(x);
    const out = new Float32Array(outer * inner);
    const isMax = op === 'argmax';
    for (let o = 0; o < outer; o++) {
      for (let i = 0; i < inner; i++) {
        let best = fx[o * reduced * inner + i];
        let at = 0;
        for (let r = 1; r < reduced && best === best; r++) {
          const v = fx[(o * reduced + r) * inner + i];
          if (v !== v || (isMax ? v > best : v < best)) {
            best = v;
            at = r;
          }
        }
        out[o * inner + i] = at;
      }
    }
    return out;
  }

  cumsum(x: BackendData, outer: number, len: number, inner: number, reverse: boolean): BackendData {
    const fx = f32(x);
    const out = new Float32Array(outer * len * inner);
    for (let o = 0; o < outer; o++) {
      for (let i = 0; i < inner; i++) {
        let s = 0;
        for (let t = 0; t < len; t++) {
          const r = reverse ? len - 1 - t : t;
          const at = (o * len + r) * inner + i;
          s += fx[at];
          out[at] = s;
        }
      }
    }
    return out;
  }

  matmul(
    a: BackendData,
    b: BackendData,
    batch: number,
    aBatch: number,
    bBatch: number,
    m: number,
    k: number,
    n: number,
    transA: boolean,
    transB: boolean,
  ): BackendData {
    const fa = f32(a);
    const fb = f32(b);
    const external = this.matmulKernel;
    if (external) {
      const out = this.take(batch * m * n);
      let p = 0;
      for (; p < batch; p++)
        if (
          !external.matmul(
            fa,
            (aBatch === 1 ? 0 : p) * m * k,
            fb,
            (bBatch === 1 ? 0 : p) * k * n,
            out,
            p * m * n,
            m,
            k,
            n,
            transA,
            transB,
          )
        )
          break;
      if (p === batch) return out;
      this.free(out); // declined: the built-in kernels below
    }
    if (this.gemm && m * n * k >= WASM_GEMM_MIN_WORK) {
      const out = this.take(batch * m * n);
      let p = 0;
      for (; p < batch; p++) {
        const aOff = (aBatch === 1 ? 0 : p) * m * k;
        const bOff = (bBatch === 1 ? 0 : p) * k * n;
        if (!this.gemm.matmul(fa, aOff, fb, bOff, out, p * m * n, m, k, n, transA, transB)) break;
      }
      if (p === batch) return out;
      this.free(out); // the memory is full: the loops below
    }
    const out = new Float32Array(batch * m * n);
    const aT = transA ? new Float32Array(m * k) : null;
    const bT = transB ? new Float32Array(k * n) : null;
    for (let p = 0; p < batch; p++) {
      let A = fa;
      let aOff = (aBatch === 1 ? 0 : p) * m * k;
      if (aT) {
        // stored [k, m]: make it [m, k]
        for (let i = 0; i < k; i++) for (let j = 0; j < m; j++) aT[j * k + i] = fa[aOff + i * m + j];
        A = aT;
        aOff = 0;
      }
      let B = fb;
      let bOff = (bBatch === 1 ? 0 : p) * k * n;
      if (bT) {
        for (let i = 0; i < n; i++) for (let j = 0; j < k; j++) bT[j * n + i] = fb[bOff + i * k + j];
        B = bT;
        bOff = 0;
      }
      const oOff = p * m * n;
      for (let i = 0; i < m; i++) {
        const ci = oOff + i * n;
        for (let q = 0; q < k; q++) {
          const av = A[aOff + i * k + q];
          if (av === 0) continue;
          const bq = bOff + q * n;
          for (let j = 0; j < n; j++) out[ci + j] += av * B[bq + j];
        }
      }
    }
    return out;
  }

  strided(x: BackendData, offset: number, strides: readonly number[], outShape: Shape): BackendData {
    const fx = f32(x);
    const out = this.take(sizeOf(outShape));
    const c = coalesce(outShape, [stridesOf(outShape), strides.slice()]);
    forEachRow(c.shape, c.strides, (off, n, s) => {
      const src = offset + off[1];
      const st = s[1];
      const dst = off[0];
      if (st === 1) out.set(fx.subarray(src, src + n), dst);
      else for (let i = 0; i < n; i++) out[dst + i] = fx[src + i * st];
    });
    return out;
  }

  pad(x: BackendData, shape: Shape, before: readonly number[], after: readonly number[]): BackendData {
    const outShape = shape.map((d, i) => d + before[i] + after[i]);
    const out = new Float32Array(sizeOf(outShape));
    const os = stridesOf(outShape);
    let start = 0;
    for (let i = 0; i < shape.length; i++) start += before[i] * os[i];
    const c = coalesce(shape, [os, stridesOf(shape)]);
    const fx = f32(x);
    forEachRow(c.shape, c.strides, (off, n, s) => {
      for (let i = 0; i < n; i++) out[start + off[0] + i * s[0]] = fx[off[1] + i * s[1]];
    });
    return out;
  }

  concat(xs: readonly BackendData[], shapes: readonly Shape[], axis: number): BackendData {
    const outer = sizeOf(shapes[0].slice(0, axis));
    const widths = shapes.map((s) => sizeOf(s.slice(axis)));
    const total = widths.reduce((p, q) => p + q, 0);
    const out = this.take(outer * total);
    let col = 0;
    xs.forEach((x, j) => {
      const fx = f32(x);
      const w = widths[j];
      for (let o = 0; o < outer; o++) out.set(fx.subarray(o * w, o * w + w), o * total + col);
      col += w;
    });
    return out;
  }

  gather(x: BackendData, outer: number, dim: number, inner: number, idx: BackendData, count: number): BackendData {
    const fx = f32(x);
    const fi = f32(idx);
    const out = this.take(outer * count * inner);
    for (let o = 0; o < outer; o++) {
      for (let j = 0; j < count; j++) {
        const src = (o * dim + fi[j]) * inner;
        const dst = (o * count + j) * inner;
        // short rows (points of a few coordinates) by a loop: a subarray view per index costs more than the copy
        if (inner < GATHER_MIN_ROW_COPY) for (let i = 0; i < inner; i++) out[dst + i] = fx[src + i];
        else out.set(fx.subarray(src, src + inner), dst);
      }
    }
    return out;
  }

  scatterAdd(g: BackendData, outer: number, dim: number, inner: number, idx: BackendData, count: number): BackendData {
    const fg = f32(g);
    const fi = f32(idx);
    const out = new Float32Array(outer * dim * inner);
    for (let o = 0; o < outer; o++) {
      for (let j = 0; j < count; j++) {
        const dst = (o * dim + fi[j]) * inner;
        const src = (o * count + j) * inner;
        for (let i = 0; i < inner; i++) out[dst + i] += fg[src + i];
      }
    }
    return out;
  }

  takeAlong(x: BackendData, outer: number, dim: number, inner: number, idx: BackendData, count: number): BackendData {
    const fx = f32(x);
    const fi = f32(idx);
    const out = new Float32Array(outer * count * inner);
    for (let o = 0; o < outer; o++) {
      for (let j = 0; j < count; j++) {
        for (let i = 0; i < inner; i++) {
          const at = (o * count + j) * inner + i;
          out[at] = fx[(o * dim + fi[at]) * inner + i];
        }
      }
    }
    return out;
  }

  scatterAlong(
    g: BackendData,
    outer: number,
    dim: number,
    inner: number,
    idx: BackendData,
    count: number,
  ): BackendData {
    const fg = f32(g);
    const fi = f32(idx);
    const out = new Float32Array(outer * dim * inner);
    for (let o = 0; o < outer; o++) {
      for (let j = 0; j < count; j++) {
        for (let i = 0; i < inner; i++) {
          const at = (o * count + j) * inner + i;
          out[(o * dim + fi[at]) * inner + i] += fg[at];
        }
      }
    }
    return out;
  }

  cholesky(x: BackendData, batch: number, n: number): BackendData {
    const fx = f32(x);
    const out = new Float32Array(batch * n * n);
    const L = new Float64Array(n * n);
    for (let p = 0; p < batch; p++) {
      const base = p * n * n;
      L.fill(0);
      let ok = true;
      for (let j = 0; j < n && ok; j++) {
        let d = fx[base + j * n + j];
        for (let q = 0; q < j; q++) d -= L[j * n + q] * L[j * n + q];
        if (!(d > 0)) {
          ok = false;
          break;
        }
        const ljj = Math.sqrt(d);
        L[j * n + j] = ljj;
        for (let i = j + 1; i < n; i++) {
          let s = fx[base + i * n + j];
          for (let q = 0; q < j; q++) s -= L[i * n + q] * L[j * n + q];
          L[i * n + j] = s / ljj;
        }
      }
      if (ok) for (let i = 0; i < n * n; i++) out[base + i] = L[i];
      else out.fill(Number.NaN, base, base + n * n);
    }
    return out;
  }

  triangularSolve(
    l: BackendData,
    b: BackendData,
    batch: number,
    lBatch: number,
    n: number,
    m: number,
    lower: boolean,
    transpose: boolean,
  ): BackendData {
    const fl = f32(l);
    const fb = f32(b);
    const out = new Float32Array(batch * n * m);
    const x = new Float64Array(n);
    // op(L) is lower-triangular when exactly one of (lower, transpose) holds.
    const forward = lower !== transpose;
    for (let p = 0; p < batch; p++) {
      const lb = (lBatch === 1 ? 0 : p) * n * n;
      const bb = p * n * m;
      const at = (i: number, j: number) => (transpose ? fl[lb + j * n + i] : fl[lb + i * n + j]);
      for (let c = 0; c < m; c++) {
        for (let t = 0; t < n; t++) {
          const i = forward ? t : n - 1 - t;
          let s = fb[bb + i * m + c];
          if (forward) for (let j = 0; j < i; j++) s -= at(i, j) * x[j];
          else for (let j = i + 1; j < n; j++) s -= at(i, j) * x[j];
          x[i] = s / at(i, i);
        }
        for (let i = 0; i < n; i++) out[bb + i * m + c] = x[i];
      }
    }
    return out;
  }
}

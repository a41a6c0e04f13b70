import type { Shape } from './shape.js';

/** Element-wise functions of one argument that every backend implements. */
export type UnaryOp =
  | 'neg'
  | 'abs'
  | 'sign'
  | 'exp'
  | 'log'
  | 'log1p'
  | 'expm1'
  | 'sqrt'
  | 'rsqrt'
  | 'square'
  | 'reciprocal'
  | 'sin'
  | 'cos'
  | 'tanh'
  | 'sigmoid'
  | 'softplus'
  | 'relu'
  | 'silu'
  | 'erf'
  | 'floor'
  | 'ceil'
  | 'round'
  | 'isFinite';

/** Element-wise functions of two broadcast arguments. Comparisons give 1 where true and 0 elsewhere. */
export type BinaryOp =
  | 'add'
  | 'sub'
  | 'mul'
  | 'div'
  | 'pow'
  | 'maximum'
  | 'minimum'
  | 'eq'
  | 'ne'
  | 'lt'
  | 'le'
  | 'gt'
  | 'ge';

/** Reductions over a block of contiguous axes. */
export type ReduceOp = 'sum' | 'max' | 'min';

/** Backend-owned storage for a tensor's float32 values (a typed array, a texture, a GPU buffer…). */
export type BackendData = unknown;

/**
 * The kernels a compute backend provides. Ops, broadcasting rules and gradients live above this
 * interface, so a new backend (the gpu.js one, a WebAssembly one) plugs in without touching them.
 *
 * Every kernel takes storage plus the shapes it needs and returns new storage; none mutates its inputs.
 * Shapes are row-major and contiguous. Index arguments are float32 storage holding integers.
 *
 * @example
 * ```ts
 * import { setBackend, CpuBackend } from '@joule/tensor';
 * setBackend(new CpuBackend());   // the default; a GPU backend is registered the same way
 * ```
 */
export interface Backend {
  /** A short name, shown in errors and benchmarks. */
  readonly name: string;
  /** True when {@link Backend.readSync} works (false on backends that can only read asynchronously). */
  readonly canReadSync: boolean;

  /** Storage holding these values; the backend may keep the array. */
  upload(values: Float32Array): BackendData;
  /** The values of `size` elements, as a new array the caller owns. */
  read(data: BackendData, size: number): Promise<Float32Array>;
  /** Synchronous read, where {@link Backend.canReadSync}. */
  readSync(data: BackendData, size: number): Float32Array;
  /** Releases storage; it is never used again. */
  free(data: BackendData): void;

  /** `f(x)` element by element over `size` elements. */
  unary(op: UnaryOp, x: BackendData, size: number): BackendData;
  /** `f(a, b)` with NumPy broadcasting to `outShape`. */
  binary(op: BinaryOp, a: BackendData, aShape: Shape, b: BackendData, bShape: Shape, outShape: Shape): BackendData;
  /** `cond ? a : b` (cond ≠ 0) with broadcasting of all three to `outShape`. */
  select(
    cond: BackendData,
    condShape: Shape,
    a: BackendData,
    aShape: Shape,
    b: BackendData,
    bShape: Shape,
    outShape: Shape,
  ): BackendData;
  /** Reduces the middle axis of `[outer, reduced, inner]` to give `[outer, inner]`. */
  reduce(op: ReduceOp, x: BackendData, outer: number, reduced: number, inner: number): BackendData;
  /** Index of the largest (`argmax`) or smallest value along the middle axis of `[outer, reduced, inner]`, first on ties. */
  argReduce(op: 'argmax' | 'argmin', x: BackendData, outer: number, reduced: number, inner: number): BackendData;
  /** Inclusive cumulative sum along the middle axis of `[outer, len, inner]`, from the end when `reverse`. */
  cumsum(x: BackendData, outer: number, len: number, inner: number, reverse: boolean): BackendData;
  /**
   * Batched matrix product `op(A) · op(B)` giving `[batch, m, n]`. `A` holds `aBatch` (1 or `batch`)
   * matrices of `[m, k]` (`[k, m]` when `transA`), `B` holds `bBatch` matrices of `[k, n]` (`[n, k]` when `transB`).
   */
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
  ): BackendData;
  /**
   * Gathers `out[i] = x[offset + Σ_d index_d(i) · strides[d]]` over the elements `i` of `outShape`:
   * transposes, broadcasts and slices are all strided reads.
   */
  strided(x: BackendData, offset: number, strides: readonly number[], outShape: Shape): BackendData;
  /** Zero padding: `before[d]` and `after[d]` zeros around axis `d`. */
  pad(x: BackendData, shape: Shape, before: readonly number[], after: readonly number[]): BackendData;
  /** Concatenation along `axis` of tensors whose shapes agree elsewhere. */
  concat(xs: readonly BackendData[], shapes: readonly Shape[], axis: number): BackendData;
  /** `out[o, j, i] = x[o, idx[j], i]` for `x` of `[outer, dim, inner]` and `count` indices. */
  gather(x: BackendData, outer: number, dim: number, inner: number, idx: BackendData, count: number): BackendData;
  /** The adjoint of {@link Backend.gather}: `out[o, idx[j], i] += g[o, j, i]` into zeros of `[outer, dim, inner]`. */
  scatterAdd(g: BackendData, outer: number, dim: number, inner: number, idx: BackendData, count: number): BackendData;
  /** `out[o, j, i] = x[o, idx[o, j, i], i]` for `x` of `[outer, dim, inner]` and `idx` of `[outer, count, inner]`. */
  takeAlong(x: BackendData, outer: number, dim: number, inner: number, idx: BackendData, count: number): BackendData;
  /** The adjoint of {@link Backend.takeAlong}: `out[o, idx[o, j, i], i] += g[o, j, i]` into zeros. */
  scatterAlong(g: BackendData, outer: number, dim: number, inner: number, idx: BackendData, count: number): BackendData;
  /** Lower Cholesky factors of `batch` symmetric positive-definite `[n, n]` matrices; NaN where one is not. */
  cholesky(x: BackendData, batch: number, n: number): BackendData;
  /**
   * Solves `op(L) X = B` for `batch` triangular `L` of `[n, n]` and right-hand sides `B` of `[n, m]`
   * (`L` lower when `lower`, else upper; `op` transposes when `transpose`). `L` may hold 1 or `batch` matrices.
   */
  triangularSolve(
    l: BackendData,
    b: BackendData,
    batch: number,
    lBatch: number,
    n: number,
    m: number,
    lower: boolean,
    transpose: boolean,
  ): BackendData;

  /**
   * Optional fused kernel: SiLU and what its gradient needs, `[silu(x), σ(−|x|)]`, over `size` elements. The
   * second output (the smaller of σ(x) and 1 − σ(x), so both follow from it without cancellation) is what
   * {@link Backend.siluGrad} and {@link Backend.siluGradBackward} take as `saved`, to skip the exponential.
   * The first must equal {@link Backend.unary}'s `silu` bit for bit.
   */
  siluSaved?(x: BackendData, size: number): [BackendData, BackendData];
  /**
   * Optional fused kernel: `g · silu'(x)` element by element over `size` elements (the gradient of
   * SiLU, `silu'(x) = σ(x)(1 + x(1 − σ(x)))`), from `saved` of {@link Backend.siluSaved} when given. Backends
   * without it get the same result from {@link Backend.unary} and {@link Backend.binary}.
   */
  siluGrad?(x: BackendData, g: BackendData, size: number, saved?: BackendData): BackendData;
  /**
   * Optional fused kernel: the backward pass of {@link Backend.siluGrad} for a cotangent `h`, giving
   * `[h · g · silu''(x), h · silu'(x)]` (the cotangents of `x` and `g`) in one pass over `size`
   * elements, with `silu''(x) = σ(x)(1 − σ(x))(2 + x(1 − 2σ(x)))`, from `saved` of {@link Backend.siluSaved}
   * when given. Used for gradients of gradients when the result is not differentiated again; backends
   * without it get the same from element-wise ops.
   */
  siluGradBackward?(
    x: BackendData,
    g: BackendData,
    h: BackendData,
    size: number,
    saved?: BackendData,
  ): [BackendData, BackendData];
}

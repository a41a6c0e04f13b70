import type { Backend, BackendData, BinaryOp, ReduceOp, Shape, UnaryOp } from '@joule/tensor';
import { broadcastStrides, coalesce, JouleError, sizeOf, stridesOf } from '@joule/tensor';
import {
  argReduceSource,
  binarySource,
  choleskyCheckSource,
  choleskyColumnSource,
  concatSource,
  copySource,
  cumsumSource,
  gatherSource,
  type KernelSource,
  matmulSource,
  padSource,
  reduceSource,
  scatterAddSource,
  scatterAlongSource,
  selectSource,
  siluGradSource,
  stridedSource,
  takeAlongSource,
  triangularRowSource,
  unarySource,
} from './sources.js';

/**
 * The gpu.js modes this backend runs on, best first: `headlessgl` (Node, through the `gl` package
 * and a display), `webgl2` and `webgl` (browsers), `webasm` (gpu.js's WebAssembly kernels) and
 * `cpu` (gpu.js's JavaScript kernels). gpu.js's `webgpu` mode is not offered: its kernels return
 * promises, and `@joule/tensor` builds ops synchronously.
 *
 * @example
 * ```ts
 * const mode: GpuMode = 'webgl2';
 * ```
 */
export type GpuMode = 'headlessgl' | 'webgl2' | 'webgl' | 'webasm' | 'cpu';

/** Every mode, in the order {@link GpuBackend.create} tries them. */
const MODES: readonly GpuMode[] = ['headlessgl', 'webgl2', 'webgl', 'webasm', 'cpu'];

/**
 * Options of {@link GpuBackend.create}.
 *
 * @example
 * ```ts
 * const options: GpuBackendOptions = { mode: 'webasm' };
 * ```
 */
export interface GpuBackendOptions {
  /** The gpu.js mode; by default the best one that works here. */
  mode?: GpuMode;
}

/** The parts of a gpu.js texture this backend uses. */
interface GpuTexture {
  toArray(): ArrayLike<number>;
  delete(): void;
}

/** What gpu.js gives a kernel and gets back from it: a texture on the GL modes, an array elsewhere. */
type DeviceValue = GpuTexture | Float32Array;

/** A compiled gpu.js kernel. */
type CompiledKernel = ((...args: unknown[]) => unknown) & { setOutput(output: number[]): void; destroy?: () => void };

interface GpuInstance {
  readonly mode: string;
  createKernel(source: string, settings: Record<string, unknown>): CompiledKernel;
  destroy(): unknown;
}

interface GpuModule {
  GPU: (new (settings: {
    mode: string;
  }) => GpuInstance) & {
    readonly isHeadlessGLSupported: boolean;
    readonly isWebGL2Supported: boolean;
    readonly isWebGLSupported: boolean;
    readonly isWebAssemblySupported: boolean;
  };
}

/** Storage of one tensor: the device value, or `null` for an empty tensor. */
class GpuData {
  constructor(readonly value: DeviceValue | null) {}
}

/** Inputs are concatenated this many at a time (a fragment shader has a bounded number of texture units). */
const CONCAT_ARITY = 8;

/** Bound on every kernel loop (a reduced axis, an inner dimension of a product); gpu.js needs one. */
const MAX_LOOP = 1 << 22;

let gpuModule: Promise<GpuModule> | null = null;

/** Loads gpu.js on first use, so that importing this package loads nothing else. */
function loadGpu(): Promise<GpuModule> {
  gpuModule ??= import('gpu.js').then((m) => {
    const mod = m as unknown as GpuModule & { default?: GpuModule };
    return mod.GPU ? mod : (mod.default as GpuModule);
  });
  return gpuModule;
}

function supported(mod: GpuModule, mode: GpuMode): boolean {
  const { GPU } = mod;
  switch (mode) {
    case 'headlessgl':
      return GPU.isHeadlessGLSupported;
    case 'webgl2':
      return GPU.isWebGL2Supported;
    case 'webgl':
      return GPU.isWebGLSupported;
    case 'webasm':
      return GPU.isWebAssemblySupported;
    case 'cpu':
      return true;
  }
}

/**
 * The gpu.js modes that gpu.js reports as usable here, best first. `headlessgl` needs the `gl`
 * package built and a display (in Node run under `xvfb-run -a`).
 *
 * @example
 * ```ts
 * import { availableModes } from '@joule/tensor-gpu';
 * console.log(await availableModes()); // e.g. ['headlessgl', 'webasm', 'cpu']
 * ```
 */
export async function availableModes(): Promise<GpuMode[]> {
  const mod = await loadGpu();
  return MODES.filter((m) => supported(mod, m));
}

function data(x: BackendData): GpuData {
  return x as GpuData;
}

/**
 * A `@joule/tensor` backend whose kernels are gpu.js kernels. Values stay on the device between
 * ops (gpu.js pipeline textures on the GL modes, arrays on `webasm` and `cpu`); each op compiles
 * one kernel per op and rank (sizes are kernel arguments), cached; `free` (reached through `tidy`/`dispose`) deletes the texture.
 * Every kernel runs in float32 (`precision: 'single'`). No op falls back to the CPU: Cholesky and
 * triangular solves run as one kernel pass per column (row), the scatters as one gather-style loop
 * per output element.
 *
 * @example
 * ```ts
 * import { setBackend, tensor } from '@joule/tensor';
 * import { GpuBackend } from '@joule/tensor-gpu';
 * setBackend(await GpuBackend.create());           // the best mode here
 * const y = tensor([1, 2, 3]).exp().sum();
 * console.log(await y.data());
 * ```
 */
export class GpuBackend implements Backend {
  readonly name: string;
  readonly canReadSync = true;
  private readonly kernels = new Map<string, CompiledKernel>();
  private readonly specials: [number, number] = [Number.NaN, Number.POSITIVE_INFINITY];
  private placeholder: DeviceValue | null = null;

  private constructor(
    private readonly gpu: GpuInstance,
    /** The gpu.js mode the kernels run in. */
    readonly mode: GpuMode,
  ) {
    this.name = `gpu.js-${mode}`;
  }

  /**
   * A backend on `options.mode`, or on the best mode that works here. Checks that the mode reads
   * back float32 values exactly, and throws a `JouleError` naming the mode when it cannot run.
   *
   * @example
   * ```ts
   * const gpu = await GpuBackend.create({ mode: 'webasm' });
   * gpu.mode; // 'webasm'
   * ```
   */
  static async create(options: GpuBackendOptions = {}): Promise<GpuBackend> {
    const op = 'GpuBackend.create';
    if (options === null || typeof options !== 'object') {
      throw new JouleError(op, 'options', 'an object like { mode }', String(options));
    }
    const { mode } = options;
    if (mode !== undefined && !MODES.includes(mode)) {
      throw new JouleError(op, 'mode', `one of ${MODES.join(', ')}`, String(mode));
    }
    const mod = await loadGpu();
    const candidates = mode ? [mode] : MODES.filter((m) => supported(mod, m));
    const failures: string[] = [];
    for (const m of candidates) {
      if (!supported(mod, m)) {
        failures.push(`${m}: gpu.js reports it unsupported here`);
        continue;
      }
      let gpu: GpuInstance | null = null;
      try {
        gpu = new mod.GPU({ mode: m });
        const backend = new GpuBackend(gpu, m);
        backend.probe();
        return backend;
      } catch (e) {
        failures.push(`${m}: ${e instanceof Error ? e.message : String(e)}`);
        gpu?.destroy();
      }
    }
    throw new JouleError(
      op,
      'mode',
      mode ? `a mode that runs here` : 'some gpu.js mode that runs here',
      failures.join('; '),
    );
  }

  /** Runs a kernel and reads it back; throws where the mode does not keep float32 values exactly. */
  private probe(): void {
    const values = new Float32Array([0.1, -3.25e-5, 12345.678, 1e30]);
    const x = this.upload(values);
    const y = this.unary('neg', x, values.length);
    const got = this.readSync(y, values.length);
    this.free(x);
    this.free(y);
    for (let i = 0; i < values.length; i++) {
      if (got[i] !== -values[i]) {
        throw new Error(`float32 values do not survive a kernel (read ${got[i]} for ${-values[i]})`);
      }
    }
  }

  /** Releases every compiled kernel and the gpu.js instance; tensors on this backend become unusable. */
  destroy(): void {
    for (const k of this.kernels.values()) k.destroy?.();
    this.kernels.clear();
    this.gpu.destroy();
  }

  /** How many kernels are compiled and cached now (one per op and rank). */
  get compiledKernels(): number {
    return this.kernels.size;
  }

  /** The cached kernel of `source`, compiled on first use; its output size is set per call. */
  private kernel(source: KernelSource): CompiledKernel {
    let k = this.kernels.get(source.text);
    if (!k) {
      k = this.gpu.createKernel(source.text, {
        output: [1],
        pipeline: true,
        immutable: true,
        precision: 'single',
        tactic: 'precision',
        dynamicOutput: true,
        dynamicArguments: true,
        loopMaxIterations: MAX_LOOP,
      });
      this.kernels.set(source.text, k);
    }
    return k;
  }

  /** Runs `source` over `size` outputs with tensor arguments `args` and numeric `params`; size-0 outputs need no kernel. */
  private run(
    source: KernelSource,
    size: number,
    args: readonly BackendData[],
    params: readonly number[] = [],
  ): GpuData {
    if (size === 0) return new GpuData(null);
    const values = args.map((a) => this.argValue(data(a)));
    const k = this.kernel(source);
    k.setOutput([size]);
    const out = source.specials ? k(...values, ...params, ...this.specials) : k(...values, ...params);
    return new GpuData(out as DeviceValue);
  }

  /** The device value a kernel reads for `d`; an empty tensor is passed as a one-element placeholder it never reads. */
  private argValue(d: GpuData): DeviceValue {
    if (d.value) return d.value;
    this.placeholder ??= data(this.upload(new Float32Array(1))).value as DeviceValue;
    return this.placeholder;
  }

  upload(values: Float32Array): BackendData {
    if (values.length === 0) return new GpuData(null);
    if (this.mode === 'webasm' || this.mode === 'cpu') return new GpuData(values.slice());
    const k = this.kernel(copySource());
    k.setOutput([values.length]);
    return new GpuData(k(values) as DeviceValue);
  }

  read(x: BackendData, size: number): Promise<Float32Array> {
    return Promise.resolve(this.readSync(x, size));
  }

  readSync(x: BackendData, size: number): Float32Array {
    const { value } = data(x);
    if (!value || size === 0) return new Float32Array(0);
    if (value instanceof Float32Array) return value.slice(0, size);
    return Float32Array.from(value.toArray() as ArrayLike<number>).subarray(0, size);
  }

  free(x: BackendData): void {
    const { value } = data(x);
    if (value && !(value instanceof Float32Array)) value.delete();
  }

  unary(op: UnaryOp, x: BackendData, size: number): BackendData {
    return this.run(unarySource(op), size, [x]);
  }

  siluGrad(x: BackendData, g: BackendData, size: number): BackendData {
    return this.run(siluGradSource(), size, [x, g]);
  }

  binary(op: BinaryOp, a: BackendData, aShape: Shape, b: BackendData, bShape: Shape, outShape: Shape): BackendData {
    const c = coalesce(outShape, [broadcastStrides(aShape, outShape), broadcastStrides(bShape, outShape)]);
    const rank = c.shape.length;
    return this.run(
      binarySource(op, rank),
      sizeOf(outShape),
      [a, b],
      [...outStrides(c.shape), ...c.strides[0], ...c.strides[1]],
    );
  }

  select(
    cond: BackendData,
    condShape: Shape,
    a: BackendData,
    aShape: Shape,
    b: BackendData,
    bShape: Shape,
    outShape: Shape,
  ): BackendData {
    const c = coalesce(outShape, [
      broadcastStrides(condShape, outShape),
      broadcastStrides(aShape, outShape),
      broadcastStrides(bShape, outShape),
    ]);
    return this.run(
      selectSource(c.shape.length),
      sizeOf(outShape),
      [cond, a, b],
      [...outStrides(c.shape), ...c.strides[0], ...c.strides[1], ...c.strides[2]],
    );
  }

  reduce(op: ReduceOp, x: BackendData, outer: number, reduced: number, inner: number): BackendData {
    return this.run(reduceSource(op), outer * inner, [x], [reduced, inner]);
  }

  argReduce(op: 'argmax' | 'argmin', x: BackendData, outer: number, reduced: number, inner: number): BackendData {
    return this.run(argReduceSource(op), outer * inner, [x], [reduced, inner]);
  }

  cumsum(x: BackendData, outer: number, len: number, inner: number, reverse: boolean): BackendData {
    return this.run(cumsumSource(), outer * len * inner, [x], [len, inner, reverse ? -1 : 1]);
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
    // A stored [m, k] ([k, m] when transposed), B stored [k, n] ([n, k])
    const [aRow, aCol] = transA ? [1, m] : [k, 1];
    const [bRow, bCol] = transB ? [1, k] : [n, 1];
    return this.run(
      matmulSource(),
      batch * m * n,
      [a, b],
      [m, n, k, aBatch === 1 ? 0 : m * k, aRow, aCol, bBatch === 1 ? 0 : k * n, bRow, bCol],
    );
  }

  strided(x: BackendData, offset: number, strides: readonly number[], outShape: Shape): BackendData {
    const c = coalesce(outShape, [strides.slice()]);
    return this.run(
      stridedSource(c.shape.length),
      sizeOf(outShape),
      [x],
      [...outStrides(c.shape), ...c.strides[0], offset],
    );
  }

  pad(x: BackendData, shape: Shape, before: readonly number[], after: readonly number[]): BackendData {
    const outShape = shape.map((d, i) => d + before[i] + after[i]);
    const xs = outStrides(shape);
    xs.push(1);
    const strides = shape.length === 0 ? [] : xs;
    const offset = -shape.reduce((acc, _, i) => acc + before[i] * strides[i], 0);
    return this.run(
      padSource(shape.length),
      sizeOf(outShape),
      [x],
      [...outStrides(outShape), ...strides, ...before, ...shape.map((d, i) => before[i] + d), offset],
    );
  }

  concat(xs: readonly BackendData[], shapes: readonly Shape[], axis: number): BackendData {
    const outer = sizeOf(shapes[0].slice(0, axis));
    const widths = shapes.map((s) => sizeOf(s.slice(axis)));
    // empty pieces add nothing
    let parts = xs.map((x, k) => ({ x, width: widths[k] })).filter((p) => p.width > 0);
    if (parts.length === 0) return new GpuData(null);
    // concatenation is associative: join CONCAT_ARITY pieces at a time
    while (parts.length > 1) {
      const group = parts.slice(0, CONCAT_ARITY);
      const width = group.reduce((p, q) => p + q.width, 0);
      const starts = group.map((_, k) => group.slice(0, k).reduce((p, q) => p + q.width, 0));
      const joined = this.run(
        concatSource(group.length),
        outer * width,
        group.map((p) => p.x),
        [width, ...group.map((p) => p.width), ...starts],
      );
      for (const p of group) if (!xs.includes(p.x)) this.free(p.x);
      parts = [{ x: joined, width }, ...parts.slice(CONCAT_ARITY)];
    }
    const only = parts[0].x;
    // a single non-empty piece is copied, so the result never aliases an input
    const w = parts[0].width;
    return xs.includes(only) ? this.run(concatSource(1), outer * w, [only], [w, w, 0]) : only;
  }

  gather(x: BackendData, outer: number, dim: number, inner: number, idx: BackendData, count: number): BackendData {
    return this.run(gatherSource(), outer * count * inner, [x, idx], [count, inner, dim]);
  }

  scatterAdd(g: BackendData, outer: number, dim: number, inner: number, idx: BackendData, count: number): BackendData {
    return this.run(scatterAddSource(), outer * dim * inner, [g, idx], [dim, inner, count]);
  }

  takeAlong(x: BackendData, outer: number, dim: number, inner: number, idx: BackendData, count: number): BackendData {
    return this.run(takeAlongSource(), outer * count * inner, [x, idx], [count, inner, dim]);
  }

  scatterAlong(
    g: BackendData,
    outer: number,
    dim: number,
    inner: number,
    idx: BackendData,
    count: number,
  ): BackendData {
    return this.run(scatterAlongSource(), outer * dim * inner, [g, idx], [dim, inner, count]);
  }

  cholesky(x: BackendData, batch: number, n: number): BackendData {
    const size = batch * n * n;
    if (size === 0) return new GpuData(null);
    let l: BackendData = x;
    for (let j = 0; j < n; j++) {
      const next = this.run(choleskyColumnSource(), size, [x, l], [n, n, j]);
      if (l !== x) this.free(l);
      l = next;
    }
    const out = this.run(choleskyCheckSource(), size, [l], [n]);
    this.free(l);
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
    const size = batch * n * m;
    if (size === 0) return new GpuData(null);
    // op(L) is lower-triangular when exactly one of (lower, transpose) holds
    const forward = lower !== transpose;
    // op(L)[r, c] is read at r·lr + c·lc
    const strides = transpose ? [1, n] : [n, 1];
    let x: BackendData = b;
    for (let t = 0; t < n; t++) {
      const row = forward ? t : n - 1 - t;
      const [lo, hi] = forward ? [0, row] : [row + 1, n];
      const next = this.run(
        triangularRowSource(),
        size,
        [l, b, x],
        [n, m, row, lo, hi, lBatch === 1 ? 0 : n * n, ...strides],
      );
      if (x !== b) this.free(x);
      x = next;
    }
    return x;
  }
}

/** The row-major strides of `shape` but the last (what the kernels need to split an index into coordinates). */
function outStrides(shape: readonly number[]): number[] {
  return stridesOf(shape).slice(0, -1);
}

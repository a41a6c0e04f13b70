import { createRequire } from 'node:module';
import { basename } from 'node:path';
import { CpuBackend, type CpuBackendOptions, JouleError, type MatmulKernel, type SiluKernels } from '@joule/tensor';

/** The addon's functions (native/blas.c). */
interface Addon {
  open(path: string): string | null;
  info(): { config: string | null; threads: number | null };
  setThreads(count: number): boolean;
  sgemm(...operands: Parameters<MatmulKernel['matmul']>): void;
  siluAvailable(): boolean;
  siluSaved(...operands: Parameters<SiluKernels['siluSaved']>): void;
  siluGrad(...operands: Parameters<SiluKernels['siluGrad']>): void;
  siluGradBackward(...operands: Parameters<SiluKernels['siluGradBackward']>): void;
}

/** Options of {@link blasMatmul} and {@link blasBackend}. */
export interface BlasOptions {
  /**
   * The BLAS shared library: a path, or a name the system's loader finds. Default: the environment
   * variable `JOULE_BLAS_LIBRARY`, else the first of {@link defaultLibraries} that opens and has
   * `cblas_sgemm`. One library per process: a later call that names another one is an error.
   */
  library?: string;
  /**
   * Threads of the library's products (OpenBLAS only, which otherwise takes `OPENBLAS_NUM_THREADS` or
   * every core). The setting is the library's and so the whole process's.
   */
  threads?: number;
  /**
   * Products whose inner dimension `k` is below this stay on `CpuBackend`'s own WebAssembly kernel
   * (default 4: below it the WebAssembly kernel is faster, as `bench/src/gemm-micro.mjs --blas` measures).
   */
  minInner?: number;
}

/** Options of {@link blasBackend}: those of {@link blasMatmul}, and `CpuBackend`'s own. */
export interface BlasBackendOptions extends BlasOptions {
  /** Options passed to `CpuBackend` (threads of its element-wise kernels, memory), all but `matmul` and `silu`. */
  cpu?: Omit<CpuBackendOptions, 'matmul' | 'silu'>;
  /** Use {@link nativeSilu}'s kernels where the processor has AVX2 and FMA (default true). */
  silu?: boolean;
}

/** What {@link blasInfo} reports of the library open in this process. */
export interface BlasInfo {
  /** The path or name it was opened by. */
  library: string;
  /** OpenBLAS's build description (`openblas_get_config`), or null for other libraries. */
  config: string | null;
  /** OpenBLAS's thread count, or null for other libraries. */
  threads: number | null;
}

/**
 * Products with k < 4 are faster on the WebAssembly kernel: `[4352, 2]·[2, 128]` took 185 µs there
 * against 236 µs on OpenBLAS (2 threads), while k = 4 took 285 against 248 µs.
 */
const DEFAULT_MIN_INNER = 4;

/**
 * The libraries tried, in order, when no `library` is given: OpenBLAS first, then what the system
 * offers as its BLAS.
 *
 * @example
 * ```ts
 * import { defaultLibraries } from '@joule/tensor-blas';
 * console.log(defaultLibraries()); // on Linux: ['libopenblas.so.0', 'libopenblas.so', 'libblis.so.4', 'libblas.so.3']
 * ```
 */
export function defaultLibraries(): string[] {
  if (process.platform === 'darwin')
    return ['libopenblas.dylib', '/System/Library/Frameworks/Accelerate.framework/Accelerate'];
  if (process.platform === 'win32') return ['libopenblas.dll', 'openblas.dll'];
  return ['libopenblas.so.0', 'libopenblas.so', 'libblis.so.4', 'libblas.so.3'];
}

let addon: Addon | null = null;
let opened: string | null = null;

function loadAddon(op: string): Addon {
  if (addon) return addon;
  try {
    addon = createRequire(import.meta.url)('../build/Release/joule_blas.node') as Addon;
  } catch (error) {
    throw new JouleError(
      op,
      '',
      'the native addon build/Release/joule_blas.node, which node-gyp builds when the package installs (it needs a C compiler, make and python3; `npm rebuild @joule/tensor-blas` tries again)',
      `no addon: ${(error as Error).message.split('\n')[0]}`,
    );
  }
  return addon;
}

/** Opens the library (once per process) and returns the addon. */
function openLibrary(op: string, library: string | undefined): Addon {
  if (library !== undefined && (typeof library !== 'string' || library.length === 0))
    throw new JouleError(op, 'options.library', 'a non-empty path or library name', String(library));
  const native = loadAddon(op);
  const wanted = library ?? process.env.JOULE_BLAS_LIBRARY;
  if (opened !== null) {
    if (wanted !== undefined && wanted !== opened)
      throw new JouleError(
        op,
        'options.library',
        `the library already open in this process, '${opened}' (one BLAS per process)`,
        `'${wanted}'`,
      );
    return native;
  }
  const candidates = wanted !== undefined ? [wanted] : defaultLibraries();
  const reasons: string[] = [];
  for (const candidate of candidates) {
    const reason = native.open(candidate);
    if (reason === null) {
      opened = candidate;
      return native;
    }
    reasons.push(`${candidate}: ${reason}`);
  }
  throw new JouleError(
    op,
    wanted !== undefined ? (library !== undefined ? 'options.library' : 'JOULE_BLAS_LIBRARY') : '',
    'a BLAS shared library with cblas_sgemm (on Debian: apt-get install libopenblas0-pthread)',
    reasons.join('; '),
  );
}

/**
 * A {@link MatmulKernel} on a native BLAS's `cblas_sgemm` (OpenBLAS by default), for
 * `new CpuBackend({ matmul })`: large matrix products run on the library's AVX2/AVX-512 kernels and
 * its threads, every other op stays on the WebAssembly kernels. Node only.
 *
 * @example
 * ```ts
 * import { CpuBackend, setBackend } from '@joule/tensor';
 * import { blasMatmul } from '@joule/tensor-blas';
 * setBackend(new CpuBackend({ matmul: blasMatmul({ threads: 2 }) }));
 * ```
 */
export function blasMatmul(options: BlasOptions = {}): MatmulKernel {
  const op = 'blasMatmul';
  const minInner = options.minInner ?? DEFAULT_MIN_INNER;
  if (typeof minInner !== 'number' || !(minInner >= 0))
    throw new JouleError(op, 'options.minInner', 'a number ≥ 0', String(minInner));
  const threads = options.threads;
  if (threads !== undefined && (!Number.isInteger(threads) || threads < 1 || threads > 1024))
    throw new JouleError(op, 'options.threads', 'an integer in [1, 1024]', String(threads));
  const native = openLibrary(op, options.library);
  if (threads !== undefined && !native.setThreads(threads))
    throw new JouleError(
      op,
      'options.threads',
      'a library whose thread count can be set (OpenBLAS)',
      `'${opened}', which has no openblas_set_num_threads`,
    );
  const config = native.info().config;
  const sgemm = native.sgemm;
  return {
    name: config !== null ? 'openblas' : basename(opened ?? ''),
    matmul(a, aOffset, b, bOffset, c, cOffset, m, k, n, transA, transB) {
      checkOperands(a, aOffset, b, bOffset, c, cOffset, m, k, n, transA, transB);
      if (k < minInner) return false;
      sgemm(a, aOffset, b, bOffset, c, cOffset, m, k, n, transA === true, transB === true);
      return true;
    },
  };
}

function isSize(value: number): boolean {
  return Number.isInteger(value) && value >= 0 && value <= 0x7fffffff;
}

const MATMUL_OP = 'blasMatmul().matmul';

/**
 * The JouleError for operands the addon would refuse (it checks again, so no call can write out of bounds).
 * On the path of every product: nothing is allocated unless something is wrong.
 */
function checkOperands(...[a, aOffset, b, bOffset, c, cOffset, m, k, n]: Parameters<MatmulKernel['matmul']>): void {
  checkSize(MATMUL_OP, 'm', m);
  checkSize(MATMUL_OP, 'k', k);
  checkSize(MATMUL_OP, 'n', n);
  checkMatrix('a', a, aOffset, m * k);
  checkMatrix('b', b, bOffset, k * n);
  checkMatrix('c', c, cOffset, m * n);
}

function checkSize(op: string, name: string, value: number): void {
  if (!isSize(value)) throw new JouleError(op, name, 'an integer in [0, 2³¹)', String(value));
}

function checkFloat32(op: string, name: string, array: Float32Array): void {
  if (!(array instanceof Float32Array))
    throw new JouleError(op, name, 'a Float32Array', Object.prototype.toString.call(array));
}

/** `length` elements of `array` from `offset`. */
function checkMatrix(name: string, array: Float32Array, offset: number, length: number): void {
  checkFloat32(MATMUL_OP, name, array);
  if (!isSize(offset) || offset + length > array.length)
    throw new JouleError(
      MATMUL_OP,
      `${name}Offset`,
      `an offset with ${length} elements after it in ${name}`,
      `${offset} in an array of ${array.length}`,
    );
}

/**
 * A `CpuBackend` whose large matrix products run on a native BLAS ({@link blasMatmul}); `cpu` passes
 * options through to `CpuBackend` (threads of the element-wise kernels, memory).
 *
 * @example
 * ```ts
 * import { setBackend } from '@joule/tensor';
 * import { blasBackend } from '@joule/tensor-blas';
 * setBackend(blasBackend());
 * ```
 */
export function blasBackend(options: BlasBackendOptions = {}): CpuBackend {
  const { cpu, silu = true, ...blas } = options;
  const matmul = blasMatmul(blas);
  return new CpuBackend({ ...cpu, matmul, silu: silu && nativeSiluAvailable() ? nativeSilu() : undefined });
}

/**
 * Whether {@link nativeSilu}'s kernels run here: an x86-64 processor with AVX2 and FMA, and the addon built.
 *
 * @example
 * ```ts
 * import { nativeSiluAvailable } from '@joule/tensor-blas';
 * console.log(nativeSiluAvailable()); // true on any x86-64 processor since 2013–2015
 * ```
 */
export function nativeSiluAvailable(): boolean {
  try {
    return loadAddon('nativeSiluAvailable').siluAvailable();
  } catch {
    return false;
  }
}

/**
 * `SiluKernels` for `new CpuBackend({ silu })` on AVX2 and FMA: SiLU, its gradient and the gradient's
 * backward pass on 8 lanes, the algorithm of `@joule/tensor`'s WebAssembly kernels (an exponential within
 * about 1 ulp, σ(−|x|) saved by the forward pass). About 3× faster than the WebAssembly kernels here.
 *
 * @example
 * ```ts
 * import { CpuBackend, setBackend } from '@joule/tensor';
 * import { blasMatmul, nativeSilu } from '@joule/tensor-blas';
 * setBackend(new CpuBackend({ matmul: blasMatmul(), silu: nativeSilu() }));
 * ```
 */
export function nativeSilu(): SiluKernels {
  const op = 'nativeSilu';
  const native = loadAddon(op);
  if (!native.siluAvailable())
    throw new JouleError(op, '', 'an x86-64 processor with AVX2 and FMA', `${process.arch} without them`);
  return {
    name: 'avx2',
    siluSaved(x, y, m, size) {
      const op = SILU_OPS.siluSaved;
      checkSize(op, 'size', size);
      checkVector(op, 'x', x, size);
      checkVector(op, 'y', y, size);
      checkVector(op, 'm', m, size);
      native.siluSaved(x, y, m, size);
      return true;
    },
    siluGrad(x, m, g, out, size) {
      const op = SILU_OPS.siluGrad;
      checkSize(op, 'size', size);
      checkVector(op, 'x', x, size);
      checkVector(op, 'm', m, size);
      checkVector(op, 'g', g, size);
      checkVector(op, 'out', out, size);
      native.siluGrad(x, m, g, out, size);
      return true;
    },
    siluGradBackward(x, m, g, h, dx, dg, size) {
      const op = SILU_OPS.siluGradBackward;
      checkSize(op, 'size', size);
      checkVector(op, 'x', x, size);
      checkVector(op, 'm', m, size);
      checkVector(op, 'g', g, size);
      checkVector(op, 'h', h, size);
      checkVector(op, 'dx', dx, size);
      checkVector(op, 'dg', dg, size);
      native.siluGradBackward(x, m, g, h, dx, dg, size);
      return true;
    },
  };
}

const SILU_OPS = {
  siluSaved: 'nativeSilu().siluSaved',
  siluGrad: 'nativeSilu().siluGrad',
  siluGradBackward: 'nativeSilu().siluGradBackward',
} as const;

/** The JouleError for an array the addon would refuse (it checks again); nothing is allocated when it is fine. */
function checkVector(op: string, name: string, array: Float32Array, size: number): void {
  checkFloat32(op, name, array);
  if (array.length < size) throw new JouleError(op, name, `at least ${size} elements (size)`, `${array.length}`);
}

/**
 * The BLAS library open in this process, or null before {@link blasMatmul} opened one.
 *
 * @example
 * ```ts
 * import { blasInfo, blasMatmul } from '@joule/tensor-blas';
 * blasMatmul();
 * console.log(blasInfo()); // { library: 'libopenblas.so.0', config: 'OpenBLAS 0.3.21 … Haswell MAX_THREADS=64', threads: 2 }
 * ```
 */
export function blasInfo(): BlasInfo | null {
  if (addon === null || opened === null) return null;
  return { library: opened, ...addon.info() };
}

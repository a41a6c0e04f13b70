import { WasmArena } from './arena.js';
import { gemmModuleBytes, type KernelFn, MR, NR, type PackFn } from './gemm-kernel.js';
import { validates } from './wasm-asm.js';
import { type ThreadedModule, type ThreadsPart, WasmThreads } from './wasm-threads.js';

/** The exports that units of work call, by index. */
const KERNELS = ['gemm', 'gemmRows', 'packA', 'packB'] as const;
const [PACK_A, PACK_B] = [2, 3];
type KernelArgs = Parameters<KernelFn>;

/** Depth of one packed block (a B micro-panel of KC·NR floats and an A tile of KC·MR floats stay in L1). */
const KC = 256;
/** Rows of one unit of work (a multiple of MR; its packed A block, MC·KC floats, stays in L2). */
const MC = 128;
/** Columns of one unit of work (a multiple of NR). */
const NC = 256;
/**
 * A is packed when each of its tiles meets at least this many panels of B; below, the packing costs more
 * than the kernel gains from it and the kernel reads A in place (measured on [4352, 128]·[128, n]: n = 2, 16
 * and 32 run faster in place, n = 128 and 512 as fast or faster packed).
 */
const PACK_A_MIN_PANELS = 5;
const roundUp = (x: number, m: number) => Math.ceil(x / m) * m;

/**
 * One product laid out in the arena's memory by {@link WasmGemm.prepare}: A, packed B and C (`mPad × nPad`,
 * row-major), addresses in bytes.
 * @internal
 */
export interface GemmPlan {
  readonly m: number;
  readonly k: number;
  readonly n: number;
  readonly mPad: number;
  readonly nPad: number;
  /**
   * How A is read: `'packed'`, depth block at `p0` then row tile `t` at `aPtr + 4(p0·mPad + t·kc·MR)`;
   * in place, the `[m, k]` matrix (`'rows'`) or the `[k, m]` one (`'columns'`, a transposed A) at `aPtr`,
   * whatever lies past its end read as rows up to `mPad`, which only reach C's padding rows.
   */
  readonly aLayout: 'packed' | 'rows' | 'columns';
  readonly aPtr: number;
  /** Packed B: depth block at `p0` then panel `jp` at `bPtr + 4(p0·nPad + jp·kc·NR)`. */
  readonly bPtr: number;
  /** Where C goes: the output itself when {@link GemmPlan.direct}, else a padded scratch block. */
  readonly cPtr: number;
  /** True when the kernels write the result straight into the output (no padding, output in the memory). */
  readonly direct: boolean;
  /** Scratch blocks to give back when the product is done (address, bytes pairs). */
  readonly blocks: number[];
  /** True when the product is large enough for its units to be shared with the worker threads. */
  readonly parallel: boolean;
  /** Independent pieces of work covering C once; they may run in any order. */
  readonly units: readonly GemmUnit[];
}

/**
 * A block of C, rows `row0 .. row0+rows` (multiples of MR) by panels `panel0 .. panel0+panels` of NR
 * columns, computed over the whole depth. Units of one plan write disjoint parts of C.
 * @internal
 */
export interface GemmUnit {
  readonly row0: number;
  readonly rows: number;
  readonly panel0: number;
  readonly panels: number;
}

/**
 * Matrix products on a WebAssembly SIMD micro-kernel (register tiles of MR×NR over A packed in tiles of
 * MR interleaved rows and B packed in panels of NR columns, both blocked over the depth by KC), on the
 * memory of a {@link WasmArena}. Operands that live there are read in place (others are copied in), B (and
 * A when it pays) is packed into scratch blocks, which absorbs both transposes, and the result is written
 * straight into the output when that lives there too and needs no padding. The work is a list of
 * independent units (row block × panel range) that worker threads may share.
 * @internal
 */
export class WasmGemm {
  private readonly kernel: KernelFn;
  private readonly kernelRows: KernelFn;
  private readonly packA: PackFn;
  private readonly packB: PackFn;
  /** The worker threads, when there are any. */
  private pool: ThreadsPart | null;

  /**
   * @param fma Use the relaxed-SIMD FMA kernels.
   * @param threads Threads for large products, this one included (more than 1 needs Node's `worker_threads`
   *   and a shared memory, elsewhere one thread is used), or the share of a pool made with
   *   {@link gemmThreadedModule} of the same `fma` that this module uses.
   * @param parallelMinFlops Products of fewer flops (`2mnk`) run on this thread alone.
   * @param arena The memory the kernels work in (a memory of their own by default).
   */
  constructor(
    readonly fma: boolean,
    threads: number | ThreadsPart = 1,
    readonly parallelMinFlops = 1 << 21,
    readonly arena: WasmArena = new WasmArena(),
  ) {
    let exports: WebAssembly.Exports;
    if (typeof threads === 'number') {
      const threaded = gemmThreadedModule(fma, arena.shared);
      this.pool = threads > 1 && arena.threadable ? new WasmThreads(arena.memory, [threaded], threads).part(0) : null;
      exports = this.pool?.exports ?? new WebAssembly.Instance(threaded.module, { env: { mem: arena.memory } }).exports;
    } else {
      this.pool = threads;
      exports = threads.exports;
    }
    this.kernel = exports.gemm as KernelFn;
    this.kernelRows = exports.gemmRows as KernelFn;
    this.packA = exports.packA as PackFn;
    this.packB = exports.packB as PackFn;
  }

  /** Threads that share the work of a large product (1: this thread only). */
  get threads(): number {
    return this.pool?.threads ?? 1;
  }

  /** Stops the worker threads; later products run on this thread. */
  close(): void {
    this.pool?.pool.close();
    this.pool = null;
  }

  /**
   * Waits (blocking, at most `timeoutMs`) until the worker threads have started; true when they
   * have (or there are none). Only benchmarks need this: until a worker starts, this thread does its share.
   */
  waitForThreads(timeoutMs: number): boolean {
    return this.pool?.pool.waitForWorkers(timeoutMs) ?? true;
  }

  /**
   * Plans `out[oOff..] = op(A) · op(B)`: finds `op(A)` (`[m, k]`, stored `[k, m]` from `aOff` when `transA`)
   * and `op(B)` (`[k, n]`, stored `[n, k]` from `bOff` when `transB`) in the memory (copying in those that
   * are not there), packs them for the whole depth and chooses where C goes. Null when the memory is full.
   */
  prepare(
    A: Float32Array,
    aOff: number,
    B: Float32Array,
    bOff: number,
    out: Float32Array,
    oOff: number,
    m: number,
    k: number,
    n: number,
    transA: boolean,
    transB: boolean,
  ): GemmPlan | null {
    const arena = this.arena;
    const mPad = roundUp(m, MR);
    const nPad = roundUp(n, NR);
    const packedA = nPad / NR >= PACK_A_MIN_PANELS;
    const blocks: number[] = [];
    const scratch = (bytes: number) => {
      const at = arena.block(bytes);
      if (at >= 0) blocks.push(at, bytes);
      return at;
    };
    // A read in place runs on to mPad rows (the rows past m only reach C's padding rows)
    const aRaw = arena.operand(A, aOff, m * k, (packedA ? m : mPad) * k * 4, blocks);
    const bRaw = arena.operand(B, bOff, k * n, k * n * 4, blocks);
    const aPacked = packedA ? scratch(mPad * k * 4) : 0;
    const bPtr = scratch(k * nPad * 4);
    const direct = mPad === m && nPad === n && arena.owns(out);
    const cPtr = direct ? out.byteOffset + oOff * 4 : scratch(mPad * nPad * 4);
    if (aRaw < 0 || bRaw < 0 || aPacked < 0 || bPtr < 0 || cPtr < 0) {
      arena.releaseBlocks(blocks);
      return null;
    }
    // an empty depth runs no kernel: the product is zero
    if (k === 0) arena.f32.fill(0, cPtr / 4, cPtr / 4 + mPad * nPad);
    // byte strides of op(A)(i, p) along p and i, and of op(B)(p, j) along p and j
    const [aPs, aIs] = transA ? [m * 4, 4] : [4, k * 4];
    const [bPs, bJs] = transB ? [4, k * 4] : [n * 4, 4];
    const parallel = this.pool !== null && 2 * m * n * k >= this.parallelMinFlops;
    // packing in pieces of whole tiles and panels, which the threads share when the product is large
    const pieces = parallel ? 2 * this.threads : 1;
    const packs: number[][][] = [];
    const split = (count: number, each: (first: number, count: number) => number[][]) => {
      const size = Math.ceil(count / pieces);
      for (let first = 0; first < count; first += size) packs.push(each(first, Math.min(size, count - first)));
    };
    const depthBlocks = (call: (p0: number, kc: number) => number[]) => {
      const calls: number[][] = [];
      for (let p0 = 0; p0 < k; p0 += KC) calls.push(call(p0, Math.min(KC, k - p0)));
      return calls;
    };
    const [tiles, panels] = [mPad / MR, nPad / NR];
    if (packedA)
      split(tiles, (t0, count) =>
        depthBlocks((p0, kc) => {
          const last = t0 + count === tiles ? m - (mPad - MR) : MR;
          const dst = aPacked + 4 * (p0 * mPad + t0 * kc * MR);
          return [PACK_A, aRaw + p0 * aPs + t0 * MR * aIs, dst, count, kc, aPs, aIs, last];
        }),
      );
    split(panels, (j0, count) =>
      depthBlocks((p0, kc) => {
        const last = j0 + count === panels ? n - (nPad - NR) : NR;
        const dst = bPtr + 4 * (p0 * nPad + j0 * kc * NR);
        return [PACK_B, bRaw + p0 * bPs + j0 * NR * bJs, dst, count, kc, bPs, bJs, last];
      }),
    );
    const pool = this.pool;
    if (parallel && pool) {
      for (const unit of packs) {
        for (const [fn, ...args] of unit) pool.call(fn, ...args);
        pool.endUnit();
      }
      pool.run();
    } else
      for (const unit of packs)
        for (const [fn, ...args] of unit) (fn === PACK_A ? this.packA : this.packB)(...(args as Parameters<PackFn>));
    const units: GemmUnit[] = [];
    const nPanels = panels;
    let unitRows = MC;
    let unitPanels = NC / NR;
    if (parallel) {
      // at least 4 units per thread where the product allows it, so that a late or slow thread evens out
      const want = 16 * this.threads;
      while (Math.ceil(mPad / unitRows) * Math.ceil(nPanels / unitPanels) < want && unitPanels > 1)
        unitPanels = Math.ceil(unitPanels / 2);
      while (Math.ceil(mPad / unitRows) * Math.ceil(nPanels / unitPanels) < want && unitRows > MR)
        unitRows = Math.max(MR, roundUp(unitRows / 2, MR));
    }
    for (let row0 = 0; row0 < mPad; row0 += unitRows) {
      const rows = Math.min(unitRows, mPad - row0);
      for (let panel0 = 0; panel0 < nPanels; panel0 += unitPanels)
        units.push({ row0, rows, panel0, panels: Math.min(unitPanels, nPanels - panel0) });
    }
    const aLayout = packedA ? 'packed' : transA ? 'columns' : 'rows';
    const aPtr = packedA ? aPacked : aRaw;
    return { m, k, n, mPad, nPad, aLayout, aPtr, bPtr, cPtr, direct, blocks, parallel, units };
  }

  /** Computes one unit of `plan` (its block of C over the whole depth) on this thread. */
  run(plan: GemmPlan, unit: GemmUnit): void {
    this.unitCalls(plan, unit, (fn, ...args) => (fn === 0 ? this.kernel : this.kernelRows)(...(args as KernelArgs)));
  }

  /** Runs every unit of `plan`, on the worker threads too when it is large enough. */
  runAll(plan: GemmPlan): void {
    const pool = this.pool;
    if (pool && plan.parallel && plan.units.length > 1) {
      const call = (fn: number, ...args: number[]) => pool.call(fn, ...args);
      for (const unit of plan.units) {
        this.unitCalls(plan, unit, call);
        pool.endUnit();
      }
      pool.run();
    } else for (const unit of plan.units) this.run(plan, unit);
  }

  /** The kernel calls of one unit, in order: `call(0, …)` for `gemm`, `call(1, …)` for `gemmRows`. */
  private unitCalls(plan: GemmPlan, unit: GemmUnit, call: (fn: number, ...args: number[]) => void): void {
    const { m, k, mPad, nPad, aLayout, aPtr } = plan;
    const c = plan.cPtr + (unit.row0 * nPad + unit.panel0 * NR) * 4;
    const [tiles, panels, ldc] = [unit.rows / MR, unit.panels, nPad * 4];
    for (let p0 = 0; p0 < k; p0 += KC) {
      const kc = Math.min(KC, k - p0);
      const b = plan.bPtr + (p0 * nPad + unit.panel0 * kc * NR) * 4;
      const acc = p0 > 0 ? 1 : 0;
      if (aLayout === 'packed') {
        const a = aPtr + (p0 * mPad + unit.row0 * kc) * 4;
        call(0, a, b, c, ldc, tiles, panels, kc, acc, MR * 4, kc * MR * 4);
      } else if (aLayout === 'columns') {
        call(0, aPtr + (p0 * m + unit.row0) * 4, b, c, ldc, tiles, panels, kc, acc, m * 4, MR * 4);
      } else {
        call(1, aPtr + (unit.row0 * k + p0) * 4, b, c, ldc, tiles, panels, kc, acc, k * 4, MR * k * 4);
      }
    }
  }

  /**
   * Ends `plan` (all of its units run): copies its `[m, n]` result to `out` from `oOff` unless the kernels
   * wrote it there, and gives back its scratch blocks.
   */
  finish(plan: GemmPlan, out: Float32Array, oOff: number): void {
    const { m, n, nPad } = plan;
    if (!plan.direct) {
      const mem = this.arena.f32;
      const cPtr = plan.cPtr / 4;
      if (nPad === n) out.set(mem.subarray(cPtr, cPtr + m * n), oOff);
      else if (n >= NR) {
        for (let i = 0; i < m; i++) out.set(mem.subarray(cPtr + i * nPad, cPtr + i * nPad + n), oOff + i * n);
      } else {
        // narrow rows (an energy head, a 2-D input gradient): element copies beat a subarray per row
        for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) out[oOff + i * n + j] = mem[cPtr + i * nPad + j];
      }
    }
    this.arena.releaseBlocks(plan.blocks);
  }

  /**
   * `out[oOff..] = op(A) · op(B)` for one `[m, k] · [k, n]` product; `A` starts at `aOff` (stored
   * `[k, m]` when `transA`), `B` at `bOff` (stored `[n, k]` when `transB`). False (and nothing written)
   * when the memory is full.
   */
  matmul(
    A: Float32Array,
    aOff: number,
    B: Float32Array,
    bOff: number,
    out: Float32Array,
    oOff: number,
    m: number,
    k: number,
    n: number,
    transA: boolean,
    transB: boolean,
  ): boolean {
    const plan = this.prepare(A, aOff, B, bOff, out, oOff, m, k, n, transA, transB);
    if (!plan) return false;
    this.runAll(plan);
    this.finish(plan, out, oOff);
    return true;
  }
}

/** The gemm module (with FMA or not, importing a shared memory or not) and the exports units call. @internal */
export function gemmThreadedModule(fma: boolean, shared: boolean): ThreadedModule {
  return { module: new WebAssembly.Module(gemmModuleBytes(fma, shared)), names: KERNELS };
}

let probed: { simd: boolean; fma: boolean } | null = null;

/** Which WebAssembly features this engine has for the gemm kernels. @internal */
export function wasmFeatures(): { simd: boolean; fma: boolean } {
  if (!probed) probed = { simd: validates(gemmModuleBytes(false)), fma: validates(gemmModuleBytes(true)) };
  return probed;
}

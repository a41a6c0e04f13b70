import { SHARED_MAX_PAGES } from './wasm-asm.js';
import { workerThreads } from './wasm-threads.js';

const PAGE = 65536;
/** Bytes at the start of memory kept for the kernels' constant table (see elementwise-wasm.ts). */
export const RESERVED_BYTES = 1024;
/** Pages of a memory that cannot grow (no shared memory): 256 MiB, else 64 MiB, else 16 MiB. */
const FIXED_PAGES = [4096, 1024, 256];

/** A shared memory where the engine has one, else the largest fixed memory it gives. */
function defaultMemory(): WebAssembly.Memory {
  if (typeof SharedArrayBuffer === 'function') {
    try {
      return new WebAssembly.Memory({ initial: 16, maximum: SHARED_MAX_PAGES, shared: true });
    } catch {
      // shared memory needs cross-origin isolation in browsers
    }
  }
  for (const pages of FIXED_PAGES) {
    try {
      return new WebAssembly.Memory({ initial: pages, maximum: pages });
    } catch {
      // a smaller memory may still fit in this address space
    }
  }
  return new WebAssembly.Memory({ initial: 16, maximum: 16 });
}

/**
 * Bytes of the block that holds `bytes`: multiples of 64 up to 1 KiB, then four sizes per power of two
 * (at most a quarter wasted). Every block is a multiple of 64 bytes, so blocks stay 64-byte aligned, and
 * a block of `n` floats has room for the ≤ 3 floats past `n` that a four-wide kernel writes.
 */
function blockBytes(bytes: number): number {
  if (bytes <= 1024) return Math.max(64, Math.ceil(bytes / 64) * 64);
  const step = 2 ** (Math.ceil(Math.log2(bytes)) - 3);
  return Math.ceil(bytes / step) * step;
}

/**
 * The one WebAssembly memory of a CPU backend: tensors' storage lives in it as `Float32Array` views, so
 * every kernel module (matrix products, element-wise maps, reductions) reads its operands and writes its
 * results in place instead of copying them in and out; kernels also take scratch blocks from it.
 *
 * The memory is shared where the engine allows it (Node; browsers when cross-origin isolated): a shared
 * memory grows without detaching the views already handed out, and worker threads can run kernels on it.
 * Elsewhere it is an ordinary memory of fixed size (it cannot grow: growing would detach every view).
 * Blocks are recycled by size class, and merged into larger free regions before the memory would grow
 * while half of it is free; a tensor's block comes back when the backend frees it, or when the garbage
 * collector finds its view unreachable. Past `maxTensorBytes` of live tensors, or when the memory
 * is full, {@link alloc} says no and the backend uses ordinary arrays, which kernels copy in.
 * @internal
 */
export class WasmArena {
  readonly memory: WebAssembly.Memory;
  /** True when the memory is shared (it grows, and worker threads may use it). */
  readonly shared: boolean;
  /** The memory's buffers so far (a shared memory gives a new one after each growth). */
  private readonly buffers = new WeakSet<ArrayBufferLike>();
  private view: Float32Array;
  /** First byte never handed out. */
  private top = RESERVED_BYTES;
  /** Free blocks by size. */
  private readonly free = new Map<number, number[]>();
  /** Free regions of any size, `[address, bytes]` pairs by address: free blocks merged when the memory would grow. */
  private regions: number[] = [];
  /** Bytes in free blocks and regions. */
  private freeBytes = 0;
  /** Blocks given back since the free blocks were last merged. */
  private givenSinceMerge = 0;
  /** Bytes held by live tensors. */
  private tensorBytes = 0;
  private readonly finalizer = new FinalizationRegistry<number>((held) => this.collected(held));
  /** Block sizes of the live tensors' views, by address (for the finalizer). */
  private readonly tensorBlocks = new Map<number, number>();

  /**
   * @param maxTensorBytes Most bytes of live tensors kept in the memory (256 MiB by default); beyond them
   *   tensors are ordinary arrays. Scratch blocks are not counted.
   * @param memory The memory to use (by default a shared one where the engine has it, else a fixed one);
   *   its first {@link RESERVED_BYTES} bytes are left to the kernels' constants.
   */
  constructor(
    readonly maxTensorBytes = 256 * 1024 * 1024,
    memory: WebAssembly.Memory = defaultMemory(),
  ) {
    this.memory = memory;
    this.shared = typeof SharedArrayBuffer === 'function' && memory.buffer instanceof SharedArrayBuffer;
    this.view = new Float32Array(memory.buffer);
    this.buffers.add(memory.buffer);
  }

  /** True when worker threads can run kernels on this memory. */
  get threadable(): boolean {
    return this.shared && workerThreads() !== null;
  }

  /** The whole memory as floats (a new view after the memory grows). */
  get f32(): Float32Array {
    if (this.view.buffer !== this.memory.buffer) {
      this.view = new Float32Array(this.memory.buffer);
      this.buffers.add(this.memory.buffer);
    }
    return this.view;
  }

  /** Bytes of the memory now. */
  get byteLength(): number {
    return this.memory.buffer.byteLength;
  }

  /** True when `a` is a view into this memory (a tensor's storage here, or part of one). */
  owns(a: Float32Array): boolean {
    const buffer = a.buffer;
    return buffer === this.view.buffer || this.buffers.has(buffer);
  }

  /** Storage for a tensor of `length` floats in the memory, or null when it does not fit (see the class). */
  alloc(length: number): Float32Array | null {
    const bytes = blockBytes(length * 4);
    if (this.tensorBytes + bytes > this.maxTensorBytes) return null;
    const at = this.take(bytes);
    if (at < 0) return null;
    this.tensorBytes += bytes;
    const a = new Float32Array(this.memory.buffer, at, length);
    this.buffers.add(a.buffer);
    this.tensorBlocks.set(at, bytes);
    this.finalizer.register(a, at, a);
    return a;
  }

  /** Gives back the block of a tensor's storage from {@link alloc}; `a` is never used again. */
  release(a: Float32Array): void {
    if (!this.tensorBlocks.has(a.byteOffset)) return;
    this.finalizer.unregister(a);
    this.collected(a.byteOffset);
  }

  /** The tensor's block at `at` is free: released, or its view garbage-collected without being released. */
  private collected(at: number): void {
    const bytes = this.tensorBlocks.get(at);
    if (bytes === undefined) return;
    this.tensorBlocks.delete(at);
    this.tensorBytes -= bytes;
    this.give(at, bytes);
  }

  /** Byte address of a scratch block of at least `bytes` (64-byte aligned), or −1 when the memory is full. */
  block(bytes: number): number {
    return this.take(blockBytes(bytes));
  }

  /** Gives back a block from {@link block} of the same `bytes`. */
  releaseBlock(at: number, bytes: number): void {
    this.give(at, blockBytes(bytes));
  }

  /**
   * Byte address from which a kernel reads `a[offset .. offset + length)`, and may read on up to `reach`
   * bytes from that address without trapping (the values past `length` are never used): `a` in place when
   * it lives in this memory, otherwise a copy in a new scratch block pushed to `blocks` (as `[address,
   * bytes]`). −1 when the memory is full.
   */
  operand(a: Float32Array, offset: number, length: number, reach: number, blocks: number[]): number {
    if (this.owns(a)) {
      const at = a.byteOffset + offset * 4;
      if (at + Math.max(reach, length * 4) <= this.byteLength) return at;
    }
    const bytes = Math.max(reach, length * 4);
    const at = this.block(bytes);
    if (at < 0) return -1;
    blocks.push(at, bytes);
    this.f32.set(a.subarray(offset, offset + length), at / 4);
    return at;
  }

  /** Gives back the scratch blocks of {@link operand} and {@link block} listed in `blocks`. */
  releaseBlocks(blocks: number[]): void {
    for (let i = 0; i < blocks.length; i += 2) this.releaseBlock(blocks[i], blocks[i + 1]);
    blocks.length = 0;
  }

  /**
   * Address of a block of `bytes` (a block size): a free block of that size, else a piece of a free region,
   * else new memory at the top. Before the memory grows while at least half of what was handed out is
   * free, the free blocks are merged into regions (so a workload that moves on to other sizes reuses
   * the memory of the old ones rather than growing it).
   */
  private take(bytes: number): number {
    const list = this.free.get(bytes);
    if (list && list.length > 0) {
      this.freeBytes -= bytes;
      return list.pop() as number;
    }
    const carved = this.carve(bytes);
    if (carved >= 0) return carved;
    if (this.top + bytes > this.byteLength) {
      if (this.givenSinceMerge > 0 && 2 * this.freeBytes >= this.top - RESERVED_BYTES) {
        this.merge();
        const merged = this.carve(bytes);
        if (merged >= 0) return merged;
      }
      if (this.top + bytes > this.byteLength && !this.extend(this.top + bytes)) return -1;
    }
    const at = this.top;
    this.top += bytes;
    return at;
  }

  private give(at: number, bytes: number): void {
    let list = this.free.get(bytes);
    if (!list) {
      list = [];
      this.free.set(bytes, list);
    }
    list.push(at);
    this.freeBytes += bytes;
    this.givenSinceMerge++;
  }

  /** The first `bytes` of the first free region that has them, or −1. */
  private carve(bytes: number): number {
    const r = this.regions;
    for (let i = 0; i < r.length; i += 2) {
      if (r[i + 1] < bytes) continue;
      const at = r[i];
      if (r[i + 1] === bytes) r.splice(i, 2);
      else {
        r[i] += bytes;
        r[i + 1] -= bytes;
      }
      this.freeBytes -= bytes;
      return at;
    }
    return -1;
  }

  /** Merges the free blocks and regions into maximal regions; the one that ends at the top lowers it. */
  private merge(): void {
    const all: number[][] = [];
    for (const [bytes, list] of this.free) for (const at of list) all.push([at, bytes]);
    for (let i = 0; i < this.regions.length; i += 2) all.push([this.regions[i], this.regions[i + 1]]);
    all.sort((x, y) => x[0] - y[0]);
    const merged: number[] = [];
    for (const [at, bytes] of all) {
      const n = merged.length;
      if (n > 0 && merged[n - 2] + merged[n - 1] === at) merged[n - 1] += bytes;
      else merged.push(at, bytes);
    }
    const n = merged.length;
    if (n > 0 && merged[n - 2] + merged[n - 1] === this.top) {
      this.top = merged[n - 2];
      this.freeBytes -= merged[n - 1];
      merged.length = n - 2;
    }
    this.free.clear();
    this.regions = merged;
    this.givenSinceMerge = 0;
  }

  /** Grows a shared memory to at least `bytes` (by at least a quarter where it can); false when it cannot. */
  private extend(bytes: number): boolean {
    if (!this.shared) return false;
    const have = this.memory.buffer.byteLength / PAGE;
    const need = Math.ceil(bytes / PAGE);
    if (need > SHARED_MAX_PAGES) return false;
    for (const pages of [Math.min(SHARED_MAX_PAGES, Math.max(need, Math.ceil(have * 1.25))), need]) {
      try {
        this.memory.grow(pages - have);
        return true;
      } catch {
        // past the memory's maximum, or out of address space: try the least that fits
      }
    }
    return false;
  }
}

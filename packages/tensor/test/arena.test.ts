/**
 * Tensors' storage in the kernels' WebAssembly memory: blocks never overlap and are recycled, views survive
 * the memory's growth, kernels read and write storage that lives there in place with the same bits as on
 * copies, and a full memory makes the kernels say no (the backend then runs its JavaScript loops).
 */
import { describe, expect, it } from 'vitest';
import { WasmArena } from '../src/cpu/arena.js';
import { WasmElementwise, wasmElementwiseAvailable } from '../src/cpu/elementwise-wasm.js';
import { WasmGemm, wasmFeatures } from '../src/cpu/gemm-wasm.js';
import { CpuBackend, Rng } from '../src/index.js';

const available = wasmFeatures().simd && wasmElementwiseAvailable();

/** `values` copied into storage from `arena`. */
function stored(arena: WasmArena, values: Float32Array): Float32Array {
  const a = arena.alloc(values.length);
  if (!a) throw new Error('the arena is full');
  a.set(values);
  return a;
}

const sameBits = (a: Float32Array, b: Float32Array) => a.length === b.length && a.every((v, i) => Object.is(v, b[i]));

describe('the arena', () => {
  it('hands out disjoint blocks, recycles a released one, and keeps earlier views through growth', () => {
    const arena = new WasmArena();
    const sizes = [1, 3, 64, 100, 1000, 4097, 70000];
    const views = sizes.map((n, i) => {
      const v = arena.alloc(n) as Float32Array;
      expect(arena.owns(v)).toBe(true);
      expect(v.byteOffset % 64).toBe(0);
      v.fill(i + 1);
      return v;
    });
    // growth to several times the initial memory: the earlier views still read their values
    const big = arena.alloc(4 << 20) as Float32Array;
    big.fill(-1);
    expect(arena.byteLength).toBeGreaterThan(16 << 20);
    for (const [i, v] of views.entries()) expect(v.every((x) => x === i + 1)).toBe(true);
    // a released block comes back for the next storage of its size
    const at = views[4].byteOffset;
    arena.release(views[4]);
    expect((arena.alloc(1000) as Float32Array).byteOffset).toBe(at);
    expect(arena.owns(new Float32Array(4))).toBe(false);
  });

  it('reuses the memory of sizes no longer used for new sizes instead of growing', () => {
    const arena = new WasmArena();
    let peak = 0;
    for (let round = 0; round < 24; round++) {
      // 16 tensors of a size class not seen before, all released before the next round
      const length = 40_000 + round * 9_000;
      const views = Array.from({ length: 16 }, () => arena.alloc(length) as Float32Array);
      for (const [i, v] of views.entries()) v.fill(round + i);
      for (const [i, v] of views.entries()) expect(v[length - 1]).toBe(round + i);
      peak = Math.max(peak, 16 * length * 4);
      for (const v of views) arena.release(v);
    }
    // without merging, each size class would keep its own 16 blocks: about 24 times the peak
    expect(arena.byteLength).toBeLessThan(3 * peak);
  });

  it('says no past maxTensorBytes, and again yes once storage is released', () => {
    const arena = new WasmArena(64 * 1024);
    const a = arena.alloc(8192) as Float32Array; // 32 KiB
    const b = arena.alloc(8192) as Float32Array;
    expect(a).not.toBeNull();
    expect(b).not.toBeNull();
    expect(arena.alloc(16)).toBeNull();
    arena.release(a);
    expect(arena.alloc(16)).not.toBeNull();
  });

  it('storage never released comes back once the garbage collector finds its view unreachable', async () => {
    // the collector, exposed at run time (the package has no Node types: reached through getBuiltinModule)
    const node = (globalThis as unknown as { process: { getBuiltinModule(id: string): unknown } }).process;
    (node.getBuiltinModule('node:v8') as { setFlagsFromString(flags: string): void }).setFlagsFromString('--expose-gc');
    const gc = (node.getBuiltinModule('node:vm') as { runInNewContext(code: string): unknown }).runInNewContext(
      'gc',
    ) as () => void;
    const arena = new WasmArena(1 << 20); // room for 16 views of 64 KiB
    const dropped = () => {
      for (let i = 0; i < 16; i++) expect(arena.alloc(16384)).not.toBeNull();
    };
    dropped();
    expect(arena.alloc(16384)).toBeNull();
    // finalizers run after a collection, on a later turn of the event loop
    for (let tries = 0; tries < 20 && arena.alloc(16384) === null; tries++) {
      gc();
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const again = arena.alloc(16384);
    expect(again).not.toBeNull();
    if (again) arena.release(again);
  });

  it('a memory that cannot grow gives −1 for a block that does not fit', () => {
    const arena = new WasmArena(1 << 30, new WebAssembly.Memory({ initial: 2, maximum: 2 }));
    expect(arena.shared).toBe(false);
    expect(arena.block(64 * 1024)).toBeGreaterThan(0);
    expect(arena.block(64 * 1024)).toBe(-1);
  });
});

describe.skipIf(!available)('kernels on storage in the arena', () => {
  it('element-wise kernels give the same bits in place as on copies', () => {
    const arena = new WasmArena();
    const inPlace = new WasmElementwise(1, undefined, arena);
    const copying = new WasmElementwise();
    const rng = new Rng(31);
    for (const n of [5, 64, 1027, 4096, 30001]) {
      const xs = rng.normal(n);
      const gs = rng.normal(n);
      const [x, g] = [stored(arena, xs), stored(arena, gs)];
      const out = () => arena.alloc(n) as Float32Array;
      // a chain on the arena: h = silu(x); s = g · silu'(h); d = s · s; dx, dg of the silu gradient; sums
      const [h, s, d, dx, dg, e] = [out(), out(), out(), out(), out(), out()];
      const sums = arena.alloc(1) as Float32Array;
      expect(inPlace.unary('silu', x, h, n)).toBe(true);
      expect(inPlace.siluGrad(h, g, s, n)).toBe(true);
      expect(inPlace.arith('mul', s, n, 0, 1, s, n, 0, 1, d, 1, n)).toBe(true);
      expect(inPlace.siluGradBackward(x, g, d, dx, dg, n)).toBe(true);
      expect(inPlace.arith('add', g, n, 0, 1, dx, n, 0, 1, e, 1, n)).toBe(true);
      expect(inPlace.reduce('sum', e, sums, 1, n, 1)).toBe(true);
      // the same on ordinary arrays, copied in and out by a module of its own
      const [h2, s2, d2, dx2, dg2, e2, sums2] = [n, n, n, n, n, n, 1].map((k) => new Float32Array(k));
      copying.unary('silu', xs, h2, n);
      copying.siluGrad(h2, gs, s2, n);
      copying.arith('mul', s2, n, 0, 1, s2, n, 0, 1, d2, 1, n);
      copying.siluGradBackward(xs, gs, d2, dx2, dg2, n);
      copying.arith('add', gs, n, 0, 1, dx2, n, 0, 1, e2, 1, n);
      copying.reduce('sum', e2, sums2, 1, n, 1);
      for (const [a, b] of [
        [h, h2],
        [s, s2],
        [d, d2],
        [dx, dx2],
        [dg, dg2],
        [e, e2],
        [sums, sums2],
      ])
        expect(sameBits(a, b)).toBe(true);
    }
  });

  it('a column sum needs scratch beyond its operands; a full memory makes the kernels say no', () => {
    const arena = new WasmArena(1 << 30, new WebAssembly.Memory({ initial: 2, maximum: 2 }));
    const w = new WasmElementwise(1, undefined, arena);
    const x = new Rng(32).normal(40000); // 160 KB: more than the memory
    const out = new Float32Array(40000);
    out.fill(7);
    expect(w.unary('silu', x, out, 40000)).toBe(false);
    expect(out.every((v) => v === 7)).toBe(true);
    const cols = new Float32Array(100);
    expect(w.reduce('sum', x.subarray(0, 1000), cols, 1, 10, 100)).toBe(true);
    for (let i = 0; i < 100; i++) {
      let want = 0;
      for (let r = 0; r < 10; r++) want += x[r * 100 + i];
      expect(cols[i]).toBe(Math.fround(want));
    }
  });

  it('matrix products read operands and write results in place with the same bits as on copies', () => {
    const arena = new WasmArena();
    const inPlace = new WasmGemm(false, 1, undefined, arena);
    const copying = new WasmGemm(false);
    const rng = new Rng(33);
    // padded rows and columns, narrow outputs, A packed and read in place (both layouts), transposed B
    for (const [m, k, n, transA, transB] of [
      [64, 128, 128, false, false],
      [61, 37, 130, false, true],
      [130, 70, 2, false, false],
      [130, 70, 20, true, false],
      [256, 300, 40, true, true],
      [8, 0, 16, false, false],
    ] as const) {
      const as = rng.normal(m * k);
      const bs = rng.normal(k * n);
      const a = stored(arena, as);
      const b = stored(arena, bs);
      const out = arena.alloc(m * n) as Float32Array;
      out.fill(Number.NaN);
      const want = new Float32Array(m * n);
      expect(inPlace.matmul(a, 0, b, 0, out, 0, m, k, n, transA, transB)).toBe(true);
      copying.matmul(as, 0, bs, 0, want, 0, m, k, n, transA, transB);
      expect(sameBits(out, want), `${m}×${k}×${n} ${transA} ${transB}`).toBe(true);
    }
  });

  it('a product that does not fit in a memory that cannot grow says no and writes nothing', () => {
    const arena = new WasmArena(1 << 30, new WebAssembly.Memory({ initial: 2, maximum: 2 }));
    const g = new WasmGemm(false, 1, undefined, arena);
    const rng = new Rng(34);
    const out = new Float32Array(128 * 128).fill(3);
    expect(g.matmul(rng.normal(128 * 128), 0, rng.normal(128 * 128), 0, out, 0, 128, 128, 128, false, false)).toBe(
      false,
    );
    expect(out.every((v) => v === 3)).toBe(true);
    // a small one still fits
    const small = new Float32Array(16 * 16);
    expect(g.matmul(rng.normal(256), 0, rng.normal(256), 0, small, 0, 16, 16, 16, false, false)).toBe(true);
  });
});

describe('the CPU backend stores tensors in the arena', () => {
  it('recycles freed storage, and kernels read the new values of recycled storage', () => {
    const cpu = new CpuBackend();
    const n = 5000;
    const x = new Rng(35).normal(n);
    const y = cpu.unary('silu', x, n) as Float32Array;
    cpu.free(y);
    const z = cpu.unary('neg', x, n) as Float32Array; // the JavaScript kernel, into y's recycled block
    expect(z.byteOffset).toBe(y.byteOffset);
    expect(z.buffer).toBe(y.buffer);
    const s = cpu.unary('sigmoid', z, n) as Float32Array;
    for (let i = 0; i < n; i++) {
      const v = -x[i];
      expect(Math.abs(s[i] - 1 / (1 + Math.exp(-v)))).toBeLessThanOrEqual(4 * 2 ** -24);
    }
  });

  it('uploads a copy, so later writes to the caller’s array do not change the tensor', () => {
    const cpu = new CpuBackend();
    const values = new Rng(36).normal(256);
    const data = cpu.upload(values) as Float32Array;
    const before = values.slice();
    values.fill(0);
    expect(sameBits(cpu.readSync(data, 256), before)).toBe(true);
  });

  it('with memoryBytes 0 every tensor is an ordinary array and the results are the same', () => {
    const inArena = new CpuBackend();
    const plain = new CpuBackend({ memoryBytes: 0 });
    const rng = new Rng(37);
    const a = rng.normal(96 * 64);
    const b = rng.normal(64 * 48);
    const viaArena = inArena.matmul(inArena.upload(a), inArena.upload(b), 1, 1, 1, 96, 64, 48, false, false);
    const viaPlain = plain.matmul(plain.upload(a), plain.upload(b), 1, 1, 1, 96, 64, 48, false, false);
    expect((viaPlain as Float32Array).buffer).not.toBeInstanceOf(SharedArrayBuffer);
    expect(sameBits(inArena.readSync(viaArena, 96 * 48), plain.readSync(viaPlain, 96 * 48))).toBe(true);
    expect(() => new CpuBackend({ memoryBytes: -1 })).toThrow(/memoryBytes/);
  });
});

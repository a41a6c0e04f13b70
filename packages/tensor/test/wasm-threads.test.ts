import { afterAll, describe, expect, it } from 'vitest';
import { assemble, Code, I32 } from '../src/cpu/wasm-asm.js';
import { WasmThreads, workerThreads } from '../src/cpu/wasm-threads.js';

/** `fill(addr, n, v)`: n floats from byte address addr become (previous value) · 2 + v, in order. */
function fillModule(): WebAssembly.Module {
  const f = new Code(3);
  const i = f.local(I32);
  const p = f.local(I32);
  f.get(0).set(p);
  f.i32(0).set(i);
  f.block().loop();
  f.get(i).get(1).ltU().eqz().brIf(1);
  f.get(p).get(p).f32Load(0).get(p).f32Load(0).f32Add();
  f.get(2).f32ConvertI32().f32Add().f32Store(0);
  f.inc(p, 4).inc(i, 1).br(0);
  f.end().end();
  return new WebAssembly.Module(assemble([{ name: 'fill', code: f }], true));
}

const available = workerThreads() !== null;

describe.runIf(available)('WasmThreads', () => {
  const memory = new WebAssembly.Memory({ initial: 4, maximum: 65536, shared: true });
  const pool = new WasmThreads(memory, [{ module: fillModule(), names: ['fill'] }], 2);
  afterAll(() => pool.close());

  it('has its workers start', () => {
    expect(pool.waitForWorkers(60_000)).toBe(true);
  });

  it('runs every unit exactly once, each unit in order, across many jobs', () => {
    const f32 = new Float32Array(memory.buffer);
    for (let job = 0; job < 200; job++) {
      f32.fill(0, 0, 4096);
      const units = 1 + (job % 37);
      for (let u = 0; u < units; u++) {
        // unit u: x ← 2x + 1 then x ← 2x + 3 on its own 64 floats; the order makes the result 5
        pool.call(0, u * 256, 64, 1);
        pool.call(0, u * 256, 64, 3);
        pool.endUnit();
      }
      pool.run();
      for (let u = 0; u < 40; u++) {
        const want = u < units ? 5 : 0;
        expect(f32[u * 64]).toBe(want);
        expect(f32[u * 64 + 63]).toBe(want);
      }
    }
    // the worker took part: over 200 jobs of up to 37 units it cannot have missed every one
    expect(pool.unitsOnWorkers).toBeGreaterThan(0);
  });

  it('sees memory grown after the workers started', () => {
    const before = memory.buffer.byteLength;
    memory.grow(16);
    const f32 = new Float32Array(memory.buffer);
    const at = before; // bytes: the first new page
    for (let u = 0; u < 8; u++) {
      pool.call(0, at + u * 4096, 1024, 7);
      pool.endUnit();
    }
    pool.run();
    expect(f32[before / 4]).toBe(7);
    expect(f32[before / 4 + 8 * 1024 - 1]).toBe(7);
  });

  it('runs lists longer than one job and a unit longer than the call list', () => {
    const f32 = new Float32Array(memory.buffer);
    f32.fill(0, 0, 1 << 16);
    for (let u = 0; u < 3000; u++) {
      pool.call(0, u * 4, 1, 1);
      pool.endUnit();
    }
    // one unit of 5000 calls, each on its own float
    for (let c = 0; c < 5000; c++) pool.call(0, 80000 + 4 * c, 1, 1);
    pool.endUnit();
    pool.run();
    for (let u = 0; u < 3000; u++) expect(f32[u]).toBe(1);
    for (let c = 0; c < 5000; c++) expect(f32[20000 + c]).toBe(1);
  });
});

import { CpuBackend, JouleError, setBackend, tensor, tidy } from '@joule/tensor';
import { afterAll, describe, expect, it } from 'vitest';
import { availableModes, GpuBackend, type GpuMode } from '../src/index.js';

describe('GpuBackend', () => {
  afterAll(() => setBackend(new CpuBackend()));

  it('lists the modes that run here, best first; webasm and cpu run everywhere in Node', async () => {
    const modes = await availableModes();
    expect(modes).toContain('webasm');
    expect(modes[modes.length - 1]).toBe('cpu');
    const order: GpuMode[] = ['headlessgl', 'webgl2', 'webgl', 'webasm', 'cpu'];
    expect(modes).toEqual(order.filter((m) => modes.includes(m)));
  });

  it('create() picks the best available mode, create({ mode }) the one asked for', async () => {
    const best = await GpuBackend.create();
    expect(best.mode).toBe((await availableModes())[0]);
    const wasm = await GpuBackend.create({ mode: 'webasm' });
    expect(wasm.mode).toBe('webasm');
    expect(wasm.name).toBe('gpu.js-webasm');
    best.destroy();
    wasm.destroy();
  });

  it('rejects unknown modes and modes that cannot run here with a JouleError naming the mode', async () => {
    await expect(GpuBackend.create({ mode: 'metal' as GpuMode })).rejects.toThrow(JouleError);
    await expect(GpuBackend.create({ mode: 'metal' as GpuMode })).rejects.toThrow(/mode/);
    // no browser here: webgl2 cannot start in Node
    await expect(GpuBackend.create({ mode: 'webgl2' })).rejects.toThrow(/webgl2/);
    await expect(GpuBackend.create(null as unknown as object)).rejects.toThrow(/options/);
  });

  it('compiles one kernel per op and rank, reused at every shape', async () => {
    const gpu = await GpuBackend.create({ mode: 'webasm' });
    setBackend(gpu);
    const sum = async (n: number) => {
      const t = tidy(() =>
        tensor(Array.from({ length: n }, (_, i) => i))
          .exp()
          .sum(),
      );
      const v = (await t.data())[0];
      t.dispose();
      return v;
    };
    expect(await sum(3)).toBeCloseTo(1 + Math.E + Math.E ** 2, 4);
    const compiled = gpu.compiledKernels;
    expect(await sum(5)).toBeCloseTo((Math.E ** 5 - 1) / (Math.E - 1), 3);
    expect(gpu.compiledKernels).toBe(compiled);
    setBackend(new CpuBackend());
    gpu.destroy();
  });
});

import { CpuBackend, grad, JouleError, Rng, randn, setBackend, type Tensor, tensor } from '@joule/tensor';
import { afterAll, describe, expect, it } from 'vitest';
import { blasBackend, nativeSilu, nativeSiluAvailable } from '../src/index.js';

const sigma = (v: number) => 1 / (1 + Math.exp(-v));

/** Inputs over the whole range: N(0, 16) and the edges, the flush of σ below 2⁻¹²⁶ included. */
function inputs(size: number): Float32Array {
  const x = new Float32Array(size);
  x.set(randn([size], new Rng(4)).dataSync());
  for (let i = 0; i < size; i++) x[i] *= 4;
  x.set([-0, 0, -100, 100, -87, -88.5, 1e-30, -1e-30, 20, -20], 0);
  return x;
}

/**
 * Checks |computed − exact| ≤ ulps · magnitude · 2⁻²³ + floor · 2⁻¹²⁶ element by element: a few ulp of the
 * magnitude of the terms, plus the flush to zero of σ below 2⁻¹²⁶. These are the bounds of @joule/tensor's
 * tests of its WebAssembly kernels (test/cpu-kernels.test.ts).
 */
function expectWithin(
  name: string,
  computed: Float32Array,
  exact: (i: number) => number,
  magnitude: (i: number) => number,
  floor: (i: number) => number,
  ulps: number,
): void {
  for (let i = 0; i < computed.length; i++) {
    const bound = ulps * magnitude(i) * 2 ** -23 + floor(i) * 2 ** -126;
    if (!(Math.abs(computed[i] - exact(i)) <= bound))
      throw new Error(`${name} at ${i}: got ${computed[i]}, expected ${exact(i)} within ${bound}`);
  }
}

describe('nativeSilu (AVX2 and FMA)', () => {
  afterAll(() => setBackend(new CpuBackend()));
  it('runs on this machine (x86-64 with AVX2 and FMA)', () => expect(nativeSiluAvailable()).toBe(true));

  const kernels = nativeSilu();
  const size = 4099; // 512 vectors of 8 and a tail of 3
  const x = inputs(size);
  const y = new Float32Array(size);
  const m = new Float32Array(size);
  kernels.siluSaved(x, y, m, size);

  it('gives silu(x) and σ(−|x|) within 4 ulp of float64', () => {
    const silu = (i: number) => x[i] * sigma(x[i]);
    expectWithin(
      'silu',
      y,
      silu,
      (i) => Math.abs(silu(i)),
      (i) => Math.abs(x[i]),
      4,
    );
    const saved = (i: number) => sigma(-Math.abs(x[i]));
    expectWithin('σ(−|x|)', m, saved, saved, () => 1, 4);
    expect(Object.is(y[0], -0)).toBe(true);
  });

  it('gives g·silu′(x) within 4 ulp and its backward pass within 8 ulp of the terms’ magnitude', () => {
    const g = new Float32Array(size).map((_, i) => Math.cos(i));
    const h = new Float32Array(size).map((_, i) => Math.sin(i));
    const s = (i: number) => sigma(x[i]);
    const q = (i: number) => 1 - sigma(x[i]);
    // silu′ = s (1 + x q): the magnitude of its terms is s (1 + |x| q)
    const first = (i: number) => s(i) * (1 + x[i] * q(i));
    const firstTerms = (i: number) => s(i) * (1 + Math.abs(x[i]) * q(i));
    const out = new Float32Array(size);
    kernels.siluGrad(x, m, g, out, size);
    const floorFirst = (i: number) => Math.abs(g[i]) * (1 + Math.abs(x[i]));
    expectWithin(
      'siluGrad',
      out,
      (i) => g[i] * first(i),
      (i) => Math.abs(g[i]) * firstTerms(i),
      floorFirst,
      4,
    );
    const dx = new Float32Array(size);
    const dg = new Float32Array(size);
    kernels.siluGradBackward(x, m, g, h, dx, dg, size);
    expectWithin(
      'siluGradBackward dx',
      dx,
      (i) => h[i] * g[i] * s(i) * q(i) * (2 + x[i] * (q(i) - s(i))),
      (i) => Math.abs(h[i] * g[i]) * s(i) * q(i) * (2 + Math.abs(x[i])),
      (i) => Math.abs(h[i] * g[i]) * (2 + Math.abs(x[i])),
      8,
    );
    const floorDg = (i: number) => Math.abs(h[i]) * (1 + Math.abs(x[i]));
    expectWithin(
      'siluGradBackward dg',
      dg,
      (i) => h[i] * first(i),
      (i) => Math.abs(h[i]) * firstTerms(i),
      floorDg,
      8,
    );
  });

  it('keeps NaN and the infinities as the WebAssembly kernels do', () => {
    const edge = new Float32Array([Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]);
    const ey = new Float32Array(3);
    kernels.siluSaved(edge, ey, new Float32Array(3), 3);
    setBackend(new CpuBackend());
    const wasm = tensor(edge).silu().dataSync();
    expect([...ey]).toEqual([...wasm]);
  });

  it('gives the backend the same silu bits with and without a tape', () => {
    setBackend(blasBackend());
    const t = tensor(x);
    const plain = t.silu().dataSync();
    let taped: Float32Array | undefined;
    grad((v: Tensor) => {
      const out = v.silu();
      taped = out.dataSync() as Float32Array;
      return out.sum();
    })(t);
    expect(taped && [...taped]).toEqual([...plain]);
  });

  it('rejects arrays shorter than size with a JouleError naming them', () => {
    expect(() => kernels.siluSaved(new Float32Array(4), new Float32Array(2), new Float32Array(4), 4)).toThrow(
      /'y' expected at least 4 elements/,
    );
    expect(() => kernels.siluGrad(x, m, x, y, -1)).toThrow(JouleError);
  });
});

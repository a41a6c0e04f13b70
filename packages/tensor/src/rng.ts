import { JouleError } from './errors.js';

const M0 = 0xd2511f53;
const M1 = 0xcd9e8d57;
const W0 = 0x9e3779b9;
const W1 = 0xbb67ae85;
const TWO_POW_32 = 4294967296;

/** High 32 bits of the 64-bit product of two unsigned 32-bit integers. */
function mulhi(a: number, b: number): number {
  const aLo = a & 0xffff;
  const aHi = a >>> 16;
  const bLo = b & 0xffff;
  const bHi = b >>> 16;
  const loLo = aLo * bLo;
  const hiLo = aHi * bLo;
  const loHi = aLo * bHi;
  const cross = (loLo >>> 16) + (hiLo & 0xffff) + loHi;
  return (aHi * bHi + (hiLo >>> 16) + Math.floor(cross / 65536)) >>> 0;
}

/** Philox4x32-10 (Salmon et al., 2011): one 128-bit block from a 128-bit counter and a 64-bit key. */
function philox(c0: number, c1: number, c2: number, c3: number, k0: number, k1: number, out: Uint32Array, at: number) {
  for (let r = 0; r < 10; r++) {
    const hi0 = mulhi(M0, c0);
    const lo0 = Math.imul(M0, c0) >>> 0;
    const hi1 = mulhi(M1, c2);
    const lo1 = Math.imul(M1, c2) >>> 0;
    c0 = (hi1 ^ c1 ^ k0) >>> 0;
    c1 = lo1;
    c2 = (hi0 ^ c3 ^ k1) >>> 0;
    c3 = lo0;
    k0 = (k0 + W0) >>> 0;
    k1 = (k1 + W1) >>> 0;
  }
  out[at] = c0;
  out[at + 1] = c1;
  out[at + 2] = c2;
  out[at + 3] = c3;
}

/** The complete state of an {@link Rng}, plain JSON for checkpoints. */
export interface RngState {
  /** The 64-bit key as two unsigned 32-bit words. */
  key: [number, number];
  /** Blocks drawn so far (a 64-bit counter as two unsigned 32-bit words, low first). */
  counter: [number, number];
  /** Children split off so far. */
  splits: number;
}

/**
 * A seedable, splittable, counter-based random generator (Philox4x32-10).
 *
 * Every sampler and estimator takes one explicitly. The same seed gives the same numbers on every
 * run and every backend: numbers are generated on the host, then uploaded. `split()` gives an
 * independent child stream, so parallel parts of a program never share a stream.
 *
 * @example
 * ```ts
 * const rng = new Rng(42);
 * const u = rng.uniform(4);      // Float32Array of 4 values in [0, 1)
 * const child = rng.split();     // an independent stream
 * const z = child.normal(3);     // standard normal draws
 * ```
 */
export class Rng {
  private k0: number;
  private k1: number;
  private c0 = 0;
  private c1 = 0;
  private splits = 0;
  private readonly block = new Uint32Array(4);

  /** A generator from an integer seed in [0, 2^53). */
  constructor(seed: number = 0) {
    if (!Number.isSafeInteger(seed) || seed < 0) {
      throw new JouleError('Rng', 'seed', 'an integer in [0, 2^53)', String(seed));
    }
    this.k0 = (seed % TWO_POW_32) >>> 0;
    this.k1 = Math.floor(seed / TWO_POW_32) >>> 0;
  }

  /** Restores a generator saved with {@link Rng.state}. */
  static fromState(state: RngState): Rng {
    const ok =
      state &&
      Array.isArray(state.key) &&
      Array.isArray(state.counter) &&
      state.key.length === 2 &&
      state.counter.length === 2 &&
      [...state.key, ...state.counter].every((w) => Number.isInteger(w) && w >= 0 && w < TWO_POW_32) &&
      Number.isInteger(state.splits) &&
      state.splits >= 0;
    if (!ok)
      throw new JouleError('Rng.fromState', 'state', '{ key, counter, splits } of 32-bit words', JSON.stringify(state));
    const r = new Rng(0);
    r.k0 = state.key[0];
    r.k1 = state.key[1];
    r.c0 = state.counter[0];
    r.c1 = state.counter[1];
    r.splits = state.splits;
    return r;
  }

  /** The generator's state, to save and later restore with {@link Rng.fromState}. */
  state(): RngState {
    return { key: [this.k0, this.k1], counter: [this.c0, this.c1], splits: this.splits };
  }

  /** An independent copy that continues exactly as this generator would. */
  clone(): Rng {
    return Rng.fromState(this.state());
  }

  /** A new generator on an independent stream; the parent advances, so each call gives a different child. */
  split(): Rng {
    philox(this.splits, 0, 0, 1, this.k0, this.k1, this.block, 0);
    this.splits++;
    const child = new Rng(0);
    child.k0 = this.block[0];
    child.k1 = (this.block[1] ^ this.block[2]) >>> 0;
    return child;
  }

  /** `n` raw unsigned 32-bit words. */
  uint32(n: number): Uint32Array {
    checkCount('Rng.uint32', n);
    const blocks = Math.ceil(n / 4);
    const out = new Uint32Array(blocks * 4);
    for (let b = 0; b < blocks; b++) {
      philox(this.c0, this.c1, 0, 0, this.k0, this.k1, out, 4 * b);
      this.c0 = (this.c0 + 1) >>> 0;
      if (this.c0 === 0) this.c1 = (this.c1 + 1) >>> 0;
    }
    return n === out.length ? out : out.slice(0, n);
  }

  /** `n` uniform draws in [0, 1) with 24 random bits each (every float32 multiple of 2^-24). */
  uniform(n: number): Float32Array {
    const u = this.uint32(n);
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = (u[i] >>> 8) * 5.9604644775390625e-8;
    return out;
  }

  /** `n` standard normal draws (Box–Muller on 32-bit uniforms, computed in float64). */
  normal(n: number): Float32Array {
    const m = n + (n & 1);
    const u = this.uint32(m);
    const out = new Float32Array(m);
    for (let i = 0; i < m; i += 2) {
      const u1 = (u[i] + 0.5) / TWO_POW_32;
      const u2 = u[i + 1] / TWO_POW_32;
      const r = Math.sqrt(-2 * Math.log(u1));
      out[i] = r * Math.cos(2 * Math.PI * u2);
      out[i + 1] = r * Math.sin(2 * Math.PI * u2);
    }
    return m === n ? out : out.subarray(0, n);
  }

  /** `n` integers uniform on `[low, high)` (bias below (high − low) / 2^32). */
  integers(n: number, low: number, high: number): Float32Array {
    if (!Number.isInteger(low) || !Number.isInteger(high) || high <= low) {
      throw new JouleError('Rng.integers', 'high', `an integer greater than low = ${low}`, String(high));
    }
    const u = this.uint32(n);
    const out = new Float32Array(n);
    const span = high - low;
    for (let i = 0; i < n; i++) out[i] = low + Math.floor((u[i] / TWO_POW_32) * span);
    return out;
  }
}

function checkCount(op: string, n: number) {
  if (!Number.isInteger(n) || n < 0) throw new JouleError(op, 'n', 'a non-negative integer', String(n));
}

import { describe, expect, it } from 'vitest';
import { JouleError, Rng } from '../src/index.js';

const N = 200_000;

function moments(v: Float32Array) {
  let s = 0;
  for (const x of v) s += x;
  const mean = s / v.length;
  let q = 0;
  for (const x of v) q += (x - mean) ** 2;
  return { mean, variance: q / (v.length - 1) };
}

describe('Rng', () => {
  it('is Philox4x32-10: the Random123 known-answer vector for counter 0, key 0', () => {
    expect(Array.from(new Rng(0).uint32(4))).toEqual([0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]);
  });

  it('the same seed gives the same numbers; different seeds differ', () => {
    const a = new Rng(1234);
    const b = new Rng(1234);
    expect(Array.from(a.uniform(100))).toEqual(Array.from(b.uniform(100)));
    expect(Array.from(a.normal(101))).toEqual(Array.from(b.normal(101)));
    expect(Array.from(a.integers(50, 0, 10))).toEqual(Array.from(b.integers(50, 0, 10)));
    expect(Array.from(new Rng(1235).uniform(100))).not.toEqual(Array.from(new Rng(1234).uniform(100)));
    // seeds above 2^32 use the high key word
    expect(Array.from(new Rng(2 ** 40).uint32(4))).not.toEqual(Array.from(new Rng(0).uint32(4)));
  });

  it('a split child state() round-trips through fromState (unsigned 32-bit words)', () => {
    const parent = new Rng(7);
    for (let i = 0; i < 16; i++) {
      const child = parent.split();
      const restored = Rng.fromState(child.state());
      expect(Array.from(restored.uint32(8))).toEqual(Array.from(child.uint32(8)));
    }
  });

  it('split(): children are distinct streams, the parent advances, streams are uncorrelated', () => {
    const parent = new Rng(7);
    const ref = new Rng(7);
    const c1 = parent.split();
    const c2 = parent.split();
    expect(parent.state().splits).toBe(2);
    // splitting does not consume the parent's own numbers
    expect(Array.from(parent.uniform(8))).toEqual(Array.from(ref.uniform(8)));
    const u1 = c1.uniform(N);
    const u2 = c2.uniform(N);
    const u0 = new Rng(7).uniform(N);
    expect(Array.from(u1.slice(0, 8))).not.toEqual(Array.from(u2.slice(0, 8)));
    // the same split sequence is reproducible
    const again = new Rng(7);
    expect(Array.from(again.split().uniform(8))).toEqual(Array.from(u1.slice(0, 8)));
    // sample correlation of independent uniforms has standard error 1/√N; allow 5 SE
    const corr = (a: Float32Array, b: Float32Array) => {
      let s = 0;
      for (let i = 0; i < a.length; i++) s += (a[i] - 0.5) * (b[i] - 0.5);
      return s / a.length / (1 / 12);
    };
    expect(Math.abs(corr(u1, u2))).toBeLessThan(5 / Math.sqrt(N));
    expect(Math.abs(corr(u1, u0))).toBeLessThan(5 / Math.sqrt(N));
  });

  it('state() / fromState() round trip continues identically (also through JSON and after splits)', () => {
    const r = new Rng(99);
    r.uniform(13);
    r.split();
    const saved = JSON.parse(JSON.stringify(r.state()));
    const next = Array.from(r.normal(20));
    const nextChild = Array.from(r.split().uniform(5));
    const restored = Rng.fromState(saved);
    expect(Array.from(restored.normal(20))).toEqual(next);
    expect(Array.from(restored.split().uniform(5))).toEqual(nextChild);
    const c = new Rng(3);
    const d = c.clone();
    expect(Array.from(d.uint32(9))).toEqual(Array.from(c.uint32(9)));
    // the 64-bit block counter carries into its high word
    const edge = Rng.fromState({ key: [1, 2], counter: [0xffffffff, 0], splits: 0 });
    edge.uint32(8);
    expect(edge.state().counter).toEqual([1, 1]);
  });

  it('uniform on [0, 1): mean and variance within 5 standard errors', () => {
    const u = new Rng(11).uniform(N);
    expect(u.every((v) => v >= 0 && v < 1)).toBe(true);
    const { mean, variance } = moments(u);
    // SE(mean) = σ/√N with σ² = 1/12; SE(var) = √((μ₄ − σ⁴)/N) with μ₄ = 1/80
    expect(Math.abs(mean - 0.5)).toBeLessThan(5 * Math.sqrt(1 / 12 / N));
    expect(Math.abs(variance - 1 / 12)).toBeLessThan(5 * Math.sqrt((1 / 80 - 1 / 144) / N));
  });

  it('normal: mean, variance and the tail P(|z| > 2) within 5 standard errors', () => {
    const z = new Rng(12).normal(N);
    const { mean, variance } = moments(z);
    // SE(mean) = 1/√N; SE(var) = √((μ₄ − σ⁴)/N) = √(2/N) for a normal
    expect(Math.abs(mean)).toBeLessThan(5 / Math.sqrt(N));
    expect(Math.abs(variance - 1)).toBeLessThan(5 * Math.sqrt(2 / N));
    // tail fraction: binomial SE √(p(1 − p)/N), p = P(|z| > 2) = 0.0455003
    const p = 0.04550026389635842;
    let tail = 0;
    for (const v of z) if (Math.abs(v) > 2) tail++;
    expect(Math.abs(tail / N - p)).toBeLessThan(5 * Math.sqrt((p * (1 - p)) / N));
    // odd counts work and every value is finite
    const odd = new Rng(13).normal(7);
    expect(odd.length).toBe(7);
    expect(odd.every(Number.isFinite)).toBe(true);
  });

  it('integers cover [low, high) uniformly: every bin within 5 standard errors', () => {
    const low = -3;
    const high = 7;
    const k = high - low;
    const v = new Rng(14).integers(N, low, high);
    expect(v.every((x) => Number.isInteger(x) && x >= low && x < high)).toBe(true);
    const counts = new Array<number>(k).fill(0);
    for (const x of v) counts[x - low]++;
    // each count is Binomial(N, 1/k): SE = √(N (1/k)(1 − 1/k))
    const se = Math.sqrt(N * (1 / k) * (1 - 1 / k));
    for (const c of counts) expect(Math.abs(c - N / k)).toBeLessThan(5 * se);
  });

  it('rejects bad seeds, counts, ranges and states', () => {
    const err = (fn: () => unknown, arg: string) => {
      expect(fn).toThrow(JouleError);
      expect(fn).toThrow(new RegExp(`argument '${arg}'`));
    };
    err(() => new Rng(-1), 'seed');
    err(() => new Rng(1.5), 'seed');
    err(() => new Rng(0).uniform(-1), 'n');
    err(() => new Rng(0).integers(3, 2, 2), 'high');
    err(() => Rng.fromState({ key: [1], counter: [0, 0], splits: 0 } as unknown as ReturnType<Rng['state']>), 'state');
  });
});

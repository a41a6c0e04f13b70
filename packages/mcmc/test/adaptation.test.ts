import { Rng, randn, type Tensor, tensor } from '@joule/tensor';
import { describe, expect, it } from 'vitest';
import { DualAveraging, hmc, mala, ReplayBuffer, RunningVariance, sample, warmup } from '../src/index.js';

/** Independent Gaussian with sds 0.1, 1 and 5: badly scaled without a mass matrix. */
const sds = [0.1, 1, 5];
const scaled = (x: Tensor) =>
  x
    .div(tensor(sds, [1, 3]))
    .square()
    .sum(1)
    .mul(0.5);

describe('DualAveraging', () => {
  it('drives a monotone acceptance curve to its target', () => {
    // acceptance(ε) = exp(−ε): the target 0.8 is reached at ε = −log 0.8
    const da = new DualAveraging({ initialStepSize: 1, targetAcceptance: 0.8 });
    for (let t = 0; t < 2000; t++) da.update(Math.exp(-da.stepSize));
    expect(da.finalStepSize).toBeCloseTo(-Math.log(0.8), 2);
  });

  it('validates its options', () => {
    expect(() => new DualAveraging({ initialStepSize: 0 })).toThrow(/stepSize/);
    expect(() => new DualAveraging({ initialStepSize: 0.1, targetAcceptance: 1 })).toThrow(/targetAcceptance/);
  });
});

describe('RunningVariance', () => {
  it('matches the two-pass variance', () => {
    const v = new RunningVariance(2);
    v.push([1, 2, 3, 6, 5, 1], 3);
    const got = v.variance();
    expect(got[0]).toBeCloseTo(4, 12);
    expect(got[1]).toBeCloseTo(7, 12);
  });
});

describe('warmup', () => {
  it('tunes the step size to the target acceptance and the mass matrix to the variances', async () => {
    const rng = new Rng(4);
    const x0 = randn([32, 3], rng);
    const tuned = await warmup((p) => hmc({ ...p, numSteps: 5 }), scaled, x0, {
      steps: 300,
      rng,
      targetAcceptance: 0.8,
    });
    // The last window pools ≥ 32 chains × 100 steps of draws with ESS above ~500 per
    // coordinate, so each variance is within a few × √(2/500) ≈ 6 % of the truth; allow 30 %.
    const m = tuned.inverseMassDiag;
    expect(m).toBeDefined();
    for (const [j, sd] of sds.entries()) expect(Math.abs((m as Float32Array)[j] / sd ** 2 - 1)).toBeLessThan(0.3);
    // With the tuned parameters the realized mean acceptance probability is near the target
    // (dual averaging's ε̄ converges to the target; its residual bias is a few per cent).
    const { meanAcceptanceProb } = await sample(tuned.kernel, scaled, tuned.state, { steps: 100, rng });
    const mean = meanAcceptanceProb.reduce((a, b) => a + b, 0) / meanAcceptanceProb.length;
    expect(Math.abs(mean - 0.8)).toBeLessThan(0.08);
  });

  it('adapts only the step size when adaptMass is false', async () => {
    const rng = new Rng(5);
    const tuned = await warmup((p) => mala(p), scaled, randn([16, 3], rng).mul(0.1), {
      steps: 200,
      rng,
      targetAcceptance: 0.57,
      adaptMass: false,
    });
    expect(tuned.inverseMassDiag).toBeUndefined();
    // stability of MALA on the 0.1-sd coordinate needs h well below 0.01²·2
    expect(tuned.stepSize).toBeLessThan(0.02);
    expect(tuned.stepSize).toBeGreaterThan(1e-4);
  });
});

describe('ReplayBuffer', () => {
  const init = (n: number, rng: Rng) => randn([n, 2], rng).add(100);

  it('draws fresh chains for unwritten slots and returns pushed chains', async () => {
    const buffer = new ReplayBuffer({ capacity: 10, dim: 2, init, reinitProb: 0 });
    const rng = new Rng(0);
    const first = buffer.sample(10, rng);
    expect(Array.from(first.reinitialized).every((r) => r === 1)).toBe(true);
    await buffer.push(tensor(Array.from(first.indices, (slot) => [slot, -slot])), first.indices);
    expect(buffer.size).toBe(10);
    const again = buffer.sample(4, rng);
    const x = again.x.dataSync();
    for (const [i, slot] of again.indices.entries()) expect([x[2 * i], x[2 * i + 1]]).toEqual([slot, -slot]);
    expect(new Set(again.indices).size).toBe(4);
  });

  it('reinitializes each sampled chain with the given probability', async () => {
    const buffer = new ReplayBuffer({ capacity: 2000, dim: 2, init, reinitProb: 0.2 });
    const rng = new Rng(1);
    const all = buffer.sample(2000, rng);
    await buffer.push(tensor(new Float32Array(4000), [2000, 2]), all.indices);
    const { reinitialized, x } = buffer.sample(2000, rng);
    const count = reinitialized.reduce((a, b) => a + b, 0);
    // Binomial(2000, 0.2): mean 400, sd √(2000·0.2·0.8) ≈ 17.9; allow 5 sd
    expect(Math.abs(count - 400)).toBeLessThan(5 * 17.9);
    const values = x.dataSync();
    for (const [i, r] of reinitialized.entries()) expect(values[2 * i] > 50).toBe(r === 1);
  });

  it('is reproducible from a seed', () => {
    const run = () => Array.from(new ReplayBuffer({ capacity: 50, dim: 2, init }).sample(8, new Rng(3)).indices);
    expect(run()).toEqual(run());
  });

  it('keeps a uniform reservoir of added chains', async () => {
    // Add 0…999 to a buffer of 100 slots, 20 times: each value is kept with probability 0.1, so
    // the mean kept value is 499.5 with sd ≈ 288.8 / √100 · √(900/999) per run; average 20 runs.
    const rng = new Rng(6);
    let total = 0;
    for (let r = 0; r < 20; r++) {
      const buffer = new ReplayBuffer({ capacity: 100, dim: 1, init: (n, g) => randn([n, 1], g) });
      await buffer.add(
        tensor(
          Array.from({ length: 1000 }, (_, i) => i),
          [1000, 1],
        ),
        rng,
      );
      const { data } = buffer.snapshot();
      total += data.reduce((a, b) => a + b, 0) / 100;
    }
    const se = ((288.8 / Math.sqrt(100)) * Math.sqrt(900 / 999)) / Math.sqrt(20);
    expect(Math.abs(total / 20 - 499.5)).toBeLessThan(5 * se);
  });

  it('validates its inputs', async () => {
    expect(() => new ReplayBuffer({ capacity: 0, dim: 2, init })).toThrow(/capacity/);
    expect(() => new ReplayBuffer({ capacity: 5, dim: 2, init, reinitProb: 2 })).toThrow(/reinitProb/);
    const buffer = new ReplayBuffer({ capacity: 5, dim: 2, init });
    expect(() => buffer.sample(6, new Rng(0))).toThrow(/batch/);
    await expect(buffer.push(tensor([[1, 2]]), [7])).rejects.toThrow(/indices/);
    await expect(buffer.push(tensor([[1, 2, 3]]), [0])).rejects.toThrow(/'x'/);
  });
});

import { JouleError, Rng, tensor } from '@joule/tensor';
import { describe, expect, it } from 'vitest';
import {
  energyDistance,
  energyDistanceMetric,
  medianHeuristic,
  mmd2,
  mmdMetric,
  permutationTest,
} from '../src/index.js';
import { gaussianSamples, IsoGaussian } from './helpers.js';

describe('MMD² (unbiased, RBF)', () => {
  it('matches the U-statistic formula on a tiny example', async () => {
    // x = {0, 1}, y = {0, 2}, h = 1: k(a, b) = exp(−(a − b)²/2)
    const k = (a: number, b: number) => Math.exp(-((a - b) ** 2) / 2);
    const xx = k(0, 1);
    const yy = k(0, 2);
    const xy = (k(0, 0) + k(0, 2) + k(1, 0) + k(1, 2)) / 4;
    const value = await mmd2(tensor([[0], [1]]), tensor([[0], [2]]), { bandwidths: [1] });
    expect(value).toBeCloseTo(xx + yy - 2 * xy, 6);
    // two bandwidths: the kernel is their mean, so MMD² is the mean of the single-bandwidth values
    const two = await mmd2(tensor([[0], [1]]), tensor([[0], [2]]), { bandwidths: [1, 3] });
    const three = await mmd2(tensor([[0], [1]]), tensor([[0], [2]]), { bandwidths: [3] });
    expect(two).toBeCloseTo((value + three) / 2, 6);
  });

  it('is ~0 for two samples of one distribution, within 5 null standard deviations', async () => {
    const rng = new Rng(1);
    const x = gaussianSamples(400, [0, 0], 1, rng);
    const y = gaussianSamples(400, [0, 0], 1, rng);
    const test = await permutationTest(x, y, { permutations: 100, rng: new Rng(2) });
    const direct = await mmd2(x, y);
    expect(direct).toBeCloseTo(test.statistic, 5); // the test's float32 matrix vs float64 sums
    expect(test.nullStd).toBeGreaterThan(0);
    expect(Math.abs(test.nullMean)).toBeLessThan(5 * (test.nullStd / Math.sqrt(100)) + 1e-9);
    expect(Math.abs(direct)).toBeLessThan(5 * test.nullStd);
    expect(test.pValue).toBeGreaterThan(0.001);
  });

  it('grows with a mean shift and exceeds the null spread', async () => {
    const rng = new Rng(3);
    const x = gaussianSamples(400, [0, 0], 1, rng);
    const values: number[] = [];
    for (const shift of [0.25, 0.5, 1, 2]) {
      const y = gaussianSamples(400, [shift, 0], 1, new Rng(4)); // same noise, shifted
      values.push(await mmd2(x, y, { bandwidths: [0.5, 1, 2] }));
    }
    for (let i = 1; i < values.length; i++) expect(values[i]).toBeGreaterThan(values[i - 1]);
    const y = gaussianSamples(400, [0.5, 0], 1, new Rng(4));
    const test = await permutationTest(x, y, { permutations: 100, bandwidths: [0.5, 1, 2], rng: new Rng(5) });
    expect(test.statistic).toBeGreaterThan(5 * test.nullStd);
    expect(test.pValue).toBeLessThan(0.02); // 1/(1 + 100): no relabeling reached it
  });

  it('uses the median heuristic by default', async () => {
    const x = tensor([[0], [1], [3]]);
    const y = tensor([[6], [10]]);
    // pooled distances: 1 3 6 10 2 5 9 3 7 4 → median 4.5
    expect(await medianHeuristic(x, y)).toBeCloseTo(4.5, 6);
    const byDefault = await mmd2(x, y);
    const explicit = await mmd2(x, y, { bandwidths: [2.25, 4.5, 9] });
    expect(byDefault).toBeCloseTo(explicit, 10);
  });

  it('rejects bad input with a JouleError', async () => {
    const x = tensor([
      [0, 0],
      [1, 1],
    ]);
    await expect(mmd2(x, tensor([[0], [1]]))).rejects.toThrow(/'y' expected points of dimension 2/);
    await expect(mmd2(x, tensor([[0, 0]]))).rejects.toThrow(/at least 2 points/);
    await expect(mmd2(x, x, { bandwidths: [0] })).rejects.toThrow(/'bandwidths'/);
    await expect(mmd2(tensor([[0], [0]]), tensor([[0], [0]]))).rejects.toThrow(JouleError);
    await expect(mmd2(tensor([[0], [Number.NaN]]), x)).rejects.toThrow(/finite coordinates/);
    await expect(permutationTest(x, x, { statistic: 'bogus' as 'mmd' })).rejects.toThrow(/'statistic'/);
  });
});

describe('energy distance', () => {
  it('matches the formula on a tiny example', async () => {
    // x = {0, 1}, y = {0, 2}: E|x − y| = (0 + 2 + 1 + 1)/4 = 1, E|x − x'| = 1, E|y − y'| = 2
    expect(await energyDistance(tensor([[0], [1]]), tensor([[0], [2]]))).toBeCloseTo(2 * 1 - 1 - 2, 10);
  });

  it('is ~0 for one distribution (within 5 null standard deviations) and grows with a mean shift', async () => {
    const rng = new Rng(6);
    const x = gaussianSamples(400, [0, 0, 0], 1, rng);
    const same = gaussianSamples(400, [0, 0, 0], 1, rng);
    const test = await permutationTest(x, same, { statistic: 'energy', permutations: 100, rng: new Rng(7) });
    expect(test.statistic).toBeCloseTo(await energyDistance(x, same), 5);
    expect(Math.abs(test.statistic)).toBeLessThan(5 * test.nullStd);
    const values: number[] = [];
    for (const shift of [0.25, 0.5, 1, 2]) {
      values.push(await energyDistance(x, gaussianSamples(400, [shift, 0, 0], 1, new Rng(8))));
    }
    for (let i = 1; i < values.length; i++) expect(values[i]).toBeGreaterThan(values[i - 1]);
    expect(values[1]).toBeGreaterThan(5 * test.nullStd);
  });
});

describe('metric objects', () => {
  it('have names and agree with the plain functions; a distribution reference is sampled with the seed', async () => {
    const x = gaussianSamples(200, [0, 0], 1, new Rng(9));
    const y = gaussianSamples(200, [0.5, 0], 1, new Rng(10));
    const mmd = mmdMetric({ bandwidths: [1] });
    expect(mmd.name).toBe('mmd2');
    expect(await mmd(x, y)).toBe(await mmd2(x, y, { bandwidths: [1] }));
    const ed = energyDistanceMetric({ seed: 3, referenceSize: 300 });
    expect(ed.name).toBe('energyDistance');
    const truth = new IsoGaussian([0, 0], 1);
    const fromDistribution = await ed(x, truth);
    expect(fromDistribution).toBe(await energyDistance(x, truth.sample(300, new Rng(3))));
    expect(await ed(x, truth)).toBe(fromDistribution); // reproducible
  });
});

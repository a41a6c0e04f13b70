import type { EnergyFn } from '@joule/core';
import { Rng, type Tensor, tensor } from '@joule/tensor';
import { describe, expect, it } from 'vitest';
import {
  annealedImportanceSampling,
  annealingBetas,
  importanceLogZ,
  logZFromLogWeights,
  normalizedNll,
} from '../src/index.js';
import { IsoGaussian, randomWalkMh } from './helpers.js';

// Target: E(x) = |x − μ|² / (2 s²) in d = 2, so Z = 2π s².
const mu = [1, -0.5];
const s = 0.6;
const energy: EnergyFn = (x: Tensor) =>
  x
    .sub(tensor(mu))
    .square()
    .sum(1)
    .mul(1 / (2 * s * s));
const exactLogZ = Math.log(2 * Math.PI * s * s);

describe('log Z from log-weights', () => {
  it('is logmeanexp with the delta-method standard error and ESS', async () => {
    const lw = [0, Math.log(3), Math.log(2), Number.NEGATIVE_INFINITY];
    const est = await logZFromLogWeights(lw);
    expect(est.logZ).toBeCloseTo(Math.log(6 / 4), 12);
    // w = [1, 3, 2, 0]: mean 1.5, unbiased var = (0.25 + 2.25 + 0.25 + 2.25)/3 = 5/3
    expect(est.standardError).toBeCloseTo(Math.sqrt(5 / 3 / (4 * 1.5 * 1.5)), 12);
    expect(est.ess).toBeCloseTo(36 / 14, 12);
    expect(est.essFraction).toBeCloseTo(36 / 14 / 4, 12);
    await expect(logZFromLogWeights([0, Number.NaN])).rejects.toThrow(/NaN/);
    await expect(logZFromLogWeights([Number.NEGATIVE_INFINITY, Number.NEGATIVE_INFINITY])).rejects.toThrow(/finite/);
  });
});

describe('importance-sampled log Z', () => {
  it('of a Gaussian energy matches the exact value within 5 standard errors', async () => {
    const proposal = new IsoGaussian([0, 0], 1.5);
    const est = await importanceLogZ(energy, proposal, { n: 20000, batchSize: 5000, rng: new Rng(1) });
    expect(est.logWeights).toHaveLength(20000);
    expect(est.standardError).toBeGreaterThan(0);
    expect(est.standardError).toBeLessThan(0.05);
    expect(Math.abs(est.logZ - exactLogZ)).toBeLessThan(5 * est.standardError);
  });

  it('is exact with zero variance when the proposal is the model itself', async () => {
    const truth = new IsoGaussian(mu, s);
    const shifted: EnergyFn = (x) => truth.logProb(x).neg().add(3); // Z = e^{−3}
    const est = await importanceLogZ(shifted, truth, { n: 1000, rng: new Rng(2) });
    expect(est.logZ).toBeCloseTo(-3, 5);
    expect(est.standardError).toBeLessThan(1e-5);
    expect(est.essFraction).toBeGreaterThan(0.99999);
  });

  it('gives the normalized NLL as mean energy + log Z', async () => {
    const truth = new IsoGaussian(mu, s);
    const data = truth.sample(500, new Rng(3));
    const nll = await normalizedNll(energy, data, exactLogZ);
    const direct =
      -Array.from(data.dataSync() as Float32Array).reduce(
        (acc, _, i, arr) => (i % 2 ? acc : acc + truth.logProbAt([arr[i], arr[i + 1]])),
        0,
      ) / 500;
    expect(nll).toBeCloseTo(direct, 5);
    expect(await normalizedNll(energy, data, { logZ: exactLogZ + 1 })).toBeCloseTo(nll + 1, 10);
    await expect(normalizedNll(energy, data, Number.NaN)).rejects.toThrow(/'logZ'/);
  });
});

describe('annealed importance sampling', () => {
  it('builds linear and sigmoid schedules from 0 to 1', () => {
    expect(Array.from(annealingBetas('linear', 4))).toEqual([0, 0.25, 0.5, 0.75, 1]);
    const sig = annealingBetas('sigmoid', 10);
    expect(sig[0]).toBe(0);
    expect(sig[10]).toBe(1);
    for (let k = 1; k <= 10; k++) expect(sig[k]).toBeGreaterThan(sig[k - 1]);
    expect(sig[1]).toBeLessThan(0.1); // denser at the ends than linear
    expect(sig[5]).toBeCloseTo(0.5, 12);
    expect(() => annealingBetas([0, 0.5, 0.4, 1], 3)).toThrow(/increasing/);
  });

  it.each(['linear', 'sigmoid'] as const)(
    'with a random-walk MH kernel, %s schedule: log Z of a Gaussian energy within 5 standard errors',
    async (schedule) => {
      const proposal = new IsoGaussian([0, 0], 2);
      const result = await annealedImportanceSampling(energy, proposal, {
        kernel: randomWalkMh(0.5),
        n: 400,
        steps: 200,
        schedule,
        transitionsPerLevel: 2,
        rng: new Rng(4),
      });
      expect(result.samples.shape).toEqual([400, 2]);
      expect(result.standardError).toBeGreaterThan(0);
      expect(result.standardError).toBeLessThan(0.05);
      // annealing keeps the weights far more even than plain IS from the same proposal
      const plain = await importanceLogZ(energy, proposal, { n: 400, rng: new Rng(5) });
      expect(result.essFraction).toBeGreaterThan(plain.essFraction);
      expect(Math.abs(result.logZ - exactLogZ)).toBeLessThan(5 * result.standardError);
      // the weighted chains represent the target: weighted mean ≈ μ within 5 standard errors s/√ESS
      const x = result.samples.dataSync() as Float32Array;
      const lw = result.logWeights;
      const top = Math.max(...lw);
      const w = Array.from(lw, (v) => Math.exp(v - top));
      const total = w.reduce((a, b) => a + b, 0);
      for (const k of [0, 1]) {
        const m = w.reduce((acc, wi, i) => acc + wi * x[2 * i + k], 0) / total;
        expect(Math.abs(m - mu[k])).toBeLessThan((5 * s) / Math.sqrt(result.ess));
      }
    },
  );

  it('rejects a missing kernel', async () => {
    await expect(
      annealedImportanceSampling(
        energy,
        new IsoGaussian([0, 0], 1),
        {} as Parameters<typeof annealedImportanceSampling>[2],
      ),
    ).rejects.toThrow(/'kernel'/);
  });
});

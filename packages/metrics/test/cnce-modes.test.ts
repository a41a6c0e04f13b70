import type { EnergyFn } from '@joule/core';
import { Rng, type Tensor, tensor } from '@joule/tensor';
import { describe, expect, it } from 'vitest';
import { cnceMeasures, importanceLogZ, modeWeights } from '../src/index.js';
import { IsoGaussian } from './helpers.js';

describe('CNCE measures (ratio, NLL, MSE)', () => {
  const truth = new IsoGaussian([0.5, -1, 0], 0.8);
  const data = truth.sample(2000, new Rng(1));

  it('are 0, H, 0 for the true model, with log Z from importance sampling', async () => {
    const model: EnergyFn = (x) => truth.logProb(x).neg().add(2.5);
    const logZ = await importanceLogZ(model, truth, { n: 1000, rng: new Rng(2) });
    const m = await cnceMeasures(model, truth, data, logZ);
    expect(m.ratio).toBeLessThan(1e-8);
    expect(m.mse).toBeLessThan(1e-8);
    expect(m.nll).toBeCloseTo(m.oracleNll, 4);
    // H = −mean log p_d ≈ the entropy (d/2) log(2πe s²)
    const entropy = 1.5 * Math.log(2 * Math.PI * Math.E * 0.64);
    expect(Math.abs(m.oracleNll - entropy)).toBeLessThan(5 * Math.sqrt(1.5 / 2000)); // Var(log p_d) = d/2
  });

  it('follow their formulas and satisfy ratio ≈ 2 (mse − (nll − H)²)', async () => {
    // a wrong model: too wide and shifted, E = |x − c|² / (2 · 1.1²)
    const c = tensor([0.3, -1, 0.2]);
    const model: EnergyFn = (x: Tensor) =>
      x
        .sub(c)
        .square()
        .sum(1)
        .mul(1 / (2 * 1.21));
    const logZ = 1.5 * Math.log(2 * Math.PI * 1.21); // exact for this model
    const m = await cnceMeasures(model, truth, data, logZ, { rng: new Rng(3) });
    // NLL and MSE directly from the definitions, in float64
    const x = data.dataSync() as Float32Array;
    const cv = [0.3, -1, 0.2];
    const e: number[] = [];
    let nll = 0;
    let mse = 0;
    for (let i = 0; i < 2000; i++) {
      const pt = [x[3 * i], x[3 * i + 1], x[3 * i + 2]];
      const logModel = -pt.reduce((s, v, k) => s + (v - cv[k]) ** 2, 0) / 2.42 - logZ;
      const lp = truth.logProbAt(pt);
      nll -= logModel / 2000;
      mse += (logModel - lp) ** 2 / 2000;
      e.push(logModel - lp);
    }
    expect(m.nll).toBeCloseTo(nll, 4);
    expect(m.mse).toBeCloseTo(mse, 3);
    // ratio estimates E(e(x) − e(x'))² = 2 Var(e); tolerance 5 standard errors of the pair mean,
    // with Var((e − e')²) ≤ E(e − e')⁴ estimated from neighbouring pairs
    const meanE = e.reduce((a, b) => a + b, 0) / e.length;
    const varE = e.reduce((a, b) => a + (b - meanE) ** 2, 0) / (e.length - 1);
    let fourth = 0;
    for (let i = 0; i < e.length; i++) fourth += (e[i] - e[(i + 1) % e.length]) ** 4 / e.length;
    expect(Math.abs(m.ratio - 2 * varE)).toBeLessThan(5 * Math.sqrt(fourth / e.length));
    expect(Math.abs(m.ratio - 2 * (m.mse - (m.nll - m.oracleNll) ** 2))).toBeLessThan(5 * Math.sqrt(fourth / e.length));
  });

  it('accept a log-density function as the truth and reject a bad log Z', async () => {
    const model: EnergyFn = (x) => truth.logProb(x).neg();
    const a = await cnceMeasures(model, (x) => truth.logProb(x), data, 0);
    expect(a.mse).toBeLessThan(1e-8);
    await expect(cnceMeasures(model, truth, data, Number.POSITIVE_INFINITY)).rejects.toThrow(/'logZ'/);
  });
});

describe('mode weights', () => {
  it('recover mixture weights within 5 standard errors', async () => {
    const n = 4000;
    const rng = new Rng(4);
    const u = rng.uniform(n);
    const z = rng.normal(2 * n);
    const centres = [
      [-2, 0],
      [2, 0],
      [0, 3],
    ];
    const truthWeights = [0.2, 0.5, 0.3];
    const pts: number[] = [];
    for (let i = 0; i < n; i++) {
      const k = u[i] < 0.2 ? 0 : u[i] < 0.7 ? 1 : 2;
      pts.push(centres[k][0] + 0.3 * z[2 * i], centres[k][1] + 0.3 * z[2 * i + 1]);
    }
    const result = await modeWeights(tensor(pts, [n, 2]), tensor(centres));
    expect(result.counts.reduce((a, b) => a + b, 0)).toBe(n);
    for (let k = 0; k < 3; k++) {
      const se = Math.sqrt((truthWeights[k] * (1 - truthWeights[k])) / n);
      expect(Math.abs(result.weights[k] - truthWeights[k])).toBeLessThan(5 * se);
      expect(result.standardErrors[k]).toBeCloseTo(Math.sqrt((result.weights[k] * (1 - result.weights[k])) / n), 12);
    }
    expect(result.unassigned).toBe(0);
  });

  it('leave samples beyond the radius unassigned', async () => {
    const samples = tensor([
      [0.1, 0],
      [0.9, 0],
      [5, 5],
      [1.1, 0.1],
    ]);
    const result = await modeWeights(
      samples,
      tensor([
        [0, 0],
        [1, 0],
      ]),
      { radius: 0.5 },
    );
    expect(Array.from(result.counts)).toEqual([1, 2]);
    expect(Array.from(result.weights)).toEqual([0.25, 0.5]);
    expect(result.unassigned).toBe(0.25);
    await expect(modeWeights(samples, tensor([[0, 0, 0]]))).rejects.toThrow(/dimension/);
  });
});

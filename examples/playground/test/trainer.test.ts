import { tensor } from '@joule/tensor';
import { describe, expect, test } from 'vitest';
import { CONFINEMENT_STD, gridPoints, Trainer } from '../src/trainer.js';

function mean(values: number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}

function variance(values: number[]): number {
  const m = mean(values);
  return values.reduce((a, b) => a + (b - m) ** 2, 0) / (values.length - 1);
}

describe('gridPoints', () => {
  test('cell centres row-major from the top-left corner of [-4, 4]²', () => {
    const grid = gridPoints(4);
    expect(grid.shape).toEqual([16, 2]);
    const v = grid.dataSync();
    expect([v[0], v[1]]).toEqual([-3, 3]); // top-left cell
    expect([v[2], v[3]]).toEqual([-1, 3]); // next column
    expect([v[8], v[9]]).toEqual([-3, 1]); // next row
    expect([v[30], v[31]]).toEqual([3, -3]); // bottom-right cell
  });
});

describe('Trainer', () => {
  test('rejects an unknown estimator or dataset', () => {
    expect(() => new Trainer({ dataset: 'moons', estimator: 'nope' as 'cd', seed: 0 })).toThrow(
      /unknown estimator "nope"/,
    );
    expect(() => new Trainer({ dataset: 'nope' as 'moons', estimator: 'cd', seed: 0 })).toThrow(
      /unknown dataset "nope"/,
    );
  });

  test('starts at the Gaussian confinement: E(x) = |x|² / (2σ²) with the zero-initialised last layer', async () => {
    const trainer = new Trainer({ dataset: 'moons', estimator: 'jarzynski', seed: 0 });
    const energies = await trainer.energyGrid(4);
    const points = gridPoints(4).dataSync();
    for (let i = 0; i < 16; i++) {
      const r2 = points[2 * i]! ** 2 + points[2 * i + 1]! ** 2;
      expect(energies[i]).toBeCloseTo(r2 / (2 * CONFINEMENT_STD ** 2), 5);
    }
  });

  test('R-NCE: the ranking loss falls from log(K + 1) and the energy becomes lower on the data', async () => {
    const trainer = new Trainer({ dataset: 'eightGaussians', estimator: 'rnce', seed: 3, batchSize: 128 });
    const losses: number[] = [];
    for (let i = 0; i < 40; i++) losses.push(await trainer.step());
    // With E constant relative to q the loss is log(K + 1) = log 16 at the start; after 40 steps the
    // mean of the last 10 is below that of the first 10 by more than 5 standard errors (variances
    // estimated within each window, which the trend inflates, so the test is conservative).
    const first = losses.slice(0, 10);
    const last = losses.slice(-10);
    expect(mean(first) - mean(last)).toBeGreaterThan(5 * Math.sqrt(variance(first) / 10 + variance(last) / 10));
    // The eight modes sit on the circle of radius 2√2·(√2/1.414) ≈ 2.83: the energy there is now
    // below the energy at the origin, where the initial model put its minimum.
    const onMode = trainer.energy(tensor([[2.83, 0]])).dataSync()[0]!;
    const atOrigin = trainer.energy(tensor([[0, 0]])).dataSync()[0]!;
    expect(onMode).toBeLessThan(atOrigin);
  });

  test.each(['rnce', 'cd', 'jarzynski'] as const)('%s: draws samples before its first step', async (estimator) => {
    const trainer = new Trainer({ dataset: 'moons', estimator, seed: 2 });
    const samples = await trainer.samples(2000);
    expect(samples.length).toBe(4000);
    // Exact draws of N(0, 3² I): the mean of the 4000 coordinates is within 5 standard errors
    // (5 · 3 / √4000 ≈ 0.24) of 0 and their mean square within 5 · 9√2 / √4000 ≈ 1.0 of 9.
    const mean = samples.reduce((a, b) => a + b, 0) / samples.length;
    const meanSquare = samples.reduce((a, b) => a + b * b, 0) / samples.length;
    expect(Math.abs(mean)).toBeLessThan((5 * CONFINEMENT_STD) / Math.sqrt(4000));
    expect(Math.abs(meanSquare - CONFINEMENT_STD ** 2)).toBeLessThan(
      (5 * CONFINEMENT_STD ** 2 * Math.SQRT2) / Math.sqrt(4000),
    );
  });

  test.each(['cd', 'jarzynski'] as const)('%s: steps, draws samples and evaluates the grid', async (estimator) => {
    const trainer = new Trainer({ dataset: 'pinwheel', estimator, seed: 1, batchSize: 64 });
    for (let i = 0; i < 3; i++) expect(Number.isFinite(await trainer.step())).toBe(true);
    expect(trainer.steps).toBe(3);
    const samples = await trainer.samples(50);
    expect(samples.length).toBe(100);
    expect(samples.every(Number.isFinite)).toBe(true);
    const grid = await trainer.energyGrid(8);
    expect(grid.length).toBe(64);
    expect(grid.every(Number.isFinite)).toBe(true);
  });
});

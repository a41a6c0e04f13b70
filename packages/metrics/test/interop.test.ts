// Checks against the concrete parts other joule packages provide (devDependencies only).
import type { EnergyFn } from '@joule/core';
import { GaussianKDE } from '@joule/distributions';
import { mala } from '@joule/mcmc';
import { Rng, type Tensor, tensor } from '@joule/tensor';
import { describe, expect, it } from 'vitest';
import { annealedImportanceSampling, type Grid2D, gridPoints, kdeOnGrid } from '../src/index.js';
import { gaussianSamples, IsoGaussian } from './helpers.js';

describe('interop', () => {
  it('kdeOnGrid agrees with GaussianKDE of @joule/distributions (Scott, full covariance)', async () => {
    const rng = new Rng(1);
    const base = gaussianSamples(300, [0, 0], 1, rng);
    const samples = base
      .matmul(
        tensor([
          [1, 0.6],
          [0, 0.5],
        ]),
      )
      .add(tensor([0.2, -0.3])); // correlated
    const grid: Grid2D = { lo: [-3, -3], hi: [3, 3], size: [24, 20] };
    const mine = await kdeOnGrid(samples, { grid });
    const theirs = Float64Array.from(await new GaussianKDE(samples).logProb(gridPoints(grid)).data(), Math.exp);
    // GaussianKDE evaluates its exponent in float32 (`‖z‖² − 2 z·zᵢ + ‖zᵢ‖²`), whose absolute error
    // grows like 1e-7 · ‖z‖² in whitened units; on cells holding real mass (density ≥ 1e-3 of the
    // peak, exponents ≲ 7 above it) that is a relative error of a few 1e-6: check 2e-5.
    const peak = Math.max(...mine.values);
    let worst = 0;
    for (let i = 0; i < mine.values.length; i++) {
      if (mine.values[i] < 1e-3 * peak) continue;
      worst = Math.max(worst, Math.abs(mine.values[i] - theirs[i]) / theirs[i]);
    }
    expect(worst).toBeLessThan(2e-5);
  });

  it('annealedImportanceSampling runs with the MALA kernel of @joule/mcmc', async () => {
    const mu = [0.5, 1];
    const s = 0.5;
    const energy: EnergyFn = (x: Tensor) =>
      x
        .sub(tensor(mu))
        .square()
        .sum(1)
        .mul(1 / (2 * s * s));
    const result = await annealedImportanceSampling(energy, new IsoGaussian([0, 0], 2), {
      kernel: mala({ stepSize: 0.05 }),
      n: 300,
      steps: 100,
      schedule: 'sigmoid',
      rng: new Rng(2),
    });
    expect(result.standardError).toBeLessThan(0.1);
    expect(Math.abs(result.logZ - Math.log(2 * Math.PI * s * s))).toBeLessThan(5 * result.standardError);
  });
});

import { DiagNormal } from '@joule/distributions';
import { ConditionalMLP, MLP } from '@joule/nn';
import { memoryGrowth, Rng, type Tensor } from '@joule/tensor';
import { describe, expect, it } from 'vitest';
import { InterpolatingRnceEstimator, RnceEstimator } from '../src/index.js';

/** Live tensors and storages are unchanged over 3 runs of `call` after 3 warm-up runs (optimizer moments appear then). */
const expectNoGrowth = async (call: () => Promise<void>) =>
  expect(await memoryGrowth(call)).toEqual({ tensors: 0, storages: 0 });

describe('tensor lifetimes', () => {
  const rng = new Rng(3);
  const batch = new DiagNormal([1, -1], [0.5, 0.5]).sample(32, rng);

  it('RnceEstimator.step, sample and sampleBest leak nothing', async () => {
    const est = new RnceEstimator(new MLP(2, 1, { rng, width: 16, depth: 2 }), {
      negatives: new DiagNormal([0, 0], [2, 2]),
      k: 4,
      sampling: { steps: 10, stepSize: 1e-3 },
    });
    await expectNoGrowth(async () => {
      await est.step(batch, rng);
    });
    await expectNoGrowth(async () => {
      (await est.sample(32, rng)).dispose();
    });
    await expectNoGrowth(async () => {
      (await est.sampleBest(8, 3, rng)).dispose();
    });
  });

  it('IBC (box negatives) steps leak nothing', async () => {
    const est = new RnceEstimator(new MLP(2, 1, { rng, width: 16, depth: 2 }), {
      negatives: { low: [-3, -3], high: [3, 3] },
      k: 4,
    });
    await expectNoGrowth(async () => {
      await est.step(batch, rng);
    });
  });

  it('jointly trained sampler steps leak nothing', async () => {
    const sampler = new MLP(1, 2, { rng, width: 8, depth: 1 });
    const one: Tensor = new DiagNormal([0], [1]).sample(1, rng).mul(0).add(1);
    // q = N(μ, 1) with μ the output of a tiny MLP at input 1; the view reads the current parameters.
    const meanOf = (p: ReturnType<MLP['parameters']>) => sampler.apply(p, one).reshape([2]);
    const view = {
      dim: 2,
      sample: (n: number, r: Rng) => new DiagNormal([0, 0], [1, 1]).sample(n, r).add(meanOf(sampler.parameters())),
      logProb: (x: Tensor) => new DiagNormal([0, 0], [1, 1]).logProb(x.sub(meanOf(sampler.parameters()))),
    };
    const est = new RnceEstimator(new MLP(2, 1, { rng, width: 16, depth: 2 }), {
      negatives: view,
      k: 4,
      joint: {
        objective: {
          parameters: () => sampler.parameters(),
          load: (p) => sampler.load(p),
          loss: (p, x) =>
            new DiagNormal([0, 0], [1, 1])
              .logProb(x.sub(meanOf(p)))
              .mean()
              .neg(),
        },
        samplerSteps: 1,
        rnceSteps: 1,
      },
    });
    await expectNoGrowth(async () => {
      await est.step(batch, rng);
    });
  });

  it('InterpolatingRnceEstimator.step leaks nothing', async () => {
    const est = new InterpolatingRnceEstimator(new ConditionalMLP(2, 1, 1, { rng, width: 16, depth: 2 }), {
      sampler: () => new DiagNormal([0, 0], [2, 2]),
      path: (t, z, y) => z.mul(t.neg().add(1)).add(y.mul(t)),
      k: 4,
    });
    await expectNoGrowth(async () => {
      await est.step(batch, rng);
    });
  });
});

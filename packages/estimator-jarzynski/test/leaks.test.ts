import { Adam, MLP } from '@joule/nn';
import { memoryGrowth, Rng, randn } from '@joule/tensor';
import { describe, expect, it } from 'vitest';
import { JarzynskiEstimator } from '../src/index.js';

/** Live tensors and storages are unchanged over 3 runs of `call` after 3 warm-up runs (optimizer moments appear then). */
const expectNoGrowth = async (call: () => Promise<void>) =>
  expect(await memoryGrowth(call)).toEqual({ tensors: 0, storages: 0 });

describe('tensor lifetimes', () => {
  for (const [label, walkerBatch, essThreshold] of [
    ['all walkers, resampling every step', undefined, 1],
    ['walker mini-batches, no resampling', 16, 0],
  ] as const) {
    it(`step and sample leak nothing (${label})`, async () => {
      const rng = new Rng(9);
      const batch = randn([32, 2], rng, 1, 0.5);
      const mlp = new MLP(2, 1, { rng, width: 16, depth: 2 });
      const est = new JarzynskiEstimator({
        energy: (p, x) => mlp.apply(p, x).reshape([x.shape[0] as number]),
        params: mlp.parameters(),
        optimizer: new Adam(mlp.parameters(), { lr: 1e-3 }),
        walkers: randn([64, 2], rng),
        stepSize: 0.01,
        walkerBatch,
        essThreshold,
      });
      await expectNoGrowth(async () => {
        await est.step(batch, rng);
      });
      if (essThreshold === 1) expect(est.resamplings).toBeGreaterThan(0);
      await expectNoGrowth(async () => {
        (await est.sample(16, rng)).dispose();
      });
    });
  }
});

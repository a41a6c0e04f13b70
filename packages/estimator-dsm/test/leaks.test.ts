import { GaussianKDE } from '@joule/distributions';
import { ConditionalMLP, MLP } from '@joule/nn';
import { memoryGrowth, Rng, randn } from '@joule/tensor';
import { describe, expect, it } from 'vitest';
import { DSM, geometricLevels } from '../src/index.js';

/** Live tensors and storages are unchanged over 3 runs of `call` after 3 warm-up runs (optimizer moments appear then). */
const expectNoGrowth = async (call: () => Promise<void>) =>
  expect(await memoryGrowth(call)).toEqual({ tensors: 0, storages: 0 });

describe('tensor lifetimes', () => {
  const rng = new Rng(13);
  const batch = randn([32, 2], rng);

  it('single-level DSM.step leaks nothing', async () => {
    const est = new DSM(new MLP(2, 1, { rng, width: 16, depth: 2 }), { sigma: 0.3 });
    await expectNoGrowth(async () => {
      await est.step(batch, rng);
    });
  });

  it('multi-level DSM.step with the global-jump regularizer leaks nothing', async () => {
    const est = new DSM(new ConditionalMLP(2, 1, 1, { rng, width: 16, depth: 2 }), {
      levels: geometricLevels(0.1, 1, 4),
      regularizer: { noise: new GaussianKDE(batch, { bandwidth: { std: 0.3 } }), weight: 1 },
    });
    await expectNoGrowth(async () => {
      await est.step(batch, rng);
    });
  });
});

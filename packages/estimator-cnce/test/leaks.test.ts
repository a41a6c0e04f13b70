import { DiagNormal } from '@joule/distributions';
import { MLP } from '@joule/nn';
import { memoryGrowth, Rng, randn } from '@joule/tensor';
import { describe, expect, it } from 'vitest';
import { CNCE, kdeNoise, localNoise, mixedNoise, NCE } from '../src/index.js';

/** Live tensors and storages are unchanged over 3 runs of `call` after 3 warm-up runs (optimizer moments appear then). */
const expectNoGrowth = async (call: () => Promise<void>) =>
  expect(await memoryGrowth(call)).toEqual({ tensors: 0, storages: 0 });

describe('tensor lifetimes', () => {
  const rng = new Rng(11);
  const batch = randn([32, 2], rng);

  it('CNCE.step leaks nothing (local, KDE and mixed noise)', async () => {
    for (const noise of [
      localNoise(0.3),
      kdeNoise(batch, 0.3),
      mixedNoise(batch, { sigmaLocal: 0.1, sigmaGlobal: 0.3, localFraction: 0.5 }),
    ]) {
      const est = new CNCE(new MLP(2, 1, { rng, width: 16, depth: 2 }), { noise, k: 2 });
      await expectNoGrowth(async () => {
        await est.step(batch, rng);
      });
    }
  });

  it('NCE.step leaks nothing', async () => {
    const est = new NCE(new MLP(2, 1, { rng, width: 16, depth: 2 }), { noise: new DiagNormal([0, 0], [2, 2]) });
    await expectNoGrowth(async () => {
      await est.step(batch, rng);
    });
  });
});

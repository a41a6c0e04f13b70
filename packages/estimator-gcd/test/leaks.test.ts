import { Adam, MLP } from '@joule/nn';
import { concat, memoryGrowth, Rng, randn, type Tensor } from '@joule/tensor';
import { describe, expect, it } from 'vitest';
import { DDPMTrainer, GaussianDiffusion, GCD, linearBetas } from '../src/index.js';

/** Live tensors and storages are unchanged over `calls` runs of `call` after as many warm-up runs. */
const expectNoGrowth = async (call: () => Promise<void>, calls = 3) =>
  expect(await memoryGrowth(call, { warmup: calls, repeats: calls })).toEqual({ tensors: 0, storages: 0 });

const diffusion = new GaussianDiffusion(linearBetas(4));
const withTime = (x: Tensor, t: Tensor) => concat([x, t.div(diffusion.steps)], 1);

describe('tensor lifetimes', () => {
  const rng = new Rng(17);
  const batch = randn([32, 2], rng, 1, 0.5);

  it('GCD.step (with a buffer kept across steps) and sample leak nothing', async () => {
    const policyNet = new MLP(3, 2, { rng, width: 16, depth: 2 });
    const energyNet = new MLP(2, 1, { rng, width: 16, depth: 2 });
    const valueNet = new MLP(3, 1, { rng, width: 16, depth: 2 });
    const gcd = new GCD({
      diffusion,
      policy: (p, x, t) => x.add(policyNet.apply(p, withTime(x, t))),
      policyParams: policyNet.parameters(),
      policyOptimizer: new Adam(policyNet.parameters(), { lr: 1e-3 }),
      energy: (p, x) => energyNet.apply(p, x).reshape([-1]),
      energyParams: energyNet.parameters(),
      energyOptimizer: new Adam(energyNet.parameters(), { lr: 1e-3 }),
      value: (p, x, t) => valueNet.apply(p, withTime(x, t)).reshape([-1]),
      valueParams: valueNet.parameters(),
      valueOptimizer: new Adam(valueNet.parameters(), { lr: 1e-3 }),
      tau: 0.5,
      k: 2,
      ppoUpdates: 2,
      samplerPeriod: 2,
    });
    // An even number of calls: the buffer holds the same number of trajectories before and after.
    await expectNoGrowth(async () => {
      await gcd.step(batch, rng);
    }, 4);
    await expectNoGrowth(async () => {
      (await gcd.sample(16, rng)).dispose();
    });
  });

  it('DDPMTrainer.step and sample leak nothing', async () => {
    const net = new MLP(3, 2, { rng, width: 16, depth: 2 });
    const ddpm = new DDPMTrainer({
      diffusion,
      epsNet: (p, x, t) => net.apply(p, withTime(x, t)),
      params: net.parameters(),
      optimizer: new Adam(net.parameters(), { lr: 1e-3 }),
    });
    await expectNoGrowth(async () => {
      await ddpm.step(batch, rng);
    });
    await expectNoGrowth(async () => {
      (await ddpm.sample(16, rng)).dispose();
    });
  });
});

import type { Distribution } from '@joule/core';
import { type ChainState, ula } from '@joule/mcmc';
import { Adam, MLP } from '@joule/nn';
import { memoryGrowth, Rng, randn } from '@joule/tensor';
import { describe, expect, it } from 'vitest';
import { ContrastiveDivergence } from '../src/index.js';

/** Live tensors and storages are unchanged over 3 runs of `call` after 3 warm-up runs (optimizer moments appear then). */
const expectNoGrowth = async (call: () => Promise<void>) =>
  expect(await memoryGrowth(call)).toEqual({ tensors: 0, storages: 0 });

/** N(0, 4 I) in 2-D, written here to keep the test's dependencies small. */
const wide: Distribution = {
  dim: 2,
  sample: (n, rng) => randn([n, 2], rng, 0, 2),
  logProb: (x) =>
    x
      .square()
      .sum(1)
      .mul(-1 / 8),
};

function make(mode: 'cd' | 'pcd', rng: Rng, init?: Distribution) {
  const mlp = new MLP(2, 1, { rng, width: 16, depth: 2 });
  return new ContrastiveDivergence<ReturnType<MLP['parameters']>, ChainState>({
    energy: (p, x) => mlp.apply(p, x).reshape([x.shape[0] as number]),
    params: mlp.parameters(),
    optimizer: new Adam(mlp.parameters(), { lr: 1e-3 }),
    kernel: ula({ stepSize: 0.01 }),
    mcmcSteps: 5,
    mode,
    numChains: 32,
    chainBatch: mode === 'pcd' ? 16 : undefined,
    reinitProb: mode === 'pcd' ? 0.1 : undefined,
    init,
  });
}

describe('tensor lifetimes', () => {
  const rng = new Rng(5);
  const batch = randn([32, 2], rng);

  for (const mode of ['cd', 'pcd'] as const) {
    it(`${mode}: step and sample leak nothing`, async () => {
      const est = make(mode, rng);
      await expectNoGrowth(async () => {
        await est.step(batch, rng);
      });
      await expectNoGrowth(async () => {
        (await est.sample(16, rng, undefined, { start: batch })).dispose();
      });
    });
  }
});

describe('sample options', () => {
  it('CD starts chains at options.start rows or at init draws, and rejects a context', async () => {
    const rng = new Rng(6);
    const batch = randn([8, 2], rng);
    const withoutInit = make('cd', rng);
    await expect(withoutInit.sample(4, rng)).rejects.toThrow(/options\.start/);
    await expect(withoutInit.sample(4, rng, batch)).rejects.toThrow(/context/);
    expect((await withoutInit.sample(4, rng, undefined, { start: batch })).shape).toEqual([4, 2]);
    expect((await make('cd', rng, wide).sample(5, rng)).shape).toEqual([5, 2]);
  });

  it('PCD samples before its first step from init, and the first step continues those chains', async () => {
    const rng = new Rng(7);
    const pcd = make('pcd', rng, wide);
    const x = await pcd.sample(64, rng);
    expect(x.shape).toEqual([64, 2]);
    const chains = pcd.state().chains;
    expect(chains.length).toBe(64);
    // Every draw is one of the 32 chains set up from init.
    const rows = new Set(Array.from({ length: 32 }, (_, i) => `${chains[2 * i]},${chains[2 * i + 1]}`));
    const xs = x.dataSync();
    for (let i = 0; i < 64; i++) expect(rows.has(`${xs[2 * i]},${xs[2 * i + 1]}`)).toBe(true);
    // The chains came from N(0, 4 I), not from the (far away) data at 10: their mean is near 0
    // (std of the mean of 64 coordinates is 2/8 = 0.25; 5 standard errors = 1.25).
    const mean = chains.reduce((a, b) => a + b, 0) / chains.length;
    expect(Math.abs(mean)).toBeLessThan(1.25);
    await pcd.step(randn([16, 2], rng, 10, 0.1), rng);
    // reinitProb 0.1 moves at most a few chains to the data; most stay near the init draws.
    const after = pcd.state().chains;
    const nearData = Array.from({ length: 32 }, (_, i) => after[2 * i] as number).filter((v) => v > 8).length;
    expect(nearData).toBeLessThan(16);
  });

  it('PCD without init sets its chains up from options.start, else refuses', async () => {
    const rng = new Rng(8);
    const pcd = make('pcd', rng);
    await expect(pcd.sample(4, rng)).rejects.toThrow(/options\.start/);
    const start = randn([8, 2], rng, 3, 0.01);
    const x = (await pcd.sample(10, rng, undefined, { start })).dataSync();
    for (const v of x) expect(Math.abs(v - 3)).toBeLessThan(0.1);
  });
});

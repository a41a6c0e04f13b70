import { type EnergyFn, JouleError, type Kernel } from '@joule/core';
import { type ChainState, ula } from '@joule/mcmc';
import { SGD } from '@joule/nn';
import { Rng, randn, type Tensor, tensor } from '@joule/tensor';
import { describe, expect, it } from 'vitest';
import { ContrastiveDivergence, type ParametricEnergy } from '../src/index.js';

type Params = { s: Tensor; w: Tensor };
// U(x) = ½ s |x|² + w·x: ∂ₛU = ½|x|², ∂_wU = x
const energy: ParametricEnergy<Params> = (p, x) => x.square().sum(1).mul(p.s).mul(0.5).add(x.mul(p.w).sum(1));

/** A deterministic test kernel: every step adds `shift` to every coordinate. */
function shiftKernel(shift: number): Kernel<{ x: Tensor }, Record<string, number>> {
  return {
    init: (x: Tensor, _e: EnergyFn) => ({ x }),
    step: (_rng, state) => ({ state: { x: state.x.add(shift) }, info: {} }),
  };
}

const sq = (v: number[]) => v.reduce((a, b) => a + b * b, 0);

/** θ − lr (E_data[∇θU] − E_neg[∇θU]) by hand. */
function handUpdate(s: number, w: number[], data: number[][], neg: number[][], lr: number) {
  const mean = (xs: number[][], f: (x: number[]) => number) => xs.reduce((a, x) => a + f(x), 0) / xs.length;
  const gs = mean(data, (x) => 0.5 * sq(x)) - mean(neg, (x) => 0.5 * sq(x));
  const gw = w.map((_, j) => mean(data, (x) => x[j]) - mean(neg, (x) => x[j]));
  return { s: s - lr * gs, w: w.map((v, j) => v - lr * gw[j]) };
}

const data = [
  [1, 0.5],
  [-0.5, 2],
  [0.3, -1],
  [2, 1],
];

describe('CD-k gradient by hand', () => {
  it('equals E_data[∇θE] − E_model[∇θE] with chains restarted at the data', async () => {
    const theta = { s: tensor([0.8]), w: tensor([0.1, -0.2]) };
    const cd = new ContrastiveDivergence({
      energy,
      params: theta,
      optimizer: new SGD(theta, { lr: 0.1 }),
      kernel: shiftKernel(0.25),
      mcmcSteps: 3,
      mode: 'cd',
    });
    const stats = await cd.step(tensor(data), new Rng(0));
    const neg = data.map((x) => x.map((v) => v + 0.75));
    const want = handUpdate(0.8, [0.1, -0.2], data, neg, 0.1);
    expect(cd.params.s.dataSync()[0]).toBeCloseTo(want.s, 5);
    Array.from(cd.params.w.dataSync()).forEach((v, j) => {
      expect(v).toBeCloseTo(want.w[j], 5);
    });
    const u = (x: number[]) => 0.5 * 0.8 * sq(x) + 0.1 * x[0] - 0.2 * x[1];
    const eData = data.reduce((a, x) => a + u(x), 0) / 4;
    const eModel = neg.reduce((a, x) => a + u(x), 0) / 4;
    expect(stats.energyData).toBeCloseTo(eData, 4);
    expect(stats.energyModel).toBeCloseTo(eModel, 4);
    expect(stats.loss).toBeCloseTo(eData - eModel, 4);
  });

  it('PCD takes the gradient at the stored chains, then moves them under the same θ', async () => {
    const theta = { s: tensor([1]), w: tensor([0, 0.3]) };
    const pcd = new ContrastiveDivergence({
      energy,
      params: theta,
      optimizer: new SGD(theta, { lr: 0.05 }),
      kernel: shiftKernel(-0.5),
      mcmcSteps: 2,
      mode: 'pcd',
      numChains: 6,
    });
    const rng = new Rng(1);
    await pcd.step(tensor(data), rng);
    const chains1 = pcd.state().chains;
    // the first chains are data rows drawn with replacement, each moved by 2 × (−0.5)
    for (let i = 0; i < 6; i++) {
      const row = [chains1[2 * i] + 1, chains1[2 * i + 1] + 1];
      expect(data.some((x) => Math.abs(x[0] - row[0]) < 1e-6 && Math.abs(x[1] - row[1]) < 1e-6)).toBe(true);
    }
    const s1 = pcd.params.s.dataSync()[0];
    const w1 = Array.from(pcd.params.w.dataSync());
    await pcd.step(tensor(data), rng);
    const neg = Array.from({ length: 6 }, (_, i) => [chains1[2 * i], chains1[2 * i + 1]]);
    const want = handUpdate(s1, w1, data, neg, 0.05);
    expect(pcd.params.s.dataSync()[0]).toBeCloseTo(want.s, 5);
    Array.from(pcd.params.w.dataSync()).forEach((v, j) => {
      expect(v).toBeCloseTo(want.w[j], 5);
    });
    const chains2 = pcd.state().chains;
    chains2.forEach((v, k) => {
      expect(v).toBeCloseTo(chains1[k] - 1, 5);
    });
  });

  it('PCD with chain mini-batches moves exactly chainBatch chains', async () => {
    const theta = { s: tensor([1]), w: tensor([0, 0]) };
    const pcd = new ContrastiveDivergence({
      energy,
      params: theta,
      optimizer: new SGD(theta, { lr: 0.05 }),
      kernel: shiftKernel(1),
      mode: 'pcd',
      numChains: 10,
      chainBatch: 3,
    });
    const rng = new Rng(2);
    await pcd.step(tensor(data), rng);
    const before = pcd.state().chains;
    await pcd.step(tensor(data), rng);
    const after = pcd.state().chains;
    let moved = 0;
    for (let i = 0; i < 10; i++) if (Math.abs(after[2 * i] - before[2 * i] - 1) < 1e-6) moved++;
    expect(moved).toBe(3);
  });

  it('rejects bad options with a JouleError naming the argument', () => {
    const theta = { s: tensor([1]), w: tensor([0, 0]) };
    const base = { energy, params: theta, optimizer: new SGD(theta, { lr: 0.1 }), kernel: shiftKernel(1) };
    expect(() => new ContrastiveDivergence({ ...base, mode: 'pcd' })).toThrow(/numChains/);
    expect(() => new ContrastiveDivergence({ ...base, mode: 'cd', mcmcSteps: 0 })).toThrow(JouleError);
    expect(() => new ContrastiveDivergence({ ...base, mode: 'pcd', numChains: 4, chainBatch: 5 })).toThrow(
      /chainBatch/,
    );
  });
});

describe('state() / load()', () => {
  it('PCD with ULA continues identically after a round trip', async () => {
    const make = () => {
      const theta = { s: tensor([1]), w: tensor([0, 0]) };
      return new ContrastiveDivergence<Params, ChainState>({
        energy,
        params: theta,
        optimizer: new SGD(theta, { lr: 0.05, momentum: 0.5 }),
        kernel: ula({ stepSize: 0.1 }),
        mcmcSteps: 2,
        mode: 'pcd',
        numChains: 32,
        chainBatch: 16,
        reinitProb: 0.1,
      });
    };
    const batch = randn([40, 2], new Rng(3), 1, 0.5);
    const a = make();
    const rng = new Rng(4);
    for (let k = 0; k < 3; k++) await a.step(batch, rng);
    const saved = a.state();
    const rngB = rng.clone();
    const outA: Record<string, number>[] = [];
    for (let k = 0; k < 3; k++) outA.push(await a.step(batch, rng));
    const b = make();
    b.load(saved);
    const outB: Record<string, number>[] = [];
    for (let k = 0; k < 3; k++) outB.push(await b.step(batch, rngB));
    expect(outB).toEqual(outA);
    expect(b.state().chains).toEqual(a.state().chains);
    expect(b.params.s.dataSync()[0]).toBe(a.params.s.dataSync()[0]);
  });
});

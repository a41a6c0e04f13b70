import { Adam } from '@joule/nn';
import { Rng, randn, type Tensor, tensor } from '@joule/tensor';
import { describe, expect, it } from 'vitest';
import { GaussianDiffusion, GCD, linearBetas } from '../src/index.js';
import { moments, stepOneHot } from './helpers.js';

// 1-D Gaussian data N(m, s²), τ = 1: the GCD equilibrium is π = p and E(x) = τ(x − m)²/(2s²) + c.
const m = 1;
const s = 0.5;
const tau = 1;
const diffusion = new GaussianDiffusion(linearBetas(5)); // the paper's schedule, T = 5
const T = diffusion.steps;

type Policy = { w: Tensor; c: Tensor };
type Energy = { a: Tensor; b: Tensor };
type Value = { q: Tensor; l: Tensor; c: Tensor };
// per-step affine policy mean x·(1 + w_t) + c_t: the family holds the equilibrium sampler exactly
const policy = (p: Policy, x: Tensor, t: Tensor) => {
  const h = stepOneHot(t, T);
  return x.mul(h.matmul(p.w).add(1)).add(h.matmul(p.c));
};
// quadratic energy a·x² + b·x: the family holds −τ log p + c exactly
const energy = (p: Energy, x: Tensor) => x.square().mul(p.a).add(x.mul(p.b)).reshape([-1]);
// per-step quadratic value
const value = (p: Value, x: Tensor, t: Tensor) => {
  const h = stepOneHot(t, T);
  return x
    .square()
    .mul(h.matmul(p.q))
    .add(x.mul(h.matmul(p.l)))
    .add(h.matmul(p.c))
    .reshape([-1]);
};

/** The policy that maps N(0, 1) exactly onto N(m, s²): identity for t < T − 1, then an affine last step. */
function equilibriumPolicy(): Policy {
  let v = 1;
  for (let t = 0; t < T - 1; t++) v += diffusion.variance(t);
  const g = Math.sqrt((s * s - diffusion.variance(T - 1)) / v);
  const w = new Array(T).fill(0);
  const c = new Array(T).fill(0);
  w[T - 1] = g - 1;
  c[T - 1] = m;
  return { w: tensor(w, [T, 1]), c: tensor(c, [T, 1]) };
}

const zeroPolicy = (): Policy => ({ w: tensor(new Array(T).fill(0), [T, 1]), c: tensor(new Array(T).fill(0), [T, 1]) });

const zeroValue = (): Value => ({
  q: tensor(new Array(T).fill(0), [T, 1]),
  l: tensor(new Array(T).fill(0), [T, 1]),
  c: tensor(new Array(T).fill(0), [T, 1]),
});

function build(policyParams: Policy, energyParams: Energy, trainEnergy: boolean, lr: number, temperature: number) {
  return new GCD({
    diffusion,
    policy,
    policyParams,
    policyOptimizer: new Adam(policyParams, { lr }),
    energy,
    energyParams,
    energyOptimizer: trainEnergy ? new Adam(energyParams, { lr }) : undefined,
    value,
    valueParams: zeroValue(),
    valueOptimizer: new Adam(zeroValue(), { lr: 0.05 }),
    tau: temperature,
    k: 3,
    clip: 0.2,
    ppoUpdates: 4,
    dim: 1,
  });
}

// Sample moments from n = 4000 draws: SE(mean) = s/√n = 0.0079, SE(std) ≈ s/√(2n) = 0.0056; tolerance 5 SE
// plus 0.05 for the stochastic-approximation jitter of the parameters around their fixed point
// (Adam moves every parameter by up to ~lr per step and the gradients are Monte-Carlo estimates).
const n = 4000;
const tolMean = 5 * (s / Math.sqrt(n)) + 0.05;
const tolStd = 5 * (s / Math.sqrt(2 * n)) + 0.05;
const equilibriumEnergy = (): Energy => ({ a: tensor([tau / (2 * s * s)]), b: tensor([(-tau * m) / (s * s)]) });

describe('GCD on a 1-D Gaussian', () => {
  it('stays at the equilibrium: sampler and energy agree with the data', async () => {
    const rng = new Rng(11);
    const gcd = build(equilibriumPolicy(), equilibriumEnergy(), true, 2e-3, tau);
    for (let i = 0; i < 100; i++) await gcd.step(randn([256, 1], rng, m, s), rng);
    const got = moments((await gcd.sample(n, rng)).dataSync());
    expect(Math.abs(got.mean - m)).toBeLessThan(tolMean);
    expect(Math.abs(got.std - s)).toBeLessThan(tolStd);
    // the energy's own Gaussian exp(−E/τ): mean −b/(2a), std √(τ/(2a))
    const a = gcd.params.energy.a.dataSync()[0];
    const b = gcd.params.energy.b.dataSync()[0];
    expect(Math.abs(-b / (2 * a) - m)).toBeLessThan(tolMean);
    expect(Math.abs(Math.sqrt(tau / (2 * a)) - s)).toBeLessThan(tolStd);
    // library energy = E_θ/τ: an energy difference is a log-density ratio of exp(−E_θ/τ)
    const e = gcd.energy(tensor([[m], [m + s]])).dataSync();
    expect(e[1] - e[0]).toBeCloseTo((a * (2 * m * s + s * s) + b * s) / tau, 4);
    const saved = gcd.state();
    const copy = build(equilibriumPolicy(), equilibriumEnergy(), true, 2e-3, tau);
    copy.load(saved);
    expect(Array.from(copy.params.energy.a.dataSync())).toEqual([a]);
    expect(Array.from((await copy.sample(5, new Rng(1))).dataSync())).toEqual(
      Array.from((await gcd.sample(5, new Rng(1))).dataSync()),
    );
  });

  it('the sampler update alone (PPO + kNN entropy) moves π from N(0, 1) to exp(−E/τ)', async () => {
    const rng = new Rng(12);
    const gcd = build(zeroPolicy(), equilibriumEnergy(), false, 1e-2, tau);
    for (let i = 0; i < 300; i++) await gcd.step(randn([256, 1], rng, m, s), rng);
    const got = moments((await gcd.sample(n, rng)).dataSync());
    expect(Math.abs(got.mean - m)).toBeLessThan(tolMean);
    expect(Math.abs(got.std - s)).toBeLessThan(tolStd);
  });

  it('without the entropy term (τ = 0) the sampler collapses towards the mode', async () => {
    const rng = new Rng(12);
    const gcd = build(zeroPolicy(), equilibriumEnergy(), false, 1e-2, 0);
    for (let i = 0; i < 200; i++) await gcd.step(randn([256, 1], rng, m, s), rng);
    const got = moments((await gcd.sample(n, rng)).dataSync());
    expect(Math.abs(got.mean - m)).toBeLessThan(tolMean);
    expect(got.std).toBeLessThan(s - tolStd);
  });
});

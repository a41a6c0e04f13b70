import type { Distribution } from '@joule/core';
import { DiagNormal } from '@joule/distributions';
import { InterpolantFlow, linearSchedule, StochasticInterpolant, velocityLoss } from '@joule/interpolants';
import { hmc } from '@joule/mcmc';
import { MLP, type ParamTree } from '@joule/nn';
import { concat, Rng, randn, type Tensor, tensor } from '@joule/tensor';
import { describe, expect, it } from 'vitest';
import {
  InterpolatingRnceEstimator,
  type LogDensityModel,
  maximumLikelihood,
  type ReparameterizedSampler,
  RnceEstimator,
  sampleInterpolating,
  sampleWithLangevin,
} from '../src/index.js';
import { GaussianEnergy } from './gaussian-energy.js';

const HALF_LOG_2PI = 0.5 * Math.log(2 * Math.PI);

/**
 * A learnable 1-D Gaussian sampler `N(m, exp(ls)²)`: a {@link LogDensityModel} for maximum
 * likelihood, a {@link ReparameterizedSampler} (`x = m + exp(ls) ε`) for the adversarial variant,
 * and a {@link Distribution} view reading its current parameters.
 */
class GaussianSampler implements LogDensityModel, ReparameterizedSampler {
  private params: ParamTree;
  constructor(m0: number, ls0: number) {
    this.params = { m: tensor([m0]), ls: tensor([ls0]) };
  }
  parameters(): ParamTree {
    return this.params;
  }
  load(p: ParamTree): void {
    this.params = p;
  }
  logProb(p: ParamTree, x: Tensor): Tensor {
    const ls = p.ls as Tensor;
    return x
      .sub(p.m as Tensor)
      .mul(ls.neg().exp())
      .square()
      .sum(1)
      .mul(-0.5)
      .sub(ls.sum())
      .sub(HALF_LOG_2PI);
  }
  sampleAndLogProb(p: ParamTree, k: number, n: number, rng: Rng): { x: Tensor; logProb: Tensor } {
    const x = randn([k * n, 1], rng)
      .mul((p.ls as Tensor).exp())
      .add(p.m as Tensor);
    return { x: x.reshape([k, n, 1]), logProb: this.logProb(p, x).reshape([k, n]) };
  }
  view(): Distribution {
    return {
      dim: 1,
      sample: (n, rng) => this.sampleAndLogProb(this.params, n, 1, rng).x.reshape([n, 1]),
      logProb: (x) => this.logProb(this.params, x),
    };
  }
  values(): [number, number] {
    return [
      (this.params.m as Tensor).dataSync()[0] as number,
      Math.exp((this.params.ls as Tensor).dataSync()[0] as number),
    ];
  }
}

/** Mean of the last `tail` recorded `[a, b]` pairs. */
function tailMean(history: [number, number][], tail: number): [number, number] {
  const last = history.slice(-tail);
  return [last.reduce((s, v) => s + v[0], 0) / last.length, last.reduce((s, v) => s + v[1], 0) / last.length];
}

function moments(t: Tensor): { mean: number; sd: number } {
  const v = Array.from(t.dataSync());
  const mean = v.reduce((s, x) => s + x, 0) / v.length;
  return { mean, sd: Math.sqrt(v.reduce((s, x) => s + (x - mean) ** 2, 0) / (v.length - 1)) };
}

describe('Algorithm 1: joint training of the sampler and the energy', () => {
  it('follows the T_samp / T_rnce schedule and fits both models by maximum likelihood + R-NCE', async () => {
    // Data N(1, 0.5²). The sampler starts at N(−2, 3²) and is trained by maximum likelihood; the
    // energy by R-NCE against the sampler's current negatives. Both families contain the data, so
    // both should reach (1, 0.5). Tolerance 0.05 (10% of σ): the iterate noise of Adam at these
    // learning rates, averaged over the last 100 energy steps; seed 4 gives errors below 0.02.
    const sampler = new GaussianSampler(-2, Math.log(3));
    const energy = new GaussianEnergy(1);
    const est = new RnceEstimator(energy, {
      negatives: sampler.view(),
      k: 15,
      lr: 0.03,
      joint: { objective: maximumLikelihood(sampler), samplerSteps: 2, rnceSteps: 3, lr: 0.05 },
    });
    const data = new DiagNormal([1], [0.5]);
    const rng = new Rng(4);
    const kinds: string[] = [];
    const energyHistory: [number, number][] = [];
    for (let t = 0; t < 1000; t++) {
      const stats = await est.step(data.sample(256, rng), rng);
      kinds.push('samplerLoss' in stats ? 's' : 'e');
      if ('loss' in stats) energyHistory.push(energy.pair());
    }
    expect(kinds.slice(0, 10).join('')).toBe('sseeesseee');
    const [m, sigma] = tailMean(energyHistory, 100);
    expect(Math.abs(m - 1)).toBeLessThan(0.05);
    expect(Math.abs(sigma - 0.5)).toBeLessThan(0.05);
    const [qm, qs] = sampler.values();
    expect(Math.abs(qm - 1)).toBeLessThan(0.05);
    expect(Math.abs(qs - 0.5)).toBeLessThan(0.05);
    // state/load round-trips the schedule position and both models.
    const saved = est.state();
    expect(saved.iteration).toBe(1000);
    expect(saved.samplerParams).toBeDefined();
  });

  it('trains an interpolant CNF sampler by its own velocity loss (Remark 3.1)', async () => {
    // The sampler is @joule/interpolants' InterpolantFlow of a small MLP velocity field, trained by
    // the velocity loss (5.3) in the sampler phase; the energy takes R-NCE steps against its ODE
    // negatives. The velocity loss on a fixed evaluation batch (same seed before and after) must
    // drop by more than 0.1 (seed 7: about −0.02 → −1.37).
    const rng = new Rng(7);
    const net = new MLP(2, 1, { rng, width: 16, depth: 2 });
    let params = net.parameters();
    const fieldOf = (p: ParamTree) => (x: Tensor, t: Tensor) => net.apply(p, concat([x, t], 1));
    const interpolant = new StochasticInterpolant({ schedule: linearSchedule() });
    const objective = {
      parameters: () => params,
      load: (p: ParamTree) => {
        params = p;
      },
      loss: (p: ParamTree, x: Tensor, _c: Tensor | undefined, r: Rng) => velocityLoss(fieldOf(p), interpolant, x, r),
    };
    const flow = new InterpolantFlow((x, t) => fieldOf(params)(x, t), 1, { steps: 4 });
    const energy = new GaussianEnergy(1);
    const est = new RnceEstimator(energy, {
      negatives: flow,
      k: 4,
      lr: 0.03,
      joint: { objective, samplerSteps: 2, rnceSteps: 1, lr: 0.01 },
    });
    const data = new DiagNormal([1], [0.5]);
    const evalBatch = data.sample(2000, new Rng(70));
    const evalLoss = () => velocityLoss(fieldOf(params), interpolant, evalBatch, new Rng(71)).dataSync()[0] as number;
    const before = evalLoss();
    let energySteps = 0;
    for (let t = 0; t < 90; t++) {
      const stats = await est.step(data.sample(32, rng), rng);
      if ('loss' in stats) energySteps += 1;
    }
    expect(energySteps).toBe(30);
    expect(evalLoss()).toBeLessThan(before - 0.1);
  });

  it('rejects joint and adversarial together, and a bad schedule', () => {
    const sampler = new GaussianSampler(0, 0);
    const objective = maximumLikelihood(sampler);
    expect(
      () =>
        new RnceEstimator(new GaussianEnergy(1), {
          negatives: sampler.view(),
          joint: { objective },
          adversarial: { sampler },
        }),
    ).toThrow(/adversarial/);
    expect(
      () => new RnceEstimator(new GaussianEnergy(1), { negatives: sampler.view(), joint: { objective, rnceSteps: 0 } }),
    ).toThrow(/rnceSteps/);
    expect(() => maximumLikelihood({} as LogDensityModel)).toThrow(/model/);
  });
});

describe('Section 4.3.2: adversarial R-NCE', () => {
  it('drives the sampler to the data and keeps the energy consistent (Thm 4.17)', async () => {
    // Data N(1, 0.5²), realizable sampler and energy families. The adversary ascends the R-NCE loss
    // through its reparameterized draws and log-density; at the saddle point p_θ = p_ξ = p (the
    // discussion after Thm 4.18). Tolerance 0.1 on means and scales: the adversarial game is
    // noisier than joint training; seed 6 gives errors below 0.05.
    const sampler = new GaussianSampler(0, Math.log(2));
    const energy = new GaussianEnergy(1);
    const est = new RnceEstimator(energy, {
      negatives: sampler.view(),
      k: 15,
      lr: 0.03,
      adversarial: { sampler, samplerSteps: 1, rnceSteps: 1, lr: 0.02 },
    });
    const data = new DiagNormal([1], [0.5]);
    const rng = new Rng(6);
    const energyHistory: [number, number][] = [];
    const samplerHistory: [number, number][] = [];
    let samplerLoss = 0;
    for (let t = 0; t < 1200; t++) {
      const stats = await est.step(data.sample(256, rng), rng);
      if ('samplerLoss' in stats) {
        samplerLoss = stats.samplerLoss as number;
        samplerHistory.push(sampler.values());
      } else energyHistory.push(energy.pair());
    }
    const [m, sigma] = tailMean(energyHistory, 100);
    const [qm, qs] = tailMean(samplerHistory, 100);
    expect(Math.abs(m - 1)).toBeLessThan(0.1);
    expect(Math.abs(sigma - 0.5)).toBeLessThan(0.1);
    expect(Math.abs(qm - 1)).toBeLessThan(0.1);
    expect(Math.abs(qs - 0.5)).toBeLessThan(0.1);
    // At the saddle the loss is log(K + 1) (Prop. 4.13); the last batch's loss within 0.1 of it.
    expect(Math.abs(samplerLoss - Math.log(16))).toBeLessThan(0.1);
  });
});

describe('Algorithm 2 with HMC and best-of-ℓ ranking', () => {
  const energyFn = (y: Tensor) => y.sub(1).square().sum(1).mul(2); // N(1, 0.5²)

  it('starts IBC sampling uniformly on the box (the 2-D IBC of the paper)', async () => {
    // Uniform draws on [−3, 3] refined by 200 ULA steps of 0.02 (relaxation time σ²/h ≈ 12 steps):
    // N(1, 0.5²) up to the ULA bias (sd 0.510 at this h); 1000 draws, mean within 5 SE (0.08),
    // sd within 0.05.
    const est = new RnceEstimator(
      { parameters: () => ({}), apply: (_p: ParamTree, y: Tensor) => energyFn(y), load: () => undefined },
      { negatives: { low: [-3], high: [3] }, sampling: { steps: 200, stepSize: 0.02 } },
    );
    const { mean, sd } = moments(await est.sample(1000, new Rng(13)));
    expect(Math.abs(mean - 1)).toBeLessThan(5 * (0.5 / Math.sqrt(1000)));
    expect(Math.abs(sd - 0.5)).toBeLessThan(0.05);
  });

  it('samples the energy with an HMC kernel from the sampler draws', async () => {
    // HMC is exact (Metropolis-adjusted), so only Monte Carlo error remains. 2000 chains after 60
    // transitions (trajectory 10 × 0.1 = 1 ≈ 2σ; mixing in a few transitions): SE of the mean
    // 0.5/√2000 ≈ 0.011, asserted within 5 SE; SE of the sd ≈ 0.5/√4000 ≈ 0.008, asserted 5 SE (0.04).
    const y = await sampleWithLangevin(energyFn, new DiagNormal([0], [2]), 2000, new Rng(2), {
      steps: 60,
      kernel: hmc({ stepSize: 0.1, numSteps: 10 }),
    });
    const { mean, sd } = moments(y);
    expect(Math.abs(mean - 1)).toBeLessThan(5 * 0.011);
    expect(Math.abs(sd - 0.5)).toBeLessThan(0.04);
  });

  it('keeps, per context, the candidate of highest relative log-likelihood', async () => {
    // With energy 2(y − 1)², E of one draw of N(1, 0.5²) is ½χ²₁ with mean 0.5 and sd 0.71; for
    // n = 500 the sample mean is within 5 SE = 0.16 of 0.5. The best of ℓ = 8 draws has mean energy
    // E[½ min of 8 χ²₁] ≈ 0.03, far below: we assert < 0.15 vs > 0.34.
    const est = new RnceEstimator(
      {
        parameters: () => ({}),
        apply: (_p: ParamTree, y: Tensor) => energyFn(y),
        load: () => undefined,
      },
      { negatives: new DiagNormal([1], [0.5]), sampling: { steps: 0 } },
    );
    const rng = new Rng(9);
    const single = moments(energyFn(await est.sample(500, rng))).mean;
    const best = moments(energyFn(await est.sampleBest(500, 8, rng))).mean;
    expect(single).toBeGreaterThan(0.34);
    expect(best).toBeLessThan(0.15);
    await expect(est.sampleBest(10, 0, rng)).rejects.toThrow(/l/);
  });
});

/** Data N(μ, s²) with the linear interpolant `(1 − t) z + t y`: marginal N(tμ, v_t). */
const MU = 1;
const S = 0.5;
const variance = (t: number) => (1 - t) ** 2 + t ** 2 * S ** 2;

describe('Interpolating EBMs (Section 5.2)', () => {
  it('Algorithm 3 learns the whole family of interpolant marginals', async () => {
    // Energy family E(y, t) = (y − a t)² / (2 v_t(σ)), v_t(σ) = (1 − t)² + t² σ², which contains the
    // marginals of the linear interpolant from N(0, 1) to N(1, 0.5²) at a = 1, σ = 0.5. Positives
    // y_t = I_t(z, y) come from @joule/interpolants' StochasticInterpolant; negatives from a fixed
    // wide N(0, 2²) at every t. Tolerance 0.1 in a and σ (iterate noise, averaged over the last 100
    // of 500 steps; seed 12 gives errors below 0.04).
    const interpolant = new StochasticInterpolant({ schedule: linearSchedule() });
    let params: ParamTree = { a: tensor([0]), ls: tensor([0]) };
    const model = {
      parameters: () => params,
      load: (p: ParamTree) => {
        params = p;
      },
      apply: (p: ParamTree, y: Tensor, context?: Tensor) => {
        const t = context as Tensor; // [n, 1]: the time column
        const s2 = (p.ls as Tensor).mul(2).exp();
        const v = t.neg().add(1).square().add(t.square().mul(s2));
        return y
          .sub(t.mul(p.a as Tensor))
          .square()
          .div(v)
          .mul(0.5)
          .sum(1);
      },
    };
    const est = new InterpolatingRnceEstimator(model, {
      sampler: () => new DiagNormal([0], [2]),
      path: (t, z, y) => interpolant.interpolate(t, z, y).xt,
      k: 15,
      lr: 0.03,
    });
    const data = new DiagNormal([MU], [S]);
    const rng = new Rng(12);
    const history: [number, number][] = [];
    for (let i = 0; i < 500; i++) {
      const stats = await est.step(data.sample(256, rng), rng);
      expect(stats.t).toBeGreaterThanOrEqual(0.05);
      history.push([
        (params.a as Tensor).dataSync()[0] as number,
        Math.exp((params.ls as Tensor).dataSync()[0] as number),
      ]);
    }
    const [a, sigma] = tailMean(history, 100);
    expect(Math.abs(a - MU)).toBeLessThan(0.1);
    expect(Math.abs(sigma - S)).toBeLessThan(0.1);
    // energyAt(t) reads the time-t member: at t = 1 it is the data energy 2(y − 1)².
    const [aNow, sigmaNow] = history[history.length - 1] as [number, number];
    expect(est.energy(tensor([[1.5]])).dataSync()[0]).toBeCloseTo((0.5 * (1.5 - aNow) ** 2) / sigmaNow ** 2, 4);
    expect(() => est.energyAt(0)).toThrow(/t/);
  });

  /** The exact pieces of the linear interpolant's Gaussian marginals. */
  const energyAt = (t: number) => (y: Tensor) =>
    y
      .sub(t * MU)
      .square()
      .sum(1)
      .mul(0.5 / variance(t));
  const velocity = (y: Tensor, t: Tensor) => {
    // b(t, y) = μ + v'_t / (2 v_t) (y − tμ), with the time taken from the first row (one t per call).
    const tv = t.dataSync()[0] as number;
    const dv = -2 * (1 - tv) + 2 * tv * S ** 2;
    return y
      .sub(tv * MU)
      .mul(dv / (2 * variance(tv)))
      .add(MU);
  };
  const sampler = (t: number) => new DiagNormal([t * MU], [Math.sqrt(variance(t))]);

  it('Algorithm 4 (flow to t_low, score-corrected SDE, HMC) samples the data distribution', async () => {
    // With the exact velocity and energies, every stage preserves the marginals; the SDE's score
    // term matters: with the wrong sign the variance would grow by ≈ 4η(1 − t_low) = 0.4 (sd 0.81).
    // 2000 draws: SE of the mean 0.011, asserted within 5 SE; sd within 0.04 (5 SE) + 0.01
    // (Euler–Maruyama bias at h = 0.0025).
    const y = await sampleInterpolating(energyAt, velocity, sampler, 2000, new Rng(3), {
      tLow: 0.5,
      sdeSteps: 200,
      eta: 0.2,
      mcmcSteps: 5,
      kernel: hmc({ stepSize: 0.1, numSteps: 10 }),
    });
    const { mean, sd } = moments(y);
    expect(Math.abs(mean - MU)).toBeLessThan(5 * 0.011);
    expect(Math.abs(sd - S)).toBeLessThan(0.05);
  });

  it('Algorithm 4 without MCMC: the SDE stage alone reaches the data marginal', async () => {
    const y = await sampleInterpolating(energyAt, velocity, sampler, 2000, new Rng(5), {
      tLow: 0.5,
      sdeSteps: 200,
      eta: 0.2,
      mcmcSteps: 0,
    });
    const { mean, sd } = moments(y);
    expect(Math.abs(mean - MU)).toBeLessThan(5 * 0.011);
    expect(Math.abs(sd - S)).toBeLessThan(0.05);
    await expect(sampleInterpolating(energyAt, velocity, sampler, 10, new Rng(0), { tLow: 1 })).rejects.toThrow(/tLow/);
  });
});

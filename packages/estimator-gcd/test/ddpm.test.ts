import { Adam, MLP, type ParamTree } from '@joule/nn';
import { concat, Rng, randn, type Tensor } from '@joule/tensor';
import { describe, expect, it } from 'vitest';
import { DDPMTrainer, GaussianDiffusion } from '../src/index.js';
import { moments } from './helpers.js';

/** Mean and variance after ancestral sampling with the exact ε-predictor of N(m, s²) data (float64). */
function oracleMoments(d: GaussianDiffusion, m: number, s: number): { mean: number; std: number } {
  let mean = 0;
  let variance = 1;
  for (let t = 0; t < d.steps; t++) {
    const k = d.steps - 1 - t;
    const b = d.betas[k];
    const ab = d.alphaBars[k];
    // E[ε | x] = √(1−ᾱ)(x − √ᾱ m)/(ᾱ s² + 1 − ᾱ): linear, so the chain stays Gaussian
    const g = Math.sqrt(1 - ab) / (ab * s * s + 1 - ab);
    const coef = b / Math.sqrt(1 - ab);
    const slope = (1 - coef * g) / Math.sqrt(1 - b);
    const shift = (coef * g * Math.sqrt(ab) * m) / Math.sqrt(1 - b);
    mean = slope * mean + shift;
    variance = slope * slope * variance + b;
  }
  return { mean, std: Math.sqrt(variance) };
}

describe('DDPM baseline', () => {
  it('loss decreases and samples match a 1-D Gaussian up to the few-step bias', async () => {
    const rng = new Rng(3);
    const diffusion = new GaussianDiffusion([0.1, 0.3, 0.6, 0.9]); // ᾱ_T = 0.025: the noise end is ≈ N(0, 1)
    const net = new MLP(2, 1, { width: 32, depth: 2, rng: new Rng(4) });
    const epsNet = (p: ParamTree, x: Tensor, t: Tensor) => net.apply(p, concat([x, t.div(diffusion.steps)], 1));
    const ddpm = new DDPMTrainer({
      diffusion,
      epsNet,
      params: net.parameters(),
      optimizer: new Adam(net.parameters(), { lr: 1e-2 }),
    });
    const m = 1;
    const s = 0.5;
    const losses: number[] = [];
    for (let i = 0; i < 500; i++) {
      const batch = randn([256, 1], rng, m, s);
      losses.push((await ddpm.step(batch, rng)).loss);
    }
    const avg = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
    expect(avg(losses.slice(-50))).toBeLessThan(0.8 * avg(losses.slice(0, 50)));
    const n = 4000;
    const x = await ddpm.sample(n, rng);
    const got = moments(x.dataSync());
    const oracle = oracleMoments(diffusion, m, s);
    // 5 standard errors of the sample moments (SE(mean) = s/√n, SE(std) ≈ s/√(2n)), plus 0.05 for the
    // finite training of the ε-network (its L_simple is within a few % of the oracle's here)
    expect(Math.abs(got.mean - oracle.mean)).toBeLessThan(5 * (s / Math.sqrt(n)) + 0.05);
    expect(Math.abs(got.std - oracle.std)).toBeLessThan(5 * (s / Math.sqrt(2 * n)) + 0.05);
    // so the samples approach the data: mean within 5 SE + 0.05 of m; the std is biased upwards by the
    // few-step ancestral sampler itself (σ² = β, T = 4: the exact oracle gives 0.607 for s = 0.5), the
    // bias GCD fine-tuning is meant to remove
    expect(Math.abs(got.mean - m)).toBeLessThan(5 * (s / Math.sqrt(n)) + 0.05);
    expect(oracle.std).toBeGreaterThan(s);
    expect(Math.abs(got.std - s)).toBeLessThan(5 * (s / Math.sqrt(2 * n)) + 0.05 + (oracle.std - s));
  });
});

import { TwoModeMixture } from '@joule/datasets';
import { ContrastiveDivergence } from '@joule/estimator-cd';
import { ula } from '@joule/mcmc';
import { SGD } from '@joule/nn';
import { Rng, randn, zeros } from '@joule/tensor';
import { describe, expect, it } from 'vitest';
import { JarzynskiEstimator, type MixtureParams, mixtureEnergy, mixtureLogZ, sampleMixture } from '../src/index.js';

/** The learned mass of whichever student mode sits nearer the teacher's a* = −10 e₁ (labels may swap). */
function massNearA(p: MixtureParams): number {
  const a1 = p.a.dataSync()[0];
  const b1 = p.b.dataSync()[0];
  const massOfA = 1 / (1 + Math.exp(-p.z.dataSync()[0]));
  return Math.abs(a1 + 10) < Math.abs(b1 + 10) ? massOfA : 1 - massOfA;
}

describe("the paper's two-mode mixture (eqs. 14–15) at d = 2", () => {
  it('Jarzynski recovers the mode weight p* = 0.25 while PCD collapses', async () => {
    // Section 4.1 set-up scaled down: d = 2, n = N = 1000, h = 0.1, 500 iterations, plain SGD with
    // per-iteration rates γ·h of the authors' code (0.02 for a and b, 0.1 for z), systematic
    // resampling at ESS < 0.5. θ₀: a, b ~ N(0, 0.1²), z = 0; Jarzynski walkers exact from ρ_{θ₀},
    // PCD chains at data points (Algorithm 4).
    const d = 2;
    const n = 1000;
    const rng = new Rng(1);
    const teacher = new TwoModeMixture({ dim: d });
    const data = teacher.sample(n, rng);
    const dataMassA = (data.toArray() as number[][]).filter((x) => x[0] < -2).length / n;
    const init = (): MixtureParams => ({ a: randn([d], rng, 0, 0.1), b: randn([d], rng, 0, 0.1), z: zeros([1]) });
    const sgd = (p: MixtureParams) => new SGD(p, { lr: 0.02, groups: [{ select: 'z', lr: 0.1 }] });
    const t0 = init();
    const jarzynski = new JarzynskiEstimator({
      energy: mixtureEnergy,
      params: t0,
      optimizer: sgd(t0),
      walkers: sampleMixture(t0, n, rng),
      logZ0: mixtureLogZ(0, d),
      stepSize: 0.1,
    });
    const t1 = init();
    const pcd = new ContrastiveDivergence({
      energy: mixtureEnergy,
      params: t1,
      optimizer: sgd(t1),
      kernel: ula({ stepSize: 0.1 }),
      mode: 'pcd',
      numChains: n,
    });
    for (let k = 0; k < 500; k++) {
      await jarzynski.step(data, rng);
      await pcd.step(data, rng);
    }
    // Both learn the mode locations (a* = −10, b* = 6 on the first coordinate, in some order).
    for (const est of [jarzynski, pcd]) {
      const ends = [est.params.a.dataSync()[0], est.params.b.dataSync()[0]].sort((u, v) => u - v);
      expect(Math.abs(ends[0] + 10)).toBeLessThan(1.5);
      expect(Math.abs(ends[1] - 6)).toBeLessThan(1.5);
    }
    // Jarzynski: the stable point of z (Appendix C, eq. 54) is the data's mode fraction up to the
    // walkers' initial split (sd ≈ sqrt(p(1−p)/N) = 0.014 in mass) plus the finite-N feedback and
    // resampling noise the paper does not quantify (digest §4.5). Measured with these settings:
    // 0.053, 0.010, 0.063, 0.006 for seeds 1–4 (up to 0.12 at other learning rates). Assert < 0.1.
    expect(Math.abs(massNearA(jarzynski.params) - dataMassA)).toBeLessThan(0.1);
    // PCD: chains cannot cross the 32-nat barrier, and with a and b learned from ~0 the chains'
    // split is created by the dynamics, so the mass runs away exponentially (the paper's mode
    // collapse, Fig. 8): measured errors 0.25, 0.22, 0.25, 0.25 for seeds 1–4 (learned mass ≤ 0.03).
    // Assert an error above 0.15, 1.5 times the Jarzynski bound.
    expect(Math.abs(massNearA(pcd.params) - dataMassA)).toBeGreaterThan(0.15);
  });
});

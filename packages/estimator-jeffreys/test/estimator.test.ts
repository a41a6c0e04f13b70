import { JouleError } from '@joule/core';
import { GaussianMixture } from '@joule/distributions';
import { AffineCoupling, Flow } from '@joule/flows';
import { MLP } from '@joule/nn';
import { Rng, type Tensor, tensor } from '@joule/tensor';
import { describe, expect, it } from 'vitest';
import {
  EnergyMaximumLikelihood,
  FlowMaximumLikelihood,
  JeffreysEstimator,
  type JeffreysOptions,
  resilientSlack,
  type TrainableDensity,
} from '../src/index.js';

// Two Gaussians at (±1, 0) with σ = 0.15 (entropy −0.26 nats, so the NLL constraints go negative
// and the negative-NLL form of App. B.7 is exercised).
const target = new GaussianMixture(
  [
    [-1, 0],
    [1, 0],
  ],
  [0.15, 0.15],
);

function makeFlow(seed: number, width = 16, layers = 2): TrainableDensity {
  const rng = new Rng(seed);
  // A @joule/flows Flow is a TrainableDensity as it is: the one-line adapter is the type annotation.
  const flow: TrainableDensity = new Flow(
    Array.from(
      { length: layers },
      (_, i) => new AffineCoupling(2, { rng, keep: i % 2 === 0 ? 'first' : 'last', width, depth: 1 }),
    ),
  );
  return flow;
}

function makeEbm(seed: number): MLP {
  return new MLP(2, 1, { rng: new Rng(seed), width: 32, depth: 2 });
}

const fast: JeffreysOptions = {
  lrFlow: 1e-2,
  lrEnergy: 1e-3,
  isSamples: 128,
  dual: { lr: 1e-2, lrZeta: 1e-2, init: 0.5 },
};

describe('JeffreysEstimator: dual variables', () => {
  it('moves each multiplier by the violation of its constraint, as Algorithm 3 prescribes', async () => {
    const data = target.sample(64, new Rng(1));
    const est = new JeffreysEstimator(makeFlow(2), makeEbm(3), fast);
    const rng = new Rng(4);
    let prev = est.lambda;
    let sawUpperActive = false;
    let sawNllRise = false;
    for (let t = 0; t < 25; t++) {
      const s = await est.step(data, rng);
      for (const [key, g, name] of [
        ['fw', s.nllMain, 'lambdaFw'],
        ['prx', s.nllProxy, 'lambdaPrx'],
      ] as const) {
        const { epsilon, delta } = resilientSlack(prev[key], true);
        const violation = (g as number) - epsilon + delta * delta;
        // The multiplier moves in the direction of the slackened violation (floor 1e-6).
        expect(Math.sign((s[name] as number) - prev[key])).toBe(Math.sign(violation));
        if (violation > 0) sawNllRise = true;
      }
      const rvViolation = (s.klReverse as number) - prev.rv / 2;
      if (prev.rv > 0 || rvViolation > 0)
        expect(Math.sign((s.lambdaRv as number) - prev.rv)).toBe(Math.sign(rvViolation));
      const zeta = s.zeta as number;
      if (zeta > 1.1) {
        sawUpperActive = true;
        expect(s.lambdaUpper).toBeGreaterThan(prev.upper);
      } else if (prev.upper > 0) expect(s.lambdaUpper).toBeLessThan(prev.upper);
      if (zeta < 1) expect(s.lambdaLower).toBeGreaterThan(prev.lower);
      else expect(s.lambdaLower).toBeLessThanOrEqual(prev.lower);
      expect(est.lambda).toEqual({
        fw: s.lambdaFw,
        rv: s.lambdaRv,
        prx: s.lambdaPrx,
        upper: s.lambdaUpper,
        lower: s.lambdaLower,
      });
      prev = est.lambda;
    }
    // The untrained pair violates the NLL constraints and the upper normalization bound (ζ ≫ 1 at
    // initialization), so those branches were exercised.
    expect(sawNllRise).toBe(true);
    expect(sawUpperActive).toBe(true);
  });

  it('keeps the weights fixed in the P-W baseline', async () => {
    const data = target.sample(32, new Rng(1));
    const est = new JeffreysEstimator(makeFlow(2), makeEbm(3), {
      ...fast,
      dual: undefined,
      method: 'weighted',
      weights: { fw: 2, rv: 0.5, prx: 1 },
    });
    expect(est.name).toBe('jeffreys-weighted');
    const rng = new Rng(5);
    for (let t = 0; t < 3; t++) {
      const s = await est.step(data, rng);
      expect([s.lambdaFw, s.lambdaRv, s.lambdaPrx, s.lambdaUpper, s.lambdaLower]).toEqual([2, 0.5, 1, 0, 0]);
    }
  });

  it('saves the multipliers in state() and resumes exactly after load()', async () => {
    const data = target.sample(32, new Rng(1));
    const a = new JeffreysEstimator(makeFlow(2), makeEbm(3), fast);
    const rng = new Rng(6);
    for (let t = 0; t < 3; t++) await a.step(data, rng);
    const saved = a.state();
    expect(saved.multipliers).toEqual(a.lambda);
    expect(saved.iteration).toBe(3);
    const next = await a.step(data, new Rng(99));
    const b = new JeffreysEstimator(makeFlow(7), makeEbm(8), fast);
    b.load(saved);
    expect(b.lambda).toEqual(saved.multipliers);
    const again = await b.step(data, new Rng(99));
    for (const key of Object.keys(next)) expect(again[key]).toBeCloseTo(next[key] as number, 5);
  });
});

/** Exact KL(π‖p) + KL(p‖π) by a Riemann sum on a 201 × 201 grid over [−2.5, 2.5]². */
function jeffreysOnGrid(logp: (x: Tensor) => ArrayLike<number>): number {
  const n = 201;
  const lo = -2.5;
  const h = 5 / (n - 1);
  const pts: number[] = [];
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) pts.push(lo + i * h, lo + j * h);
  const x = tensor(pts, [n * n, 2]);
  const lpi = target.logProb(x).dataSync();
  const lp = logp(x);
  let j = 0;
  for (let k = 0; k < n * n; k++) {
    const a = lpi[k] as number;
    const b = lp[k] as number;
    j += (Math.exp(a) - Math.exp(b)) * (a - b) * h * h;
  }
  return j;
}

describe('JeffreysEstimator: learning', () => {
  it('lowers the exact Jeffreys divergence of the flow on a 2-D mixture', async () => {
    const data = target.sample(128, new Rng(1));
    const flow = makeFlow(3);
    const est = new JeffreysEstimator(flow, makeEbm(4), fast);
    const rng = new Rng(5);
    const jeffreysOfFlow = () => jeffreysOnGrid((x) => flow.apply(flow.parameters(), x).dataSync());
    const before = jeffreysOfFlow();
    await est.warmStart(rng, { steps: 50 });
    for (let t = 0; t < 150; t++) await est.step(data, rng);
    const after = jeffreysOfFlow();
    expect(after).toBeLessThan(0.5 * before);
  });
});

describe('JeffreysEstimator: reverse pairing and baselines', () => {
  it('trains the EBM as the main model with Langevin samples for KL(q ‖ p)', async () => {
    const data = target.sample(32, new Rng(1));
    const est = new JeffreysEstimator(makeFlow(2), makeEbm(3), {
      ...fast,
      main: 'ebm',
      langevin: { steps: 5, stepSize: 1e-3 },
    });
    const rng = new Rng(7);
    const first = await est.step(data, rng);
    for (const v of Object.values(first)) expect(Number.isFinite(v)).toBe(true);
    expect(first.lambdaFw).not.toBe(0.5);
    const x = await est.sample(16, rng);
    expect(x.shape).toEqual([16, 2]);
  });

  it('fits the flow by maximum likelihood and the EBM by persistent Langevin', async () => {
    const data = target.sample(128, new Rng(1));
    const nf = new FlowMaximumLikelihood(makeFlow(2), { lr: 1e-2 });
    const rng = new Rng(8);
    const firstNll = (await nf.step(data, rng)).nll as number;
    let nll = firstNll;
    for (let t = 0; t < 60; t++) nll = (await nf.step(data, rng)).nll as number;
    expect(nll).toBeLessThan(firstNll - 0.5);
    const ebm = new EnergyMaximumLikelihood(makeEbm(3), { lr: 1e-2, langevin: { steps: 5, stepSize: 1e-2 } });
    for (let t = 0; t < 40; t++) await ebm.step(data, rng);
    // The learned energy is lower on the data than away from it.
    const eData = ebm.energy(data).mean().dataSync()[0] as number;
    const away = tensor([
      [0, 1.5],
      [0, -1.5],
      [2.5, 0],
      [-2.5, 0],
    ]);
    const eAway = ebm.energy(away).mean().dataSync()[0] as number;
    expect(eData).toBeLessThan(eAway);
    expect((await ebm.sample(10, rng)).shape).toEqual([10, 2]);
  });
});

describe('bad inputs', () => {
  it('throws JouleError naming the argument', async () => {
    const flow = makeFlow(1);
    const ebm = makeEbm(1);
    expect(() => new JeffreysEstimator({} as TrainableDensity, ebm)).toThrow(/flow/);
    expect(() => new JeffreysEstimator(flow, {} as MLP)).toThrow(/energyModel/);
    expect(() => new JeffreysEstimator(flow, ebm, { main: 'proxy' as 'flow' })).toThrow(/options.main/);
    expect(() => new JeffreysEstimator(flow, ebm, { method: 'x' as 'dual' })).toThrow(/options.method/);
    expect(() => new JeffreysEstimator(flow, ebm, { isSamples: 0 })).toThrow(/isSamples/);
    expect(() => new JeffreysEstimator(flow, ebm, { epsZeta: -1 })).toThrow(/epsZeta/);
    expect(() => new JeffreysEstimator(flow, ebm, { lrFlow: Number.NaN })).toThrow(/lrFlow/);
    expect(() => new JeffreysEstimator(flow, ebm, { betas: [1, 0.9] })).toThrow(/betas/);
    expect(() => new JeffreysEstimator(flow, ebm, { weights: { fw: 1, rv: 1, prx: 1 } })).toThrow(/weights/);
    expect(() => new JeffreysEstimator(flow, ebm, { method: 'weighted', weights: { fw: 1, rv: -1, prx: 1 } })).toThrow(
      /weights.rv/,
    );
    expect(() => new JeffreysEstimator(flow, ebm, { langevin: { steps: -1 } })).toThrow(/langevin.steps/);
    const est = new JeffreysEstimator(flow, ebm);
    await expect(est.step(tensor([1, 2]), new Rng(0))).rejects.toThrow(JouleError);
    expect(() => est.load({})).toThrow(/multipliers/);
    expect(() => est.energyLogProb(tensor([[0, 0]]), Number.NaN)).toThrow(/logZeta/);
    await expect(est.sample(0, new Rng(0))).rejects.toThrow(/n/);
    expect(() => new FlowMaximumLikelihood(flow, { lr: 0 })).toThrow(/lr/);
    expect(() => new EnergyMaximumLikelihood(ebm, { reinit: 2 })).toThrow(/reinit/);
    await expect(new EnergyMaximumLikelihood(ebm).sample(3, new Rng(0))).rejects.toThrow(JouleError);
  });
});

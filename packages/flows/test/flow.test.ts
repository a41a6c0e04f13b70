import { noGrad, Rng, randn, type Tensor, tensor } from '@joule/tensor';
import { describe, expect, it } from 'vitest';
import {
  ActNorm,
  AffineCoupling,
  Flow,
  fitFlow,
  MaskedAutoregressive,
  Permutation,
  RationalQuadraticCoupling,
} from '../src/index.js';
import { perturb } from './helpers.js';

/** Fraction of 20 000 samples outside [−lo, lo]². */
function outside(sample: (n: number) => Tensor, lo = 8): number {
  const s = noGrad(() => sample(20000)).dataSync();
  let out = 0;
  for (let i = 0; i < s.length; i += 2) if (Math.abs(s[i]) > lo || Math.abs(s[i + 1]) > lo) out++;
  return out / 20000;
}

/**
 * Checks that the density integrates to 1: the grid integral over [−8, 8]² (midpoint rule, 0.1
 * cells, tolerance 1e-2) must equal the probability of the box, 1 − (mass outside), where the
 * mass outside is estimated from 20 000 samples (5 standard errors added to the tolerance).
 */
function expectUnitMass(logProb: (x: Tensor) => Tensor, sample: (n: number) => Tensor): void {
  const out = outside(sample);
  const se = Math.sqrt((out * (1 - out)) / 20000);
  expect(out).toBeLessThan(0.05);
  expect(Math.abs(gridMass(logProb) - (1 - out))).toBeLessThan(1e-2 + 5 * se);
}

/** Σ exp(log p) · cell over a midpoint grid on [−lo, lo]² (m × m cells). */
function gridMass(logProb: (x: Tensor) => Tensor, lo = 8, m = 160): number {
  const cell = (2 * lo) / m;
  const pts = new Float32Array(m * m * 2);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < m; j++) {
      pts[2 * (i * m + j)] = -lo + (i + 0.5) * cell;
      pts[2 * (i * m + j) + 1] = -lo + (j + 0.5) * cell;
    }
  }
  const lp = noGrad(() => logProb(tensor(pts, [m * m, 2]))).dataSync();
  let mass = 0;
  for (const v of lp) mass += Math.exp(v) * cell * cell;
  return mass;
}

function realNvp(rng: Rng, contextDim = 0): Flow {
  return new Flow(
    [
      perturb(new AffineCoupling(2, { rng, width: 16, keep: 'first', contextDim }), rng),
      new ActNorm(2).initialize(randn([32, 2], rng, 0.5, 1.3)),
      perturb(new AffineCoupling(2, { rng, width: 16, keep: 'last', contextDim }), rng),
    ],
    { contextDim },
  );
}

describe('Flow', () => {
  it('is a Distribution whose one-pass sampleAndLogProb matches logProb', () => {
    const flow = realNvp(new Rng(0));
    const { x, logProb } = flow.sampleAndLogProb(16, new Rng(1));
    expect(x.shape).toEqual([16, 2]);
    const again = flow.logProb(x).dataSync();
    logProb.dataSync().forEach((v, i) => void expect(v).toBeCloseTo(again[i], 4));
    expect(flow.sample(4, new Rng(2)).shape).toEqual([4, 2]);
  });

  it('RealNVP density integrates to 1 on a 2-D grid', () => {
    const flow = realNvp(new Rng(3));
    expectUnitMass(
      (x) => flow.logProb(x),
      (n) => flow.sample(n, new Rng(9)),
    );
  });

  it('MAF (with a permutation) density integrates to 1 on a 2-D grid', () => {
    const rng = new Rng(4);
    const flow = new Flow([
      perturb(new MaskedAutoregressive(2, { rng, width: 16 }), rng),
      Permutation.reverse(2),
      perturb(new MaskedAutoregressive(2, { rng, width: 16 }), rng),
    ]);
    expectUnitMass(
      (x) => flow.logProb(x),
      (n) => flow.sample(n, new Rng(9)),
    );
  });

  it('neural spline flow density integrates to 1 on a 2-D grid', () => {
    const rng = new Rng(8);
    const flow = new Flow([
      perturb(new RationalQuadraticCoupling(2, { rng, width: 16, bound: 3 }), rng),
      perturb(new RationalQuadraticCoupling(2, { rng, width: 16, bound: 3, keep: 'last' }), rng),
    ]);
    expectUnitMass(
      (x) => flow.logProb(x),
      (n) => flow.sample(n, new Rng(9)),
    );
  });

  it('conditional: given(context) is a batch distribution that integrates to 1 for each context', () => {
    const flow = realNvp(new Rng(5), 2);
    const context = tensor([
      [0.5, -1],
      [2, 0.3],
    ]);
    const q = flow.given(context);
    const { x, logProb } = q.sampleAndLogProb(3, new Rng(6));
    expect(x.shape).toEqual([3, 2, 2]);
    expect(logProb.shape).toEqual([3, 2]);
    const again = q.logProb(x).dataSync();
    logProb.dataSync().forEach((v, i) => void expect(v).toBeCloseTo(again[i], 4));
    expect(q.sample(2, new Rng(7)).shape).toEqual([2, 2]);
    for (const row of [0, 1]) {
      const c = context.slice([row, 0], [1, 2]);
      expectUnitMass(
        (pts) => flow.given(c.broadcastTo([pts.shape[0], 2])).logProb(pts),
        (n) => flow.given(c.broadcastTo([n, 2])).sample(n, new Rng(9)),
      );
    }
  });

  it('rejects bad input', () => {
    const rng = new Rng(0);
    expect(() => new Flow([])).toThrow(/bijectors/);
    expect(() => new Flow([new ActNorm(2), new ActNorm(3)])).toThrow(/dimension/);
    const flow = realNvp(rng);
    expect(() => flow.logProb(randn([2, 3], rng))).toThrow(/'x'/);
    expect(() => flow.given(randn([2, 2], rng))).toThrow(/conditional/);
    expect(() => realNvp(rng, 2).sample(3, rng)).toThrow(/given/);
    expect(() =>
      realNvp(rng, 2)
        .given(randn([2, 2], rng))
        .sample(3, rng),
    ).toThrow(/one point per context/);
    expect(() => fitFlow(flow, randn([8, 3], rng), { rng })).toThrow(/data/);
    expect(() => fitFlow(realNvp(rng, 2), randn([8, 2], rng), { rng })).toThrow(/context/);
    expect(() => fitFlow(flow, randn([8, 2], rng), { rng, steps: 0 })).toThrow(/steps/);
  });
});

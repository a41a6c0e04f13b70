import { AffineCoupling, Flow } from '@joule/flows';
import { MLP } from '@joule/nn';
import { dispose, Rng, randn } from '@joule/tensor';
import { describe, expect, it } from 'vitest';
import {
  EnergyMaximumLikelihood,
  FlowMaximumLikelihood,
  JeffreysEstimator,
  type TrainableDensity,
} from '../src/index.js';

function flow(seed: number): TrainableDensity {
  const rng = new Rng(seed);
  return new Flow([
    new AffineCoupling(2, { rng, keep: 'first', width: 8, depth: 1 }),
    new AffineCoupling(2, { rng, keep: 'last', width: 8, depth: 1 }),
  ]);
}
const ebm = (seed: number) => new MLP(2, 1, { rng: new Rng(seed), width: 8, depth: 1 });

describe('state() hands out snapshots the caller owns (core Estimator contract)', () => {
  const data = randn([32, 2], new Rng(1));
  const estimators = {
    dual: () => new JeffreysEstimator(flow(2), ebm(3), { isSamples: 32, modelSamples: 32 }),
    flowMaximumLikelihood: () => new FlowMaximumLikelihood(flow(4), { lr: 1e-2 }),
    energyMaximumLikelihood: () =>
      new EnergyMaximumLikelihood(ebm(5), { lr: 1e-2, langevin: { steps: 2, stepSize: 1e-2 } }),
  };
  for (const [name, make] of Object.entries(estimators)) {
    it(`${name}: training goes on after the caller disposes a state`, async () => {
      const est = make();
      const rng = new Rng(6);
      await est.step(data, rng);
      dispose(est.state());
      const stats = await est.step(data, rng);
      for (const v of Object.values(stats)) expect(Number.isFinite(v)).toBe(true);
    });
  }
});

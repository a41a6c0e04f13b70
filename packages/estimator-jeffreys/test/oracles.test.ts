import { Rng, tensor } from '@joule/tensor';
import { describe, expect, it } from 'vitest';
import { flowMainLagrangian, type Multipliers } from '../src/index.js';

const lambda: Multipliers = { fw: 1, rv: 1, prx: 1, upper: 0, lower: 0 };

/** The terms of one step: log p and f = −E on the data, the model samples and the IS samples. */
function terms(lpModel: number[], fModel: number[], lpIs: number[], fIs: number[]) {
  const data = tensor([0.1, -0.3]);
  return {
    logpData: data,
    negEnergyData: data,
    logpModel: tensor(lpModel),
    negEnergyModel: tensor(fModel),
    logpIs: tensor(lpIs),
    negEnergyIs: tensor(fIs),
  };
}

describe('the reverse-KL estimate KL̂(p ‖ q) (digest §4.2 item 9)', () => {
  it('is ≥ 0 (Jensen) when the KL and ζ̂ use the same samples, for any energy', () => {
    const rng = new Rng(3);
    for (let trial = 0; trial < 200; trial++) {
      const n = 1 + (trial % 8);
      const lp = Array.from(rng.normal(n), (v) => 2 * v);
      const f = Array.from(rng.normal(n), (v) => 3 * v);
      const kl = flowMainLagrangian(terms(lp, f, lp, f), lambda, true).constraints.rv.dataSync()[0] as number;
      // float32 rounding of a logsumexp of at most 8 terms of magnitude ≲ 20: a few 1e-6
      expect(kl).toBeGreaterThanOrEqual(-1e-5);
    }
  });

  it('is 0 up to rounding when q = p exactly, with separate sample sets and any N', () => {
    const rng = new Rng(4);
    for (const [n, m] of [
      [1, 1],
      [8, 5],
      [64, 1000],
    ]) {
      const lp = Array.from(rng.normal(n), (v) => -1 - v * v);
      const lpIs = Array.from(rng.normal(m), (v) => -1 - v * v);
      const kl = flowMainLagrangian(terms(lp, lp, lpIs, lpIs), lambda, true).constraints.rv.dataSync()[0] as number;
      expect(Math.abs(kl)).toBeLessThan(1e-5);
    }
  });
});

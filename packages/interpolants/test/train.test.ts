import { Adam, MLP, type ParamTree } from '@joule/nn';
import { concat, Rng, type Tensor, tensor, valueAndGrad } from '@joule/tensor';
import { describe, expect, it } from 'vitest';
import { InterpolantFlow, StochasticInterpolant, type TimeField, velocityLoss } from '../src/index.js';
import { gaussianFields } from './gaussian.js';

const mean = [1, -2];
const std = [0.5, 1.5];

function target(n: number, rng: Rng): Tensor {
  const e = rng.normal(n * 2);
  const v = new Float32Array(n * 2);
  for (let i = 0; i < n; i++) for (let j = 0; j < 2; j++) v[i * 2 + j] = mean[j] + std[j] * e[i * 2 + j];
  return tensor(v, [n, 2]);
}

describe('a learned velocity', () => {
  it('a small MLP trained on a 2-D Gaussian lowers the held-out loss toward the exact field', () => {
    const I = new StochasticInterpolant({ schedule: 'linear' });
    const net = new MLP(3, 2, { width: 32, depth: 2, rng: new Rng(0) });
    const fieldOf =
      (p: ParamTree): TimeField =>
      (x, t) =>
        net.apply(p, concat([x, t], 1));
    const heldOut = target(2000, new Rng(100));
    const evaluate = (f: TimeField) => velocityLoss(f, I, heldOut, new Rng(101), { power: 2 }).dataSync()[0];
    const exact = evaluate(gaussianFields(I, mean, std).velocity);
    const initial = evaluate(fieldOf(net.parameters()));
    const opt = new Adam(net.parameters(), { lr: 1e-2 });
    const rng = new Rng(1);
    for (let step = 0; step < 300; step++) {
      const batch = target(128, rng);
      const { grad } = valueAndGrad((p: ParamTree) => velocityLoss(fieldOf(p), I, batch, rng, { power: 2 }))(
        net.parameters(),
      );
      net.load(opt.step(net.parameters(), grad));
    }
    const trained = evaluate(fieldOf(net.parameters()));
    // The excess loss over the exact field is E‖v̂ − b‖²; training must remove most of it.
    expect(initial - exact).toBeGreaterThan(0.5);
    expect(trained - exact).toBeLessThan(0.2 * (initial - exact));
    // And the flow of the trained field lands near the target mean (a loose check on a 300-step fit).
    const x = new InterpolantFlow(fieldOf(net.parameters()), 2, { steps: 20 }).sample(1000, new Rng(7));
    const m = x.mean(0).toArray() as number[];
    for (let j = 0; j < 2; j++)
      expect(Math.abs(m[j] - mean[j])).toBeLessThan(0.25 * std[j] + (5 * std[j]) / Math.sqrt(1000));
  });
});

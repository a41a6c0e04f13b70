import { Rng, rand, type Tensor, tensor, valueAndGrad } from '@joule/tensor';
import { describe, expect, it } from 'vitest';
import { Adam, MLP, type ParamTree } from '../src/index.js';

/** Two interleaving half circles with Gaussian noise (as scikit-learn's make_moons). */
function twoMoons(n: number, noise: number, rng: Rng): { x: Tensor; y: Tensor } {
  const u = rng.uniform(n);
  const z = rng.normal(2 * n);
  const xs = new Float32Array(2 * n);
  const ys = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const upper = i % 2 === 0;
    const t = Math.PI * u[i];
    xs[2 * i] = (upper ? Math.cos(t) : 1 - Math.cos(t)) + noise * z[2 * i];
    xs[2 * i + 1] = (upper ? Math.sin(t) : 0.5 - Math.sin(t)) + noise * z[2 * i + 1];
    ys[i] = upper ? 0 : 1;
  }
  return { x: tensor(xs, [n, 2]), y: tensor(ys, [n, 1]) };
}

describe('training', () => {
  it('an MLP regresses sin(2x) on [−2, 2]', () => {
    const rng = new Rng(0);
    const x = rand([128, 1], rng, -2, 2);
    const y = x.mul(2).sin();
    const model = new MLP(1, 1, { width: 32, depth: 2, activation: 'tanh', rng });
    const loss = (p: ParamTree) => model.apply(p, x).sub(y).square().mean();
    const opt = new Adam(model.parameters(), { lr: 0.01 });
    const initial = loss(model.parameters()).dataSync()[0];
    for (let i = 0; i < 400; i++) {
      const { grad } = valueAndGrad(loss)(model.parameters());
      model.load(opt.step(model.parameters(), grad));
    }
    const xt = rand([256, 1], new Rng(1), -2, 2);
    const mse = model.forward(xt).sub(xt.mul(2).sin()).square().mean().dataSync()[0];
    // the target's variance is ≈ 0.5: an error of 1% of it means the shape was learned
    expect(initial).toBeGreaterThan(0.1);
    expect(mse).toBeLessThan(5e-3);
  });

  it('a classifier separates two moons', () => {
    const train = twoMoons(256, 0.1, new Rng(2));
    const test = twoMoons(400, 0.1, new Rng(3));
    const model = new MLP(2, 1, { width: 32, depth: 2, activation: 'relu', rng: new Rng(4) });
    // logistic loss: softplus(−s·logit) with s = ±1
    const sign = train.y.mul(2).sub(1);
    const loss = (p: ParamTree) => model.apply(p, train.x).mul(sign).neg().softplus().mean();
    const opt = new Adam(model.parameters(), { lr: 0.02 });
    for (let i = 0; i < 300; i++) {
      const { grad } = valueAndGrad(loss)(model.parameters());
      model.load(opt.step(model.parameters(), grad));
    }
    const predicted = model.forward(test.x).gt(0);
    const accuracy = predicted.eq(test.y).mean().dataSync()[0];
    // with noise 0.1 the moons are separable up to a few overlapping points
    expect(accuracy).toBeGreaterThan(0.97);
  });
});

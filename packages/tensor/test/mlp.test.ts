import { describe, expect, it } from 'vitest';
import { dispose, memory, Rng, rand, randn, type Tensor, tidy, valueAndGrad } from '../src/index.js';

interface Params {
  w1: Tensor;
  b1: Tensor;
  w2: Tensor;
  b2: Tensor;
}

const forward = (p: Params, x: Tensor) => x.matmul(p.w1).add(p.b1).tanh().matmul(p.w2).add(p.b2);
const mse = (p: Params, x: Tensor, y: Tensor) => forward(p, x).sub(y).square().mean();

describe('a tiny MLP trained by gradient descent', () => {
  it('2-16-1 tanh fits y = sin(x0) + x1² on 128 seeded points', async () => {
    const rng = new Rng(2024);
    const x = rand([128, 2], rng, -1.5, 1.5);
    const y = tidy(() => {
      const [x0, x1] = [x.slice([0, 0], [-1, 1]), x.slice([0, 1], [-1, 1])];
      return x0.sin().add(x1.square());
    });
    let params: Params = {
      w1: randn([2, 16], rng, 0, 1 / Math.SQRT2),
      b1: randn([16], rng, 0, 0.1),
      w2: randn([16, 1], rng, 0, 0.25),
      b2: randn([1], rng, 0, 0.1),
    };
    const step = valueAndGrad(mse);
    const lr = 0.1;
    const steps = 1500;
    const baseline = memory();
    let first = Number.NaN;
    let last = Number.NaN;
    for (let i = 0; i < steps; i++) {
      const { value, grad } = step(params, x, y);
      const loss = (await value.data())[0];
      if (i === 0) first = loss;
      last = loss;
      const next = tidy(() => ({
        w1: params.w1.sub(grad.w1.mul(lr)),
        b1: params.b1.sub(grad.b1.mul(lr)),
        w2: params.w2.sub(grad.w2.mul(lr)),
        b2: params.b2.sub(grad.b2.mul(lr)),
      }));
      dispose([params, grad, value]);
      params = next;
    }
    // no leak per step: only the parameters are alive, as at the start
    expect(memory()).toEqual(baseline);
    // measured with this seed: MSE 1.84 at the start, 0.0015 after 1500 steps; thresholds leave ~3× margin
    expect(last).toBeLessThan(0.005);
    expect(last).toBeLessThan(first / 100);
    dispose([params, x, y]);
  });
});

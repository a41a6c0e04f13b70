import { conditionalPinwheel, moons } from '@joule/datasets';
import { noGrad, Rng, type Tensor, tensor } from '@joule/tensor';
import { describe, expect, it } from 'vitest';
import {
  AffineCoupling,
  Flow,
  fitFlow,
  MaskedAutoregressive,
  Permutation,
  RationalQuadraticCoupling,
} from '../src/index.js';

/** Held-out mean log-likelihood of the full-covariance Gaussian fitted to `train` (float64). */
function gaussianHeldOut(train: Tensor, test: Tensor): number {
  const a = train.dataSync();
  const n = a.length / 2;
  let m0 = 0;
  let m1 = 0;
  for (let i = 0; i < n; i++) {
    m0 += a[2 * i] / n;
    m1 += a[2 * i + 1] / n;
  }
  let s00 = 0;
  let s01 = 0;
  let s11 = 0;
  for (let i = 0; i < n; i++) {
    const u = a[2 * i] - m0;
    const v = a[2 * i + 1] - m1;
    s00 += (u * u) / n;
    s01 += (u * v) / n;
    s11 += (v * v) / n;
  }
  const det = s00 * s11 - s01 * s01;
  const b = test.dataSync();
  const k = b.length / 2;
  let total = 0;
  for (let i = 0; i < k; i++) {
    const u = b[2 * i] - m0;
    const v = b[2 * i + 1] - m1;
    const q = (s11 * u * u - 2 * s01 * u * v + s00 * v * v) / det;
    total += -0.5 * q - Math.log(2 * Math.PI) - 0.5 * Math.log(det);
  }
  return total / k;
}

function heldOut(flow: Flow, test: Tensor, context?: Tensor): number {
  return noGrad(() => (context ? flow.given(context).logProb(test) : flow.logProb(test)).mean().dataSync()[0]);
}

describe('maximum-likelihood training', () => {
  it('RealNVP fits two moons: held-out log-likelihood beats the best Gaussian', () => {
    const rng = new Rng(0);
    const train = moons(2000, new Rng(1));
    const test = moons(2000, new Rng(2));
    const layers = [0, 1, 2, 3].map(
      (i) => new AffineCoupling(2, { rng, width: 32, keep: i % 2 === 0 ? 'first' : 'last' }),
    );
    const flow = new Flow(layers);
    const before = heldOut(flow, test);
    const { losses } = fitFlow(flow, train, { rng, steps: 300, batchSize: 128, lr: 5e-3 });
    const after = heldOut(flow, test);
    const gauss = gaussianHeldOut(train, test);
    const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
    expect(losses).toHaveLength(300);
    expect(mean(losses.slice(-50))).toBeLessThan(mean(losses.slice(0, 50)));
    expect(after).toBeGreaterThan(before);
    expect(after).toBeGreaterThan(gauss + 0.2);
  });

  it('a neural spline flow fits two moons: held-out log-likelihood beats the best Gaussian', () => {
    const rng = new Rng(7);
    const train = moons(2000, new Rng(1));
    const test = moons(2000, new Rng(2));
    const flow = new Flow([
      new RationalQuadraticCoupling(2, { rng, width: 32, bins: 8, bound: 4, keep: 'first' }),
      new RationalQuadraticCoupling(2, { rng, width: 32, bins: 8, bound: 4, keep: 'last' }),
      new RationalQuadraticCoupling(2, { rng, width: 32, bins: 8, bound: 4, keep: 'first' }),
    ]);
    fitFlow(flow, train, { rng, steps: 300, batchSize: 128, lr: 5e-3 });
    const after = heldOut(flow, test);
    expect(after).toBeGreaterThan(gaussianHeldOut(train, test) + 0.2);
  });

  it('a conditional MAF learns a conditional Gaussian to within 0.2 nats of the true held-out log-likelihood', () => {
    // c ~ U(−1, 1); x | c ~ N((2c, sin 3c), diag(0.3², 0.2²)): the exact conditional log-density is known.
    const draw = (n: number, r: Rng) => {
      const c = r.uniform(n).map((u) => 2 * u - 1);
      const e = r.normal(2 * n);
      const x = new Float32Array(2 * n);
      let trueLl = 0;
      for (let i = 0; i < n; i++) {
        x[2 * i] = 2 * c[i] + 0.3 * e[2 * i];
        x[2 * i + 1] = Math.sin(3 * c[i]) + 0.2 * e[2 * i + 1];
        trueLl += -0.5 * (e[2 * i] ** 2 + e[2 * i + 1] ** 2) - Math.log(2 * Math.PI) - Math.log(0.3 * 0.2);
      }
      return { x: tensor(x, [n, 2]), context: tensor(c, [n, 1]), trueLl: trueLl / n };
    };
    const rng = new Rng(4);
    const train = draw(2000, new Rng(5));
    const test = draw(2000, new Rng(6));
    const make = (contextDim: number) =>
      new Flow(
        [
          new MaskedAutoregressive(2, { rng, width: 32, contextDim }),
          Permutation.reverse(2),
          new MaskedAutoregressive(2, { rng, width: 32, contextDim }),
        ],
        { contextDim },
      );
    const cond = make(1);
    fitFlow(cond, train.x, { rng, steps: 300, batchSize: 128, lr: 5e-3, context: train.context });
    const plain = make(0);
    fitFlow(plain, train.x, { rng, steps: 300, batchSize: 128, lr: 5e-3 });
    const a = heldOut(cond, test.x, test.context);
    const b = heldOut(plain, test.x);
    expect(a).toBeGreaterThan(test.trueLl - 0.2);
    expect(a).toBeGreaterThan(b + 0.5);
  });
  it('a conditional neural spline flow fits the conditional pinwheel: the context helps by more than 5 SE', () => {
    const toy = conditionalPinwheel();
    const rng = new Rng(4);
    const train = toy.sample(3000, new Rng(5));
    const test = toy.sample(2000, new Rng(6));
    const make = (contextDim: number) =>
      new Flow(
        [0, 1, 2].map(
          (i) =>
            new RationalQuadraticCoupling(2, {
              rng,
              width: 32,
              bins: 8,
              bound: 4,
              keep: i % 2 === 0 ? 'first' : 'last',
              contextDim,
            }),
        ),
        { contextDim },
      );
    const cond = make(train.context.shape[1]);
    fitFlow(cond, train.x, { rng, steps: 400, batchSize: 128, lr: 5e-3, context: train.context });
    const plain = make(0);
    fitFlow(plain, train.x, { rng, steps: 400, batchSize: 128, lr: 5e-3 });
    const a = noGrad(() => cond.given(test.context).logProb(test.x)).dataSync();
    const b = noGrad(() => plain.logProb(test.x)).dataSync();
    // Paired held-out log-likelihood gain of the conditional flow over the same flow without the
    // context; it must exceed 5 standard errors of its mean (2000 test points).
    const n = a.length;
    const gains = Array.from(a, (v, i) => v - b[i]);
    const mean = gains.reduce((s, g) => s + g, 0) / n;
    const se = Math.sqrt(gains.reduce((s, g) => s + (g - mean) ** 2, 0) / (n - 1) / n);
    expect(mean).toBeGreaterThan(5 * se);
  }, 120000);
});

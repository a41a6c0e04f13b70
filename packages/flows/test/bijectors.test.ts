import { Rng, randn, type Tensor, tensor } from '@joule/tensor';
import { describe, expect, it } from 'vitest';
import {
  ActNorm,
  AffineCoupling,
  type Bijector,
  ElementwiseAffine,
  Inverse,
  LULinear,
  MaskedAutoregressive,
  Permutation,
  RationalQuadraticAutoregressive,
  RationalQuadraticCoupling,
  Sigmoid,
} from '../src/index.js';
import { fdInfNorm, fdLogAbsDet, perturb } from './helpers.js';

const rng = new Rng(0);
const cases: [string, () => Bijector, number][] = [
  ['AffineCoupling (keep first)', () => perturb(new AffineCoupling(3, { rng, width: 16, keep: 'first' }), rng), 0],
  ['AffineCoupling (keep last)', () => perturb(new AffineCoupling(2, { rng, width: 16, keep: 'last' }), rng), 0],
  ['conditional AffineCoupling', () => perturb(new AffineCoupling(3, { rng, width: 16, contextDim: 2 }), rng), 2],
  ['MaskedAutoregressive (MAF)', () => perturb(new MaskedAutoregressive(3, { rng, width: 16 }), rng), 0],
  ['conditional MAF', () => perturb(new MaskedAutoregressive(3, { rng, width: 16, contextDim: 2 }), rng), 2],
  ['Inverse(MAF) (IAF)', () => perturb(new Inverse(new MaskedAutoregressive(3, { rng, width: 16 })), rng), 0],
  [
    'RationalQuadraticCoupling',
    () => perturb(new RationalQuadraticCoupling(3, { rng, width: 16, bins: 6, bound: 3 }), rng),
    0,
  ],
  [
    'conditional RationalQuadraticCoupling (keep last)',
    () => perturb(new RationalQuadraticCoupling(2, { rng, width: 16, keep: 'last', contextDim: 2 }), rng),
    2,
  ],
  [
    'RationalQuadraticAutoregressive',
    () => perturb(new RationalQuadraticAutoregressive(3, { rng, width: 16, bins: 5, bound: 3 }), rng),
    0,
  ],
  [
    'conditional RationalQuadraticAutoregressive',
    () => perturb(new RationalQuadraticAutoregressive(3, { rng, width: 16, bins: 5, bound: 3, contextDim: 2 }), rng),
    2,
  ],
  ['LULinear', () => perturb(new LULinear(3, { rng }), rng), 0],
  ['Sigmoid', () => new Sigmoid(3), 0],
  ['ElementwiseAffine', () => new ElementwiseAffine([1, -2, 0.5], [0.3, -0.7, 0.1]), 0],
  ['ActNorm (initialised)', () => new ActNorm(3).initialize(randn([64, 3], rng, 2, 3)), 0],
  ['Permutation', () => Permutation.random(3, rng), 0],
];

describe('bijectors', () => {
  for (const [name, make, contextDim] of cases) {
    const b = make();
    const d = b.dim;
    const x = randn([5, d], new Rng(1));
    const c = contextDim > 0 ? randn([5, contextDim], new Rng(2)) : undefined;

    it(`${name}: inverse(forward(x)) = x and the log-determinants cancel`, () => {
      const f = b.forward(x, c);
      const back = b.inverse(f.y, c);
      // float32 tolerance scaled by the conditioning of the inverse: a rounding error of y (~1e-7
      // relative, times the few passes taken) is amplified by ‖∂x/∂y‖∞ (finite differences).
      const xv = x.dataSync();
      const yv = f.y.dataSync();
      const bv = back.y.dataSync();
      for (let i = 0; i < 5; i++) {
        const ci = c?.slice([i, 0], [1, contextDim]);
        const yi = Array.from(yv.subarray(i * d, i * d + d));
        const amplification = Math.max(
          1,
          fdInfNorm((p: Tensor) => b.inverse(p, ci).y, yi),
        );
        const scale = Math.max(1, ...yi.map(Math.abs));
        for (let j = 0; j < d; j++)
          expect(Math.abs(bv[i * d + j] - xv[i * d + j])).toBeLessThan(1e-5 * amplification * scale);
      }
      // The log-determinants cancel to float32 relative precision (a sum of d terms, each ~1e-5 relative).
      const fwd = f.logDet.dataSync();
      const bwd = back.logDet.dataSync();
      fwd.forEach((v, i) => void expect(Math.abs(v + bwd[i])).toBeLessThan(1e-5 * d * Math.max(1, Math.abs(v))));
    });

    it(`${name}: log|det J| matches the finite-difference Jacobian`, () => {
      const logDet = b.forward(x, c).logDet.dataSync();
      for (let i = 0; i < 5; i++) {
        const ci = c?.slice([i, 0], [1, contextDim]);
        const point = Array.from(x.dataSync().subarray(i * d, i * d + d));
        const fd = fdLogAbsDet((p: Tensor) => b.forward(p, ci).y, point);
        // Central differences with h = 1e-2 in float32: O(h²) truncation plus ~1e-5 round-off.
        expect(Math.abs(logDet[i] - fd)).toBeLessThan(2e-3);
      }
    });
  }

  it('MAF and the spline autoregressive layer are autoregressive: output i depends only on inputs up to i', () => {
    for (const layer of [
      perturb(new MaskedAutoregressive(3, { rng, width: 16 }), rng),
      perturb(new RationalQuadraticAutoregressive(3, { rng, width: 16 }), rng),
    ]) {
      const a = layer.inverse(tensor([[0.1, 0.2, 0.3]])).y.dataSync();
      const b = layer.inverse(tensor([[0.1, 0.2, 1.3]])).y.dataSync();
      const c = layer.inverse(tensor([[0.1, 0.9, 0.3]])).y.dataSync();
      expect([b[0], b[1]]).toEqual([a[0], a[1]]);
      expect(b[2]).not.toBe(a[2]);
      expect(c[0]).toBe(a[0]);
      expect(c[2]).not.toBe(a[2]);
    }
  });

  it('RationalQuadraticCoupling is the identity outside [−bound, bound] and at initialisation', () => {
    const spline = perturb(new RationalQuadraticCoupling(2, { rng, width: 16, bound: 2 }), rng);
    const far = tensor([
      [0.5, 3.5],
      [-1, -2.5],
    ]);
    const { y, logDet } = spline.forward(far);
    expect(Array.from(y.dataSync())).toEqual(Array.from(far.dataSync()));
    expect(Array.from(logDet.dataSync())).toEqual([0, 0]);
    const fresh = new RationalQuadraticCoupling(2, { rng, width: 16, bound: 2 });
    const x = randn([6, 2], new Rng(8));
    fresh
      .forward(x)
      .y.dataSync()
      .forEach((v, i) => void expect(v).toBeCloseTo(x.dataSync()[i], 5));
  });

  it('ActNorm maps its initialisation batch to zero mean and unit variance', () => {
    const x = randn([200, 2], new Rng(3), 4, 2);
    const z = new ActNorm(2).initialize(x).inverse(x).y;
    for (const v of z.mean(0).dataSync()) expect(Math.abs(v)).toBeLessThan(1e-5);
    for (const v of z.square().mean(0).dataSync()) expect(v).toBeCloseTo(1, 4);
  });

  it('rejects bad input', () => {
    expect(() => new AffineCoupling(1, { rng })).toThrow(/dim/);
    expect(() => new Permutation([0, 0, 1])).toThrow(/order/);
    expect(() => new MaskedAutoregressive(4, { rng, width: 2 })).toThrow(/width/);
    const cond = new AffineCoupling(2, { rng, contextDim: 1 });
    expect(() => cond.forward(randn([3, 2], rng))).toThrow(/context/);
    expect(() => cond.forward(randn([3, 3], rng), randn([3, 1], rng))).toThrow(/'x'/);
    expect(() => new ActNorm(2).initialize(randn([1, 2], rng))).toThrow(/at least 2/);
  });
});

import { Rng, randn, type Tensor, tensor } from '@joule/tensor';
import { describe, expect, it } from 'vitest';
import {
  ActNorm,
  AffineCoupling,
  type Bijector,
  ElementwiseAffine,
  Inverse,
  MaskedAutoregressive,
  Permutation,
} from '../src/index.js';
import { fdLogAbsDet, perturb } from './helpers.js';

const rng = new Rng(0);
const cases: [string, () => Bijector, number][] = [
  ['AffineCoupling (keep first)', () => perturb(new AffineCoupling(3, { rng, width: 16, keep: 'first' }), rng), 0],
  ['AffineCoupling (keep last)', () => perturb(new AffineCoupling(2, { rng, width: 16, keep: 'last' }), rng), 0],
  ['conditional AffineCoupling', () => perturb(new AffineCoupling(3, { rng, width: 16, contextDim: 2 }), rng), 2],
  ['MaskedAutoregressive (MAF)', () => perturb(new MaskedAutoregressive(3, { rng, width: 16 }), rng), 0],
  ['conditional MAF', () => perturb(new MaskedAutoregressive(3, { rng, width: 16, contextDim: 2 }), rng), 2],
  ['Inverse(MAF) (IAF)', () => perturb(new Inverse(new MaskedAutoregressive(3, { rng, width: 16 })), rng), 0],
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
      const xv = x.dataSync();
      back.y
        .dataSync()
        .forEach((v, i) => void expect(Math.abs(v - xv[i])).toBeLessThan(1e-5 * Math.max(1, Math.abs(xv[i]))));
      const sum = f.logDet.add(back.logDet).dataSync();
      for (const v of sum) expect(Math.abs(v)).toBeLessThan(1e-5);
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

  it('MAF is autoregressive: output i depends only on inputs before i', () => {
    const maf = perturb(new MaskedAutoregressive(3, { rng, width: 16 }), rng);
    const x = tensor([[0.1, 0.2, 0.3]]);
    const moved = tensor([[0.1, 0.2, 1.3]]);
    const a = maf.inverse(x).y.dataSync();
    const b = maf.inverse(moved).y.dataSync();
    expect(b[0]).toBe(a[0]);
    expect(b[1]).toBe(a[1]);
    expect(b[2]).not.toBe(a[2]);
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

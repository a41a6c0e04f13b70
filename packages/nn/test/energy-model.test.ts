import { JouleError, Rng, randn, type Tensor, tensor, valueAndGrad } from '@joule/tensor';
import { describe, expect, it } from 'vitest';
import {
  Adam,
  assertEnergyModel,
  ConditionalMLP,
  type EnergyModel,
  energyVector,
  MLP,
  type ParamTree,
  resolveOptimizer,
  SGD,
} from '../src/index.js';

describe('energyVector', () => {
  it('turns [n, 1] into [n] with the same values', () => {
    const e = tensor([1.5, -2, 3.25], [3, 1]);
    const v = energyVector(e);
    expect(v.shape).toEqual([3]);
    expect(Array.from(v.dataSync())).toEqual([1.5, -2, 3.25]);
    expect(energyVector(tensor([7], [1, 1])).shape).toEqual([1]);
  });

  it('returns [n] and every other shape as it is', () => {
    for (const e of [
      tensor([1, 2, 3], [3]),
      tensor([1, 2, 3, 4], [2, 2]),
      tensor([1, 2], [2, 1, 1]),
      tensor([5], []),
    ]) {
      expect(energyVector(e)).toBe(e);
    }
  });

  it('passes gradients through the reshape', () => {
    const x = tensor([0.5, -1, 2], [3, 1]);
    const { grad } = valueAndGrad((t: Tensor) => energyVector(t).square().sum())(x);
    expect(grad.shape).toEqual([3, 1]);
    expect(Array.from(grad.dataSync())).toEqual([1, -2, 4]); // d/dt Σ t² = 2t
  });
});

describe('assertEnergyModel', () => {
  const methods = { parameters: () => ({}), apply: (_p: ParamTree, x: Tensor) => x, load: () => undefined };

  it('accepts nn modules and any object with parameters, apply and load', () => {
    const rng = new Rng(0);
    expect(() => assertEnergyModel('op', 'model', new MLP(2, 1, { rng, width: 4, depth: 1 }))).not.toThrow();
    expect(() =>
      assertEnergyModel('op', 'model', new ConditionalMLP(2, 1, 1, { rng, width: 4, depth: 1 })),
    ).not.toThrow();
    expect(() => assertEnergyModel('op', 'model', methods)).not.toThrow();
  });

  it('throws a JouleError naming the operation and the argument', () => {
    const missingLoad = { parameters: methods.parameters, apply: methods.apply };
    for (const bad of [null, undefined, 3, {}, missingLoad, { ...methods, apply: 'not a function' }]) {
      let caught: unknown;
      try {
        assertEnergyModel('MyEstimator', 'energyModel', bad);
      } catch (e) {
        caught = e;
      }
      expect(caught).toBeInstanceOf(JouleError);
      const err = caught as JouleError;
      expect(err.op).toBe('MyEstimator');
      expect(err.arg).toBe('energyModel');
      expect(err.message).toBe(
        `MyEstimator: argument 'energyModel' expected an EnergyModel (parameters, apply, load), got ${String(bad)}`,
      );
    }
  });
});

describe('EnergyModel', () => {
  it('is satisfied by unconditional and conditional modules alike', () => {
    const rng = new Rng(1);
    const models: EnergyModel[] = [
      new MLP(2, 1, { rng, width: 4, depth: 1 }),
      new ConditionalMLP(2, 1, 1, { rng, width: 4, depth: 1 }),
    ];
    const x = randn([5, 2], rng);
    const context = randn([5, 1], rng);
    for (const m of models) expect(energyVector(m.apply(m.parameters(), x, context)).shape).toEqual([5]);
  });
});

describe('resolveOptimizer', () => {
  const setup = () => {
    const rng = new Rng(2);
    const params: ParamTree = { w: randn([3], rng) };
    const grads: ParamTree = { w: tensor([0.3, -2, 5]) };
    return { params, grads };
  };
  /** The largest absolute change of `w` over one step of `opt`. */
  const firstStep = (opt: ReturnType<typeof resolveOptimizer>, params: ParamTree, grads: ParamTree): number => {
    const before = (params.w as Tensor).dataSync();
    const after = (opt.step(params, grads).w as Tensor).dataSync();
    return Math.max(...Array.from(before, (b, i) => Math.abs((after[i] as number) - b)));
  };

  it('returns a given optimizer itself', () => {
    const { params } = setup();
    const sgd = new SGD(params, { lr: 0.1 });
    expect(resolveOptimizer(params, sgd)).toBe(sgd);
  });

  it('makes an Adam with the given learning rate, 1e-3 by default', () => {
    // Adam's first step moves every coordinate by lr·g/(|g| + ε) ≈ lr, for |g| ≫ ε = 1e-8.
    for (const [choice, lr] of [
      [{ lr: 0.5 }, 0.5],
      [{}, 1e-3],
      [undefined, 1e-3],
    ] as const) {
      const { params, grads } = setup();
      const opt = resolveOptimizer(params, choice);
      expect(opt).toBeInstanceOf(Adam);
      expect(firstStep(opt, params, grads)).toBeCloseTo(lr, 5);
    }
  });
});

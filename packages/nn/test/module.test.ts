import { JouleError, ones, Rng, randn, type Tensor, tensor, tidy, valueAndGrad, zeros } from '@joule/tensor';
import { describe, expect, it } from 'vitest';
import { Adam, Linear, MLP, Module, type ParamTree, Sequential } from '../src/index.js';
import { values } from './helpers.js';

class Affine extends Module {
  readonly inner: Linear;
  constructor(rng: Rng) {
    super();
    this.inner = this.addModule('inner', new Linear(2, 3, { rng }));
    this.addParameter('scale', ones([3]));
    this.addParameter('shift', zeros([3]), false);
  }
  protected compute(p: ParamTree, x: Tensor): Tensor {
    return this.inner
      .apply(p.inner as ParamTree, x)
      .mul(p.scale as Tensor)
      .add(p.shift as Tensor);
  }
}

describe('Module', () => {
  it('names parameters by path and leaves frozen ones out of the trainable tree', () => {
    const m = new Affine(new Rng(0));
    expect(m.namedParameters().map(([n]) => n)).toEqual(['scale', 'inner.weight', 'inner.bias']);
    expect(m.namedParameters({ includeFrozen: true }).map(([n]) => n)).toEqual([
      'scale',
      'shift',
      'inner.weight',
      'inner.bias',
    ]);
    const p = m.parameters();
    expect(Object.keys(p)).toEqual(['scale', 'inner']);
    expect(Object.keys(p.inner)).toEqual(['weight', 'bias']);
    expect(m.numParameters()).toBe(3 + 6 + 3);
    expect(Object.keys(m.stateDict())).toEqual(['scale', 'shift', 'inner.weight', 'inner.bias']);
  });

  it('apply with the parameter tree equals forward, and gradients flow to every trainable parameter', () => {
    const m = new Affine(new Rng(1));
    const x = randn([4, 2], new Rng(2));
    expect(values(m.apply(m.parameters(), x))).toEqual(values(m.forward(x)));
    const { grad } = valueAndGrad((p: ParamTree) => m.apply(p, x).sum())(m.parameters());
    // d/d scale of Σ (xWᵀ + b)·scale = column sums of xWᵀ + b
    expect(values(grad.scale as Tensor)).toEqual(values(m.inner.forward(x).sum(0)));
    expect((grad.inner as ParamTree).weight).toBeDefined();
  });

  it('freeze and unfreeze by prefix', () => {
    const m = new Affine(new Rng(0));
    m.freeze('inner');
    expect(m.namedParameters().map(([n]) => n)).toEqual(['scale']);
    expect(m.parameters().inner).toBeUndefined();
    const x = randn([2, 2], new Rng(3));
    // frozen parameters are still used by apply
    expect(values(m.apply(m.parameters(), x))).toEqual(values(m.forward(x)));
    m.unfreeze('inner.bias');
    expect(m.namedParameters().map(([n]) => n)).toEqual(['scale', 'inner.bias']);
    expect(() => m.freeze('nothing')).toThrow(JouleError);
  });

  it('apply rejects missing trainable parameters, unknown names and wrong shapes', () => {
    const m = new Affine(new Rng(0));
    const x = randn([2, 2], new Rng(3));
    const p = m.parameters();
    expect(() => m.apply({ inner: p.inner }, x)).toThrow(/params.scale/);
    expect(() => m.apply({ ...p, extra: ones([1]) }, x)).toThrow(/params.extra/);
    expect(() => m.apply({ ...p, scale: ones([4]) }, x)).toThrow(/shape \[3\]/);
  });

  it('load validates every name and shape before assigning anything', () => {
    const m = new Affine(new Rng(0));
    const before = values(m.parameters().scale as Tensor);
    expect(() => m.load({ scale: ones([3]).mul(2), inner: { weight: ones([9, 9]) } })).toThrow(/inner.weight/);
    expect(values(m.parameters().scale as Tensor)).toEqual(before);
    expect(() => m.load({ scale: ones([3]).mul(2), bogus: ones([1]) })).toThrow(/bogus/);
    expect(values(m.parameters().scale as Tensor)).toEqual(before);
    m.load({ scale: ones([3]).mul(2) });
    expect(values(m.parameters().scale as Tensor)).toEqual([2, 2, 2]);
  });

  it('loadStateDict is strict by default and all-or-nothing', () => {
    const a = new Affine(new Rng(0));
    const b = new Affine(new Rng(9));
    const dict = a.stateDict();
    const { shift: _dropped, ...partial } = dict;
    const w = values(b.stateDict()['inner.weight']);
    expect(() => b.loadStateDict(partial)).toThrow(/shift/);
    expect(values(b.stateDict()['inner.weight'])).toEqual(w);
    b.loadStateDict(dict);
    expect(values(b.stateDict()['inner.weight'])).toEqual(values(dict['inner.weight']));
  });

  it('train/eval propagates to sub-modules', () => {
    const m = new Sequential(
      new Linear(2, 2, { rng: new Rng(0) }),
      new MLP(2, 1, { width: 4, depth: 1, rng: new Rng(1) }),
    );
    m.eval();
    expect(m.modules().every(([, s]) => !s.training)).toBe(true);
    m.train();
    expect(m.modules().every(([, s]) => s.training)).toBe(true);
    expect(m.modules().map(([n]) => n)).toEqual(['', '0', '1', '1.layer0', '1.layer1']);
  });

  it('parameters and optimizer state loaded inside tidy survive it', () => {
    const m = new MLP(2, 1, { width: 4, depth: 1, rng: new Rng(0) });
    const opt = new Adam(m.parameters(), { lr: 0.1 });
    const x = randn([3, 2], new Rng(1));
    const loss = (p: ParamTree) => m.apply(p, x).square().mean();
    for (let i = 0; i < 2; i++) {
      tidy(() => {
        const next = opt.step(m.parameters(), valueAndGrad(loss)(m.parameters()).grad);
        m.load(next);
        return next;
      });
    }
    expect(Object.values(m.stateDict()).every((t) => !t.isDisposed)).toBe(true);
    expect(Object.values(opt.state().slots).every((s) => !s.m.isDisposed && !s.v.isDisposed)).toBe(true);
    expect(Number.isFinite(m.forward(x).dataSync()[0])).toBe(true);
  });

  it('rejects bad parameter names', () => {
    class Bad extends Module {
      constructor() {
        super();
        this.addParameter('a.b', tensor([1]));
      }
      protected compute(_p: ParamTree, x: Tensor) {
        return x;
      }
    }
    expect(() => new Bad()).toThrow(JouleError);
  });
});

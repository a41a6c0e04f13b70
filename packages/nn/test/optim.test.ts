import { JouleError, Rng, randn, type Tensor, tensor, valueAndGrad } from '@joule/tensor';
import { describe, expect, it } from 'vitest';
import {
  Adam,
  AdamW,
  clipGradNorm,
  clipGradValue,
  constantSchedule,
  cosineSchedule,
  EMA,
  linearSchedule,
  linearWarmup,
  type ParamTree,
  productSchedule,
  SGD,
  stepSchedule,
} from '../src/index.js';
import { values } from './helpers.js';

const close = (got: number[], want: number[], tol = 1e-6) => {
  expect(got.length).toBe(want.length);
  got.forEach((g, i) => {
    expect(Math.abs(g - want[i]), `entry ${i}: ${g} vs ${want[i]}`).toBeLessThan(tol * (1 + Math.abs(want[i])));
  });
};

/** Runs `steps` optimizer steps with the constant gradient `g` and returns the parameter values. */
function runConstant(
  make: (p: ParamTree) => { step: (p: ParamTree, g: ParamTree) => ParamTree },
  p0: number[],
  g: number[],
  steps: number,
) {
  let p: ParamTree = { w: tensor(p0) };
  const opt = make(p);
  for (let i = 0; i < steps; i++) p = opt.step(p, { w: tensor(g) });
  return values(p.w as Tensor);
}

describe('SGD', () => {
  it('plain: p ← p − lr·g', () => {
    close(
      runConstant((p) => new SGD(p, { lr: 0.1 }), [1, 2], [0.5, -1], 1),
      [0.95, 2.1],
    );
  });

  it('momentum: buffers g, 1.9g, 2.71g over three steps', () => {
    const g = [0.5, -1];
    close(
      runConstant((p) => new SGD(p, { lr: 0.1, momentum: 0.9 }), [1, 2], g, 3),
      [1 - 0.561 * 0.5, 2 + 0.561],
    );
  });

  it('Nesterov: effective gradients 1.9g, 2.71g, 3.439g', () => {
    close(
      runConstant((p) => new SGD(p, { lr: 0.1, momentum: 0.9, nesterov: true }), [1, 2], [0.5, -1], 3),
      [1 - 0.8049 * 0.5, 2 + 0.8049],
    );
  });

  it('weight decay adds λp to the gradient', () => {
    close(
      runConstant((p) => new SGD(p, { lr: 0.5, weightDecay: 0.1 }), [1], [0], 2),
      [0.9025],
    );
  });

  it('rejects bad hyperparameters and mismatched trees', () => {
    const p = { w: tensor([1]) };
    expect(() => new SGD(p, { lr: -1 })).toThrow(/lr/);
    expect(() => new SGD(p, { lr: 0.1, nesterov: true })).toThrow(/nesterov/);
    const opt = new SGD(p, { lr: 0.1 });
    expect(() => opt.step(p, { w: tensor([1, 2]) })).toThrow(JouleError);
    expect(() => opt.step({ v: tensor([1]) }, { v: tensor([1]) })).toThrow(/params.v/);
  });
});

describe('Adam', () => {
  it('first step moves each coordinate by lr against the sign of its gradient', () => {
    close(
      runConstant((p) => new Adam(p, { lr: 0.01 }), [1, 2, 3], [0.5, -2, 1e-3], 1),
      [0.99, 2.01, 2.99],
      1e-5,
    );
  });

  it('matches the published update rule (Kingma & Ba, Algorithm 1) on a quadratic for 25 steps', () => {
    // f(p) = ½ Σ aᵢ pᵢ², ∇f = a ⊙ p; reference in float64.
    const a = [1, 10, 0.1, 3];
    const p0 = [1, -0.5, 2, 0.3];
    const [lr, b1, b2, eps] = [0.05, 0.9, 0.999, 1e-8];
    const ref = p0.slice();
    const m = [0, 0, 0, 0];
    const v = [0, 0, 0, 0];
    const at = tensor(a);
    const f = (p: ParamTree) => (p.w as Tensor).square().mul(at).sum().mul(0.5);
    let p: ParamTree = { w: tensor(p0) };
    const opt = new Adam(p, { lr, betas: [b1, b2], eps });
    for (let t = 1; t <= 25; t++) {
      for (let i = 0; i < 4; i++) {
        const g = a[i] * ref[i];
        m[i] = b1 * m[i] + (1 - b1) * g;
        v[i] = b2 * v[i] + (1 - b2) * g * g;
        ref[i] -= (lr * (m[i] / (1 - b1 ** t))) / (Math.sqrt(v[i] / (1 - b2 ** t)) + eps);
      }
      p = opt.step(p, valueAndGrad(f)(p).grad);
      close(values(p.w as Tensor), ref, 2e-5);
    }
  });

  it('AdamW decays weights decoupled from the gradient; Adam adds an L2 term', () => {
    // zero gradient: AdamW shrinks p by (1 − lr·λ) per step, Adam's L2 term goes through the moments
    close(
      runConstant((p) => new AdamW(p, { lr: 0.1, weightDecay: 0.5 }), [1], [0], 2),
      [0.9025],
    );
    close(
      runConstant((p) => new Adam(p, { lr: 0.1, weightDecay: 0.5 }), [1], [0], 1),
      [0.9],
      1e-5,
    );
  });

  it('parameter groups by prefix, subtree and predicate have their own learning rates', () => {
    const params = { enc: { w: tensor([1]), b: tensor([1]) }, dec: { w: tensor([1]) }, logZ: tensor([1]) };
    const opt = new Adam(params, {
      lr: 0.001,
      groups: [
        { select: 'logZ', lr: 0.1 },
        { select: { w: params.dec.w }, lr: 0.01 },
        { select: (n) => n.endsWith('.b'), lr: 0.02 },
      ],
    });
    const g = { enc: { w: tensor([1]), b: tensor([1]) }, dec: { w: tensor([1]) }, logZ: tensor([1]) };
    const next = opt.step(params, g);
    close(values(next.logZ), [0.9], 1e-5);
    close(values(next.dec.w), [0.99], 1e-5);
    close(values(next.enc.b), [0.98], 1e-5);
    close(values(next.enc.w), [0.999], 1e-5);
    expect(() => new Adam(params, { groups: [{ select: 'nothing', lr: 1 }] })).toThrow(/select/);
  });

  it('state saved and loaded continues exactly like the uninterrupted optimizer', () => {
    const f = (p: ParamTree) =>
      (p.w as Tensor)
        .square()
        .sum()
        .add((p.b as Tensor).sin().sum());
    let p: ParamTree = { w: randn([3], new Rng(0)), b: randn([2], new Rng(1)) };
    const a = new Adam(p, { lr: 0.1, schedule: cosineSchedule({ steps: 10 }) });
    for (let i = 0; i < 3; i++) p = a.step(p, valueAndGrad(f)(p).grad);
    const saved = JSON.parse(JSON.stringify({ ...a.state(), slots: {} }));
    const b = new Adam(p, { lr: 0.1, schedule: cosineSchedule({ steps: 10 }) });
    b.load({ ...saved, slots: a.state().slots });
    const g = valueAndGrad(f)(p).grad;
    expect(values(b.step(p, g).w as Tensor)).toEqual(values(a.step(p, g).w as Tensor));
    expect(b.stepCount).toBe(4);
  });

  it('load rejects a state of another kind or shape and changes nothing', () => {
    const p = { w: tensor([1, 2]) };
    const opt = new Adam(p, { lr: 0.1 });
    opt.step(p, { w: tensor([1, 1]) });
    const state = opt.state();
    const other = new Adam(p, { lr: 0.1 });
    expect(() => other.load({ ...state, kind: 'sgd' })).toThrow(/kind/);
    expect(() => other.load({ ...state, slots: { w: { m: tensor([1]), v: tensor([1]) } } })).toThrow(/state.slots.w/);
    expect(() => other.load({ ...state, slots: { q: state.slots.w } })).toThrow(/unknown/);
    expect(other.stepCount).toBe(0);
  });
});

describe('clipping', () => {
  it('clipGradNorm scales to the global norm; clipGradValue clamps', () => {
    const { grads, norm } = clipGradNorm({ a: tensor([3]), b: { c: tensor([4]) } }, 1);
    close(values(norm), [5]);
    close(values(grads.a as Tensor), [0.6], 1e-5);
    close(values((grads.b as ParamTree).c as Tensor), [0.8], 1e-5);
    const small = clipGradNorm({ a: tensor([0.3]) }, 1).grads;
    close(values(small.a as Tensor), [0.3]);
    expect(values(clipGradValue({ a: tensor([-3, 0.2, 5]) }, 1).a as Tensor)).toEqual([-1, 0.2, 1].map(Math.fround));
  });

  it('optimizers clip before stepping', () => {
    close(
      runConstant((p) => new SGD(p, { lr: 1, clipNorm: 1 }), [0, 0], [3, 4], 1),
      [-0.6, -0.8],
      1e-5,
    );
    close(
      runConstant((p) => new SGD(p, { lr: 1, clipValue: 1 }), [0, 0], [3, -0.5], 1),
      [-1, 0.5],
    );
  });
});

describe('schedules', () => {
  it('have the documented factors', () => {
    expect(constantSchedule(0.5)(100)).toBe(0.5);
    const s = stepSchedule({ every: 10, gamma: 0.5 });
    expect([s(0), s(9), s(10), s(25)]).toEqual([1, 1, 0.5, 0.25]);
    const c = cosineSchedule({ steps: 100, minFactor: 0.1 });
    expect(c(0)).toBe(1);
    expect(c(50)).toBeCloseTo(0.55, 12);
    expect(c(200)).toBeCloseTo(0.1, 12);
    expect(linearSchedule({ steps: 10, endFactor: 0 })(5)).toBe(0.5);
    const w = linearWarmup({ steps: 4 }, stepSchedule({ every: 2, gamma: 0.1 }));
    expect([0, 1, 2, 3, 4, 5, 6].map(w)).toEqual([0.25, 0.5, 0.75, 1, 1, 1, 0.1]);
    expect(productSchedule(constantSchedule(0.5), constantSchedule(0.5))(3)).toBe(0.25);
    expect(() => stepSchedule({ every: 0 })).toThrow(JouleError);
  });

  it('scale each group’s learning rate per step', () => {
    let p: ParamTree = { w: tensor([0]) };
    const opt = new SGD(p, { lr: 1, schedule: stepSchedule({ every: 1, gamma: 0.5 }) });
    expect(opt.learningRate()).toBe(1);
    p = opt.step(p, { w: tensor([1]) });
    expect(opt.learningRate()).toBe(0.5);
    p = opt.step(p, { w: tensor([1]) });
    close(values(p.w as Tensor), [-1.5]);
  });
});

describe('EMA', () => {
  it('averages s ← βs + (1 − β)p, with optional warmup', () => {
    const ema = new EMA({ w: tensor([0]) }, { decay: 0.9 });
    ema.update({ w: tensor([1]) });
    ema.update({ w: tensor([1]) });
    close(values(ema.params().w as Tensor), [0.19]);
    const warm = new EMA({ w: tensor([0]) }, { decay: 0.9, warmup: true });
    warm.update({ w: tensor([1]) }); // β = min(0.9, 1/10)
    close(values(warm.params().w as Tensor), [0.9]);
  });

  it('params() stay valid after later updates; state round-trips; bad input is rejected', () => {
    const ema = new EMA({ a: { w: tensor([1, 2]) } }, { decay: 0.5 });
    const before = ema.params();
    ema.update({ a: { w: tensor([3, 4]) } });
    expect(values((before.a as ParamTree).w as Tensor)).toEqual([1, 2]);
    const other = new EMA({ a: { w: tensor([0, 0]) } }, { decay: 0.5 });
    other.load(ema.state());
    expect(values((other.params().a as ParamTree).w as Tensor)).toEqual([2, 3]);
    expect(other.updates).toBe(1);
    expect(() => ema.update({ a: { w: tensor([1]) } })).toThrow(JouleError);
    expect(() => other.load({ updates: 0, shadow: {} })).toThrow(/a.w/);
  });
});

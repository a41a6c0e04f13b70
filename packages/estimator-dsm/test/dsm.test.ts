import { JouleError } from '@joule/core';
import { GaussianKDE } from '@joule/distributions';
import { MLP, type ParamTree, SGD } from '@joule/nn';
import { grad, Rng, randn, type Tensor, tensor } from '@joule/tensor';
import { describe, expect, it } from 'vitest';
import { cosineSchedule, DSM, dsmLoss, geometricLevels, type LevelEnergyModel } from '../src/index.js';
import { twoModeData, twoModeModel } from './helpers.js';

/** 1-D energy E(y) = w y⁴/4 + b y²/2, so ∂E/∂y = w y³ + b y. */
function quartic(p: ParamTree) {
  return (u: Tensor) => {
    const z = u.reshape([u.shape[0] as number]);
    return z
      .pow(4)
      .mul(p.w as Tensor)
      .mul(0.25)
      .add(
        z
          .square()
          .mul(p.b as Tensor)
          .mul(0.5),
      );
  };
}

describe('dsmLoss', () => {
  const xs = [0.3, -1.1, 0.8];
  const es = [0.5, -0.2, 1.3];
  const alpha = 0.9;
  const sigma = 0.4;
  /** The loss in float64: (1/n) Σ (σ ∂E/∂y(y_i) − ε_i)², y = αx + σε. */
  const lossJs = (w: number, b: number) => {
    let s = 0;
    for (let i = 0; i < xs.length; i++) {
      const y = alpha * (xs[i] as number) + sigma * (es[i] as number);
      s += (sigma * (w * y ** 3 + b * y) - (es[i] as number)) ** 2;
    }
    return s / xs.length;
  };
  const x = tensor(xs, [3, 1]);
  const eps = tensor(es, [3, 1]);

  it('equals the float64 value', () => {
    const v = dsmLoss(quartic({ w: tensor(0.7), b: tensor(1.2) }), x, eps, alpha, sigma).dataSync()[0];
    expect(v).toBeCloseTo(lossJs(0.7, 1.2), 5);
  });

  it('has a parameter gradient (a gradient of a gradient) matching float64 central differences', () => {
    const g = grad((p: ParamTree) => dsmLoss(quartic(p), x, eps, alpha, sigma))({
      w: tensor(0.7),
      b: tensor(1.2),
    }) as ParamTree;
    const h = 1e-6;
    const dw = (lossJs(0.7 + h, 1.2) - lossJs(0.7 - h, 1.2)) / (2 * h);
    const db = (lossJs(0.7, 1.2 + h) - lossJs(0.7, 1.2 - h)) / (2 * h);
    expect(Math.abs(((g.w as Tensor).dataSync()[0] as number) - dw)).toBeLessThan(1e-4 * Math.max(1, Math.abs(dw)));
    expect(Math.abs(((g.b as Tensor).dataSync()[0] as number) - db)).toBeLessThan(1e-4 * Math.max(1, Math.abs(db)));
  });

  it('has zero expected parameter gradient at the true (noisy-marginal) energy, within 5 SE', () => {
    // Data N(μ=1, s²=0.25), y = x + σε with σ = 0.5: the noisy marginal is N(1, 0.5), whose energy
    // E(y) = (y − m)² / (2v) at (m, v) = (1, 0.5) minimizes DSM, so E[∇_{m,v} L] = 0.
    const rng = new Rng(5);
    const sigma = 0.5;
    const energy = (p: ParamTree) => (u: Tensor) =>
      u
        .reshape([u.shape[0] as number])
        .sub(p.m as Tensor)
        .square()
        .div((p.v as Tensor).mul(2));
    const gm: number[] = [];
    const gv: number[] = [];
    for (let r = 0; r < 100; r++) {
      const x = randn([100, 1], rng, 1, 0.5);
      const eps = randn([100, 1], rng);
      const g = grad((p: ParamTree) => dsmLoss(energy(p), x, eps, 1, sigma))({
        m: tensor(1),
        v: tensor(0.5),
      }) as ParamTree;
      gm.push((g.m as Tensor).dataSync()[0] as number);
      gv.push((g.v as Tensor).dataSync()[0] as number);
    }
    for (const gs of [gm, gv]) {
      const mean = gs.reduce((a, b) => a + b, 0) / gs.length;
      const sd = Math.sqrt(gs.reduce((a, b) => a + (b - mean) ** 2, 0) / (gs.length - 1));
      expect(Math.abs(mean)).toBeLessThan((5 * sd) / Math.sqrt(gs.length));
    }
    // A wrong mean gives a gradient far outside that band (the test can fail).
    const off = grad((p: ParamTree) =>
      dsmLoss(energy(p), randn([2000, 1], rng, 1, 0.5), randn([2000, 1], rng), 1, sigma),
    )({
      m: tensor(1.5),
      v: tensor(0.5),
    }) as ParamTree;
    expect(Math.abs((off.m as Tensor).dataSync()[0] as number)).toBeGreaterThan(0.1);
  });
});

describe('levels', () => {
  it('cosine schedule matches the DDPM values (T = 100)', () => {
    const { alpha, sigma } = cosineSchedule(100);
    expect(alpha[0] ** 2).toBeCloseTo(0.999369, 5);
    expect(sigma[0]).toBeCloseTo(0.025125, 5);
    expect(alpha[49] ** 2).toBeCloseTo(0.49384, 4);
    expect(alpha[99] ** 2).toBeLessThan(1e-6);
  });

  it('geometric levels run from sigmaMin to sigmaMax', () => {
    const { alpha, sigma } = geometricLevels(0.01, 1, 3);
    expect(sigma[0]).toBeCloseTo(0.01, 10);
    expect(sigma[1]).toBeCloseTo(0.1, 10);
    expect(sigma[2]).toBeCloseTo(1, 10);
    expect(alpha).toEqual([1, 1, 1]);
    expect(() => geometricLevels(0, 1, 3)).toThrow(JouleError);
  });
});

describe('DSM estimator', () => {
  it('recovers a Gaussian score (single level)', async () => {
    // Data N(2, 0.3²), σ = 0.4: DSM's optimum is the noisy marginal N(2, 0.25) (v* = 0.09 + 0.16).
    const rng = new Rng(9);
    let params: ParamTree = { m: tensor(0), logV: tensor(0) };
    const model = {
      parameters: () => params,
      apply: (p: ParamTree, u: Tensor) =>
        u
          .reshape([u.shape[0] as number])
          .sub(p.m as Tensor)
          .square()
          .mul((p.logV as Tensor).neg().exp())
          .mul(0.5),
      load: (p: ParamTree) => {
        params = p;
      },
    };
    const est = new DSM(model, { sigma: 0.4, optimizer: { lr: 0.05 } });
    for (let t = 0; t < 300; t++) await est.step(randn([256, 1], rng, 2, 0.3), rng);
    const m = (params.m as Tensor).dataSync()[0] as number;
    const v = Math.exp((params.logV as Tensor).dataSync()[0] as number);
    // Adam at lr 0.05 with batches of 256 fluctuates by a few hundredths around the optimum.
    expect(Math.abs(m - 2)).toBeLessThan(0.05);
    expect(Math.abs(v - 0.25)).toBeLessThan(0.03);
  });

  it('multi-level DSM cannot move a mode weight; the CNCE global-jump regularizer recovers it', async () => {
    // ½N(−3, 0.5²) + ½N(3, 0.5²); the model has the right shapes at every level (a level-free
    // energy) and a learnable left log-weight a, started at log 4 (truth 0). ∂/∂a of the score is
    // r(1 − r)-small inside a mode, so score matching leaves a in place.
    const m = 3;
    const s = 0.5;
    const a0 = Math.log(4);
    const levels = geometricLevels(0.05, 0.2, 3);
    const run = async (regularize: boolean) => {
      const rng = new Rng(13);
      const model = twoModeModel(m, s, a0);
      const regularizer = regularize
        ? { noise: new GaussianKDE(twoModeData(1000, m, s, rng), { bandwidth: { std: 0.2 } }), weight: 1 }
        : undefined;
      const est = new DSM(model, { levels, regularizer, optimizer: new SGD(model.parameters(), { lr: 1 }) });
      const trace: number[] = [];
      for (let t = 0; t < 200; t++) {
        await est.step(twoModeData(128, m, s, rng), rng);
        trace.push(model.a());
      }
      return trace;
    };
    const plain = await run(false);
    expect(Math.abs((plain.at(-1) as number) - a0)).toBeLessThan(1e-3);
    const reg = (await run(true)).slice(-50);
    // From 1.39 away to within 0.25 (KDE log-weight SD ≈ sqrt(4/1000) ≈ 0.063, plus SGD jitter).
    // Plain SGD: Adam would rescale the ~1e-15 score-matching gradients of a into lr-sized steps.
    expect(Math.abs(reg.reduce((u, v) => u + v, 0) / reg.length)).toBeLessThan(0.25);
  });

  it('rejects bad options with JouleError', () => {
    const model = twoModeModel(1, 1, 0);
    const notAModel = { apply: model.apply.bind(model) } as unknown as LevelEnergyModel;
    expect(() => new DSM(notAModel, { sigma: 0.1 })).toThrow(/argument 'model' expected an EnergyModel/);
    expect(() => new DSM(model, {})).toThrow(JouleError);
    expect(() => new DSM(model, { sigma: 0.1, levels: geometricLevels(0.1, 1, 2) })).toThrow(JouleError);
    expect(() => new DSM(model, { sigma: -1 })).toThrow(JouleError);
    expect(() => dsmLoss((u) => u.sum(1), tensor([[1]]), tensor([1]), 1, 0.1)).toThrow(JouleError);
  });
});

describe('with an MLP energy', () => {
  it('single-level DSM learns a standard Gaussian energy up to a constant (gradient of a gradient through an MLP)', async () => {
    const rng = new Rng(1);
    const model = new MLP(1, 1, { rng, width: 32, depth: 2 });
    const est = new DSM(model, { sigma: 0.1, optimizer: { lr: 1e-2 } });
    const grid = [-1.5, -1, -0.5, 0.5, 1, 1.5];
    const avg = grid.map(() => 0);
    for (let t = 0; t < 500; t++) {
      await est.step(randn([256, 1], rng), rng);
      if (t < 400) continue;
      // Average E(g) − E(0) over the last 100 iterates (Adam at lr 1e-2 jitters).
      const e = est.energy(tensor([0, ...grid], [7, 1])).dataSync();
      grid.forEach((_, i) => {
        avg[i] = (avg[i] as number) + ((e[i + 1] as number) - (e[0] as number)) / 100;
      });
    }
    // Target: the noisy marginal N(0, 1.01), E(g) − E(0) = g² / 2.02.
    const mse = grid.reduce((s, g, i) => s + ((avg[i] as number) - (g * g) / 2.02) ** 2, 0) / grid.length;
    // A flat energy scores 0.50 here; seeds 1–3 score 0.003–0.010. 0.05 is 10× below flat.
    expect(mse).toBeLessThan(0.05);
  });
});

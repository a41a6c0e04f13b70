import { JouleError } from '@joule/core';
import { DiagNormal } from '@joule/distributions';
import { MLP, type ParamTree, SGD } from '@joule/nn';
import { concat, grad, Rng, randn, type Tensor, tensor } from '@joule/tensor';
import { describe, expect, it } from 'vitest';
import {
  CNCE,
  cnceLoss,
  type EnergyModel,
  globalNoise,
  kdeNoise,
  localNoise,
  mixedNoise,
  mixtureKernel,
  NCE,
  nceLoss,
  sampleNoisePairs,
  TWO_LOG_2,
} from '../src/index.js';
import { twoModeData, twoModeModel } from './helpers.js';

const softplus = (z: number) => Math.max(z, 0) + Math.log1p(Math.exp(-Math.abs(z)));

describe('cnceLoss', () => {
  it('equals a hand computation on two pairs', () => {
    // E(u) = u1² + 2 u2; pairs (x, y, logRatio).
    const energy = (u: Tensor) =>
      u
        .slice([0, 0], [-1, 1])
        .square()
        .reshape([u.shape[0] as number])
        .add(
          u
            .slice([0, 1], [-1, 1])
            .mul(2)
            .reshape([u.shape[0] as number]),
        );
    const x = tensor([
      [1, 0],
      [0.5, -1],
    ]);
    const y = tensor([
      [0, 0.25],
      [2, 1],
    ]);
    const logRatio = tensor([0.3, -0.7]);
    const E = (a: number, b: number) => a * a + 2 * b;
    const f1 = E(0, 0.25) - E(1, 0) + 0.3;
    const f2 = E(2, 1) - E(0.5, -1) - 0.7;
    const expected = (2 / 2) * (softplus(-f1) + softplus(-f2));
    const got = cnceLoss(energy, { x, y, logRatio }).dataSync()[0] as number;
    expect(got).toBeCloseTo(expected, 5);
  });

  it('is exactly 2 log 2 at the true energy with oracle noise (F ≡ 0)', () => {
    const truth = new DiagNormal([0.5, -1], [0.7, 1.3]);
    const energy = (u: Tensor) => truth.logProb(u).neg();
    const rng = new Rng(1);
    const pairs = sampleNoisePairs(globalNoise(truth), truth.sample(64, rng), 3, rng);
    expect(pairs.x.shape).toEqual([192, 2]);
    expect(cnceLoss(energy, pairs).dataSync()[0]).toBeCloseTo(TWO_LOG_2, 5);
  });

  it('has a parameter gradient that matches float64 central differences', () => {
    // E(u; w, b) = w u² / 2 + b u (1-D); loss in plain JS float64.
    const xs = [0.3, -1.2, 2.0, 0.7];
    const ys = [0.1, -0.4, 1.1, -2.2];
    const lr = [0.2, 0, -0.5, 0.1];
    const lossJs = (w: number, b: number) => {
      const e = (u: number) => (w * u * u) / 2 + b * u;
      let s = 0;
      for (let i = 0; i < xs.length; i++) s += softplus(-(e(ys[i] as number) - e(xs[i] as number) + (lr[i] as number)));
      return (2 * s) / xs.length;
    };
    const pairs = { x: tensor(xs, [4, 1]), y: tensor(ys, [4, 1]), logRatio: tensor(lr) };
    const g = grad((p: ParamTree) =>
      cnceLoss((u) => {
        const z = u.reshape([u.shape[0] as number]);
        return z
          .square()
          .mul(p.w as Tensor)
          .mul(0.5)
          .add(z.mul(p.b as Tensor));
      }, pairs),
    )({ w: tensor(0.8), b: tensor(-0.3) }) as ParamTree;
    const h = 1e-6;
    const dw = (lossJs(0.8 + h, -0.3) - lossJs(0.8 - h, -0.3)) / (2 * h);
    const db = (lossJs(0.8, -0.3 + h) - lossJs(0.8, -0.3 - h)) / (2 * h);
    expect((g.w as Tensor).dataSync()[0]).toBeCloseTo(dw, 4);
    expect((g.b as Tensor).dataSync()[0]).toBeCloseTo(db, 4);
  });
});

describe('noises', () => {
  it('local noise: symmetric kernel (log-ratio 0), jumps of the given std', () => {
    const rng = new Rng(2);
    const x = tensor(new Float32Array(4000).fill(1), [2000, 2]);
    const { y, logRatio } = sampleNoisePairs(localNoise(0.3), x, 1, rng);
    expect(Math.max(...Array.from(logRatio.abs().dataSync()))).toBeLessThan(1e-4);
    // Sample std of 4000 normal deviates: SE of the std ≈ 0.3/sqrt(2·4000) = 0.0034; 5 SE = 0.017.
    expect(y.sub(x).std().dataSync()[0]).toBeCloseTo(0.3, 1);
    expect(Math.abs((y.sub(x).std().dataSync()[0] as number) - 0.3)).toBeLessThan(0.017);
  });

  it('global noise: log-ratio is log q(y) − log q(x)', () => {
    const q = new DiagNormal([0, 2], [1, 0.5]);
    const rng = new Rng(3);
    const x = tensor([
      [0, 0],
      [1, 1],
      [-1, 3],
    ]);
    const { y, logRatio } = sampleNoisePairs(globalNoise(q), x, 2, rng);
    const expected = q.logProb(y).sub(q.logProb(concat([x, x], 0)));
    expect(Array.from(logRatio.dataSync())).toEqual(Array.from(expected.dataSync()));
  });

  it('mixed noise: the first share of slots is local, the rest jumps to the KDE', () => {
    const rng = new Rng(4);
    const data = tensor([10, 10.1, 9.9, 10.05], [4, 1]);
    const x = tensor(new Float32Array(8).fill(-10), [8, 1]);
    const { y } = sampleNoisePairs(
      mixedNoise(data, { sigmaLocal: 0.01, sigmaGlobal: 0.01, localFraction: 0.75 }),
      x,
      1,
      rng,
    );
    const v = Array.from(y.dataSync());
    for (const u of v.slice(0, 6)) expect(Math.abs(u + 10)).toBeLessThan(0.1);
    for (const u of v.slice(6)) expect(Math.abs(u - 10)).toBeLessThan(0.2);
  });

  it('mixture kernel (d2): component shares within 5 SE and the mixture log-ratio', () => {
    const rng = new Rng(6);
    const q = new DiagNormal([10], [0.5]);
    const noise = mixtureKernel([
      { noise: localNoise(0.3), weight: 1 },
      { noise: globalNoise(q), weight: 3 },
    ]);
    const x = tensor(new Float32Array(2000).fill(-10), [2000, 1]);
    const { y, logRatio } = sampleNoisePairs(noise, x, 1, rng);
    const ys = Array.from(y.dataSync());
    const localShare = ys.filter((v) => v < 0).length / ys.length;
    // Binomial share 0.25 of 2000: SE = sqrt(0.25·0.75/2000) ≈ 0.0097; 5 SE ≈ 0.048.
    expect(Math.abs(localShare - 0.25)).toBeLessThan(0.048);
    const logN = (u: number, m: number, sd: number) =>
      -0.5 * ((u - m) / sd) ** 2 - Math.log(sd * Math.sqrt(2 * Math.PI));
    const lse = (a: number, b: number) => Math.max(a, b) + Math.log1p(Math.exp(-Math.abs(a - b)));
    const mix = (u: number, centre: number) =>
      lse(Math.log(0.25) + logN(u, centre, 0.3), Math.log(0.75) + logN(u, 10, 0.5));
    const lr = logRatio.dataSync();
    for (const i of [0, 1, 2, 3, 4]) {
      const v = ys[i] as number;
      expect(lr[i]).toBeCloseTo(mix(v, -10) - mix(-10, v), 3);
    }
  });

  it('rejects bad arguments with JouleError', () => {
    expect(() => mixtureKernel([])).toThrow(JouleError);
    expect(() => localNoise(0)).toThrow(JouleError);
    expect(() => kdeNoise(tensor([[1]]), -1)).toThrow(JouleError);
    expect(() => mixedNoise(tensor([[1]]), { sigmaLocal: 1, sigmaGlobal: 1, localFraction: 1 })).toThrow(JouleError);
    expect(() => sampleNoisePairs(localNoise(1), tensor([1, 2]), 1, new Rng(0))).toThrow(JouleError);
    expect(() => sampleNoisePairs(localNoise(1), tensor([[1]]), 0, new Rng(0))).toThrow(JouleError);
    expect(() => sampleNoisePairs([], tensor([[1]]), 1, new Rng(0))).toThrow(JouleError);
  });
});

describe('nceLoss', () => {
  it('equals a hand computation with ν = 2', () => {
    const energy = (u: Tensor) => u.reshape([u.shape[0] as number]).square();
    const x = [0.5, -1];
    const y = [2, 0, 1, -0.5];
    const lx = [-1, -1.5];
    const ly = [-3, -0.9, -1.4, -1.1];
    const logNu = Math.log(2);
    let s = 0;
    for (let i = 0; i < 2; i++) s += softplus(logNu - (-((x[i] as number) ** 2) - (lx[i] as number)));
    for (let j = 0; j < 4; j++) s += softplus(-((y[j] as number) ** 2) - (ly[j] as number) - logNu);
    const got = nceLoss(energy, tensor(x, [2, 1]), tensor(y, [4, 1]), tensor(lx), tensor(ly)).dataSync()[0];
    expect(got).toBeCloseTo(s / 2, 5);
  });
});

describe('mode weights on a 1-D two-mode mixture (paper 001, Figure 1)', () => {
  // Truth: ½N(−3, 0.5²) + ½N(3, 0.5²); model with the right shapes and a learnable log-weight a
  // of the left mode (truth a* = 0), started at a0 = log 4 (left mode holds 80%).
  const m = 3;
  const s = 0.5;
  const a0 = Math.log(4);

  async function train(noise: (rng: Rng) => ConstructorParameters<typeof CNCE>[1]['noise'], seed: number) {
    const rng = new Rng(seed);
    const model = twoModeModel(m, s, a0);
    const est = new CNCE(model, { noise: noise(rng), optimizer: new SGD(model.parameters(), { lr: 1 }) });
    const trace: number[] = [];
    for (let t = 0; t < 200; t++) {
      await est.step(twoModeData(128, m, s, rng), rng);
      trace.push(model.a());
    }
    return trace;
  }

  it('CNCE-mix recovers the relative weight; CNCE-local leaves it where it started', async () => {
    const local = await train(() => localNoise(0.1), 7);
    // Local pairs lie within one mode, where ∇_a F = r(y) − r(x) ≈ 0 (r: left responsibility,
    // ≈ 1 − 1e-15 inside a mode 6 std from the other): the weight cannot move. Plain SGD, because
    // Adam divides by the gradient's RMS and would turn these ~1e-15 gradients into lr-sized steps.
    expect(Math.abs((local.at(-1) as number) - a0)).toBeLessThan(1e-3);

    const mix = await train(
      (rng) => mixedNoise(twoModeData(1000, m, s, rng), { sigmaLocal: 0.1, sigmaGlobal: 0.2, localFraction: 0.5 }),
      7,
    );
    const tail = mix.slice(-50);
    const mean = tail.reduce((u, v) => u + v, 0) / tail.length;
    // Distance to the truth drops from 1.39 to < 0.25: the KDE's own log mode-weight from 1000
    // points has SD ≈ sqrt(4/1000) ≈ 0.063 (0.25 ≈ 4 SD), plus the SGD jitter, averaged over 50 steps.
    expect(Math.abs(mean)).toBeLessThan(0.25);
  });
});

describe('estimators', () => {
  it('NCE learns the normalizer of a Gaussian energy', async () => {
    // E(x) = (x − μ)² / 2 with learnable μ, plus c; truth N(1, 1) so c* = log √(2π) = 0.919.
    const rng = new Rng(11);
    let params: ParamTree = { mu: tensor(0) };
    const model = {
      parameters: () => params,
      apply: (p: ParamTree, x: Tensor) =>
        x
          .reshape([x.shape[0] as number])
          .sub(p.mu as Tensor)
          .square()
          .mul(0.5),
      load: (p: ParamTree) => {
        params = p;
      },
    };
    const est = new NCE(model, { noise: new DiagNormal([1], [2]), optimizer: { lr: 0.05 } });
    let c = 0;
    for (let t = 0; t < 300; t++)
      c = (await est.step(new DiagNormal([1], [1]).sample(256, rng), rng)).logNormalizer as number;
    expect(Math.abs(c - 0.5 * Math.log(2 * Math.PI))).toBeLessThan(0.1);
    expect(Math.abs(((params.mu as Tensor).dataSync()[0] as number) - 1)).toBeLessThan(0.1);
    const before = est.energy(tensor([[1.5]])).dataSync()[0] as number;
    const saved = est.state();
    await est.step(new DiagNormal([1], [1]).sample(256, rng), rng);
    est.load(saved);
    expect(est.energy(tensor([[1.5]])).dataSync()[0]).toBe(before);
  });

  it('rejects bad construction and batches with JouleError', async () => {
    const model = twoModeModel(1, 1, 0);
    const notAModel = { apply: model.apply.bind(model) } as unknown as EnergyModel;
    expect(() => new CNCE(notAModel, { noise: localNoise(1) })).toThrow(/argument 'model' expected an EnergyModel/);
    expect(() => new NCE(notAModel, { noise: new DiagNormal([0], [1]) })).toThrow(/argument 'model'/);
    expect(() => new CNCE(model, { noise: localNoise(1), k: 0 })).toThrow(JouleError);
    expect(() => new NCE(model, { noise: new DiagNormal([0], [1]), noiseRatio: -1 })).toThrow(JouleError);
    await expect(new CNCE(model, { noise: localNoise(1) }).step(tensor([1, 2]), new Rng(0))).rejects.toThrow(
      JouleError,
    );
  });
});

describe('with an MLP energy', () => {
  it('CNCE local learns a standard Gaussian energy up to a constant', async () => {
    const rng = new Rng(1);
    const model = new MLP(1, 1, { rng, width: 32, depth: 2 });
    const est = new CNCE(model, { noise: localNoise(0.5), optimizer: { lr: 1e-2 } });
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
    const mse = grid.reduce((s, g, i) => s + ((avg[i] as number) - (g * g) / 2) ** 2, 0) / grid.length;
    // A flat energy scores 0.51 here; seeds 1–3 score 0.0002–0.0034. 0.05 is 10× below flat.
    expect(mse).toBeLessThan(0.05);
  });
});

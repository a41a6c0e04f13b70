import { type ParamTree, SinusoidalEmbedding, TimeEmbedding } from '@joule/nn';
import { grad, JouleError, Rng, randn, tensor } from '@joule/tensor';
import { describe, expect, it } from 'vitest';
import { StochasticInterpolant, timeFeatures, timeFeatureWidth, VelocityNet, velocityLoss } from '../src/index.js';

const ts = [0, 0.13, 0.5, 0.87, 1];

describe('timeFeatures', () => {
  it('computes identity, −log(1.1 − t) and Fourier features', () => {
    const t = tensor(ts);
    expect(timeFeatures(t, { kind: 'identity' }).toArray()).toEqual(ts.map((v) => [Math.fround(v)]));
    const log = timeFeatures(t, { kind: 'log' }).toArray() as number[][];
    for (const [i, v] of ts.entries()) expect(log[i][0]).toBeCloseTo(-Math.log(1.1 - v), 5);
    const K = 3;
    const f = timeFeatures(tensor(ts, [5, 1]), { kind: 'fourier', frequencies: K }).toArray() as number[][];
    expect(timeFeatureWidth({ kind: 'fourier', frequencies: K })).toBe(7);
    ts.forEach((v, i) => {
      expect(f[i]).toHaveLength(7);
      expect(f[i][0]).toBeCloseTo(v, 6);
      for (let j = 1; j <= K; j++) {
        expect(f[i][j]).toBeCloseTo(Math.sin(j * Math.PI * v), 5);
        expect(f[i][K + j]).toBeCloseTo(Math.cos(j * Math.PI * v), 5);
      }
    });
    expect(timeFeatureWidth()).toBe(9);
  });

  it('is differentiable in t (central differences in float64)', () => {
    const K = 2;
    const f64 = (v: number) =>
      v + -Math.log(1.1 - v) + [1, 2].reduce((a, j) => a + Math.sin(j * Math.PI * v) + Math.cos(j * Math.PI * v), 0);
    const g = grad((t: typeof x) =>
      timeFeatures(t, { kind: 'fourier', frequencies: K })
        .sum()
        .add(timeFeatures(t, { kind: 'log' }).sum()),
    );
    const x = tensor([0.1, 0.45, 0.8]);
    const got = Array.from(g(x).dataSync());
    [0.1, 0.45, 0.8].forEach((v, i) => {
      const h = 1e-6;
      const fd = (f64(v + h) - f64(v - h)) / (2 * h);
      expect(Math.abs(got[i] - fd)).toBeLessThan(1e-4 * (1 + Math.abs(fd)));
    });
  });

  it('rejects bad inputs by name', () => {
    expect(() => timeFeatures(tensor([[0.1, 0.2]]))).toThrow(/t/);
    expect(() => timeFeatures(tensor([0.1]), { kind: 'cubic' as 'log' })).toThrow(/kind/);
    expect(() => timeFeatures(tensor([0.1]), { kind: 'log', offset: 1 })).toThrow(/offset/);
    expect(() => timeFeatureWidth({ frequencies: 0 })).toThrow(JouleError);
  });
});

describe('VelocityNet', () => {
  it('maps [x, features(t), context] to [n, d] and trains its time embedding', () => {
    const rng = new Rng(0);
    const x = randn([5, 2], rng);
    const t = tensor([0.1, 0.3, 0.5, 0.7, 0.9], [5, 1]);
    const plain = new VelocityNet(2, { rng: new Rng(1), width: 16, depth: 1 });
    expect(plain.field()(x, t).shape).toEqual([5, 2]);
    const conditional = new VelocityNet(2, { rng: new Rng(1), contextDim: 3, time: { kind: 'log' } });
    expect(conditional.field()(x, t, randn([5, 3], rng)).shape).toEqual([5, 2]);
    expect(() => conditional.field()(x, t)).toThrow(/context/);
    expect(() => plain.field()(randn([5, 3], rng), t)).toThrow(/x/);

    const embedded = new VelocityNet(2, {
      rng: new Rng(2),
      width: 16,
      time: new TimeEmbedding(8, { rng: new Rng(3) }),
    });
    const names = embedded.namedParameters().map(([name]) => name);
    expect(names.some((name) => name.startsWith('time.'))).toBe(true);
    const I = new StochasticInterpolant();
    const { proj0 } = grad((p: ParamTree) => velocityLoss(embedded.field(p), I, x, new Rng(4)))(embedded.parameters())
      .time as ParamTree;
    const g = Array.from(((proj0 as ParamTree).weight as ReturnType<typeof tensor>).dataSync());
    expect(g.some((v) => v !== 0)).toBe(true);
    const sinusoidal = new VelocityNet(2, { rng: new Rng(2), time: new SinusoidalEmbedding(6, { scale: 100 }) });
    expect(sinusoidal.field()(x, t).shape).toEqual([5, 2]);
  });
});

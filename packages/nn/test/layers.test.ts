import { JouleError, Rng, randn, type Tensor, tensor } from '@joule/tensor';
import { describe, expect, it } from 'vitest';
import {
  ConditionalMLP,
  kaimingNormal,
  LayerNorm,
  Linear,
  lecunUniform,
  MLP,
  RandomFourierFeatures,
  SinusoidalEmbedding,
  SpectralNorm,
  TimeEmbedding,
  xavierNormal,
  xavierUniform,
} from '../src/index.js';
import { checkGradients, values } from './helpers.js';

/** A fixed random projection to a scalar, so no gradient cancels by symmetry. */
function projector(shape: readonly number[], seed: number): (y: Tensor) => Tensor {
  const r = randn(shape, new Rng(seed));
  return (y) => y.mul(r).sum();
}

describe('initializers', () => {
  // Mean and variance of n = 64·64 draws; tolerance 5 standard errors: SE(mean) = σ/√n,
  // SE(variance) ≈ σ²·√(Var(z²)/n) with Var(z²) = 2 for a normal, 4/5 for a uniform (in units of σ⁴).
  const n = 64 * 64;
  const moments = (t: Tensor) => {
    const v = values(t);
    const mean = v.reduce((a, b) => a + b, 0) / v.length;
    return { mean, variance: v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length, max: Math.max(...v.map(Math.abs)) };
  };

  it('xavierUniform stays within ±√(6/(fanIn+fanOut)) with variance 2/(fanIn+fanOut)', () => {
    const { mean, variance, max } = moments(xavierUniform()([64, 64], new Rng(0)));
    const s2 = 2 / 128;
    expect(max).toBeLessThanOrEqual(Math.sqrt(6 / 128));
    expect(Math.abs(mean)).toBeLessThan((5 * Math.sqrt(s2)) / Math.sqrt(n));
    expect(Math.abs(variance - s2)).toBeLessThan(5 * s2 * Math.sqrt(0.8 / n));
  });

  it('xavierNormal and kaimingNormal have the stated variances', () => {
    const a = moments(xavierNormal(2)([64, 64], new Rng(1)));
    const sa = (4 * 2) / 128;
    expect(Math.abs(a.variance - sa)).toBeLessThan(5 * sa * Math.sqrt(2 / n));
    const b = moments(kaimingNormal()([64, 64], new Rng(2)));
    const sb = 2 / 64;
    expect(Math.abs(b.variance - sb)).toBeLessThan(5 * sb * Math.sqrt(2 / n));
  });

  it('is seeded: the same Rng seed gives the same weights', () => {
    expect(values(lecunUniform()([8, 3], new Rng(5)))).toEqual(values(lecunUniform()([8, 3], new Rng(5))));
    expect(values(new Linear(3, 4, { rng: new Rng(7) }).stateDict().weight)).toEqual(
      values(new Linear(3, 4, { rng: new Rng(7) }).stateDict().weight),
    );
  });
});

describe('Linear', () => {
  it('computes x Wᵀ + b with weight [out, in]', () => {
    const lin = new Linear(2, 3, { rng: new Rng(0) });
    lin.load({
      weight: tensor([
        [1, 2],
        [3, 4],
        [5, 6],
      ]),
      bias: tensor([0.5, -1, 2]),
    });
    expect(
      lin
        .forward(
          tensor([
            [1, -1],
            [2, 0.5],
          ]),
        )
        .toArray(),
    ).toEqual([
      [-0.5, -2, 1],
      [3.5, 7, 15],
    ]);
  });

  it('has gradients that match finite differences', () => {
    const lin = new Linear(3, 2, { rng: new Rng(1) });
    const x = randn([4, 3], new Rng(2));
    const proj = projector([4, 2], 3);
    checkGradients((p) => proj(lin.apply(p, x)), lin.parameters());
  });

  it('rejects inputs of the wrong width', () => {
    const lin = new Linear(3, 2, { rng: new Rng(1) });
    expect(() => lin.forward(randn([4, 2], new Rng(0)))).toThrow(/shape \[\.\.\., 3\]/);
    expect(() => new Linear(0, 2, { rng: new Rng(1) })).toThrow(JouleError);
    expect(() => new Linear(2, 2, {} as never)).toThrow(/rng/);
  });
});

describe('LayerNorm', () => {
  it('normalizes the last axis', () => {
    const y = new LayerNorm(4, { eps: 0 + 1e-12 }).forward(tensor([[1, 2, 3, 4]]));
    const v = values(y);
    const mean = v.reduce((a, b) => a + b) / 4;
    expect(mean).toBeCloseTo(0, 6);
    expect(v.reduce((a, b) => a + (b - mean) ** 2, 0) / 4).toBeCloseTo(1, 5);
  });

  it('has gradients that match finite differences', () => {
    const ln = new LayerNorm(5);
    ln.load({ weight: randn([5], new Rng(4)), bias: randn([5], new Rng(5)) });
    const x = randn([3, 5], new Rng(6));
    const proj = projector([3, 5], 7);
    checkGradients((p) => proj(ln.apply(p, x)), ln.parameters());
  });
});

describe('MLP', () => {
  it('has depth + 1 linear layers and the requested widths', () => {
    const mlp = new MLP(2, 1, { width: 8, depth: 3, layerNorm: true, residual: true, rng: new Rng(0) });
    expect(Object.keys(mlp.stateDict())).toEqual([
      'layer0.weight',
      'layer0.bias',
      'layer1.weight',
      'layer1.bias',
      'norm1.weight',
      'norm1.bias',
      'layer2.weight',
      'layer2.bias',
      'norm2.weight',
      'norm2.bias',
      'layer3.weight',
      'layer3.bias',
    ]);
    expect(mlp.forward(randn([5, 2], new Rng(1))).shape).toEqual([5, 1]);
  });

  it('zeroInitLast starts at the constant 0', () => {
    const mlp = new MLP(2, 3, { width: 8, depth: 2, zeroInitLast: true, rng: new Rng(0) });
    expect(values(mlp.forward(randn([4, 2], new Rng(1)))).every((v) => v === 0)).toBe(true);
  });

  it('has gradients that match finite differences (residual, layer norm, tanh)', () => {
    const mlp = new MLP(2, 2, {
      width: 4,
      depth: 2,
      residual: true,
      layerNorm: true,
      activation: 'tanh',
      rng: new Rng(2),
    });
    const x = randn([3, 2], new Rng(3));
    const proj = projector([3, 2], 4);
    checkGradients((p) => proj(mlp.apply(p, x)), mlp.parameters());
  });

  it('accepts an activation function', () => {
    const mlp = new MLP(1, 1, { width: 3, depth: 1, activation: (x) => x.square(), rng: new Rng(0) });
    expect(mlp.forward(tensor([[2]])).shape).toEqual([1, 1]);
    expect(() => new MLP(1, 1, { width: 3, depth: 1, activation: 'nope' as never, rng: new Rng(0) })).toThrow(
      JouleError,
    );
  });
});

describe('embeddings', () => {
  it('SinusoidalEmbedding gives sin and cos at geometric frequencies', () => {
    const emb = new SinusoidalEmbedding(4, { maxPeriod: 100 });
    const y = emb.forward(tensor([0, 2]));
    expect(y.shape).toEqual([2, 4]);
    const v = values(y);
    // frequencies 1 and 100^(-1/2) = 0.1
    const expected = [0, 0, 1, 1, Math.sin(2), Math.sin(0.2), Math.cos(2), Math.cos(0.2)];
    v.forEach((x, i) => {
      expect(x).toBeCloseTo(expected[i], 6);
    });
    expect(
      emb.forward(
        tensor([
          [1, 2],
          [3, 4],
        ]),
      ).shape,
    ).toEqual([2, 8]);
    expect(() => new SinusoidalEmbedding(3)).toThrow(/even/);
  });

  it('RandomFourierFeatures are frozen by default and seeded', () => {
    const rff = new RandomFourierFeatures(2, 8, { rng: new Rng(0), scale: 2 });
    expect(rff.namedParameters()).toEqual([]);
    expect(Object.keys(rff.stateDict())).toEqual(['B']);
    const x = randn([5, 2], new Rng(1));
    const y = rff.forward(x);
    expect(y.shape).toEqual([5, 16]);
    // sin² + cos² = 1 for each feature pair
    const v = values(y);
    for (let i = 0; i < 5; i++)
      for (let j = 0; j < 8; j++) expect(v[i * 16 + j] ** 2 + v[i * 16 + 8 + j] ** 2).toBeCloseTo(1, 5);
    const trainable = new RandomFourierFeatures(1, 3, { rng: new Rng(0), trainable: true });
    checkGradients((p) => trainable.apply(p, tensor([0.1, 0.3])).sum(), trainable.parameters(), 1e-3, 5e-3);
  });

  it('TimeEmbedding maps times to [n, dim] and is differentiable', () => {
    for (const kind of ['sinusoidal', 'fourier'] as const) {
      const temb = new TimeEmbedding(4, { rng: new Rng(0), hidden: 6, kind });
      expect(temb.forward(tensor([0, 0.5, 1])).shape).toEqual([3, 4]);
      const proj = projector([2, 4], 1);
      checkGradients((p) => proj(temb.apply(p, tensor([0.2, 0.7]))), temb.parameters());
    }
  });
});

describe('ConditionalMLP', () => {
  it('concat and FiLM modes have gradients that match finite differences', () => {
    const x = randn([3, 2], new Rng(0));
    const c = randn([3, 3], new Rng(1));
    const proj = projector([3, 1], 2);
    for (const mode of ['concat', 'film'] as const) {
      const net = new ConditionalMLP(2, 3, 1, {
        width: 4,
        depth: 2,
        mode,
        residual: true,
        layerNorm: true,
        activation: 'tanh',
        rng: new Rng(3),
      });
      // perturb the zero-initialized FiLM layers so their gradient paths are exercised
      net.load(
        Object.fromEntries(
          net.namedParameters().map(([n, t], i) => [n, t.add(randn(t.shape, new Rng(100 + i), 0, 0.1))]),
        ) as never,
      );
      checkGradients((p) => proj(net.apply(p, x, c)), net.parameters());
    }
  });

  it('FiLM starts as the unconditioned network and uses an embedding of integer contexts', () => {
    const net = new ConditionalMLP(2, 8, 1, {
      width: 6,
      depth: 2,
      mode: 'film',
      contextEmbedding: new SinusoidalEmbedding(8),
      rng: new Rng(0),
    });
    const x = randn([4, 2], new Rng(1));
    const a = values(net.forward(x, tensor([0, 1, 2, 3])));
    const b = values(net.forward(x, tensor([4, 4, 4, 4])));
    expect(a).toEqual(b); // γ = β = 0 at initialization
    expect(() => net.forward(x, tensor([[1, 2]]))).toThrow(JouleError);
  });
});

describe('SpectralNorm', () => {
  /** Largest singular value of a small matrix by float64 power iteration on WᵀW. */
  function topSingularValue(w: number[][]): number {
    const n = w[0].length;
    let v = new Array(n).fill(1);
    for (let k = 0; k < 500; k++) {
      const wv = w.map((row) => row.reduce((s, x, j) => s + x * v[j], 0));
      const next = new Array(n).fill(0).map((_, j) => w.reduce((s, row, i) => s + row[j] * wv[i], 0));
      const norm = Math.hypot(...next);
      v = next.map((x) => x / norm);
    }
    return Math.hypot(...w.map((row) => row.reduce((s, x, j) => s + x * v[j], 0)));
  }

  it('estimates the top singular value and normalizes the layer to spectral norm 1', () => {
    const lin = new Linear(3, 4, { rng: new Rng(0) });
    const sn = new SpectralNorm(lin, { rng: new Rng(1) });
    const w = lin.stateDict().weight.toArray() as number[][];
    const sigma = topSingularValue(w);
    expect(sn.sigma().dataSync()[0]).toBeCloseTo(sigma, 4);
    sn.eval();
    const lin2 = new Linear(3, 4, { rng: new Rng(0), bias: false });
    const sn2 = new SpectralNorm(lin2, { rng: new Rng(1) }).eval();
    const wn = sn2
      .forward(
        tensor([
          [1, 0, 0],
          [0, 1, 0],
          [0, 0, 1],
        ]),
      )
      .transpose()
      .toArray() as number[][];
    expect(topSingularValue(wn)).toBeCloseTo(1, 4);
  });

  it('updates u in training mode only, and its gradients match finite differences in eval mode', () => {
    const lin = new Linear(3, 2, { rng: new Rng(2) });
    const sn = new SpectralNorm(lin, { rng: new Rng(3) });
    const x = randn([4, 3], new Rng(4));
    const u0 = values(sn.stateDict().u);
    lin.load({ weight: randn([2, 3], new Rng(5)) });
    sn.eval().forward(x);
    expect(values(sn.stateDict().u)).toEqual(u0);
    sn.train().forward(x);
    expect(values(sn.stateDict().u)).not.toEqual(u0);
    sn.eval();
    const proj = projector([4, 2], 6);
    checkGradients((p) => proj(sn.apply(p, x)), sn.parameters());
  });
});

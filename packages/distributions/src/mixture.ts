import { type Distribution, JouleError } from '@joule/core';
import { concat, type Rng, randn, stack, type Tensor, tensor } from '@joule/tensor';
import { Categorical } from './categorical.js';
import { DiagNormal } from './normal.js';
import {
  assertFiniteTensor,
  assertPositive,
  checkPoints,
  checkSampleSize,
  fmt,
  LOG_2PI,
  type ParamLike,
  toTensor,
} from './util.js';

/** A distribution that also exposes its per-coordinate mean and variance. */
interface WithMoments extends Distribution {
  readonly mean: Tensor;
  readonly variance: Tensor;
}

function hasMoments(d: Distribution): d is WithMoments {
  const m = d as Partial<WithMoments>;
  try {
    return m.mean !== undefined && m.variance !== undefined;
  } catch {
    return false;
  }
}

/**
 * A finite mixture `p(x) = Σ_k w_k p_k(x)` of any components with the same dimension.
 *
 * `logProb` is `logSumExp_k(log w_k + log p_k(x))`, stable in log-space. `sample` is ancestral:
 * it draws a component index per point from the weights, samples each component for its count
 * and puts the points back in draw order (reparameterized through the components' own sampling;
 * the discrete index carries no gradient). Components must be unbatched (or batched with the same
 * size as the request).
 *
 * @example
 * ```ts
 * import { DiagNormal, Mixture } from '@joule/distributions';
 * import { Rng } from '@joule/tensor';
 *
 * const p = new Mixture([0.3, 0.7], [new DiagNormal([-2], [0.5]), new DiagNormal([2], [0.5])]);
 * const x = p.sample(1000, new Rng(0)); // [1000, 1]
 * const lp = p.logProb(x);              // [1000]
 * ```
 */
export class Mixture implements Distribution {
  /** The dimension of one point (that of every component). */
  readonly dim: number;
  /** The mixing distribution over component indices. */
  readonly mixing: Categorical;
  /** The components. */
  readonly components: readonly Distribution[];

  /**
   * @param weights - the mixing probabilities `[K]` (summing to 1) or a {@link Categorical}
   * @param components - `K` distributions of the same dimension
   */
  constructor(weights: ParamLike | Categorical, components: readonly Distribution[]) {
    const op = 'Mixture';
    if (!Array.isArray(components) || components.length === 0) {
      throw new JouleError(op, 'components', 'a non-empty array of distributions', String(components));
    }
    this.mixing = weights instanceof Categorical ? weights : new Categorical({ probs: weights });
    if (this.mixing.batchSize !== undefined) {
      throw new JouleError(op, 'weights', 'one weight vector [K]', `a batch of ${this.mixing.batchSize}`);
    }
    if (this.mixing.numCategories !== components.length) {
      throw new JouleError(
        op,
        'weights',
        `${components.length} weights (one per component)`,
        `${this.mixing.numCategories}`,
      );
    }
    this.dim = components[0]!.dim;
    components.forEach((c, k) => {
      if (c.dim !== this.dim)
        throw new JouleError(op, 'components', `every component of dim ${this.dim}`, `dim ${c.dim} at index ${k}`);
    });
    this.components = components;
  }

  /** The number of components `K`. */
  get numComponents(): number {
    return this.components.length;
  }

  /**
   * The log mixing weights, `[K]`.
   *
   * @example
   * ```ts
   * p.logWeights.exp().toArray(); // [0.3, 0.7]
   * ```
   */
  get logWeights(): Tensor {
    return this.mixing.logProbs;
  }

  /**
   * `log w_k + log p_k(x)` for every component, `[..., n, K]`.
   *
   * @example
   * ```ts
   * const joint = p.componentLogProbs(x); // [n, K]
   * ```
   */
  componentLogProbs(x: Tensor): Tensor {
    checkPoints('Mixture.logProb', x, this.dim, undefined);
    return stack(
      this.components.map((c) => c.logProb(x)),
      -1,
    ).add(this.logWeights);
  }

  /**
   * `log p(x) = logSumExp_k(log w_k + log p_k(x))`, `[..., n, d]` → `[..., n]`.
   *
   * @example
   * ```ts
   * const lp = p.logProb(x);
   * ```
   */
  logProb(x: Tensor): Tensor {
    return this.componentLogProbs(x).logSumExp(-1);
  }

  /**
   * The posterior probability of each component given each point, `[..., n, K]`.
   *
   * @example
   * ```ts
   * const r = p.responsibilities(x); // rows sum to 1
   * ```
   */
  responsibilities(x: Tensor): Tensor {
    return this.componentLogProbs(x).softmax(-1);
  }

  /**
   * `n` ancestral draws, `[n, d]`.
   *
   * @example
   * ```ts
   * const x = p.sample(100, rng);
   * ```
   */
  sample(n: number, rng: Rng): Tensor {
    checkSampleSize('Mixture.sample', n, undefined);
    const idx = this.mixing.sampleIndices(n, rng);
    return this.sampleFromIndices(idx, rng);
  }

  /**
   * Draws one point from component `indices[i]` for each `i`, in that order, `[n, d]`.
   *
   * @example
   * ```ts
   * const x = p.sampleFromIndices(Int32Array.of(0, 1, 1), rng); // [3, d]
   * ```
   */
  sampleFromIndices(indices: Int32Array, rng: Rng): Tensor {
    const K = this.numComponents;
    const counts = new Array<number>(K).fill(0);
    for (const k of indices) {
      if (!(k >= 0 && k < K))
        throw new JouleError('Mixture.sampleFromIndices', 'indices', `integers in [0, ${K})`, String(k));
      counts[k]!++;
    }
    const offsets = new Array<number>(K).fill(0);
    const pieces: Tensor[] = [];
    let start = 0;
    for (let k = 0; k < K; k++) {
      offsets[k] = start;
      start += counts[k]!;
      if (counts[k]! > 0) pieces.push(this.components[k]!.sample(counts[k]!, rng));
    }
    const grouped = pieces.length === 1 ? pieces[0]! : concat(pieces, 0);
    const order = new Float32Array(indices.length);
    const next = offsets.slice();
    for (let i = 0; i < indices.length; i++) order[i] = next[indices[i]!]!++;
    return grouped.indexSelect(tensor(order), 0);
  }

  /**
   * The mean `Σ_k w_k mean_k`, when every component has a `mean`.
   *
   * @example
   * ```ts
   * p.mean.toArray(); // [0.8]
   * ```
   */
  get mean(): Tensor {
    const comps = this.momentComponents('mean');
    const w = this.mixing.probs;
    return stack(
      comps.map((c) => c.mean),
      0,
    )
      .mul(w.unsqueeze(-1))
      .sum(0);
  }

  /**
   * The per-coordinate variance by the law of total variance,
   * `Σ_k w_k (var_k + mean_k²) − mean²`, when every component has a `mean` and a `variance`.
   *
   * @example
   * ```ts
   * p.variance.toArray();
   * ```
   */
  get variance(): Tensor {
    const comps = this.momentComponents('variance');
    const w = this.mixing.probs.unsqueeze(-1);
    const second = stack(
      comps.map((c) => c.variance.add(c.mean.square())),
      0,
    )
      .mul(w)
      .sum(0);
    return second.sub(this.mean.square());
  }

  private momentComponents(what: string): WithMoments[] {
    return this.components.map((c, k) => {
      if (!hasMoments(c))
        throw new JouleError(
          `Mixture.${what}`,
          'components',
          'components with mean and variance',
          `none at index ${k}`,
        );
      return c;
    });
  }
}

/**
 * A mixture of diagonal Gaussians `Σ_k w_k N(μ_k, diag(σ_k²))` with an exact, vectorized density
 * (one broadcast over all components instead of a loop) and vectorized reparameterized sampling
 * `x = μ_k + σ_k ε` (gradients reach `means` and `scales` when they are tensors). It is a
 * {@link Mixture} of {@link DiagNormal} components, so it can be used wherever one is expected.
 *
 * `scales` is a number (one isotropic σ for all), `[K]` (isotropic per component) or `[K, d]`.
 * `weights` defaults to equal weights `1/K`.
 *
 * @example
 * ```ts
 * import { GaussianMixture } from '@joule/distributions';
 * import { Rng } from '@joule/tensor';
 *
 * // The 2-D 25-mode grid: means {−2,…,2}², σ = 0.1, equal weights.
 * const grid = [];
 * for (let i = -2; i <= 2; i++) for (let j = -2; j <= 2; j++) grid.push([i, j]);
 * const p = new GaussianMixture(grid, 0.1);
 * const x = p.sample(1000, new Rng(0)); // [1000, 2]
 * ```
 */
export class GaussianMixture extends Mixture {
  /** The component means, `[K, d]`. */
  readonly means: Tensor;
  /** The component standard deviations, `[K, 1]` or `[K, d]`. */
  readonly scales: Tensor;

  /**
   * @param means - `[K, d]` component means
   * @param scales - a positive number, `[K]` or `[K, d]` standard deviations
   * @param weights - `[K]` mixing probabilities (default: equal)
   */
  constructor(means: ParamLike, scales: ParamLike, weights?: ParamLike) {
    const op = 'GaussianMixture';
    const mu = toTensor(means);
    if (mu.rank !== 2 || mu.shape[0] === 0 || mu.shape[1] === 0) {
      throw new JouleError(op, 'means', 'shape [K, d] with K, d ≥ 1', `shape ${fmt(mu.shape)}`);
    }
    const [K, d] = mu.shape as [number, number];
    assertFiniteTensor(op, 'means', mu);
    const s = normalizeScales(op, toTensor(scales), K, d);
    assertPositive(op, 'scales', s);
    const w = weights ?? new Array<number>(K).fill(1 / K);
    const comps = Array.from(
      { length: K },
      (_, k) => new DiagNormal(mu.slice([k, 0], [1, d]).reshape([d]), s.slice([k, 0], [1, -1]).reshape([-1])),
    );
    super(w, comps);
    this.means = mu;
    this.scales = s;
  }

  /**
   * `log w_k + log N(x; μ_k, σ_k²)` for every component, `[..., n, K]`, in one broadcast.
   *
   * @example
   * ```ts
   * const joint = p.componentLogProbs(x); // [n, K]
   * ```
   */
  override componentLogProbs(x: Tensor): Tensor {
    checkPoints('GaussianMixture.logProb', x, this.dim, undefined);
    const z = x.unsqueeze(-2).sub(this.means).div(this.scales); // [..., n, K, d]
    const logNorm = this.scales
      .log()
      .broadcastTo([this.numComponents, this.dim])
      .sum(-1)
      .add(0.5 * this.dim * LOG_2PI); // [K]
    return z.square().sum(-1).mul(-0.5).sub(logNorm).add(this.logWeights);
  }

  /**
   * `n` ancestral draws `μ_k + σ_k ε`, vectorized, `[n, d]`.
   *
   * @example
   * ```ts
   * const x = p.sample(100, rng);
   * ```
   */
  override sampleFromIndices(indices: Int32Array, rng: Rng): Tensor {
    const K = this.numComponents;
    for (const k of indices) {
      if (!(k >= 0 && k < K))
        throw new JouleError('GaussianMixture.sampleFromIndices', 'indices', `integers in [0, ${K})`, String(k));
    }
    const idx = tensor(Float32Array.from(indices));
    const eps = randn([indices.length, this.dim], rng);
    return this.means.indexSelect(idx, 0).add(this.scales.indexSelect(idx, 0).mul(eps));
  }
}

function normalizeScales(op: string, s: Tensor, K: number, d: number): Tensor {
  if (s.rank === 0) return s.reshape([1, 1]).broadcastTo([K, 1]);
  if (s.rank === 1 && s.shape[0] === K) return s.reshape([K, 1]);
  if (s.rank === 2 && s.shape[0] === K && (s.shape[1] === 1 || s.shape[1] === d)) return s;
  throw new JouleError(op, 'scales', `a number, [${K}], [${K}, 1] or [${K}, ${d}]`, `shape ${fmt(s.shape)}`);
}

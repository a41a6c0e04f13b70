import { assertPositiveInt } from '@joule/core';
import { concat, JouleError, type Rng, randn, type Tensor, tensor } from '@joule/tensor';
import { type ActivationFn, type ActivationName, activation } from './activations.js';
import { checkLastDim, Linear, needRng } from './layers.js';
import { Module } from './module.js';
import { describe, formatShape, type ParamTree } from './tree.js';

/** `[n]` or `[n, c]` to `[n, c, 1]`-ready columns `[n, c]`. */
function columns(op: string, x: Tensor, c?: number): Tensor {
  if (x.rank === 1) return x.reshape([x.shape[0], 1]);
  if (x.rank === 2 && (c === undefined || x.shape[1] === c)) return x;
  throw new JouleError(
    op,
    'x',
    c === undefined ? 'shape [n] or [n, c]' : `shape [n] or [n, ${c}]`,
    `shape ${formatShape(x.shape)}`,
  );
}

/** Options of {@link SinusoidalEmbedding}. */
export interface SinusoidalEmbeddingOptions {
  /** The longest period, `10000` by default (as in the Transformer and DDPM). */
  maxPeriod?: number;
  /** Inputs are multiplied by this first (default 1; use ~1000 for times in [0, 1]). */
  scale?: number;
}

/**
 * Sinusoidal features of scalars (times, integer class labels, noise levels): for each input value
 * `t`, `[sin(t ω₀), …, sin(t ω_{k−1}), cos(t ω₀), …, cos(t ω_{k−1})]` with `k = dim / 2` frequencies
 * `ω_j = maxPeriod^(−j / k)`. Input `[n]` gives `[n, dim]`; input `[n, c]` embeds each column and gives
 * `[n, c · dim]`. No parameters.
 *
 * @example
 * ```ts
 * const embed = new SinusoidalEmbedding(16);
 * embed.forward(tensor([0, 1, 2, 3, 4])).shape; // [5, 16] — e.g. the pinwheel arm index as context
 * ```
 */
export class SinusoidalEmbedding extends Module {
  /** Features per input column. */
  readonly dim: number;
  private readonly freqs: Tensor;

  /** An embedding into `dim` features (`dim` even). */
  constructor(dim: number, options: SinusoidalEmbeddingOptions = {}) {
    super();
    assertPositiveInt('SinusoidalEmbedding', 'dim', dim);
    if (dim % 2 !== 0) throw new JouleError('SinusoidalEmbedding', 'dim', 'an even number', String(dim));
    const maxPeriod = options.maxPeriod ?? 10000;
    const scale = options.scale ?? 1;
    if (!(maxPeriod > 0))
      throw new JouleError('SinusoidalEmbedding', 'options.maxPeriod', 'a positive number', describe(maxPeriod));
    if (!Number.isFinite(scale))
      throw new JouleError('SinusoidalEmbedding', 'options.scale', 'a finite number', describe(scale));
    this.dim = dim;
    const k = dim / 2;
    const f = new Float32Array(k);
    for (let j = 0; j < k; j++) f[j] = scale * Math.exp((-Math.log(maxPeriod) * j) / k);
    this.freqs = tensor(f);
  }

  protected compute(_p: ParamTree, x: Tensor): Tensor {
    const cols = columns('SinusoidalEmbedding', x);
    const [n, c] = cols.shape;
    const args = cols.unsqueeze(2).mul(this.freqs); // [n, c, k]
    return concat([args.sin(), args.cos()], 2).reshape([n, c * this.dim]);
  }
}

/** Options of {@link RandomFourierFeatures}. */
export interface RandomFourierFeaturesOptions {
  /** The generator the frequencies are drawn from. */
  rng: Rng;
  /** Standard deviation σ of the frequencies `B ~ N(0, σ²)` (default 1). */
  scale?: number;
  /** Train the frequencies (default false: they are a frozen parameter, saved in checkpoints). */
  trainable?: boolean;
}

/**
 * Random Fourier features (Tancik et al., 2020): `[sin(2π x Bᵀ), cos(2π x Bᵀ)]` with a fixed random
 * matrix `B` of shape `[numFeatures, inFeatures]`, entries `N(0, σ²)`. Input `[n, inFeatures]` (or
 * `[n]` when `inFeatures` is 1) gives `[n, 2 · numFeatures]`.
 *
 * @example
 * ```ts
 * const rff = new RandomFourierFeatures(2, 64, { rng: new Rng(0), scale: 4 });
 * rff.forward(x).shape; // [n, 128]
 * ```
 */
export class RandomFourierFeatures extends Module {
  /** Input width. */
  readonly inFeatures: number;
  /** Output width, `2 · numFeatures`. */
  readonly outFeatures: number;

  /** Features of `inFeatures`-dimensional inputs from `numFeatures` random frequencies. */
  constructor(inFeatures: number, numFeatures: number, options: RandomFourierFeaturesOptions) {
    super();
    assertPositiveInt('RandomFourierFeatures', 'inFeatures', inFeatures);
    assertPositiveInt('RandomFourierFeatures', 'numFeatures', numFeatures);
    const rng = needRng('RandomFourierFeatures', options?.rng);
    const scale = options.scale ?? 1;
    if (!(scale > 0))
      throw new JouleError('RandomFourierFeatures', 'options.scale', 'a positive number', describe(scale));
    this.inFeatures = inFeatures;
    this.outFeatures = 2 * numFeatures;
    this.addParameter('B', randn([numFeatures, inFeatures], rng, 0, scale), options.trainable ?? false);
  }

  protected compute(p: ParamTree, x: Tensor): Tensor {
    const cols = x.rank === 1 && this.inFeatures === 1 ? x.reshape([x.shape[0], 1]) : x;
    checkLastDim('RandomFourierFeatures', 'x', cols, this.inFeatures);
    const args = cols.matmul(p.B as Tensor, { transB: true }).mul(2 * Math.PI);
    return concat([args.sin(), args.cos()], -1);
  }
}

/** Options of {@link TimeEmbedding}. */
export interface TimeEmbeddingOptions {
  /** The generator the weights (and Fourier frequencies) are drawn from. */
  rng: Rng;
  /** The base features: `'sinusoidal'` (default) or Gaussian `'fourier'` features. */
  kind?: 'sinusoidal' | 'fourier';
  /** Input scale: multiplies `t` for sinusoidal features (default 1000), σ of the frequencies for Fourier ones (default 16). */
  scale?: number;
  /** Width of the hidden layer of the projection (default `4 · dim`). */
  hidden?: number;
  /** Activation of the projection (default `'silu'`). */
  activation?: ActivationName | ActivationFn;
}

/**
 * The time embedding of diffusion and interpolant models: base features of `t` (sinusoidal or
 * Gaussian Fourier) followed by `Linear → activation → Linear`. Input `[n]` or `[n, 1]` (times,
 * typically in [0, 1]) gives `[n, dim]`.
 *
 * @example
 * ```ts
 * const temb = new TimeEmbedding(32, { rng: new Rng(0) });
 * temb.forward(tensor([0, 0.5, 1])).shape; // [3, 32]
 * ```
 */
export class TimeEmbedding extends Module {
  /** Output width. */
  readonly dim: number;
  private readonly base: SinusoidalEmbedding | RandomFourierFeatures;
  private readonly proj0: Linear;
  private readonly proj1: Linear;
  private readonly act: ActivationFn;

  /** A learned embedding of times into `dim` features (`dim` even). */
  constructor(dim: number, options: TimeEmbeddingOptions) {
    super();
    assertPositiveInt('TimeEmbedding', 'dim', dim);
    if (dim % 2 !== 0) throw new JouleError('TimeEmbedding', 'dim', 'an even number', String(dim));
    const rng = needRng('TimeEmbedding', options?.rng);
    const hidden = options.hidden ?? 4 * dim;
    assertPositiveInt('TimeEmbedding', 'options.hidden', hidden);
    const kind = options.kind ?? 'sinusoidal';
    if (kind === 'sinusoidal') this.base = new SinusoidalEmbedding(dim, { scale: options.scale ?? 1000 });
    else if (kind === 'fourier') this.base = new RandomFourierFeatures(1, dim / 2, { rng, scale: options.scale ?? 16 });
    else throw new JouleError('TimeEmbedding', 'options.kind', "'sinusoidal' or 'fourier'", describe(kind));
    this.addModule('base', this.base);
    this.dim = dim;
    this.act = activation(options.activation ?? 'silu');
    this.proj0 = this.addModule('proj0', new Linear(dim, hidden, { rng }));
    this.proj1 = this.addModule('proj1', new Linear(hidden, dim, { rng }));
  }

  protected compute(p: ParamTree, t: Tensor): Tensor {
    const cols = columns('TimeEmbedding', t, 1);
    const feats = this.base.apply(p.base as ParamTree | undefined, cols);
    const h = this.act(this.proj0.apply(p.proj0 as ParamTree, feats));
    return this.proj1.apply(p.proj1 as ParamTree, h);
  }
}

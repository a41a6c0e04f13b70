import { assertPositiveInt } from '@joule/core';
import { concat, JouleError, type Rng, type Tensor } from '@joule/tensor';
import { type ActivationFn, type ActivationName, activation } from './activations.js';
import type { Initializer, InitName } from './init.js';
import { checkLastDim, LayerNorm, Linear, MLP, needRng } from './layers.js';
import { Module } from './module.js';
import { describe, formatShape, type ParamTree } from './tree.js';

/** Options of {@link ConditionalMLP}. */
export interface ConditionalMLPOptions {
  /** The generator the initial weights are drawn from. */
  rng: Rng;
  /** Width of the hidden layers. */
  width: number;
  /** Number of hidden layers (≥ 1). */
  depth: number;
  /**
   * How the context enters: `'concat'` (default) feeds `[x, context]` to an MLP; `'film'` modulates
   * every hidden layer, `h ← act((1 + γ(c)) ⊙ (W h + b) + β(c))`, with `γ, β` linear in the context
   * and starting at zero.
   */
  mode?: 'concat' | 'film';
  /** Applied to the context first (a {@link SinusoidalEmbedding} for integer labels, say); `contextDim` is then its output width. */
  contextEmbedding?: Module;
  /** The activation (default `'silu'`). */
  activation?: ActivationName | ActivationFn;
  /** Residual hidden layers 1 … depth − 1 (default false). */
  residual?: boolean;
  /** Layer-normalize the input of hidden layers 1 … depth − 1 (default false). */
  layerNorm?: boolean;
  /** Start the output layer at zero (default false). */
  zeroInitLast?: boolean;
  /** Initializer of the weights (see {@link LinearOptions.init}). */
  init?: InitName | Initializer;
}

/**
 * An MLP of `(x, context)`: `x` is `[n, inFeatures]`, `context` is `[n, contextDim]` (or what
 * `contextEmbedding` maps it to), the output `[n, outFeatures]` — a conditional energy
 * `E(x | c)` with `outFeatures = 1`. The context enters by concatenation or by FiLM.
 *
 * @example
 * ```ts
 * const energy = new ConditionalMLP(2, 16, 1, {
 *   width: 128, depth: 3, mode: 'film', contextEmbedding: new SinusoidalEmbedding(16), rng: new Rng(0),
 * });
 * energy.forward(x, armIndex).shape; // [n, 1]
 * ```
 */
export class ConditionalMLP extends Module<[Tensor, Tensor]> {
  /** Width of `x`. */
  readonly inFeatures: number;
  /** Width of the (embedded) context. */
  readonly contextDim: number;
  /** Output width. */
  readonly outFeatures: number;
  /** How the context enters. */
  readonly mode: 'concat' | 'film';
  private readonly embedding: Module | null;
  private readonly mlp: MLP | null = null;
  private readonly layers: Linear[] = [];
  private readonly films: Linear[] = [];
  private readonly norms: (LayerNorm | null)[] = [];
  private readonly act: ActivationFn;
  private readonly residual: boolean;

  /** A conditional MLP `(x: [n, inFeatures], context) → [n, outFeatures]`. */
  constructor(inFeatures: number, contextDim: number, outFeatures: number, options: ConditionalMLPOptions) {
    super();
    assertPositiveInt('ConditionalMLP', 'inFeatures', inFeatures);
    assertPositiveInt('ConditionalMLP', 'contextDim', contextDim);
    assertPositiveInt('ConditionalMLP', 'outFeatures', outFeatures);
    const rng = needRng('ConditionalMLP', options?.rng);
    assertPositiveInt('ConditionalMLP', 'options.width', options.width);
    assertPositiveInt('ConditionalMLP', 'options.depth', options.depth);
    this.inFeatures = inFeatures;
    this.contextDim = contextDim;
    this.outFeatures = outFeatures;
    this.mode = options.mode ?? 'concat';
    this.act = activation(options.activation ?? 'silu');
    this.residual = options.residual ?? false;
    const emb = options.contextEmbedding;
    if (emb !== undefined && !(emb instanceof Module)) {
      throw new JouleError('ConditionalMLP', 'options.contextEmbedding', 'a Module', describe(emb));
    }
    this.embedding = emb ? this.addModule('embedding', emb) : null;
    const { width, depth } = options;
    if (this.mode === 'concat') {
      this.mlp = this.addModule(
        'mlp',
        new MLP(inFeatures + contextDim, outFeatures, { ...options, activation: this.act }),
      );
    } else if (this.mode === 'film') {
      for (let i = 0; i <= depth; i++) {
        const last = i === depth;
        const init = last && options.zeroInitLast ? 'zeros' : options.init;
        this.layers.push(
          this.addModule(
            `layer${i}`,
            new Linear(i === 0 ? inFeatures : width, last ? outFeatures : width, { rng, init }),
          ),
        );
        if (last) break;
        this.films.push(this.addModule(`film${i}`, new Linear(contextDim, 2 * width, { rng, init: 'zeros' })));
        this.norms.push(options.layerNorm && i > 0 ? this.addModule(`norm${i}`, new LayerNorm(width)) : null);
      }
    } else {
      throw new JouleError('ConditionalMLP', 'options.mode', "'concat' or 'film'", describe(this.mode));
    }
  }

  protected compute(p: ParamTree, x: Tensor, context: Tensor): Tensor {
    checkLastDim('ConditionalMLP', 'x', x, this.inFeatures);
    const c = this.embedding ? this.embedding.apply(p.embedding as ParamTree | undefined, context) : context;
    checkLastDim('ConditionalMLP', this.embedding ? 'context (embedded)' : 'context', c, this.contextDim);
    if (c.shape[0] !== x.shape[0] || c.rank !== x.rank) {
      throw new JouleError('ConditionalMLP', 'context', `${x.shape[0]} rows like x`, `shape ${formatShape(c.shape)}`);
    }
    if (this.mlp) return this.mlp.apply(p.mlp as ParamTree | undefined, concat([x, c], -1));
    const last = this.layers.length - 1;
    let h = x;
    for (let i = 0; i < last; i++) {
      const norm = this.norms[i];
      const z = norm ? norm.apply(p[`norm${i}`] as ParamTree | undefined, h) : h;
      const pre = this.layers[i].apply(p[`layer${i}`] as ParamTree | undefined, z);
      const gb = this.films[i].apply(p[`film${i}`] as ParamTree | undefined, c);
      const w = pre.shape[pre.rank - 1];
      const gamma = gb.slice([0, 0], [-1, w]);
      const beta = gb.slice([0, w], [-1, w]);
      const a = this.act(pre.add(pre.mul(gamma)).add(beta));
      h = this.residual && i > 0 ? h.add(a) : a;
    }
    return this.layers[last].apply(p[`layer${last}`] as ParamTree | undefined, h);
  }
}

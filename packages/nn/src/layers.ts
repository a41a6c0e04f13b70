import { assertPositiveInt } from '@joule/core';
import { JouleError, ones, type Rng, rand, Tensor, zeros } from '@joule/tensor';
import { type ActivationFn, type ActivationName, activation } from './activations.js';
import { type Initializer, type InitName, initializer } from './init.js';
import { Module } from './module.js';
import { describe, formatShape, type ParamTree } from './tree.js';

/** @internal Throws unless `x` is a tensor whose last axis has `dim` entries. */
export function checkLastDim(op: string, arg: string, x: unknown, dim: number): asserts x is Tensor {
  if (!(x instanceof Tensor) || x.rank === 0 || x.shape[x.rank - 1] !== dim) {
    throw new JouleError(
      op,
      arg,
      `a tensor of shape [..., ${dim}]`,
      x instanceof Tensor ? `shape ${formatShape(x.shape)}` : describe(x),
    );
  }
}

/** @internal The generator of a layer's options, checked. */
export function needRng(op: string, rng: unknown): Rng {
  if (!rng || typeof (rng as Rng).uniform !== 'function')
    throw new JouleError(op, 'options.rng', 'an Rng', describe(rng));
  return rng as Rng;
}

/** Options of {@link Linear}. */
export interface LinearOptions {
  /** The generator the initial weights are drawn from. */
  rng: Rng;
  /** Add a bias (default true). */
  bias?: boolean;
  /**
   * How the weight starts: `'default'` (PyTorch's `nn.Linear`: `U(±1/√in)` for weight and bias), a
   * named initializer or a function. Biases start at zero for every choice but `'default'`.
   */
  init?: InitName | Initializer;
}

/**
 * `y = x Wᵀ + b`, with `weight` of shape `[out, in]` and `bias` of shape `[out]` (PyTorch's layout,
 * so checkpoints move between the two). `x` is `[..., in]`.
 *
 * @example
 * ```ts
 * const lin = new Linear(2, 64, { rng: new Rng(0) });
 * lin.forward(randn([8, 2], rng)).shape; // [8, 64]
 * ```
 */
export class Linear extends Module {
  /** Input width. */
  readonly inFeatures: number;
  /** Output width. */
  readonly outFeatures: number;
  /** Whether the layer adds a bias. */
  readonly hasBias: boolean;

  /** A layer from `inFeatures` to `outFeatures`, initialized from `options.rng`. */
  constructor(inFeatures: number, outFeatures: number, options: LinearOptions) {
    super();
    assertPositiveInt('Linear', 'inFeatures', inFeatures);
    assertPositiveInt('Linear', 'outFeatures', outFeatures);
    const rng = needRng('Linear', options?.rng);
    this.inFeatures = inFeatures;
    this.outFeatures = outFeatures;
    this.hasBias = options.bias ?? true;
    const init = options.init ?? 'default';
    this.addParameter('weight', initializer(init)([outFeatures, inFeatures], rng));
    if (this.hasBias) {
      const bound = 1 / Math.sqrt(inFeatures);
      this.addParameter('bias', init === 'default' ? rand([outFeatures], rng, -bound, bound) : zeros([outFeatures]));
    }
  }

  protected compute(p: ParamTree, x: Tensor): Tensor {
    checkLastDim('Linear', 'x', x, this.inFeatures);
    const y = x.matmul(p.weight as Tensor, { transB: true });
    return this.hasBias ? y.add(p.bias as Tensor) : y;
  }
}

/** Options of {@link LayerNorm}. */
export interface LayerNormOptions {
  /** Added to the variance (default 1e-5). */
  eps?: number;
  /** Learn a scale `weight` (ones) and shift `bias` (zeros) (default true). */
  affine?: boolean;
}

/**
 * Normalizes the last axis to zero mean and unit variance, then scales and shifts:
 * `(x − mean) / √(var + eps) · weight + bias`.
 *
 * @example
 * ```ts
 * const ln = new LayerNorm(64);
 * ln.forward(h); // same shape as h
 * ```
 */
export class LayerNorm extends Module {
  /** The size of the normalized axis. */
  readonly dim: number;
  /** The variance offset. */
  readonly eps: number;
  private readonly affine: boolean;

  /** A layer norm over a last axis of size `dim`. */
  constructor(dim: number, options: LayerNormOptions = {}) {
    super();
    assertPositiveInt('LayerNorm', 'dim', dim);
    this.dim = dim;
    this.eps = options.eps ?? 1e-5;
    if (!(this.eps > 0)) throw new JouleError('LayerNorm', 'options.eps', 'a positive number', String(this.eps));
    this.affine = options.affine ?? true;
    if (this.affine) {
      this.addParameter('weight', ones([dim]));
      this.addParameter('bias', zeros([dim]));
    }
  }

  protected compute(p: ParamTree, x: Tensor): Tensor {
    checkLastDim('LayerNorm', 'x', x, this.dim);
    const centered = x.sub(x.mean(-1, true));
    const y = centered.mul(centered.square().mean(-1, true).add(this.eps).rsqrt());
    return this.affine ? y.mul(p.weight as Tensor).add(p.bias as Tensor) : y;
  }
}

/**
 * An activation as a module (no parameters), for {@link Sequential}.
 *
 * @example
 * ```ts
 * new Sequential(new Linear(2, 16, { rng }), new Activation('silu'), new Linear(16, 1, { rng }));
 * ```
 */
export class Activation extends Module {
  /** The function applied. */
  readonly fn: ActivationFn;

  /** The activation `nameOrFn` (see {@link activation}). */
  constructor(nameOrFn: ActivationName | ActivationFn) {
    super();
    this.fn = activation(nameOrFn);
  }

  protected compute(_p: ParamTree, x: Tensor): Tensor {
    return this.fn(x);
  }
}

/**
 * Modules applied one after the other; their parameters are named `0`, `1`, … in order.
 *
 * @example
 * ```ts
 * const net = new Sequential(new Linear(2, 16, { rng }), new Activation('tanh'), new Linear(16, 1, { rng }));
 * net.forward(x);
 * Object.keys(net.stateDict()); // ['0.weight', '0.bias', '2.weight', '2.bias']
 * ```
 */
export class Sequential extends Module {
  /** The modules in order. */
  readonly layers: readonly Module[];

  /** A chain of `layers`. */
  constructor(...layers: Module[]) {
    super();
    layers.forEach((m, i) => {
      this.addModule(String(i), m);
    });
    this.layers = layers;
  }

  protected compute(p: ParamTree, x: Tensor): Tensor {
    let h = x;
    for (let i = 0; i < this.layers.length; i++) h = this.layers[i].apply(p[i] as ParamTree | undefined, h);
    return h;
  }
}

/** Options of {@link MLP}. */
export interface MLPOptions {
  /** The generator the initial weights are drawn from. */
  rng: Rng;
  /** Width of the hidden layers. */
  width: number;
  /** Number of hidden layers (≥ 0; 0 is a single linear map). */
  depth: number;
  /** The activation after each hidden layer (default `'silu'`). */
  activation?: ActivationName | ActivationFn;
  /** Add each hidden layer's output to its input (layers 1 … depth − 1, default false). */
  residual?: boolean;
  /** Layer-normalize the input of hidden layers 1 … depth − 1 (default false). */
  layerNorm?: boolean;
  /** Start the last layer at zero, so the network starts at the constant 0 (default false). */
  zeroInitLast?: boolean;
  /** Initializer of the weights (see {@link LinearOptions.init}). */
  init?: InitName | Initializer;
}

/**
 * A multilayer perceptron `in → width → … → width → out`: `depth` hidden layers, each a linear map
 * followed by the activation; hidden layers after the first may be residual (`h + act(W h + b)`)
 * and layer-normalized on their input. Parameters are `layer0` … `layer{depth}` (the last is the
 * output layer) and `norm1` … `norm{depth−1}`.
 *
 * @example
 * ```ts
 * const energy = new MLP(2, 1, { width: 128, depth: 3, activation: 'silu', residual: true, rng: new Rng(0) });
 * const e = energy.forward(x).squeeze(1); // [n]
 * ```
 */
export class MLP extends Module {
  /** Input width. */
  readonly inFeatures: number;
  /** Output width. */
  readonly outFeatures: number;
  private readonly layers: Linear[] = [];
  private readonly norms: (LayerNorm | null)[] = [];
  private readonly act: ActivationFn;
  private readonly residual: boolean;

  /** An MLP from `inFeatures` to `outFeatures`. */
  constructor(inFeatures: number, outFeatures: number, options: MLPOptions) {
    super();
    assertPositiveInt('MLP', 'inFeatures', inFeatures);
    assertPositiveInt('MLP', 'outFeatures', outFeatures);
    const rng = needRng('MLP', options?.rng);
    assertPositiveInt('MLP', 'options.width', options.width);
    if (!Number.isInteger(options.depth) || options.depth < 0) {
      throw new JouleError('MLP', 'options.depth', 'a non-negative integer', describe(options.depth));
    }
    this.inFeatures = inFeatures;
    this.outFeatures = outFeatures;
    this.act = activation(options.activation ?? 'silu');
    this.residual = options.residual ?? false;
    const { depth, width } = options;
    for (let i = 0; i <= depth; i++) {
      const last = i === depth;
      const init = last && options.zeroInitLast ? 'zeros' : options.init;
      const layer = new Linear(i === 0 ? inFeatures : width, last ? outFeatures : width, { rng, init });
      this.layers.push(this.addModule(`layer${i}`, layer));
      const norm = options.layerNorm && i > 0 && !last ? this.addModule(`norm${i}`, new LayerNorm(width)) : null;
      this.norms.push(norm);
    }
  }

  protected compute(p: ParamTree, x: Tensor): Tensor {
    checkLastDim('MLP', 'x', x, this.inFeatures);
    const last = this.layers.length - 1;
    let h = x;
    for (let i = 0; i < last; i++) {
      const norm = this.norms[i];
      const z = norm ? norm.apply(p[`norm${i}`] as ParamTree | undefined, h) : h;
      const a = this.act(this.layers[i].apply(p[`layer${i}`] as ParamTree | undefined, z));
      h = this.residual && i > 0 ? h.add(a) : a;
    }
    return this.layers[last].apply(p[`layer${last}`] as ParamTree | undefined, h);
  }
}

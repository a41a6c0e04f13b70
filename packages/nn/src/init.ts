import { JouleError, type Rng, rand, randn, type Tensor, zeros } from '@joule/tensor';
import { formatShape } from './tree.js';

/**
 * Makes a tensor of `shape` from a generator: how a layer's weights start.
 *
 * @example
 * ```ts
 * const init: Initializer = xavierUniform();
 * const w = init([64, 2], new Rng(0));
 * ```
 */
export type Initializer = (shape: readonly number[], rng: Rng) => Tensor;

/** The fan-in and fan-out of a weight shape (see {@link fans}). */
export interface Fans {
  /** Inputs feeding each output unit. */
  fanIn: number;
  /** Outputs each input unit feeds. */
  fanOut: number;
}

/**
 * `fanIn` and `fanOut` of a weight shape in PyTorch's layout: `[out, in, ...kernel]` (a vector has
 * `fanIn = fanOut = its length`).
 *
 * @example
 * ```ts
 * fans([64, 2]); // { fanIn: 2, fanOut: 64 }
 * ```
 */
export function fans(shape: readonly number[]): Fans {
  if (shape.length === 0) throw new JouleError('fans', 'shape', 'at least one dimension', formatShape(shape));
  if (shape.length === 1) return { fanIn: shape[0], fanOut: shape[0] };
  const receptive = shape.slice(2).reduce((a, b) => a * b, 1);
  return { fanIn: shape[1] * receptive, fanOut: shape[0] * receptive };
}

/**
 * The recommended gain of an activation for Xavier/Kaiming initialization (PyTorch's `calculate_gain`).
 *
 * @example
 * ```ts
 * gain('relu');             // √2
 * gain('leakyRelu', 0.2);   // √(2 / (1 + 0.2²))
 * ```
 */
export function gain(
  nonlinearity: 'linear' | 'sigmoid' | 'tanh' | 'relu' | 'leakyRelu' | 'selu',
  slope = 0.01,
): number {
  switch (nonlinearity) {
    case 'linear':
    case 'sigmoid':
      return 1;
    case 'tanh':
      return 5 / 3;
    case 'relu':
      return Math.SQRT2;
    case 'leakyRelu':
      return Math.sqrt(2 / (1 + slope * slope));
    case 'selu':
      return 3 / 4;
    default:
      throw new JouleError(
        'gain',
        'nonlinearity',
        "'linear', 'sigmoid', 'tanh', 'relu', 'leakyRelu' or 'selu'",
        String(nonlinearity),
      );
  }
}

function positive(op: string, arg: string, v: number): number {
  if (!(typeof v === 'number' && v > 0 && Number.isFinite(v)))
    throw new JouleError(op, arg, 'a positive finite number', String(v));
  return v;
}

/**
 * Xavier/Glorot uniform: `U(−a, a)` with `a = gain · √(6 / (fanIn + fanOut))`.
 *
 * @example
 * ```ts
 * const w = xavierUniform()([64, 2], rng);
 * ```
 */
export function xavierUniform(gainValue = 1): Initializer {
  positive('xavierUniform', 'gain', gainValue);
  return (shape, rng) => {
    const { fanIn, fanOut } = fans(shape);
    const a = gainValue * Math.sqrt(6 / (fanIn + fanOut));
    return rand(shape, rng, -a, a);
  };
}

/**
 * Xavier/Glorot normal: `N(0, σ²)` with `σ = gain · √(2 / (fanIn + fanOut))`.
 *
 * @example
 * ```ts
 * const w = xavierNormal()([64, 2], rng);
 * ```
 */
export function xavierNormal(gainValue = 1): Initializer {
  positive('xavierNormal', 'gain', gainValue);
  return (shape, rng) => {
    const { fanIn, fanOut } = fans(shape);
    return randn(shape, rng, 0, gainValue * Math.sqrt(2 / (fanIn + fanOut)));
  };
}

/** Options of {@link kaimingUniform} and {@link kaimingNormal}. */
export interface KaimingOptions {
  /** Preserve the variance of the forward pass (`'fanIn'`, the default) or of the backward pass (`'fanOut'`). */
  mode?: 'fanIn' | 'fanOut';
  /** The gain, `√2` (ReLU) by default; see {@link gain}. */
  gain?: number;
}

/**
 * He/Kaiming uniform: `U(−b, b)` with `b = gain · √(3 / fan)`.
 *
 * @example
 * ```ts
 * const w = kaimingUniform()([64, 2], rng);
 * ```
 */
export function kaimingUniform(options: KaimingOptions = {}): Initializer {
  const g = positive('kaimingUniform', 'gain', options.gain ?? Math.SQRT2);
  return (shape, rng) => {
    const f = fans(shape);
    const b = g * Math.sqrt(3 / (options.mode === 'fanOut' ? f.fanOut : f.fanIn));
    return rand(shape, rng, -b, b);
  };
}

/**
 * He/Kaiming normal: `N(0, σ²)` with `σ = gain / √fan`.
 *
 * @example
 * ```ts
 * const w = kaimingNormal({ mode: 'fanOut' })([64, 2], rng);
 * ```
 */
export function kaimingNormal(options: KaimingOptions = {}): Initializer {
  const g = positive('kaimingNormal', 'gain', options.gain ?? Math.SQRT2);
  return (shape, rng) => {
    const f = fans(shape);
    return randn(shape, rng, 0, g / Math.sqrt(options.mode === 'fanOut' ? f.fanOut : f.fanIn));
  };
}

/**
 * PyTorch's default for `nn.Linear`: `U(−1/√fanIn, 1/√fanIn)` (Kaiming uniform with `a = √5`).
 *
 * @example
 * ```ts
 * const w = lecunUniform()([64, 2], rng);
 * ```
 */
export function lecunUniform(): Initializer {
  return (shape, rng) => {
    const b = 1 / Math.sqrt(fans(shape).fanIn);
    return rand(shape, rng, -b, b);
  };
}

/**
 * All zeros (the generator is not used).
 *
 * @example
 * ```ts
 * const b = zerosInit()([64], rng);
 * ```
 */
export function zerosInit(): Initializer {
  return (shape) => zeros(shape);
}

/**
 * The named initializers that layers accept as `init`.
 *
 * @example
 * ```ts
 * new Linear(2, 64, { rng, init: 'kaimingNormal' });
 * ```
 */
export type InitName = 'default' | 'xavierUniform' | 'xavierNormal' | 'kaimingUniform' | 'kaimingNormal' | 'zeros';

/**
 * The initializer for a name (`'default'` is PyTorch's `nn.Linear` default, {@link lecunUniform}),
 * or `init` itself when it is already a function.
 *
 * @example
 * ```ts
 * const init = initializer('xavierUniform');
 * ```
 */
export function initializer(init: InitName | Initializer): Initializer {
  if (typeof init === 'function') return init;
  switch (init) {
    case 'default':
      return lecunUniform();
    case 'xavierUniform':
      return xavierUniform();
    case 'xavierNormal':
      return xavierNormal();
    case 'kaimingUniform':
      return kaimingUniform();
    case 'kaimingNormal':
      return kaimingNormal();
    case 'zeros':
      return zerosInit();
    default:
      throw new JouleError(
        'initializer',
        'init',
        "'default', 'xavierUniform', 'xavierNormal', 'kaimingUniform', 'kaimingNormal', 'zeros' or a function",
        String(init),
      );
  }
}

import { JouleError, maximum, type Tensor, where } from '@joule/tensor';

/**
 * An element-wise nonlinearity.
 *
 * @example
 * ```ts
 * const act: ActivationFn = (x) => x.tanh();
 * ```
 */
export type ActivationFn = (x: Tensor) => Tensor;

/**
 * The activations known by name.
 *
 * @example
 * ```ts
 * new MLP(2, 1, { width: 64, depth: 2, activation: 'silu', rng });
 * ```
 */
export type ActivationName =
  | 'relu'
  | 'leakyRelu'
  | 'elu'
  | 'silu'
  | 'swish'
  | 'gelu'
  | 'tanh'
  | 'sigmoid'
  | 'softplus'
  | 'identity';

/**
 * The activation functions by name: `relu`, `leakyRelu` (slope 0.01), `elu` (α = 1), `silu`/`swish`,
 * `gelu` (exact), `tanh`, `sigmoid`, `softplus`, `identity`.
 *
 * @example
 * ```ts
 * activations.silu(x);
 * ```
 */
export const activations: Readonly<Record<ActivationName, ActivationFn>> = Object.freeze({
  relu: (x: Tensor) => x.relu(),
  leakyRelu: (x: Tensor) => maximum(x, x.mul(0.01)),
  elu: (x: Tensor) => where(x.gt(0), x, x.minimum(0).expm1()),
  silu: (x: Tensor) => x.silu(),
  swish: (x: Tensor) => x.silu(),
  gelu: (x: Tensor) => x.gelu(),
  tanh: (x: Tensor) => x.tanh(),
  sigmoid: (x: Tensor) => x.sigmoid(),
  softplus: (x: Tensor) => x.softplus(),
  identity: (x: Tensor) => x,
});

/**
 * The activation for a name, or the function itself.
 *
 * @example
 * ```ts
 * const act = activation('gelu');
 * act(x);
 * ```
 */
export function activation(nameOrFn: ActivationName | ActivationFn): ActivationFn {
  if (typeof nameOrFn === 'function') return nameOrFn;
  const fn = Object.hasOwn(activations, nameOrFn) ? activations[nameOrFn] : undefined;
  if (!fn)
    throw new JouleError(
      'activation',
      'activation',
      `a function or one of ${Object.keys(activations).join(', ')}`,
      String(nameOrFn),
    );
  return fn;
}

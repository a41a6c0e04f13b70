import { JouleError, type Rng, rand, randn, Tensor, tensor, tidy, vjp } from '@joule/tensor';

/** How {@link divergence} computes `div f = tr(∂f/∂x)`. */
export interface DivergenceOptions {
  /**
   * `'exact'` (default): one vector–Jacobian product per dimension, `d` products for a batch `[n, d]`
   * (what the R-NCE paper uses in 2-D; its footnote 4 explains why a stochastic trace is unsuitable
   * for ranking samples by log-density). `'hutchinson'`: `mean_k εₖᵀ (∂f/∂x) εₖ` with random
   * probes, unbiased, one product per probe.
   */
  method?: 'exact' | 'hutchinson';
  /** Hutchinson probes per point (default 1). */
  probes?: number;
  /** Hutchinson probe law: `'rademacher'` (±1, default; lower variance) or `'gaussian'`. */
  noise?: 'rademacher' | 'gaussian';
  /** Generator of the probes (required for `'hutchinson'` unless `eps` is given). */
  rng?: Rng;
  /** Fixed probes `[probes, n, d]` (reused along an ODE so the estimate of the integral is consistent). */
  eps?: Tensor;
}

/** What {@link divergence} returns. */
export interface DivergenceResult {
  /** `f(x)`, shape `[n, d]`. */
  value: Tensor;
  /** `div f` at each point, shape `[n]`. */
  divergence: Tensor;
}

/**
 * Draws Hutchinson probes of shape `[probes, n, d]`: Rademacher (±1) or standard normal.
 *
 * @example
 * ```ts
 * const eps = hutchinsonProbes(4, 128, 2, 'rademacher', new Rng(0));
 * ```
 */
export function hutchinsonProbes(
  probes: number,
  n: number,
  d: number,
  noise: 'rademacher' | 'gaussian',
  rng: Rng,
): Tensor {
  const op = 'hutchinsonProbes';
  for (const [arg, v] of [
    ['probes', probes],
    ['n', n],
    ['d', d],
  ] as const) {
    if (!Number.isInteger(v) || v <= 0) throw new JouleError(op, arg, 'a positive integer', String(v));
  }
  if (!rng || typeof rng.uniform !== 'function') throw new JouleError(op, 'rng', 'an Rng', String(rng));
  if (noise === 'gaussian') return randn([probes, n, d], rng);
  if (noise !== 'rademacher') throw new JouleError(op, 'noise', "'rademacher' or 'gaussian'", String(noise));
  return tidy(() => rand([probes, n, d], rng).lt(0.5).mul(2).sub(1));
}

/**
 * The divergence `tr(∂f/∂x)` of a batched vector field at each point of `x` (`[n, d]`), together
 * with `f(x)`. `f` must treat the rows of `x` independently (no batch statistics). Both outputs
 * are differentiable with respect to anything `f` closes over (second order: gradients of the
 * divergence with respect to parameters), and the function works under `noGrad`.
 *
 * @example
 * ```ts
 * const A = tensor([[1, 2], [3, 4]]);
 * const { divergence: div } = divergence((x) => x.matmul(A), randn([8, 2], rng));   // all 5 = tr A
 * const est = divergence(f, x, { method: 'hutchinson', probes: 16, rng });
 * ```
 */
export function divergence(f: (x: Tensor) => Tensor, x: Tensor, options: DivergenceOptions = {}): DivergenceResult {
  const op = 'divergence';
  if (typeof f !== 'function') throw new JouleError(op, 'f', 'a function x => Tensor', typeof f);
  if (!(x instanceof Tensor) || x.rank !== 2) {
    throw new JouleError(
      op,
      'x',
      'a tensor of shape [n, d]',
      x instanceof Tensor ? `shape [${x.shape.join(', ')}]` : typeof x,
    );
  }
  const [n, d] = x.shape;
  const method = options.method ?? 'exact';
  if (method !== 'exact' && method !== 'hutchinson')
    throw new JouleError(op, 'method', "'exact' or 'hutchinson'", String(method));
  let eps: Tensor | undefined;
  if (method === 'hutchinson') {
    if (options.eps !== undefined) {
      eps = options.eps;
      if (!(eps instanceof Tensor) || eps.rank !== 3 || eps.shape[1] !== n || eps.shape[2] !== d) {
        throw new JouleError(
          op,
          'eps',
          `probes of shape [k, ${n}, ${d}]`,
          eps instanceof Tensor ? `shape [${eps.shape.join(', ')}]` : typeof eps,
        );
      }
    } else {
      const probes = options.probes ?? 1;
      if (!Number.isInteger(probes) || probes <= 0)
        throw new JouleError(op, 'probes', 'a positive integer', String(probes));
      if (!options.rng) throw new JouleError(op, 'rng', "an Rng for method 'hutchinson'", 'undefined');
    }
  }
  const r = vjp(f, x);
  try {
    const value = r.out;
    if (!(value instanceof Tensor) || value.rank !== 2 || value.shape[0] !== n || value.shape[1] !== d) {
      throw new JouleError(
        op,
        'f',
        `a function returning shape [${n}, ${d}] like x`,
        value instanceof Tensor ? `shape [${value.shape.join(', ')}]` : typeof value,
      );
    }
    const div = tidy(() => {
      if (method === 'exact') {
        let acc: Tensor | undefined;
        for (let i = 0; i < d; i++) {
          const basis = new Float32Array(d);
          basis[i] = 1;
          const e = tensor(basis, [1, d]).broadcastTo([n, d]);
          const row = r.vjp(e).slice([0, i], [n, 1]);
          acc = acc ? acc.add(row) : row;
        }
        return (acc as Tensor).reshape([n]);
      }
      const probes =
        eps ?? hutchinsonProbes(options.probes ?? 1, n, d, options.noise ?? 'rademacher', options.rng as Rng);
      const k = probes.shape[0];
      let acc: Tensor | undefined;
      for (let j = 0; j < k; j++) {
        const e = probes.slice([j, 0, 0], [1, n, d]).reshape([n, d]);
        const quad = r.vjp(e).mul(e).sum(1);
        acc = acc ? acc.add(quad) : quad;
      }
      return (acc as Tensor).div(k);
    });
    return { value, divergence: div };
  } finally {
    r.release();
  }
}

import { JouleError } from '@joule/core';
import type { ParamTree } from '@joule/nn';
import { type Rng, randn, stack, type Tensor, tensor, vjp } from '@joule/tensor';

/**
 * An energy with explicit parameters: `(params, x) => E_θ(x)`, `x` of shape `[n, d]` to `[n]`, with
 * `p_θ(x) ∝ exp(−E_θ(x))`. A `Module` fits as `(p, x) => module.apply(p, x)` with
 * `module.parameters()` as the tree; a closed-form energy is a plain function of a tensor tree.
 *
 * @example
 * ```ts
 * import type { ParametricEnergy } from '@joule/estimator-jarzynski';
 *
 * // A Gaussian with learnable mean: E(x) = |x − μ|² / 2.
 * const gaussian: ParametricEnergy<{ mu: Tensor }> = (p, x) => x.sub(p.mu).square().sum(1).mul(0.5);
 * ```
 */
export type ParametricEnergy<P extends ParamTree = ParamTree> = (params: P, x: Tensor) => Tensor;

/**
 * The parameters `θ = (a, b, z)` of the paper's two-mode student energy (eq. 15): mode locations
 * `a`, `b` (shape `[d]`) and the log-mass offset `z` (shape `[1]`); the mass of mode `a` is
 * `σ(z) = 1 / (1 + e^{−z})`.
 *
 * @example
 * ```ts
 * const theta: MixtureParams = { a: zeros([50]), b: zeros([50]), z: zeros([1]) };
 * ```
 */
export interface MixtureParams extends ParamTree {
  /** Location of the first mode, `[d]`. */
  a: Tensor;
  /** Location of the second mode, `[d]`. */
  b: Tensor;
  /** Log-mass offset of the second mode, `[1]`. */
  z: Tensor;
}

/**
 * The paper's parametric student energy (eq. 15):
 * `U_θ(x) = −log(e^{−½|x−a|²} + e^{−½|x−b|² − z})`, with `Z_θ = (2π)^{d/2}(1 + e^{−z})`.
 *
 * @example
 * ```ts
 * import { mixtureEnergy } from '@joule/estimator-jarzynski';
 *
 * const u = mixtureEnergy({ a, b, z }, x); // [n]
 * ```
 */
export const mixtureEnergy: ParametricEnergy<MixtureParams> = (params, x) => {
  const ea = x.sub(params.a).square().sum(1).mul(-0.5);
  const eb = x.sub(params.b).square().sum(1).mul(-0.5).sub(params.z);
  return stack([ea, eb], 1).logSumExp(1).neg();
};

/**
 * The exact `log Z_θ = (d/2) log 2π + log(1 + e^{−z})` of {@link mixtureEnergy}.
 *
 * @example
 * ```ts
 * import { mixtureLogZ } from '@joule/estimator-jarzynski';
 *
 * mixtureLogZ(0, 2); // log(2π) + log 2
 * ```
 */
export function mixtureLogZ(z: number, dim: number): number {
  const softplusNegZ = z > 0 ? Math.log1p(Math.exp(-z)) : -z + Math.log1p(Math.exp(z));
  return 0.5 * dim * Math.log(2 * Math.PI) + softplusNegZ;
}

/**
 * Exact draws from `ρ_θ ∝ exp(−U_θ)` for {@link mixtureEnergy}: each point is `N(a, I)` with
 * probability `σ(z)` and `N(b, I)` otherwise. Gives the walkers `X_0 ~ ρ_{θ_0}` that Proposition 1
 * needs.
 *
 * @example
 * ```ts
 * import { sampleMixture } from '@joule/estimator-jarzynski';
 *
 * const walkers = sampleMixture(theta0, 1000, new Rng(0)); // [1000, d]
 * ```
 */
export function sampleMixture(params: MixtureParams, n: number, rng: Rng): Tensor {
  if (!Number.isInteger(n) || n <= 0) throw new JouleError('sampleMixture', 'n', 'a positive integer', String(n));
  const a = params.a.dataSync();
  const b = params.b.dataSync();
  const z = params.z.dataSync()[0];
  const d = a.length;
  const massA = 1 / (1 + Math.exp(-z));
  const u = rng.uniform(n);
  const noiseT = randn([n, d], rng);
  const noise = Float32Array.from(noiseT.dataSync());
  noiseT.dispose();
  const out = new Float32Array(n * d);
  for (let i = 0; i < n; i++) {
    const mean = u[i] < massA ? a : b;
    for (let j = 0; j < d; j++) out[i * d + j] = mean[j] + noise[i * d + j];
  }
  return tensor(out, [n, d]);
}

/** Energies (float64 copy, `[n]`) and input gradients (`[n, d]`) of `energy(params, ·)` at `x`. */
export function energyAndGradX<P extends ParamTree>(
  energy: ParametricEnergy<P>,
  params: P,
  x: Tensor,
): { values: Float64Array; gradX: Tensor } {
  const r = vjp((y: Tensor) => energy(params, y), x);
  try {
    const out = r.out;
    if (out.rank !== 1 || out.shape[0] !== x.shape[0]) {
      throw new JouleError('energy', 'energy(params, x)', `shape [${x.shape[0]}]`, `shape [${out.shape.join(', ')}]`);
    }
    const values = Float64Array.from(out.dataSync());
    const gradX = r.vjp(tensor(new Float32Array(x.shape[0]).fill(1), [x.shape[0]]));
    return { values, gradX };
  } finally {
    r.release();
  }
}

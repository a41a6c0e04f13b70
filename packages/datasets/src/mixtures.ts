import { JouleError } from '@joule/core';
import { GaussianMixture } from '@joule/distributions';
import { Rng, randn, stack, type Tensor, tensor } from '@joule/tensor';

/**
 * Options of {@link cnceMixture}.
 *
 * @example
 * ```ts
 * import type { CnceMixtureOptions } from '@joule/datasets';
 *
 * const options: CnceMixtureOptions = { seed: 1 };
 * ```
 */
export interface CnceMixtureOptions {
  /** The dimension, 20 (the paper's). */
  dim?: number;
  /** The number of components, 40 (the paper's). */
  components?: number;
  /** The per-coordinate standard deviation of every component, 0.1 (the paper's). */
  std?: number;
  /**
   * The seed of the generator that draws the means, 0 by default. The paper does not say whether
   * its seeds changed the mixture; we keep one fixed data seed and vary only training seeds.
   */
  seed?: number;
}

/**
 * The CNCE paper's 20-D target (paper 001, §4 and App. C): 40 components with means
 * `μ_k ~ N(0, I_20)` (drawn from `new Rng(seed)` with `randn([40, 20])`), covariance `0.1² I`, and
 * equal weights `1/40` (the digest derives equal weights from the reported numbers). The modes are
 * about 6.3 apart, so its entropy is `10 log(2πe·0.01) + log 40 ≈ −13.984` nats.
 *
 * @example
 * ```ts
 * import { cnceMixture } from '@joule/datasets';
 * import { Rng } from '@joule/tensor';
 *
 * const p = cnceMixture();
 * const train = p.sample(10000, new Rng(1)); // [10000, 20]
 * const lp = p.logProb(train);               // exact
 * ```
 */
export function cnceMixture(options: CnceMixtureOptions = {}): GaussianMixture {
  const op = 'cnceMixture';
  const d = options.dim ?? 20;
  const k = options.components ?? 40;
  const std = options.std ?? 0.1;
  const seed = options.seed ?? 0;
  if (!Number.isInteger(d) || d <= 0) throw new JouleError(op, 'dim', 'a positive integer', String(d));
  if (!Number.isInteger(k) || k <= 0) throw new JouleError(op, 'components', 'a positive integer', String(k));
  if (!(std > 0) || !Number.isFinite(std)) throw new JouleError(op, 'std', 'a finite positive number', String(std));
  return new GaussianMixture(randn([k, d], new Rng(seed)), std);
}

/**
 * Options of {@link TwoModeMixture}.
 *
 * @example
 * ```ts
 * import type { TwoModeMixtureOptions } from '@joule/datasets';
 *
 * const options: TwoModeMixtureOptions = { dim: 2, a: [-5, 0], b: [5, 0], z: 0 };
 * ```
 */
export interface TwoModeMixtureOptions {
  /** The dimension `d`, 50 (the paper's). */
  dim?: number;
  /** The mode `a`, `(−10, 0, …, 0)` by default (the paper's `a*`). */
  a?: ArrayLike<number>;
  /** The mode `b`, `(6, 0, …, 0)` by default (the paper's `b*`). */
  b?: ArrayLike<number>;
  /** The log-weight offset `z` of mode `b`, `−log 3` by default (`z*`: mode `a` holds 25%). */
  z?: number;
}

/**
 * The Jarzynski paper's two-mode Gaussian mixture (paper 003, eq. 14):
 * `ρ(x) = Z⁻¹ (e^{−½|x−a|²} + e^{−½|x−b|² − z})` with `Z = (2π)^{d/2} (1 + e^{−z})`, i.e. unit
 * covariances, mass `p = 1/(1 + e^{−z})` on mode `a` and `1 − p` on mode `b`. The defaults are the
 * paper's teacher: `d = 50`, `a* = (−10, 0, …)`, `b* = (6, 0, …)`, `z* = −log 3` (so `p* = 0.25`).
 * It is a {@link GaussianMixture} (exact `logProb`, `sample`) with the energy and `log Z` of the
 * paper's parameterization.
 *
 * @example
 * ```ts
 * import { TwoModeMixture } from '@joule/datasets';
 * import { Rng } from '@joule/tensor';
 *
 * const teacher = new TwoModeMixture();
 * teacher.massA;          // 0.25
 * teacher.logNormalizer;  // 25 log 2π + log 4 ≈ 47.3332
 * const x = teacher.sample(1000, new Rng(0)); // [1000, 50]
 * ```
 */
export class TwoModeMixture extends GaussianMixture {
  /** The mode `a`, `[d]`. */
  readonly a: Tensor;
  /** The mode `b`, `[d]`. */
  readonly b: Tensor;
  /** The log-weight offset `z`. */
  readonly z: number;
  /** `log Z = (d/2) log 2π + log(1 + e^{−z})`. */
  readonly logNormalizer: number;
  /** The mass of mode `a`, `1 / (1 + e^{−z})`. */
  readonly massA: number;

  /**
   * @param options - the dimension, the modes and `z` (the paper's teacher by default)
   */
  constructor(options: TwoModeMixtureOptions = {}) {
    const op = 'TwoModeMixture';
    const d = options.dim ?? 50;
    if (!Number.isInteger(d) || d <= 0) throw new JouleError(op, 'dim', 'a positive integer', String(d));
    const mode = (arg: string, given: ArrayLike<number> | undefined, first: number): Float32Array => {
      if (given === undefined) {
        const v = new Float32Array(d);
        v[0] = first;
        return v;
      }
      if (given.length !== d) throw new JouleError(op, arg, `${d} coordinates`, `${given.length}`);
      const v = Float32Array.from(given);
      if (!v.every(Number.isFinite)) throw new JouleError(op, arg, 'finite coordinates', Array.from(v).join(', '));
      return v;
    };
    const a = mode('a', options.a, -10);
    const b = mode('b', options.b, 6);
    const z = options.z ?? -Math.log(3);
    if (!Number.isFinite(z)) throw new JouleError(op, 'z', 'a finite number', String(z));
    // log(1 + e^{−z}) computed stably; p = σ(z)
    const log1pExpNegZ = z > 0 ? Math.log1p(Math.exp(-z)) : -z + Math.log1p(Math.exp(z));
    const massA = 1 / (1 + Math.exp(-z));
    const means = new Float32Array(2 * d);
    means.set(a, 0);
    means.set(b, d);
    super(tensor(means, [2, d]), 1, [massA, 1 - massA]);
    this.a = tensor(a, [d]);
    this.b = tensor(b, [d]);
    this.z = z;
    this.massA = massA;
    this.logNormalizer = 0.5 * d * Math.log(2 * Math.PI) + log1pExpNegZ;
  }

  /**
   * The paper's energy `U(x) = −log(e^{−½|x−a|²} + e^{−½|x−b|² − z})` (eq. 15 at these
   * parameters), `[..., n, d]` → `[..., n]`; `log ρ = −U − log Z`.
   *
   * @example
   * ```ts
   * const u = teacher.energy(x); // [n]
   * ```
   */
  energy(x: Tensor): Tensor {
    if (x.rank < 1 || x.shape[x.rank - 1] !== this.dim) {
      throw new JouleError(
        'TwoModeMixture.energy',
        'x',
        `shape [..., n, ${this.dim}]`,
        `shape [${x.shape.join(', ')}]`,
      );
    }
    const ea = x.sub(this.a).square().sum(-1).mul(-0.5);
    const eb = x.sub(this.b).square().sum(-1).mul(-0.5).sub(this.z);
    return stack([ea, eb], -1).logSumExp(-1).neg();
  }
}

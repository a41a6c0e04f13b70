import { type Distribution, JouleError } from '@joule/core';
import { concat, type Rng, randn, type Tensor, tensor } from '@joule/tensor';
import { checkPoints, checkSampleSize, fmt, LOG_2PI, type ParamLike, toTensor } from './util.js';

/**
 * How a {@link GaussianKDE} chooses its kernel covariance:
 * - `'scott'` (default): the data covariance times `factor²` with Scott's factor
 *   `n_eff^(−1/(d+4))`, exactly as `scipy.stats.gaussian_kde` defines it;
 * - `'silverman'`: Silverman's factor `(n_eff (d+2) / 4)^(−1/(d+4))` (scipy's definition);
 * - `{ factor }`: a fixed factor times the data covariance (scipy's scalar `bw_method`);
 * - `{ std }`: a fixed isotropic kernel `std² I`, independent of the data (the KDE noise of the
 *   CNCE paper).
 *
 * `n_eff = (Σ w)² / Σ w²` is the effective number of points (`n` without weights).
 *
 * @example
 * ```ts
 * import type { Bandwidth } from '@joule/distributions';
 *
 * const a: Bandwidth = 'silverman';
 * const b: Bandwidth = { std: 0.1 };
 * ```
 */
export type Bandwidth =
  | 'scott'
  | 'silverman'
  | {
      /** A positive factor multiplying the data covariance's square root. */
      factor: number;
    }
  | {
      /** A positive isotropic kernel standard deviation. */
      std: number;
    };

/**
 * Options of {@link GaussianKDE}.
 *
 * @example
 * ```ts
 * import type { GaussianKDEOptions } from '@joule/distributions';
 *
 * const options: GaussianKDEOptions = { bandwidth: 'scott' };
 * ```
 */
export interface GaussianKDEOptions {
  /** The bandwidth rule, `'scott'` by default. */
  bandwidth?: Bandwidth;
  /** Non-negative weights of the points, `[N]` (normalized internally); equal by default. */
  weights?: ParamLike;
}

/** How many kernel evaluations one chunk of `logProb` builds at most. */
const CHUNK_ENTRIES = 1 << 22;

/**
 * A Gaussian kernel density estimate `q(x) = Σ_i w_i N(x; x_i, H)` of points `x_i` (`[N, d]`),
 * with the kernel covariance `H` from a {@link Bandwidth} rule (Scott's by default, as in
 * `scipy.stats.gaussian_kde`).
 *
 * `logProb` whitens with the Cholesky factor of `H` and evaluates all `N` kernels per query as one
 * matrix product and a log-sum-exp, in chunks of queries (memory stays under ~16 MB per chunk);
 * it is differentiable in the query points. The data are centred before whitening, and
 * `‖zₓ − zᵢ‖²` is expanded as `‖zₓ‖² − 2 zₓ·zᵢ + ‖zᵢ‖²` in float32: when the kernel is very
 * narrow compared with the data's spread (whitened norms of order 10³), the exponent carries an
 * absolute rounding error of order `1e-7 · ‖z‖²`. The statistics (mean, covariance, factor,
 * Cholesky) are computed in float64 on the host. `sample` picks a point by weight and adds
 * kernel noise, `x_i + L ε`.
 *
 * @example
 * ```ts
 * import { GaussianKDE } from '@joule/distributions';
 * import { Rng, randn } from '@joule/tensor';
 *
 * const rng = new Rng(0);
 * const data = randn([500, 2], rng);
 * const kde = new GaussianKDE(data);                 // Scott's rule
 * const lp = kde.logProb(randn([10, 2], rng));       // [10]
 * const x = kde.sample(100, rng);                     // [100, 2]
 * ```
 */
export class GaussianKDE implements Distribution {
  /** The dimension `d`. */
  readonly dim: number;
  /** The number of points `N`. */
  readonly numPoints: number;
  /** The effective number of points `(Σ w)² / Σ w²`. */
  readonly effectiveSize: number;
  /** The bandwidth factor (`NaN` with a fixed `{ std }` kernel). */
  readonly factor: number;
  /** The points, `[N, d]`. */
  readonly data: Tensor;
  /** The weighted, unbiased data covariance (scipy's), `[d, d]`. */
  readonly dataCovariance: Tensor;
  /** The kernel covariance `H`, `[d, d]`. */
  readonly covariance: Tensor;
  /**
   * The per-coordinate variance of the KDE, `[d]`: the weighted spread of the points (divided by
   * `Σ w = 1`, not the unbiased one) plus the kernel's variance `diag(H)`.
   */
  readonly variance: Tensor;
  private readonly weights: Float64Array | undefined;
  private readonly center: Tensor;
  private readonly whitenT: Tensor;
  private readonly whitened: Tensor;
  private readonly halfSqNorms: Tensor;
  private readonly logNormalizer: number;
  private readonly cholesky: Tensor;

  /**
   * @param data - the points, `[N, d]` (a tensor or nested arrays); treated as constants
   * @param options - the bandwidth rule and optional weights
   * @throws JouleError for an empty or non-finite dataset, bad weights, or a singular kernel
   *   covariance (e.g. all points on a line with a data-based bandwidth)
   */
  constructor(data: ParamLike, options: GaussianKDEOptions = {}) {
    const op = 'GaussianKDE';
    const x = toTensor(data);
    if (x.rank !== 2 || x.shape[0] === 0 || x.shape[1] === 0) {
      throw new JouleError(op, 'data', 'points of shape [N, d] with N, d ≥ 1', `shape ${fmt(x.shape)}`);
    }
    const [N, d] = x.shape as [number, number];
    const v = x.dataSync();
    for (let i = 0; i < v.length; i++) {
      if (!Number.isFinite(v[i]!)) throw new JouleError(op, 'data', 'finite values', `${v[i]} at index ${i}`);
    }
    this.dim = d;
    this.numPoints = N;
    this.data = x;

    const w = new Float64Array(N);
    if (options.weights === undefined) {
      w.fill(1 / N);
    } else {
      const wt = toTensor(options.weights);
      if (wt.rank !== 1 || wt.shape[0] !== N)
        throw new JouleError(op, 'weights', `shape [${N}]`, `shape ${fmt(wt.shape)}`);
      const wv = wt.dataSync();
      let s = 0;
      for (let i = 0; i < N; i++) {
        if (!(wv[i]! >= 0) || !Number.isFinite(wv[i]!))
          throw new JouleError(op, 'weights', 'finite non-negative values', `${wv[i]} at index ${i}`);
        s += wv[i]!;
      }
      if (!(s > 0)) throw new JouleError(op, 'weights', 'a positive total', String(s));
      for (let i = 0; i < N; i++) w[i] = wv[i]! / s;
    }
    this.weights = options.weights === undefined ? undefined : w;
    let sumW2 = 0;
    for (let i = 0; i < N; i++) sumW2 += w[i]! * w[i]!;
    this.effectiveSize = 1 / sumW2;

    const mean = new Float64Array(d);
    for (let i = 0; i < N; i++) for (let j = 0; j < d; j++) mean[j] += w[i]! * v[i * d + j]!;
    const cov = new Float64Array(d * d);
    for (let i = 0; i < N; i++) {
      for (let a = 0; a < d; a++) {
        const da = v[i * d + a]! - mean[a]!;
        for (let b = 0; b <= a; b++) cov[a * d + b] += w[i]! * da * (v[i * d + b]! - mean[b]!);
      }
    }
    const fact = 1 - sumW2;
    for (let a = 0; a < d; a++) {
      for (let b = 0; b <= a; b++) {
        cov[a * d + b] = fact > 0 ? cov[a * d + b]! / fact : Number.NaN;
        cov[b * d + a] = cov[a * d + b]!;
      }
    }
    this.dataCovariance = tensor(Float32Array.from(cov), [d, d]);

    const bw = options.bandwidth ?? 'scott';
    const kernel = new Float64Array(d * d);
    if (bw === 'scott' || bw === 'silverman' || (typeof bw === 'object' && bw !== null && 'factor' in bw)) {
      let f: number;
      if (bw === 'scott') f = this.effectiveSize ** (-1 / (d + 4));
      else if (bw === 'silverman') f = ((this.effectiveSize * (d + 2)) / 4) ** (-1 / (d + 4));
      else {
        f = bw.factor;
        if (!(f > 0) || !Number.isFinite(f))
          throw new JouleError(op, 'bandwidth.factor', 'a finite positive number', String(f));
      }
      if (!(fact > 0))
        throw new JouleError(op, 'data', 'at least 2 points (effective) for a data-based bandwidth', `${N} point(s)`);
      this.factor = f;
      for (let i = 0; i < d * d; i++) kernel[i] = cov[i]! * f * f;
    } else if (typeof bw === 'object' && bw !== null && 'std' in bw) {
      const s = bw.std;
      if (!(s > 0) || !Number.isFinite(s))
        throw new JouleError(op, 'bandwidth.std', 'a finite positive number', String(s));
      this.factor = Number.NaN;
      for (let j = 0; j < d; j++) kernel[j * d + j] = s * s;
    } else {
      throw new JouleError(op, 'bandwidth', "'scott', 'silverman', { factor } or { std }", JSON.stringify(bw));
    }
    this.covariance = tensor(Float32Array.from(kernel), [d, d]);
    const spread = new Float32Array(d);
    for (let j = 0; j < d; j++) spread[j] = (fact > 0 ? cov[j * d + j]! * fact : 0) + kernel[j * d + j]!;
    this.variance = tensor(spread, [d]);

    const L = choleskyF64(kernel, d);
    if (!L)
      throw new JouleError(
        op,
        'data',
        'a non-singular kernel covariance (points spanning all d dimensions)',
        'a singular one',
      );
    this.cholesky = tensor(Float32Array.from(L), [d, d]);
    const Linv = invertLower(L, d);
    let halfLogDet = 0;
    for (let j = 0; j < d; j++) halfLogDet += Math.log(L[j * d + j]!);
    this.logNormalizer = 0.5 * d * LOG_2PI + halfLogDet;

    // whitened, centred points zᵢ = L⁻¹ (xᵢ − m), and ½‖zᵢ‖² − log wᵢ
    const z = new Float32Array(N * d);
    const half = new Float32Array(N);
    for (let i = 0; i < N; i++) {
      let sq = 0;
      for (let a = 0; a < d; a++) {
        let acc = 0;
        for (let b = 0; b <= a; b++) acc += Linv[a * d + b]! * (v[i * d + b]! - mean[b]!);
        z[i * d + a] = acc;
        sq += acc * acc;
      }
      half[i] = 0.5 * sq - Math.log(w[i]!);
    }
    this.whitened = tensor(z, [N, d]);
    this.halfSqNorms = tensor(half, [N]);
    this.center = tensor(Float32Array.from(mean), [d]);
    const LinvT = new Float32Array(d * d);
    for (let a = 0; a < d; a++) for (let b = 0; b < d; b++) LinvT[b * d + a] = Linv[a * d + b]!;
    this.whitenT = tensor(LinvT, [d, d]);
  }

  /**
   * `log q(x)` of each row of `x` (`[..., n, d]` → `[..., n]`), differentiable in `x`.
   *
   * @example
   * ```ts
   * const lp = kde.logProb(x);
   * ```
   */
  logProb(x: Tensor): Tensor {
    checkPoints('GaussianKDE.logProb', x, this.dim, undefined);
    const lead = x.shape.slice(0, -1);
    const flat = x.reshape([-1, this.dim]);
    const m = flat.shape[0]!;
    const zx = flat.sub(this.center).matmul(this.whitenT);
    const rows = Math.max(1, Math.floor(CHUNK_ENTRIES / this.numPoints));
    const parts: Tensor[] = [];
    for (let start = 0; start < m; start += rows) {
      const size = Math.min(rows, m - start);
      const zc = m <= rows ? zx : zx.slice([start, 0], [size, this.dim]);
      const expo = zc
        .matmul(this.whitened, { transB: true })
        .sub(zc.square().sum(-1, true).mul(0.5))
        .sub(this.halfSqNorms);
      parts.push(expo.logSumExp(-1));
    }
    const lse = parts.length === 1 ? parts[0]! : concat(parts, 0);
    return lse.sub(this.logNormalizer).reshape(lead);
  }

  /**
   * `n` draws: a point chosen by weight plus kernel noise, `[n, d]`.
   *
   * @example
   * ```ts
   * const x = kde.sample(100, rng);
   * ```
   */
  sample(n: number, rng: Rng): Tensor {
    checkSampleSize('GaussianKDE.sample', n, undefined);
    const N = this.numPoints;
    let idx: Float32Array;
    if (this.weights === undefined) {
      idx = rng.integers(n, 0, N);
    } else {
      const cdf = new Float64Array(N);
      let acc = 0;
      for (let i = 0; i < N; i++) cdf[i] = acc += this.weights[i]!;
      const u = rng.uniform(n);
      idx = new Float32Array(n);
      for (let s = 0; s < n; s++) {
        const t = u[s]! * acc;
        let lo = 0;
        let hi = N - 1;
        while (lo < hi) {
          const mid = (lo + hi) >> 1;
          if (cdf[mid]! > t) hi = mid;
          else lo = mid + 1;
        }
        while (lo > 0 && this.weights[lo] === 0) lo--;
        idx[s] = lo;
      }
    }
    const eps = randn([n, this.dim], rng);
    return this.data.indexSelect(tensor(idx), 0).add(eps.matmul(this.cholesky, { transB: true }));
  }

  /**
   * The weighted mean of the points, `[d]` (the mean of the KDE).
   *
   * @example
   * ```ts
   * kde.mean.toArray();
   * ```
   */
  get mean(): Tensor {
    return this.center;
  }
}

/** Lower Cholesky factor of a symmetric `d × d` matrix in float64, or `undefined` if not PD. */
function choleskyF64(a: Float64Array, d: number): Float64Array | undefined {
  const L = new Float64Array(d * d);
  for (let i = 0; i < d; i++) {
    for (let j = 0; j <= i; j++) {
      let s = a[i * d + j]!;
      for (let k = 0; k < j; k++) s -= L[i * d + k]! * L[j * d + k]!;
      if (i === j) {
        if (!(s > 0)) return undefined;
        L[i * d + i] = Math.sqrt(s);
      } else {
        L[i * d + j] = s / L[j * d + j]!;
      }
    }
  }
  return L;
}

/** The inverse of a lower-triangular `d × d` matrix (lower triangular), float64. */
function invertLower(L: Float64Array, d: number): Float64Array {
  const inv = new Float64Array(d * d);
  for (let j = 0; j < d; j++) {
    inv[j * d + j] = 1 / L[j * d + j]!;
    for (let i = j + 1; i < d; i++) {
      let s = 0;
      for (let k = j; k < i; k++) s -= L[i * d + k]! * inv[k * d + j]!;
      inv[i * d + j] = s / L[i * d + i]!;
    }
  }
  return inv;
}

import { assertInRange, assertPositiveInt, type EnergyFn, type Estimator, JouleError } from '@joule/core';
import type { BaseHyper, Optimizer, OptimizerState, ParamTree } from '@joule/nn';
import { essFraction, normalizeLogWeights, type ResamplingScheme, resample } from '@joule/resampling';
import {
  flattenTree,
  keep,
  type Rng,
  randn,
  type Tensor,
  type TreeLike,
  tensor,
  tidy,
  valueAndGrad,
} from '@joule/tensor';
import { energyAndGradX, type ParametricEnergy } from './energy.js';

/**
 * Options of {@link JarzynskiEstimator}.
 *
 * @example
 * ```ts
 * const options: JarzynskiOptions<MixtureParams> = {
 *   energy: mixtureEnergy, params: theta0, optimizer: new SGD(theta0, { lr: 0.2 }),
 *   walkers: sampleMixture(theta0, 1000, rng), logZ0: mixtureLogZ(0, 50), stepSize: 0.1,
 * };
 * ```
 */
export interface JarzynskiOptions<P extends ParamTree> {
  /** The energy `E_θ(x)`; `p_θ ∝ exp(−E_θ)`. */
  energy: ParametricEnergy<P>;
  /** The initial parameters `θ_0`. */
  params: P;
  /** Consumes the cross-entropy gradient `−D̃_k` (eq. 11); per-group learning rates go here. */
  optimizer: Optimizer<BaseHyper>;
  /** The initial walkers `X_0`, `[N, d]`; exactness needs `X_0 ~ ρ_{θ_0}` exactly. */
  walkers: Tensor;
  /** `log Z_{θ_0}` when known (closed-form energies); 0 otherwise, so `log Z` is relative to `θ_0`. */
  logZ0?: number;
  /** The ULA step `h > 0`: `X ← X − h∇E(X) + √(2h) ξ`. */
  stepSize: number;
  /** `N'`, how many walkers move per iteration (Algorithm 2); `N` (Algorithm 1) by default. */
  walkerBatch?: number;
  /** Resample when the ESS fraction of eq. 13 falls below this `c ∈ [0, 1]`; 0.5 by default, 0 never. */
  essThreshold?: number;
  /** The resampling scheme; `'systematic'` by default. */
  scheme?: ResamplingScheme;
}

/**
 * Everything {@link JarzynskiEstimator.load} needs to continue a run identically.
 *
 * @example
 * ```ts
 * const saved: JarzynskiState<MixtureParams> = estimator.state();
 * ```
 */
export type JarzynskiState<P extends ParamTree> = {
  /** The current parameters `θ_k`. */
  params: P;
  /** The optimizer's state. */
  optimizer: OptimizerState;
  /** Walker positions `X_k`, `[N, d]`. */
  walkers: Tensor;
  /** Log-weights `A_k`, length `N` (float64). */
  logWeights: number[];
  /** Cached `E_{θ_k}(X_k)`, length `N`. */
  energies: number[];
  /** Cached `∇_x E_{θ_k}(X_k)`, `[N, d]`. */
  gradX: Tensor;
  /** `log Z_{θ_0}` plus the log-mean weights folded in at each resampling. */
  logZOffset: number;
  /** Iterations done. */
  iteration: number;
  /** Resampling events so far. */
  resamplings: number;
};

/**
 * Jarzynski-weighted sequential Monte Carlo training of an energy (Carbone et al. 2023,
 * Algorithms 1 and 2). Walkers move by ULA under `θ_k`, their log-weights take the exact update of
 * eqs. 5–6 (`A += E_{θ_k}(x) − E_{θ_{k+1}}(y) + √(h/2) ξ·(g_0 + g_1) − (h/4)|g_0 + g_1|²`, with
 * `g_0 = ∇E_{θ_k}(x)`, `g_1 = ∇E_{θ_{k+1}}(y)`), walkers outside the moved batch take the frozen
 * update `A += E_{θ_k}(x) − E_{θ_{k+1}}(x)`, the parameters follow the weighted cross-entropy gradient
 * of eq. 11 over all `N` walkers, and the walkers are resampled when the ESS of eq. 13 drops below the
 * threshold (the log-mean weight is then folded into the `log Z` estimate of eq. 12).
 *
 * `step(batch)` takes a data mini-batch `[n, d]` and returns, for `θ_k` (before the update):
 * `loss` = `crossEntropy` = `log Z̃_{θ_k} + mean E_{θ_k}(batch)` (eq. 12) and `logZ`; and, after the
 * update: `ess` (eq. 13, after the weight update and before any resampling) and `resampled` (0/1).
 *
 * @example
 * ```ts
 * import { JarzynskiEstimator, mixtureEnergy, mixtureLogZ, sampleMixture } from '@joule/estimator-jarzynski';
 * import { SGD } from '@joule/nn';
 *
 * const opt = new SGD(theta0, { lr: 0.2, groups: [{ select: 'z', lr: 1 }] });
 * const est = new JarzynskiEstimator({
 *   energy: mixtureEnergy, params: theta0, optimizer: opt, stepSize: 0.1,
 *   walkers: sampleMixture(theta0, 1000, rng), logZ0: mixtureLogZ(0, d),
 * });
 * const { crossEntropy, ess } = await est.step(data, rng);
 * ```
 */
export class JarzynskiEstimator<P extends ParamTree> implements Estimator<Tensor> {
  /** `'jarzynski'`. */
  readonly name = 'jarzynski';
  /** The ULA step `h`. */
  readonly stepSize: number;
  /** `N'`, walkers moved per iteration. */
  readonly walkerBatch: number;
  /** The ESS-fraction threshold `c`. */
  readonly essThreshold: number;
  /** The resampling scheme. */
  readonly scheme: ResamplingScheme;
  /** The number of walkers `N`. */
  readonly numWalkers: number;
  /** The dimension `d`. */
  readonly dim: number;
  private readonly energyFn: ParametricEnergy<P>;
  private readonly optimizer: Optimizer<BaseHyper>;
  private theta: P;
  private x: Tensor;
  private logW: Float64Array;
  private u: Float64Array;
  private g: Tensor;
  private logZOffset: number;
  private iter = 0;
  private resampleCount = 0;
  /** The tensors this estimator made (parameters, walkers, gradients), which it may dispose. */
  private readonly owned = new WeakSet<Tensor>();

  /** Builds the estimator and evaluates the energy and its gradient at the initial walkers. */
  constructor(options: JarzynskiOptions<P>) {
    const op = 'JarzynskiEstimator';
    if (options === null || typeof options !== 'object')
      throw new JouleError(op, 'options', 'an object', String(options));
    if (typeof options.energy !== 'function')
      throw new JouleError(op, 'options.energy', 'a function (params, x) => [n]', typeof options.energy);
    const w = options.walkers;
    if (!w || !Array.isArray(w.shape) || w.shape.length !== 2)
      throw new JouleError(op, 'options.walkers', 'a tensor of shape [N, d]', w ? `shape [${w.shape}]` : String(w));
    assertInRange(op, 'options.stepSize', options.stepSize, 0, Number.POSITIVE_INFINITY, '(]');
    const [n, d] = w.shape;
    const batch = options.walkerBatch ?? n;
    assertPositiveInt(op, 'options.walkerBatch', batch);
    if (batch > n) throw new JouleError(op, 'options.walkerBatch', `at most the ${n} walkers`, String(batch));
    const c = options.essThreshold ?? 0.5;
    assertInRange(op, 'options.essThreshold', c, 0, 1);
    const logZ0 = options.logZ0 ?? 0;
    if (!Number.isFinite(logZ0)) throw new JouleError(op, 'options.logZ0', 'a finite number', String(logZ0));
    this.energyFn = options.energy;
    this.optimizer = options.optimizer;
    this.theta = options.params;
    this.stepSize = options.stepSize;
    this.walkerBatch = batch;
    this.essThreshold = c;
    this.scheme = options.scheme ?? 'systematic';
    this.numWalkers = n;
    this.dim = d;
    this.x = w;
    this.logW = new Float64Array(n);
    const { values, gradX } = energyAndGradX(this.energyFn, this.theta, w);
    this.u = values;
    this.g = this.own(gradX);
    this.logZOffset = logZ0;
  }

  /**
   * The energy at the current parameters, `x ↦ E_{θ_k}(x)`.
   *
   * @example
   * ```ts
   * const e = est.energy(x); // [n]
   * ```
   */
  get energy(): EnergyFn {
    return (x: Tensor) => this.energyFn(this.theta, x);
  }

  /**
   * The current parameters `θ_k`.
   *
   * @example
   * ```ts
   * const { z } = est.params;
   * ```
   */
  get params(): P {
    return this.theta;
  }

  /**
   * The current estimate `log Z̃_{θ_k}` (eq. 12 with the resampling bookkeeping).
   *
   * @example
   * ```ts
   * const logZ = est.logZ();
   * ```
   */
  logZ(): number {
    return this.logZOffset + normalizeLogWeights(this.logW).logMean;
  }

  /**
   * The current log-weights `A_k` (a copy).
   *
   * @example
   * ```ts
   * const a = est.logWeights(); // Float64Array [N]
   * ```
   */
  logWeights(): Float64Array {
    return Float64Array.from(this.logW);
  }

  /** Marks the tensors of `tree` as made here (exempt from enclosing `tidy`s) and returns it. */
  private own<T extends TreeLike>(tree: T): T {
    for (const t of flattenTree(tree).leaves) this.owned.add(keep(t));
    return tree;
  }

  /** Disposes the tensors of `old` made here that `next` does not reuse. */
  private retire(old: TreeLike, next: TreeLike): void {
    const reused = new Set(flattenTree(next).leaves);
    for (const t of flattenTree(old).leaves) if (this.owned.has(t) && !reused.has(t)) t.dispose();
  }

  /**
   * The current walker positions `X_k`, `[N, d]` (the live tensor, which the next step replaces and
   * disposes: read it before stepping again).
   *
   * @example
   * ```ts
   * const x = est.walkers();
   * ```
   */
  walkers(): Tensor {
    return this.x;
  }

  /**
   * One iteration of Algorithm 1 (or 2 when `walkerBatch < N`) on the data mini-batch `batch`.
   *
   * @example
   * ```ts
   * const stats = await est.step(data, rng); // { loss, crossEntropy, logZ, ess, resampled }
   * ```
   */
  async step(batch: Tensor, rng: Rng): Promise<Record<string, number>> {
    const op = 'JarzynskiEstimator.step';
    if (!batch || !Array.isArray(batch.shape) || batch.shape.length !== 2 || batch.shape[1] !== this.dim) {
      throw new JouleError(
        op,
        'batch',
        `a tensor of shape [n, ${this.dim}]`,
        batch ? `shape [${batch.shape}]` : String(batch),
      );
    }
    const n = this.numWalkers;
    const h = this.stepSize;
    const { weights: p } = normalizeLogWeights(this.logW);
    const logZk = this.logZ();
    let crossEntropy = 0;
    const next = tidy(() => {
      // surrogate L(θ) = mean E_θ(data) − Σ p_i E_θ(X_i): ∇L(θ_k) = −D̃_k (eq. 11)
      const pT = tensor(Float32Array.from(p), [n]);
      const x = this.x;
      const { value, grad } = valueAndGrad((theta: P) =>
        this.energyFn(theta, batch).mean().sub(this.energyFn(theta, x).mul(pT).sum()),
      )(this.theta);
      let weightedWalkerEnergy = 0;
      for (let i = 0; i < n; i++) weightedWalkerEnergy += p[i] * this.u[i];
      const dataEnergy = value.dataSync()[0] + weightedWalkerEnergy;
      crossEntropy = logZk + dataEnergy;
      const thetaNext = this.optimizer.step(this.theta, grad as ParamTree) as P;

      // which walkers move (uniform without replacement)
      const moved = new Uint8Array(n);
      if (this.walkerBatch === n) moved.fill(1);
      else {
        const order = Int32Array.from({ length: n }, (_, i) => i);
        const uu = rng.uniform(this.walkerBatch);
        for (let i = 0; i < this.walkerBatch; i++) {
          const j = i + Math.floor(uu[i] * (n - i));
          const t = order[i];
          order[i] = order[j];
          order[j] = t;
          moved[order[i]] = 1;
        }
      }
      // ULA move under θ_k for the moved walkers
      const d = this.dim;
      const xi = randn([n, d], rng).dataSync();
      const x0 = x.dataSync();
      const g0 = this.g.dataSync();
      const sq = Math.sqrt(2 * h);
      const y = new Float32Array(n * d);
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < d; j++) {
          const k = i * d + j;
          y[k] = moved[i] ? x0[k] - h * g0[k] + sq * xi[k] : x0[k];
        }
      }
      const yT = tensor(y, [n, d]);
      const { values: u1, gradX: g1T } = energyAndGradX(this.energyFn, thetaNext, yT);
      const g1 = g1T.dataSync();
      // weight update: eqs. 5–6 (moved) and the frozen AIS rule (others)
      const c = Math.sqrt(h / 2);
      for (let i = 0; i < n; i++) {
        let inc = this.u[i] - u1[i];
        if (moved[i]) {
          let dot = 0;
          let norm2 = 0;
          for (let j = 0; j < d; j++) {
            const k = i * d + j;
            const s = g0[k] + g1[k];
            dot += xi[k] * s;
            norm2 += s * s;
          }
          inc += c * dot - (h / 4) * norm2;
        }
        this.logW[i] += inc;
      }
      this.u = u1;
      return { theta: thetaNext, x: yT, g: g1T };
    });
    const previous = { theta: this.theta, x: this.x, g: this.g };
    this.theta = this.own(next.theta);
    this.x = this.own(next.x);
    this.g = this.own(next.g);
    this.retire(previous, next);
    this.iter++;
    const ess = essFraction(this.logW);
    if (!Number.isFinite(ess)) {
      throw new JouleError(op, 'log-weights', 'finite values', `non-finite weights at iteration ${this.iter}`);
    }
    let resampled = 0;
    if (ess < this.essThreshold) {
      this.resampleWalkers(resample(this.logW, rng, this.scheme));
      resampled = 1;
    }
    return { loss: crossEntropy, crossEntropy, logZ: logZk, ess, resampled };
  }

  private resampleWalkers(ancestors: Int32Array): void {
    this.logZOffset += normalizeLogWeights(this.logW).logMean;
    const n = this.numWalkers;
    const d = this.dim;
    const x = this.x.dataSync();
    const g = this.g.dataSync();
    const nx = new Float32Array(n * d);
    const ng = new Float32Array(n * d);
    const nu = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const a = ancestors[i];
      nx.set(x.subarray(a * d, (a + 1) * d), i * d);
      ng.set(g.subarray(a * d, (a + 1) * d), i * d);
      nu[i] = this.u[a];
    }
    const previous = { x: this.x, g: this.g };
    this.x = this.own(tensor(nx, [n, d]));
    this.g = this.own(tensor(ng, [n, d]));
    this.retire(previous, {});
    this.u = nu;
    this.logW = new Float64Array(n);
    this.resampleCount++;
  }

  /**
   * `n` equal-weight draws from the weighted walkers (systematic resampling of `p_k`), `[n, d]`.
   *
   * @example
   * ```ts
   * const samples = await est.sample(500, rng);
   * ```
   */
  async sample(n: number, rng: Rng): Promise<Tensor> {
    assertPositiveInt('JarzynskiEstimator.sample', 'n', n);
    const idx = resample(this.logW, rng, 'systematic', n);
    return tidy(() => this.x.indexSelect(tensor(Float32Array.from(idx), [n]), 0));
  }

  /**
   * A snapshot of everything the run needs to continue identically. Its tensors are new handles on
   * the current values that outlive later steps (dispose them when done).
   *
   * @example
   * ```ts
   * const saved = est.state();
   * ```
   */
  state(): JarzynskiState<P> {
    const handle = (t: Tensor) => keep(t.stopGradient());
    const { leaves, rebuild } = flattenTree(this.theta);
    return {
      params: rebuild(leaves.map(handle)) as P,
      optimizer: this.optimizer.state(),
      walkers: handle(this.x),
      logWeights: Array.from(this.logW),
      energies: Array.from(this.u),
      gradX: handle(this.g),
      logZOffset: this.logZOffset,
      iteration: this.iter,
      resamplings: this.resampleCount,
    };
  }

  /**
   * Restores a snapshot taken by {@link JarzynskiEstimator.state}.
   *
   * @example
   * ```ts
   * est.load(saved);
   * ```
   */
  load(state: object): void {
    const op = 'JarzynskiEstimator.load';
    const s = state as JarzynskiState<P>;
    const n = this.numWalkers;
    const d = this.dim;
    const okShape = (t: Tensor | undefined) => !!t && t.shape?.length === 2 && t.shape[0] === n && t.shape[1] === d;
    if (!okShape(s?.walkers))
      throw new JouleError(op, 'state.walkers', `a tensor [${n}, ${d}]`, String(s?.walkers?.shape));
    if (!okShape(s.gradX)) throw new JouleError(op, 'state.gradX', `a tensor [${n}, ${d}]`, String(s.gradX?.shape));
    for (const key of ['logWeights', 'energies'] as const) {
      if (!Array.isArray(s[key]) || s[key].length !== n)
        throw new JouleError(op, `state.${key}`, `${n} numbers`, String(s[key]?.length));
    }
    if (!Number.isFinite(s.logZOffset))
      throw new JouleError(op, 'state.logZOffset', 'a finite number', String(s.logZOffset));
    this.optimizer.load(s.optimizer);
    const previous = { theta: this.theta, x: this.x, g: this.g };
    this.theta = s.params;
    this.x = s.walkers;
    this.g = s.gradX;
    this.retire(previous, { theta: this.theta, x: this.x, g: this.g });
    this.logW = Float64Array.from(s.logWeights);
    this.u = Float64Array.from(s.energies);
    this.logZOffset = s.logZOffset;
    this.iter = s.iteration;
    this.resampleCount = s.resamplings;
  }

  /**
   * How many resampling events happened so far.
   *
   * @example
   * ```ts
   * console.log(est.resamplings);
   * ```
   */
  get resamplings(): number {
    return this.resampleCount;
  }
}

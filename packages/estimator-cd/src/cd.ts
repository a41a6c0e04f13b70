import {
  assertInRange,
  assertPositiveInt,
  type Distribution,
  type EnergyFn,
  type Estimator,
  JouleError,
  type Kernel,
} from '@joule/core';
import type { BaseHyper, Optimizer, OptimizerState, ParamTree } from '@joule/nn';
import { flattenTree, keep, type Rng, stopGradient, Tensor, tensor, tidy, valueAndGrad } from '@joule/tensor';

/**
 * An energy with explicit parameters: `(params, x) => E_θ(x)`, `[n, d]` to `[n]`, `p_θ ∝ exp(−E_θ)`.
 * A `Module` fits as `(p, x) => module.apply(p, x)` with `module.parameters()`.
 *
 * @example
 * ```ts
 * const energy: ParametricEnergy<{ mu: Tensor }> = (p, x) => x.sub(p.mu).square().sum(1).mul(0.5);
 * ```
 */
export type ParametricEnergy<P extends ParamTree = ParamTree> = (params: P, x: Tensor) => Tensor;

/**
 * What CD needs from a kernel's chain state: the chains' positions (the `ChainState` of
 * `@joule/mcmc` kernels has them).
 *
 * @example
 * ```ts
 * const positions: ChainPositions = kernel.init(x0, energy);
 * ```
 */
export interface ChainPositions {
  /** The chains' positions, `[n, d]`. */
  x: Tensor;
}

/**
 * Options of {@link ContrastiveDivergence}.
 *
 * @example
 * ```ts
 * const options: ContrastiveDivergenceOptions<ParamTree, ChainState> = {
 *   energy: (p, x) => mlp.apply(p, x), params: mlp.parameters(), optimizer: new Adam(mlp.parameters(), { lr: 1e-3 }),
 *   kernel: ula({ stepSize: 0.1 }), mcmcSteps: 4, mode: 'cd',
 * };
 * ```
 */
export interface ContrastiveDivergenceOptions<P extends ParamTree, S extends ChainPositions> {
  /** The energy `E_θ(x)`. */
  energy: ParametricEnergy<P>;
  /** The initial parameters. */
  params: P;
  /** Consumes the gradient `E_data[∇θE] − E_model[∇θE]`. */
  optimizer: Optimizer<BaseHyper>;
  /** Any MCMC kernel of `@joule/mcmc` (its state must expose the positions `x`). */
  kernel: Kernel<S, unknown>;
  /** Kernel steps per iteration (`k` of CD-k, `P` of the paper's Algorithm 3); 1 by default. */
  mcmcSteps?: number;
  /**
   * `'cd'`: chains restart at the data every iteration (Algorithm 3), gradient at the chains after
   * `mcmcSteps` steps. `'pcd'`: persistent chains (Algorithm 4), gradient at the stored chains, then
   * `mcmcSteps` steps under the same `θ_k`.
   */
  mode: 'cd' | 'pcd';
  /** CD: chains per iteration, drawn from the batch with replacement; the batch itself when omitted. PCD: the number of persistent chains `N`. */
  numChains?: number;
  /** PCD: how many stored chains are drawn (without replacement) and moved per iteration; all by default. */
  chainBatch?: number;
  /** PCD: probability that a drawn chain restarts at a data point (replay-buffer style); 0 by default. */
  reinitProb?: number;
  /**
   * Where chains start when no data is at hand: PCD's initial persistent chains (drawn from the
   * first batch when omitted), and the starts of `sample` when it is given no `start` points.
   */
  init?: Distribution;
}

/**
 * Options of {@link ContrastiveDivergence.sample}.
 *
 * @example
 * ```ts
 * const x = await cd.sample(500, rng, undefined, { start: data });
 * ```
 */
export interface ContrastiveDivergenceSampleOptions {
  /**
   * Points `[m, d]` whose rows (drawn with replacement) start the chains: CD's kernel runs, or PCD's
   * persistent chains when `sample` comes before the first step. `options.init` is used otherwise.
   */
  start?: Tensor;
}

/**
 * Everything {@link ContrastiveDivergence.load} needs to continue a run identically.
 *
 * @example
 * ```ts
 * const saved: ContrastiveDivergenceState<ParamTree> = est.state();
 * ```
 */
export type ContrastiveDivergenceState<P extends ParamTree> = {
  /** The current parameters. */
  params: P;
  /** The optimizer's state. */
  optimizer: OptimizerState;
  /** PCD: the persistent chains `[N, d]` row-major (empty for CD or before the first step). */
  chains: number[];
  /** Iterations done. */
  iteration: number;
};

function uniformRows(x: Tensor, count: number, rng: Rng): Tensor {
  const n = x.shape[0];
  const u = rng.uniform(count);
  const idx = new Float32Array(count);
  for (let i = 0; i < count; i++) idx[i] = Math.min(n - 1, Math.floor(u[i] * n));
  return x.indexSelect(tensor(idx, [count]), 0);
}

/** A copy of the values of `t`, which is then disposed. */
function readAndDispose(t: Tensor): Float32Array {
  const values = Float32Array.from(t.dataSync());
  t.dispose();
  return values;
}

/**
 * Contrastive divergence (CD-k: chains restarted at the data, Algorithm 3 of Carbone et al. 2023 /
 * Hinton 2002) and persistent CD (persistent chains initialised at data points, Algorithm 4 /
 * Tieleman 2008), with any MCMC kernel. One step minimises the surrogate
 * `mean E_θ(data) − mean E_θ(sg(X))`, whose gradient is `E_data[∇θE] − E_chains[∇θE]`.
 *
 * `step(batch)` returns `loss` (that surrogate), `energyData` and `energyModel` (mean energies of the
 * batch and of the negatives at `θ_k`).
 *
 * @example
 * ```ts
 * import { ContrastiveDivergence } from '@joule/estimator-cd';
 * import { ula } from '@joule/mcmc';
 *
 * const pcd = new ContrastiveDivergence({
 *   energy, params, optimizer, kernel: ula({ stepSize: 0.1 }), mode: 'pcd', numChains: 1000,
 * });
 * const { loss } = await pcd.step(data, rng);
 * ```
 */
export class ContrastiveDivergence<P extends ParamTree, S extends ChainPositions> implements Estimator<Tensor> {
  /** `'cd'` or `'pcd'`. */
  readonly name: string;
  /** Kernel steps per iteration. */
  readonly mcmcSteps: number;
  /** PCD: chains moved per iteration. */
  readonly chainBatch?: number;
  /** PCD: restart probability of a drawn chain. */
  readonly reinitProb: number;
  private readonly energyFn: ParametricEnergy<P>;
  private readonly optimizer: Optimizer<BaseHyper>;
  private readonly kernel: Kernel<S, unknown>;
  private readonly mode: 'cd' | 'pcd';
  private readonly numChains?: number;
  private readonly init?: Distribution;
  private theta: P;
  /** The parameter tensors this estimator made (the optimizer's outputs), which it may dispose. */
  private readonly owned = new WeakSet<Tensor>();
  private chains: Float32Array | null = null;
  private iter = 0;

  /** Builds the estimator; PCD chains are drawn from `options.init`, else from the first batch. */
  constructor(options: ContrastiveDivergenceOptions<P, S>) {
    const op = 'ContrastiveDivergence';
    if (options === null || typeof options !== 'object')
      throw new JouleError(op, 'options', 'an object', String(options));
    if (typeof options.energy !== 'function')
      throw new JouleError(op, 'options.energy', 'a function (params, x) => [n]', typeof options.energy);
    if (!options.kernel || typeof options.kernel.step !== 'function')
      throw new JouleError(op, 'options.kernel', 'an MCMC Kernel', String(options.kernel));
    if (options.mode !== 'cd' && options.mode !== 'pcd')
      throw new JouleError(op, 'options.mode', "'cd' or 'pcd'", String(options.mode));
    const steps = options.mcmcSteps ?? 1;
    assertPositiveInt(op, 'options.mcmcSteps', steps);
    if (options.numChains !== undefined) assertPositiveInt(op, 'options.numChains', options.numChains);
    if (options.mode === 'pcd' && options.numChains === undefined)
      throw new JouleError(op, 'options.numChains', 'the number of persistent chains for PCD', 'undefined');
    if (options.chainBatch !== undefined) {
      assertPositiveInt(op, 'options.chainBatch', options.chainBatch);
      if (options.numChains !== undefined && options.chainBatch > options.numChains)
        throw new JouleError(
          op,
          'options.chainBatch',
          `at most numChains = ${options.numChains}`,
          String(options.chainBatch),
        );
    }
    const reinit = options.reinitProb ?? 0;
    assertInRange(op, 'options.reinitProb', reinit, 0, 1);
    if (options.init !== undefined && (typeof options.init?.sample !== 'function' || !(options.init.dim >= 1)))
      throw new JouleError(op, 'options.init', 'a Distribution (dim, sample)', String(options.init));
    this.init = options.init;
    this.name = options.mode;
    this.mode = options.mode;
    this.energyFn = options.energy;
    this.theta = options.params;
    this.optimizer = options.optimizer;
    this.kernel = options.kernel;
    this.mcmcSteps = steps;
    this.numChains = options.numChains;
    this.chainBatch = options.chainBatch;
    this.reinitProb = reinit;
  }

  /**
   * The energy at the current parameters.
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
   * The current parameters.
   *
   * @example
   * ```ts
   * const p = est.params;
   * ```
   */
  get params(): P {
    return this.theta;
  }

  private run(x: Tensor, rng: Rng): Tensor {
    const target = this.energy;
    let state = this.kernel.init(x, target);
    for (let t = 0; t < this.mcmcSteps; t++) state = this.kernel.step(rng, state).state;
    return state.x;
  }

  /**
   * One CD / PCD iteration on the data batch `[n, d]`.
   *
   * @example
   * ```ts
   * const { loss, energyData, energyModel } = await est.step(batch, rng);
   * ```
   */
  async step(batch: Tensor, rng: Rng): Promise<Record<string, number>> {
    const op = 'ContrastiveDivergence.step';
    if (!batch || !Array.isArray(batch.shape) || batch.shape.length !== 2)
      throw new JouleError(op, 'batch', 'a tensor of shape [n, d]', batch ? `shape [${batch.shape}]` : String(batch));
    let loss = 0;
    let energyModel = 0;
    const old = this.theta;
    const next = tidy(() => {
      let negatives: Tensor;
      if (this.mode === 'cd') {
        const start = this.numChains === undefined ? batch : uniformRows(batch, this.numChains, rng);
        negatives = this.run(start, rng);
      } else {
        negatives = this.persistentStep(batch, rng);
      }
      const { value, grad } = valueAndGrad((theta: P) => {
        const eData = this.energyFn(theta, batch).mean();
        const eModel = this.energyFn(theta, stopGradient(negatives)).mean();
        return eData.sub(eModel);
      })(this.theta);
      energyModel = this.energyFn(this.theta, negatives).mean().dataSync()[0];
      loss = value.dataSync()[0];
      if (!Number.isFinite(loss))
        throw new JouleError(op, 'loss', 'a finite value', `${loss} at iteration ${this.iter}`);
      return this.optimizer.step(this.theta, grad as ParamTree) as P;
    });
    this.theta = next;
    const reused = new Set(flattenTree(next).leaves);
    for (const t of flattenTree(old).leaves) if (this.owned.has(t) && !reused.has(t)) t.dispose();
    for (const t of flattenTree(next).leaves) this.owned.add(t);
    this.iter++;
    return { loss, energyData: loss + energyModel, energyModel };
  }

  /** PCD: draw the chains, keep them as the negatives at θ_k, then move them under θ_k and store them. */
  private persistentStep(batch: Tensor, rng: Rng): Tensor {
    const n = this.numChains as number;
    const d = batch.shape[1];
    if (this.chains === null) this.chains = this.initialChains(n, rng, batch);
    if (this.chains.length !== n * d)
      throw new JouleError('ContrastiveDivergence.step', 'batch', `dimension ${this.chains.length / n}`, String(d));
    const m = this.chainBatch ?? n;
    const slots = Int32Array.from({ length: n }, (_, i) => i);
    if (m < n) {
      const u = rng.uniform(m);
      for (let i = 0; i < m; i++) {
        const j = i + Math.floor(u[i] * (n - i));
        const t = slots[i];
        slots[i] = slots[j];
        slots[j] = t;
      }
    }
    if (this.reinitProb > 0) {
      const u = rng.uniform(m);
      const restart = Array.from({ length: m }, (_, i) => i).filter((i) => u[i] < this.reinitProb);
      if (restart.length > 0) {
        const fresh = uniformRows(batch, restart.length, rng).dataSync();
        restart.forEach((i, r) => {
          this.chains?.set(fresh.subarray(r * d, (r + 1) * d), slots[i] * d);
        });
      }
    }
    const current = new Float32Array(m * d);
    for (let i = 0; i < m; i++) current.set(this.chains.subarray(slots[i] * d, (slots[i] + 1) * d), i * d);
    const x = tensor(current, [m, d]);
    const moved = this.run(x, rng).dataSync();
    for (let i = 0; i < m; i++) this.chains.set(moved.subarray(i * d, (i + 1) * d), slots[i] * d);
    return x;
  }

  /** `n` chain starts: rows of `start` (with replacement), else draws from `options.init`. */
  private initialChains(n: number, rng: Rng, start: Tensor | undefined): Float32Array {
    if (start !== undefined) return readAndDispose(tidy(() => uniformRows(start, n, rng)));
    if (this.init === undefined)
      throw new JouleError(
        'ContrastiveDivergence.sample',
        'options.start',
        'start points, or options.init in the constructor, to start the chains from',
        'neither',
      );
    const init = this.init;
    return readAndDispose(tidy(() => init.sample(n, rng)));
  }

  /**
   * `n` samples (`[n, d]`). CD: `mcmcSteps` kernel steps from rows of `options.start` drawn with
   * replacement (pass the data), or from draws of the constructor's `init`. PCD: `n` of the
   * persistent chains, drawn with replacement; before the first step the chains are first set up
   * from `options.start` rows or `init` draws (and the first step continues them). CD is
   * unconditional: a `context` is rejected.
   *
   * @example
   * ```ts
   * const x = await pcd.sample(500, rng);
   * const y = await cd.sample(500, rng, undefined, { start: data });
   * ```
   */
  async sample(
    n: number,
    rng: Rng,
    context?: Tensor,
    options: ContrastiveDivergenceSampleOptions = {},
  ): Promise<Tensor> {
    const op = 'ContrastiveDivergence.sample';
    assertPositiveInt(op, 'n', n);
    if (context !== undefined)
      throw new JouleError(op, 'context', 'undefined (contrastive divergence is unconditional)', String(context));
    const { start } = options ?? {};
    if (start !== undefined && !(start instanceof Tensor && start.rank === 2 && start.shape[0] >= 1))
      throw new JouleError(op, 'options.start', 'a tensor of shape [m, d] with m ≥ 1', String(start));
    if (this.mode === 'pcd') {
      const total = this.numChains as number;
      if (this.chains === null) this.chains = this.initialChains(total, rng, start);
      const chains = this.chains;
      const d = chains.length / total;
      return tidy(() => uniformRows(tensor(chains, [total, d]), n, rng));
    }
    if (start !== undefined) return tidy(() => this.run(uniformRows(start, n, rng), rng));
    const init = this.init;
    if (init === undefined)
      throw new JouleError(op, 'options.start', 'data points to start CD chains from (or options.init)', 'undefined');
    return tidy(() => this.run(init.sample(n, rng), rng));
  }

  /**
   * A snapshot of the run. Its parameters are new handles on the current values that outlive later
   * steps (dispose them when done).
   *
   * @example
   * ```ts
   * const saved = est.state();
   * ```
   */
  state(): ContrastiveDivergenceState<P> {
    const { leaves, rebuild } = flattenTree(this.theta);
    return {
      params: rebuild(leaves.map((t) => keep(t.stopGradient()))) as P,
      optimizer: this.optimizer.state(),
      chains: this.chains ? Array.from(this.chains) : [],
      iteration: this.iter,
    };
  }

  /**
   * Restores a snapshot taken by {@link ContrastiveDivergence.state}.
   *
   * @example
   * ```ts
   * est.load(saved);
   * ```
   */
  load(state: object): void {
    const s = state as ContrastiveDivergenceState<P>;
    if (!s || !Array.isArray(s.chains))
      throw new JouleError('ContrastiveDivergence.load', 'state.chains', 'an array of numbers', String(s?.chains));
    this.optimizer.load(s.optimizer);
    this.theta = s.params;
    this.chains = s.chains.length > 0 ? Float32Array.from(s.chains) : null;
    this.iter = s.iteration;
  }
}

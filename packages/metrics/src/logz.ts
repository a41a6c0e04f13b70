import { assertPositiveInt, type Distribution, type EnergyFn, JouleError, type Kernel } from '@joule/core';
import { type Rng, Tensor, tidy } from '@joule/tensor';
import { isDistribution, logSumExp, readPoints, readValues, readVector, rngFrom } from './util.js';

/**
 * A log-partition estimate from importance weights.
 *
 * @example
 * ```ts
 * const { logZ, standardError, essFraction } = await importanceLogZ(energy, proposal, { n: 100000 });
 * ```
 */
export interface LogZEstimate {
  /** `log Ẑ = log((1/n) Σᵢ wᵢ)`. */
  readonly logZ: number;
  /**
   * The delta-method standard error of `log Ẑ`: `√(Var(w) / (n · mean(w)²))` with the unbiased
   * sample variance, i.e. `√((1/ESS_frac − 1)/(n − 1))`. Trust it only when the ESS is not tiny.
   */
  readonly standardError: number;
  /** Effective sample size `1 / Σ w̃ᵢ²` (a count). */
  readonly ess: number;
  /** `ESS / n`, in `(0, 1]`. */
  readonly essFraction: number;
  /** The log-weights `log wᵢ`, float64. */
  readonly logWeights: Float64Array;
}

/**
 * The log-partition estimate from log importance weights:
 *
 * `log Ẑ = logmeanexp(log w) = LSE(log w) − log n`,  `SE(log Ẑ) ≈ √((n Σ w̃² − 1)/(n − 1))`
 *
 * (`w̃` the normalized weights); also the ESS. `Ẑ` is unbiased for `Z`; `log Ẑ` is biased low by
 * about `SE²/2` (Jensen).
 *
 * @param logWeights - `log wᵢ`, any shape (flattened), at least 2 values
 *
 * @example
 * ```ts
 * import { logZFromLogWeights } from '@joule/metrics';
 *
 * const est = await logZFromLogWeights(energy(x).neg().sub(proposal.logProb(x)));
 * ```
 */
export async function logZFromLogWeights(logWeights: Tensor | ArrayLike<number>): Promise<LogZEstimate> {
  return estimateFromLogWeights('logZFromLogWeights', await readLogWeightValues('logZFromLogWeights', logWeights));
}

async function readLogWeightValues(op: string, logWeights: Tensor | ArrayLike<number>): Promise<Float64Array> {
  if (!(logWeights instanceof Tensor) && (logWeights === null || typeof logWeights !== 'object')) {
    throw new JouleError(op, 'logWeights', 'a tensor or an array of numbers', String(logWeights));
  }
  const values = Float64Array.from(logWeights instanceof Tensor ? await logWeights.data() : logWeights);
  for (let i = 0; i < values.length; i++) {
    if (Number.isNaN(values[i]) || values[i] === Number.POSITIVE_INFINITY) {
      throw new JouleError(op, 'logWeights', 'log-weights that are not NaN or +Infinity', `${values[i]} at index ${i}`);
    }
  }
  return values;
}

function estimateFromLogWeights(op: string, lw: Float64Array): LogZEstimate {
  const n = lw.length;
  if (n < 2) throw new JouleError(op, 'logWeights', 'at least 2 log-weights', `${n}`);
  const lse = logSumExp(lw);
  if (lse === Number.NEGATIVE_INFINITY) {
    throw new JouleError(op, 'logWeights', 'at least one finite log-weight', `all ${n} are -Infinity`);
  }
  const doubled = lw.map((v) => 2 * v);
  // n Σ w̃² = 1 / ESS fraction, at least 1
  const nSumSq = Math.max(1, Math.exp(logSumExp(doubled) - 2 * lse + Math.log(n)));
  return {
    logZ: lse - Math.log(n),
    standardError: Math.sqrt((nSumSq - 1) / (n - 1)),
    ess: n / nSumSq,
    essFraction: 1 / nSumSq,
    logWeights: lw,
  };
}

function checkEnergy(op: string, energy: EnergyFn): void {
  if (typeof energy !== 'function')
    throw new JouleError(op, 'energy', 'an energy function x [n, d] -> [n]', String(energy));
}

function checkProposal(op: string, proposal: Distribution): void {
  if (!isDistribution(proposal))
    throw new JouleError(op, 'proposal', 'a Distribution { dim, sample, logProb }', String(proposal));
}

/**
 * Options of {@link importanceLogZ}.
 *
 * @example
 * ```ts
 * const options: ImportanceOptions = { n: 100000, batchSize: 8192, rng: new Rng(0) };
 * ```
 */
export interface ImportanceOptions {
  /** How many proposal samples; 10 000 by default (the CNCE paper uses 100 000). */
  n?: number;
  /** Samples per energy evaluation; 8192 by default. */
  batchSize?: number;
  /** The generator; `new Rng(0)` when absent. */
  rng?: Rng;
}

/**
 * The importance-sampling estimate of the log-partition function of `p(x) ∝ exp(−E(x))` with a
 * normalized proposal `q`:
 *
 * `xᵢ ~ q`,  `log wᵢ = −E(xᵢ) − log q(xᵢ)`,  `log Ẑ = logmeanexp(log w)`
 *
 * with its delta-method standard error and ESS ({@link logZFromLogWeights}). The CNCE paper's
 * protocol uses the true data distribution as `q` and `n = 10⁵`. Energies are evaluated in batches
 * without gradients' bookkeeping beyond each batch.
 *
 * @param energy - the energy, `[n, d] → [n]`
 * @param proposal - a normalized distribution on the same space
 * @param options - n (10 000), batchSize (8192), rng
 *
 * @example
 * ```ts
 * import { importanceLogZ } from '@joule/metrics';
 *
 * const { logZ, standardError } = await importanceLogZ(model.energy, truth, { n: 100000 });
 * ```
 */
export async function importanceLogZ(
  energy: EnergyFn,
  proposal: Distribution,
  options: ImportanceOptions = {},
): Promise<LogZEstimate> {
  const op = 'importanceLogZ';
  checkEnergy(op, energy);
  checkProposal(op, proposal);
  const n = options.n ?? 10000;
  assertPositiveInt(op, 'n', n);
  const batchSize = options.batchSize ?? 8192;
  assertPositiveInt(op, 'batchSize', batchSize);
  const rng = rngFrom(op, options.rng);
  const lw = new Float64Array(n);
  for (let start = 0; start < n; start += batchSize) {
    const b = Math.min(batchSize, n - start);
    const t = tidy(() => {
      const x = proposal.sample(b, rng);
      return energy(x).neg().sub(proposal.logProb(x));
    });
    const values = await readVector(op, 'energy', t, b).finally(() => t.dispose());
    lw.set(values, start);
  }
  return estimateFromLogWeights(op, await readLogWeightValues(op, lw));
}

/**
 * An annealing schedule: `'linear'` (`β_k = k/K`), `'sigmoid'` (Grosse et al., 2015:
 * `β̃_k = σ(δ(2k/K − 1))` rescaled to run from 0 to 1, denser at both ends), or explicit increasing
 * inverse temperatures from 0 to 1.
 *
 * @example
 * ```ts
 * const schedule: AnnealingSchedule = 'sigmoid';
 * const custom: AnnealingSchedule = [0, 0.01, 0.1, 0.5, 1];
 * ```
 */
export type AnnealingSchedule = 'linear' | 'sigmoid' | readonly number[];

/**
 * The inverse temperatures `0 = β₀ < β₁ < … < β_K = 1` of a schedule.
 *
 * @param schedule - `'linear'`, `'sigmoid'` or explicit values
 * @param steps - `K`, the number of annealing steps (ignored for explicit values)
 * @param sharpness - `δ` of the sigmoid schedule, 4 by default
 *
 * @example
 * ```ts
 * import { annealingBetas } from '@joule/metrics';
 *
 * annealingBetas('linear', 4); // [0, 0.25, 0.5, 0.75, 1]
 * ```
 */
export function annealingBetas(schedule: AnnealingSchedule, steps: number, sharpness = 4): Float64Array {
  const op = 'annealingBetas';
  if (Array.isArray(schedule)) {
    const b = Float64Array.from(schedule as readonly number[]);
    const ok = b.length >= 2 && b[0] === 0 && b[b.length - 1] === 1 && b.every((v, i) => i === 0 || v > b[i - 1]);
    if (!ok)
      throw new JouleError(op, 'schedule', 'increasing values from exactly 0 to exactly 1', JSON.stringify(schedule));
    return b;
  }
  assertPositiveInt(op, 'steps', steps);
  const betas = new Float64Array(steps + 1);
  if (schedule === 'linear') {
    for (let k = 0; k <= steps; k++) betas[k] = k / steps;
  } else if (schedule === 'sigmoid') {
    if (!(sharpness > 0) || !Number.isFinite(sharpness))
      throw new JouleError(op, 'sharpness', 'a finite number > 0', String(sharpness));
    const s = (k: number) => 1 / (1 + Math.exp(-sharpness * ((2 * k) / steps - 1)));
    const lo = s(0);
    const hi = s(steps);
    for (let k = 0; k <= steps; k++) betas[k] = (s(k) - lo) / (hi - lo);
  } else {
    throw new JouleError(op, 'schedule', "'linear', 'sigmoid' or an array of inverse temperatures", String(schedule));
  }
  betas[0] = 0;
  betas[steps] = 1;
  return betas;
}

/**
 * What {@link annealedImportanceSampling} needs of a kernel's state: the current points.
 *
 * @example
 * ```ts
 * interface MalaState extends ChainState { energy: Tensor; grad: Tensor }
 * ```
 */
export interface ChainState {
  /** The chains' current points, `[n, d]`. */
  readonly x: Tensor;
}

/**
 * Options of {@link annealedImportanceSampling}.
 *
 * @typeParam S - the kernel's state, which must expose the current points as `x`
 *
 * @example
 * ```ts
 * const options: AisOptions<{ x: Tensor }> = { kernel, n: 1000, steps: 200, schedule: 'sigmoid' };
 * ```
 */
export interface AisOptions<S extends ChainState> {
  /**
   * The MCMC kernel: at level `k` it is initialized with the annealed energy
   * `E_βk(x) = β_k E(x) − (1 − β_k) log q(x)` and must leave `exp(−E_βk)` invariant. Its state
   * exposes the points as `x` (`[n, d]`).
   */
  kernel: Kernel<S, unknown>;
  /** How many chains; 1000 by default. */
  n?: number;
  /** `K`, the number of annealing steps; 100 by default (ignored for an explicit schedule). */
  steps?: number;
  /** The schedule, `'linear'` by default. */
  schedule?: AnnealingSchedule;
  /** Kernel transitions per intermediate level; 1 by default. */
  transitionsPerLevel?: number;
  /** The generator; `new Rng(0)` when absent. */
  rng?: Rng;
}

/**
 * What {@link annealedImportanceSampling} returns: the estimate and the final chain positions.
 *
 * @example
 * ```ts
 * const { logZ, standardError, samples } = await annealedImportanceSampling(energy, q, { kernel });
 * ```
 */
export interface AisResult extends LogZEstimate {
  /** The chains after the last level, `[n, d]`; with the weights, a weighted sample of the target. */
  readonly samples: Tensor;
}

/**
 * Annealed importance sampling (Neal, 2001) for the log-partition function of
 * `p(x) ∝ exp(−E(x))`, along the geometric path from a normalized proposal `q` to the target:
 *
 * `π_β(x) ∝ q(x)^{1−β} exp(−β E(x))`,  `0 = β₀ < … < β_K = 1`
 *
 * Chains start at `x ~ q`; at each level `k = 1 … K` the weight gains
 * `log w += −(β_k − β_{k−1}) (E(x) + log q(x))`, and for `k < K` the kernel moves the chains with
 * `transitionsPerLevel` steps that leave `π_βk` invariant. Then `log Ẑ = logmeanexp(log w)` with
 * its delta-method standard error ({@link logZFromLogWeights}). The kernel is any `Kernel` of
 * `@joule/core` whose state exposes `x` (MALA, HMC, random-walk MH; an unadjusted kernel such as
 * ULA adds its own bias).
 *
 * @param energy - the target energy, `[n, d] → [n]`
 * @param proposal - a normalized distribution to start from
 * @param options - kernel (required), n (1000), steps (100), schedule (`'linear'`), transitionsPerLevel (1), rng
 *
 * @example
 * ```ts
 * import { annealedImportanceSampling } from '@joule/metrics';
 *
 * const { logZ, standardError } = await annealedImportanceSampling(energy, new Normal(zeros([2]), 3), {
 *   kernel: mala({ stepSize: 0.1 }),
 *   steps: 200,
 *   schedule: 'sigmoid',
 * });
 * ```
 */
export async function annealedImportanceSampling<S extends ChainState>(
  energy: EnergyFn,
  proposal: Distribution,
  options: AisOptions<S>,
): Promise<AisResult> {
  const op = 'annealedImportanceSampling';
  checkEnergy(op, energy);
  checkProposal(op, proposal);
  const kernel = options?.kernel;
  if (!kernel || typeof kernel.init !== 'function' || typeof kernel.step !== 'function') {
    throw new JouleError(op, 'kernel', 'a Kernel { init, step } whose state has x', String(kernel));
  }
  const n = options.n ?? 1000;
  assertPositiveInt(op, 'n', n);
  const transitions = options.transitionsPerLevel ?? 1;
  assertPositiveInt(op, 'transitionsPerLevel', transitions);
  const betas = annealingBetas(options.schedule ?? 'linear', options.steps ?? 100);
  const rng = rngFrom(op, options.rng);
  const lw = new Float64Array(n);
  let x = proposal.sample(n, rng);
  for (let k = 1; k < betas.length; k++) {
    const dBeta = betas[k] - betas[k - 1];
    const t = tidy(() => energy(x).add(proposal.logProb(x)));
    const f = await readVector(op, 'energy', t, n).finally(() => t.dispose());
    for (let i = 0; i < n; i++) lw[i] -= dBeta * f[i];
    if (k === betas.length - 1) break;
    const beta = betas[k];
    const annealed: EnergyFn = (z, context) =>
      energy(z, context)
        .mul(beta)
        .sub(proposal.logProb(z).mul(1 - beta));
    let state = kernel.init(x, annealed);
    for (let s = 0; s < transitions; s++) state = kernel.step(rng, state).state;
    x = state.x;
    if (!x || typeof x.data !== 'function')
      throw new JouleError(op, 'kernel', 'a state with the points as x', String(x));
  }
  return { ...estimateFromLogWeights(op, await readLogWeightValues(op, lw)), samples: x };
}

/**
 * The normalized negative log-likelihood of data under an energy model, in nats per point:
 *
 * `NLL = −(1/n) Σᵢ log p̂(xᵢ) = (1/n) Σᵢ E(xᵢ) + log Ẑ`
 *
 * with `log Ẑ` from {@link importanceLogZ} or {@link annealedImportanceSampling}.
 *
 * @param energy - the energy, `[n, d] → [n]`
 * @param data - the evaluation points, `[n, d]`
 * @param logZ - the log-partition estimate (a number or an estimate object)
 *
 * @example
 * ```ts
 * import { importanceLogZ, normalizedNll } from '@joule/metrics';
 *
 * const nll = await normalizedNll(energy, testData, await importanceLogZ(energy, truth));
 * ```
 */
export async function normalizedNll(
  energy: EnergyFn,
  data: Tensor,
  logZ: number | Pick<LogZEstimate, 'logZ'>,
): Promise<number> {
  const op = 'normalizedNll';
  checkEnergy(op, energy);
  const z = typeof logZ === 'number' ? logZ : logZ?.logZ;
  if (typeof z !== 'number' || !Number.isFinite(z))
    throw new JouleError(op, 'logZ', 'a finite log-partition estimate', String(z));
  const { n } = await readPoints(op, 'data', data);
  const e = await evaluate(op, energy, data, n);
  let s = 0;
  for (let i = 0; i < n; i++) s += e[i];
  return s / n + z;
}

/** Evaluates `f(x)` (a `[n]` result) and reads it into float64, checking for non-finite values. */
export async function evaluate(
  op: string,
  f: (x: Tensor) => Tensor,
  x: Tensor,
  n: number,
  arg = 'energy',
): Promise<Float64Array> {
  const t = tidy(() => f(x));
  const values = await readVector(op, arg, t, n).finally(() => t.dispose());
  return readValues(op, arg, values);
}

import { type Distribution, type EnergyFn, JouleError } from '@joule/core';
import type { Rng, Tensor } from '@joule/tensor';
import { evaluate, type LogZEstimate } from './logz.js';
import { isDistribution, permutation, readPoints, rngFrom } from './util.js';

/**
 * The three evaluation measures of the CNCE paper (Ceylan & Gutmann, §4), in nats.
 *
 * @example
 * ```ts
 * const { ratio, nll, mse, oracleNll } = await cnceMeasures(energy, truth, testData, logZ);
 * ```
 */
export interface CnceMeasures {
  /** MSE of the log-density ratio between paired points against the truth (independent of `log Ẑ`). */
  readonly ratio: number;
  /** Normalized negative log-likelihood of the points, nats per point. */
  readonly nll: number;
  /** MSE of the normalized log-density against the true log-density. */
  readonly mse: number;
  /** `−(1/n) Σ log p_d(xᵢ)`: the NLL of the true density (the entropy estimate), for reference. */
  readonly oracleNll: number;
}

/**
 * Options of {@link cnceMeasures}.
 *
 * @example
 * ```ts
 * const options: CnceOptions = { rng: new Rng(1) };
 * ```
 */
export interface CnceOptions {
  /** The generator of the random pairing; `new Rng(0)` when absent. */
  rng?: Rng;
}

/**
 * The CNCE paper's three measures (§4) of an energy model against a known true density `p_d`,
 * on evaluation points `x₁ … x_n`, with `log p̂(x) = −E(x) − log Ẑ`:
 *
 * - `ratio = (1/n) Σᵢ ([E(x'ᵢ) − E(xᵢ)] − [log p_d(xᵢ) − log p_d(x'ᵢ)])²`, where `x'` is a random
 *   permutation of the points (pairs of independent points);
 * - `nll = −(1/n) Σᵢ log p̂(xᵢ)`;
 * - `mse = (1/n) Σᵢ (log p̂(xᵢ) − log p_d(xᵢ))²`.
 *
 * The paper normalizes with importance sampling from `p_d` with 10⁵ samples:
 * `logZ = await importanceLogZ(energy, truth, { n: 100000 })`. With `e = log p̂ − log p_d` and
 * `H` = `oracleNll`, `ratio ≈ 2 (mse − (nll − H)²)`.
 *
 * @param energy - the model energy, `[n, d] → [n]`
 * @param truth - the true distribution, or a function giving `log p_d(x)` (`[n, d] → [n]`)
 * @param data - evaluation points, `[n, d]`, `n ≥ 2`
 * @param logZ - the model's log-partition estimate (a number or an estimate object)
 * @param options - rng for the pairing
 *
 * @example
 * ```ts
 * import { cnceMeasures, importanceLogZ } from '@joule/metrics';
 *
 * const logZ = await importanceLogZ(energy, truth, { n: 100000 });
 * const { ratio, nll, mse } = await cnceMeasures(energy, truth, testData, logZ);
 * ```
 */
export async function cnceMeasures(
  energy: EnergyFn,
  truth: Distribution | ((x: Tensor) => Tensor),
  data: Tensor,
  logZ: number | Pick<LogZEstimate, 'logZ'>,
  options: CnceOptions = {},
): Promise<CnceMeasures> {
  const op = 'cnceMeasures';
  if (typeof energy !== 'function') throw new JouleError(op, 'energy', 'an energy function', String(energy));
  const logDensity = isDistribution(truth) ? (x: Tensor) => truth.logProb(x) : truth;
  if (typeof logDensity !== 'function') {
    throw new JouleError(op, 'truth', 'a Distribution or a log-density function', String(truth));
  }
  const z = typeof logZ === 'number' ? logZ : logZ?.logZ;
  if (typeof z !== 'number' || !Number.isFinite(z))
    throw new JouleError(op, 'logZ', 'a finite log-partition estimate', String(z));
  const { n } = await readPoints(op, 'data', data, 2);
  const e = await evaluate(op, energy, data, n);
  const lp = await evaluate(op, logDensity, data, n, 'truth');
  const pair = permutation(n, rngFrom(op, options.rng));
  let nll = 0;
  let mse = 0;
  let ratio = 0;
  let oracle = 0;
  for (let i = 0; i < n; i++) {
    const logModel = -e[i] - z;
    nll -= logModel;
    mse += (logModel - lp[i]) ** 2;
    oracle -= lp[i];
    const j = pair[i];
    ratio += (e[j] - e[i] - (lp[i] - lp[j])) ** 2;
  }
  return { ratio: ratio / n, nll: nll / n, mse: mse / n, oracleNll: oracle / n };
}

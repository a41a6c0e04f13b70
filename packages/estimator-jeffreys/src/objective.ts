import { JouleError } from '@joule/core';
import { stopGradient, type Tensor } from '@joule/tensor';
import type { Multipliers, ZetaViolation } from './dual.js';

/**
 * Algorithm 2: the importance-sampling estimate of the log partition function of an EBM with
 * proposals from a density `p`: `log ζ̂ = logsumexp(−E(y_j) − log p(y_j)) − log M`, `y_j ~ p`.
 * Differentiable in the energies (its gradient is the self-normalized eq. 14); pass `logProposal`
 * stop-gradiented. Biased low by Jensen (`≈ −Var(w)/(2Mζ²)`).
 *
 * @example
 * ```ts
 * import { logPartition } from '@joule/estimator-jeffreys';
 *
 * const { x: y, logProb } = flow.sampleAndLogProb(1000, rng);
 * const logZ = logPartition(ebm.forward(y).squeeze(1).neg(), logProb); // scalar tensor
 * ```
 */
export function logPartition(negEnergy: Tensor, logProposal: Tensor): Tensor {
  const op = 'logPartition';
  if (negEnergy?.rank !== 1) {
    throw new JouleError(
      op,
      'negEnergy',
      'a tensor of shape [M]',
      negEnergy ? `shape [${negEnergy.shape}]` : 'nothing',
    );
  }
  if (logProposal?.rank !== 1 || logProposal.shape[0] !== negEnergy.shape[0]) {
    throw new JouleError(
      op,
      'logProposal',
      `a tensor of shape [${negEnergy.shape[0]}]`,
      logProposal ? `shape [${logProposal.shape}]` : 'nothing',
    );
  }
  return negEnergy.sub(logProposal).logSumExp().sub(Math.log(negEnergy.shape[0]));
}

/**
 * The REINFORCE (score-function) surrogate of eqs. 16–18: `mean(stopgrad(c − b) · log p(y))`,
 * whose gradient in the parameters of `log p` is `(1/N) Σ (c_i − b) ∇ log p(y_i)`, an unbiased
 * estimate of `∇ E_p[c]` (up to O(1/N) with the batch-mean baseline `b`; `b = 0` without it).
 *
 * @example
 * ```ts
 * import { scoreFunctionSurrogate } from '@joule/estimator-jeffreys';
 *
 * // ∇_θ KL(p_θ ‖ q) with y ~ p_θ stop-gradiented:
 * const s = scoreFunctionSurrogate(logpY.sub(logqY), flow.apply(theta, y), true);
 * ```
 */
export function scoreFunctionSurrogate(coefficient: Tensor, logDensity: Tensor, baseline: boolean): Tensor {
  const c = stopGradient(coefficient);
  const centred = baseline ? c.sub(c.mean()) : c;
  return centred.mul(logDensity).mean();
}

/**
 * The quantities one Jeffreys iteration needs, evaluated with the parameters being differentiated.
 * Samples are stop-gradient; only the listed densities and energies carry the parameter graph.
 *
 * @example
 * ```ts
 * import type { LagrangianTerms } from '@joule/estimator-jeffreys';
 *
 * const terms: LagrangianTerms = {
 *   logpData: flow.apply(theta, x), negEnergyData: ebm.apply(psi, x).squeeze(1).neg(),
 *   logpModel: flow.apply(theta, y), negEnergyModel: ebm.apply(psi, y).squeeze(1).neg(),
 *   negEnergyIs: ebm.apply(psi, yIs).squeeze(1).neg(), logpIs: stopGradient(logpIs),
 * };
 * ```
 */
export interface LagrangianTerms {
  /** `log p_θ(x_i)` on the data, `[N]`. */
  logpData: Tensor;
  /** `−E_ψ(x_i)` on the data, `[N]`. */
  negEnergyData: Tensor;
  /** `log p_θ` at the samples of the main model used for the reverse KL, `[B]`. */
  logpModel: Tensor;
  /** `−E_ψ` at the same samples, `[B]`. */
  negEnergyModel: Tensor;
  /** `−E_ψ` at the importance samples `y_j ~ p_θ` for `ζ`, `[M]`. */
  negEnergyIs: Tensor;
  /** `log p_θ(y_j)` at the importance samples (stop-gradient), `[M]`. */
  logpIs: Tensor;
}

/**
 * The Lagrangian surrogate and the constraint values of one iteration.
 *
 * @example
 * ```ts
 * const { loss, logZeta, constraints } = flowMainLagrangian(terms, lambda, true);
 * ```
 */
export interface LagrangianResult {
  /** The surrogate whose gradients in θ and ψ are eqs. 15 and 18 (or their EBM-main analogues). */
  loss: Tensor;
  /** `log ζ̂_ψ` (Algorithm 2). */
  logZeta: Tensor;
  /** The constraint values (stop-gradient scalars). */
  constraints: {
    /** `g_fw`: the main model's NLL. */
    fw: Tensor;
    /** `g_rv`: the reverse KL between main and proxy. */
    rv: Tensor;
    /** `g_prx`: the proxy's NLL. */
    prx: Tensor;
  };
}

/** The ψ-dependent part of `λ_u g_u + λ_ℓ g_ℓ`: `(λ_u − λ_ℓ) ζ̂` (paper) or `(λ_u − λ_ℓ) log ζ̂` (log rule). */
function zetaPenalty(logZeta: Tensor, lambda: Multipliers, rule: ZetaViolation): Tensor {
  return (rule === 'log' ? logZeta : logZeta.exp()).mul(lambda.upper - lambda.lower);
}

/**
 * The paper's pairing (main model a flow `p_θ`, proxy an EBM `q_ψ ∝ exp(−E_ψ)`): the Lagrangian
 * (eq. 11) as an autodiff surrogate whose θ-gradient is eq. 18 and ψ-gradient eq. 15:
 * `−λ_fw mean log p_θ(x) + λ_rv mean(sg(log p_θ(y) + E_ψ(y)) log p_θ(y))`
 * `+ λ_prx mean E_ψ(x) + λ_rv mean E_ψ(y) + (λ_prx + λ_rv) log ζ̂ + (λ_u − λ_ℓ) ζ̂`, where the last
 * term is `(λ_u − λ_ℓ) log ζ̂` under `zetaViolation: 'log'` (see {@link ZetaViolation}).
 * Constraints: `g_fw = NLL(p)`, `g_rv = KL̂(p ‖ q)`, `g_prx = NLL(q)`.
 *
 * @example
 * ```ts
 * import { flowMainLagrangian } from '@joule/estimator-jeffreys';
 *
 * const { loss } = flowMainLagrangian(terms, { fw: 1, rv: 0.5, prx: 1, upper: 0, lower: 0 }, true);
 * ```
 */
export function flowMainLagrangian(
  terms: LagrangianTerms,
  lambda: Multipliers,
  baseline: boolean,
  zetaViolation: ZetaViolation = 'paper',
): LagrangianResult {
  const logZeta = logPartition(terms.negEnergyIs, terms.logpIs);
  const fw = terms.logpData.mean().neg();
  const rvCoef = terms.logpModel.sub(terms.negEnergyModel);
  const rv = rvCoef.mean().add(logZeta);
  const prx = terms.negEnergyData.mean().neg().add(logZeta);
  const mainLoss = fw.mul(lambda.fw).add(scoreFunctionSurrogate(rvCoef, terms.logpModel, baseline).mul(lambda.rv));
  const proxyLoss = terms.negEnergyData
    .mean()
    .mul(-lambda.prx)
    .sub(terms.negEnergyModel.mean().mul(lambda.rv))
    .add(logZeta.mul(lambda.prx + lambda.rv))
    .add(zetaPenalty(logZeta, lambda, zetaViolation));
  return {
    loss: mainLoss.add(proxyLoss),
    logZeta: stopGradient(logZeta),
    constraints: { fw: stopGradient(fw), rv: stopGradient(rv), prx: stopGradient(prx) },
  };
}

/**
 * The reverse pairing (main model the EBM `q_ψ`, proxy the flow `p_θ`): constraints
 * `g_fw = NLL(q) = mean E_ψ(x) + log ζ̂`, `g_rv = KL̂(q ‖ p) = mean(−E_ψ(z) − log p_θ(z)) − log ζ̂`
 * with `z ~ q_ψ` (MCMC), `g_prx = NLL(p)`. Surrogate gradients: ψ gets
 * `λ_fw ∇NLL(q) + λ_rv Cov_q(−E − log p, −∇E)` (score function of `q`, centred by the sample mean)
 * and the ζ bounds (on `ζ̂`, or on `log ζ̂` under `zetaViolation: 'log'`); θ gets `−λ_prx mean ∇log p_θ(x) − λ_rv mean ∇log p_θ(z)`. Here `logpModel`
 * and `negEnergyModel` are evaluated at the MCMC samples `z`.
 *
 * @example
 * ```ts
 * import { ebmMainLagrangian } from '@joule/estimator-jeffreys';
 *
 * const { loss, constraints } = ebmMainLagrangian(terms, lambda);
 * ```
 */
export function ebmMainLagrangian(
  terms: LagrangianTerms,
  lambda: Multipliers,
  zetaViolation: ZetaViolation = 'paper',
): LagrangianResult {
  const logZeta = logPartition(terms.negEnergyIs, terms.logpIs);
  const fw = terms.negEnergyData.mean().neg().add(logZeta);
  const rvCoef = terms.negEnergyModel.sub(terms.logpModel);
  const rv = stopGradient(rvCoef).mean().sub(stopGradient(logZeta));
  const prx = terms.logpData.mean().neg();
  const proxyLoss = prx.mul(lambda.prx).sub(terms.logpModel.mean().mul(lambda.rv));
  const mainLoss = fw
    .mul(lambda.fw)
    .add(scoreFunctionSurrogate(rvCoef, terms.negEnergyModel, true).mul(lambda.rv))
    .add(zetaPenalty(logZeta, lambda, zetaViolation));
  return {
    loss: mainLoss.add(proxyLoss),
    logZeta: stopGradient(logZeta),
    constraints: { fw: stopGradient(fw), rv, prx: stopGradient(prx) },
  };
}

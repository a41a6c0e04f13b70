import { type EnergyFn, type Estimator, JouleError } from '@joule/core';
import { ula } from '@joule/mcmc';
import {
  Adam,
  assertEnergyModel,
  type EnergyModel,
  energyVector,
  type OptimizerState,
  type ParamTree,
  snapshot,
} from '@joule/nn';
import { noGrad, type Rng, stopGradient, type Tensor, valueAndGrad } from '@joule/tensor';
import {
  type DualOptions,
  dualAscent,
  type Multipliers,
  type ResolvedDualOptions,
  resolveDualOptions,
  type ZetaViolation,
  zetaViolations,
} from './dual.js';
import { checkBatch, checkDensity, type TrainableDensity } from './models.js';
import { ebmMainLagrangian, flowMainLagrangian, type LagrangianTerms, logPartition } from './objective.js';

/**
 * Unadjusted Langevin settings for sampling the EBM, warm-started from flow samples (paper eq. 8).
 *
 * @example
 * ```ts
 * import type { LangevinSettings } from '@joule/estimator-jeffreys';
 *
 * const langevin: LangevinSettings = { steps: 20, stepSize: 1e-3 };
 * ```
 */
export interface LangevinSettings {
  /** Number of ULA steps (default 20). */
  steps?: number;
  /** ULA step size `s` in `x ← x − s∇E(x) + √(2s) ξ` (default 1e-3). */
  stepSize?: number;
}

/**
 * The fixed weights of the P-W penalty baseline `w_fw NLL(main) + w_rv KL(main ‖ proxy) + w_prx NLL(proxy)`.
 *
 * @example
 * ```ts
 * import type { PenaltyWeights } from '@joule/estimator-jeffreys';
 *
 * const weights: PenaltyWeights = { fw: 1, rv: 2, prx: 1 };
 * ```
 */
export interface PenaltyWeights {
  /** `w_fw`, the main model's NLL (the paper's `w_for`). */
  fw: number;
  /** `w_rv`, the reverse KL (the paper's `w_back`). */
  rv: number;
  /** `w_prx`, the proxy's NLL (unstated in the paper; 1 by default). */
  prx: number;
}

/**
 * Options of {@link JeffreysEstimator}. Defaults are the paper's 2-D settings (App. D.1–D.2).
 *
 * @example
 * ```ts
 * import type { JeffreysOptions } from '@joule/estimator-jeffreys';
 *
 * const options: JeffreysOptions = { main: 'flow', method: 'dual', isSamples: 1000, epsZeta: 0.1 };
 * ```
 */
export interface JeffreysOptions {
  /**
   * Which model is the main model whose Jeffreys divergence to the data is minimized: `'flow'` (the
   * paper's pairing: the EBM is the proxy for the data density in the reverse KL) or `'ebm'` (the
   * reverse pairing: the flow is the proxy, and `KL(q_ψ ‖ p_θ)` is estimated from Langevin samples
   * of the EBM). Default `'flow'`.
   */
  main?: 'flow' | 'ebm';
  /** `'dual'`: the resilient constrained problem by primal–dual updates (default); `'weighted'`: the fixed-weight penalty P-W. */
  method?: 'dual' | 'weighted';
  /**
   * P-W's fixed weights `w_fw, w_rv, w_prx` (default 1 each; each ≥ 0, not all 0; `w_rv = 0` trains
   * the flow by maximum likelihood and the EBM by its IS-normalized NLL, with no ζ constraint); only
   * for `method: 'weighted'`.
   */
  weights?: PenaltyWeights;
  /** The dual-ascent settings (only for `method: 'dual'`). */
  dual?: DualOptions;
  /** The normalization tolerance `ε_ζ` of `1 ≤ ζ ≤ 1 + ε_ζ` (default 0.1). */
  epsZeta?: number;
  /**
   * How the ζ constraints' violations are measured in the dual ascent and the primal term:
   * `'paper'` on `ζ̂` (default, the paper's rule) or `'log'` on `log ζ̂` against `[0, log(1 + ε_ζ)]`
   * (our addition; see {@link ZetaViolation}).
   */
  zetaViolation?: ZetaViolation;
  /** Importance samples `M` for `ζ̂` (default 1000). */
  isSamples?: number;
  /** Samples of the main model for the reverse KL (default: the batch size). */
  modelSamples?: number;
  /** Adam learning rate of the flow θ (default 1e-3). */
  lrFlow?: number;
  /** Adam learning rate of the EBM ψ (default 1e-4). */
  lrEnergy?: number;
  /** Adam betas of both models (default `[0, 0.9]`, the paper's). */
  betas?: [number, number];
  /** Centre the score-function coefficients by their batch mean (default true; not in the paper). */
  baseline?: boolean;
  /** Langevin sampling of the EBM (used by `main: 'ebm'` in training and by `sample`). */
  langevin?: LangevinSettings;
}

/**
 * What {@link JeffreysEstimator.state} returns.
 *
 * @example
 * ```ts
 * const saved: JeffreysState = est.state();
 * saved.multipliers.rv;
 * ```
 */
export type JeffreysState = {
  /** Iterations taken. */
  iteration: number;
  /** The dual variables λ. */
  multipliers: Multipliers;
  /** The flow's parameters θ. */
  flowParams: ParamTree;
  /** The EBM's parameters ψ. */
  energyParams: ParamTree;
  /** Adam state of θ. */
  flowOptimizer: OptimizerState;
  /** Adam state of ψ. */
  energyOptimizer: OptimizerState;
};

function posInt(op: string, arg: string, v: unknown): number {
  if (!Number.isInteger(v) || (v as number) <= 0) throw new JouleError(op, arg, 'a positive integer', String(v));
  return v as number;
}

function posNum(op: string, arg: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0)
    throw new JouleError(op, arg, 'a finite number > 0', String(v));
  return v;
}

/** Runs `steps` ULA steps on `energy` from `x0` and returns the final positions. */
export function langevinChain(energy: EnergyFn, x0: Tensor, rng: Rng, settings: Required<LangevinSettings>): Tensor {
  const kernel = ula({ stepSize: settings.stepSize });
  let state = kernel.init(x0, energy);
  for (let t = 0; t < settings.steps; t++) state = kernel.step(rng, state).state;
  return stopGradient(state.x);
}

/** Validates {@link LangevinSettings}. */
export function resolveLangevin(op: string, s: LangevinSettings | undefined): Required<LangevinSettings> {
  if (s !== undefined && (s === null || typeof s !== 'object'))
    throw new JouleError(op, 'langevin', 'an object', String(s));
  const steps = s?.steps ?? 20;
  if (!Number.isInteger(steps) || steps < 0)
    throw new JouleError(op, 'langevin.steps', 'an integer ≥ 0', String(steps));
  return { steps, stepSize: posNum(op, 'langevin.stepSize', s?.stepSize ?? 1e-3) };
}

function nonNegative(op: string, arg: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0)
    throw new JouleError(op, arg, 'a finite number ≥ 0', String(v));
  return v;
}

function checkBetas(op: string, b: unknown): [number, number] {
  if (!Array.isArray(b) || b.length !== 2 || !b.every((v) => typeof v === 'number' && v >= 0 && v < 1)) {
    throw new JouleError(op, 'betas', 'two numbers in [0, 1)', String(b));
  }
  return [b[0], b[1]];
}

function finite(op: string, name: string, v: number, iteration: number): number {
  if (!Number.isFinite(v)) throw new JouleError(op, name, `a finite value at iteration ${iteration}`, String(v));
  return v;
}

/**
 * Adaptive symmetrization of the KL (Ben-Dov & Chamon): trains a main model to a small Jeffreys
 * divergence `KL(π ‖ main) + KL(main ‖ π)` to the data `π`, with a proxy model standing in for `π`
 * in the reverse term, as the resilient constrained problem
 * `min ε_fw² + ε_rv² + ε_prx²  s.t.  NLL(main) ≤ ε_fw, KL(main ‖ proxy) ≤ ε_rv, NLL(proxy) ≤ ε_prx,
 * 1 ≤ ζ ≤ 1 + ε_ζ`, solved by Algorithm 3's simultaneous primal–dual updates: one Adam step on
 * θ and ψ from the Lagrangian's gradients (eqs. 15, 18), closed-form slacks `ε = λ/2`
 * (`δ = 1/(2λ)` under the negative-NLL form), projected ascent on λ. The EBM's partition function
 * `ζ` is estimated by importance sampling from the flow (Algorithm 2). `method: 'weighted'` is the
 * fixed-weight penalty baseline P-W (no dual updates, no ζ constraint).
 *
 * `step` returns the multipliers (`lambdaFw`, `lambdaRv`, `lambdaPrx`, `lambdaUpper`,
 * `lambdaLower`), the constraint values (`nllMain`, `klReverse`, `nllProxy`), `zeta` and
 * `logZeta`. The multipliers are part of `state()`.
 *
 * @example
 * ```ts
 * import { JeffreysEstimator } from '@joule/estimator-jeffreys';
 * import { AffineCoupling, Flow } from '@joule/flows';
 * import { MLP } from '@joule/nn';
 * import { Rng } from '@joule/tensor';
 *
 * const rng = new Rng(0);
 * const flow = new Flow([new AffineCoupling(2, { rng, keep: 'first' }), new AffineCoupling(2, { rng, keep: 'last' })]);
 * const ebm = new MLP(2, 1, { rng, width: 32, depth: 2 });
 * const est = new JeffreysEstimator(flow, ebm, { isSamples: 512 });
 * const stats = await est.step(data, rng); // { lambdaFw, lambdaRv, …, zeta }
 * ```
 */
export class JeffreysEstimator implements Estimator<Tensor> {
  /** `'jeffreys'` (dual) or `'jeffreys-weighted'` (P-W). */
  readonly name: 'jeffreys' | 'jeffreys-weighted';
  /** The EBM's current energy `E_ψ`. */
  readonly energy: EnergyFn;
  /** The flow. */
  readonly flow: TrainableDensity;
  /** The EBM. */
  readonly energyModel: EnergyModel;
  /** Which model is the main model. */
  readonly main: 'flow' | 'ebm';
  private multipliers: Multipliers;
  private iteration = 0;
  private readonly method: 'dual' | 'weighted';
  private readonly dual: ResolvedDualOptions;
  private readonly epsZeta: number;
  private readonly zetaViolation: ZetaViolation;
  private readonly isSamples: number;
  private readonly modelSamples: number | undefined;
  private readonly baseline: boolean;
  private readonly langevin: Required<LangevinSettings>;
  private readonly flowOpt: Adam;
  private readonly energyOpt: Adam;

  /** A Jeffreys estimator of the pair (`flow`, `energyModel`). */
  constructor(flow: TrainableDensity, energyModel: EnergyModel, options: JeffreysOptions = {}) {
    const op = 'JeffreysEstimator';
    checkDensity(op, 'flow', flow);
    assertEnergyModel(op, 'energyModel', energyModel);
    if (options === null || typeof options !== 'object')
      throw new JouleError(op, 'options', 'an object', String(options));
    const main = options.main ?? 'flow';
    if (main !== 'flow' && main !== 'ebm') throw new JouleError(op, 'options.main', "'flow' or 'ebm'", String(main));
    const method = options.method ?? 'dual';
    if (method !== 'dual' && method !== 'weighted')
      throw new JouleError(op, 'options.method', "'dual' or 'weighted'", String(method));
    this.flow = flow;
    this.energyModel = energyModel;
    this.main = main;
    this.method = method;
    this.name = method === 'dual' ? 'jeffreys' : 'jeffreys-weighted';
    this.dual = resolveDualOptions(options.dual ?? {}, op);
    this.epsZeta = posNum(op, 'options.epsZeta', options.epsZeta ?? 0.1);
    const zetaViolation = options.zetaViolation ?? 'paper';
    if (zetaViolation !== 'paper' && zetaViolation !== 'log')
      throw new JouleError(op, 'options.zetaViolation', "'paper' or 'log'", String(zetaViolation));
    this.zetaViolation = zetaViolation;
    this.isSamples = posInt(op, 'options.isSamples', options.isSamples ?? 1000);
    this.modelSamples =
      options.modelSamples === undefined ? undefined : posInt(op, 'options.modelSamples', options.modelSamples);
    this.baseline = options.baseline ?? true;
    if (typeof this.baseline !== 'boolean')
      throw new JouleError(op, 'options.baseline', 'a boolean', String(this.baseline));
    this.langevin = resolveLangevin(op, options.langevin);
    if (method === 'weighted') {
      const w = options.weights ?? { fw: 1, rv: 1, prx: 1 };
      if (!w || typeof w !== 'object') throw new JouleError(op, 'options.weights', '{ fw, rv, prx }', String(w));
      this.multipliers = {
        fw: nonNegative(op, 'options.weights.fw', w.fw),
        rv: nonNegative(op, 'options.weights.rv', w.rv),
        prx: nonNegative(op, 'options.weights.prx', w.prx),
        upper: 0,
        lower: 0,
      };
      if (this.multipliers.fw + this.multipliers.rv + this.multipliers.prx === 0)
        throw new JouleError(op, 'options.weights', 'at least one weight > 0', '{ fw: 0, rv: 0, prx: 0 }');
    } else {
      if (options.weights !== undefined)
        throw new JouleError(op, 'options.weights', "no weights with method 'dual'", 'weights');
      const l0 = this.dual.init;
      this.multipliers = { fw: l0, rv: l0, prx: l0, upper: 0, lower: 0 };
    }
    const betas = checkBetas(op, options.betas ?? [0, 0.9]);
    this.flowOpt = new Adam(flow.parameters(), { lr: posNum(op, 'options.lrFlow', options.lrFlow ?? 1e-3), betas });
    this.energyOpt = new Adam(energyModel.parameters(), {
      lr: posNum(op, 'options.lrEnergy', options.lrEnergy ?? 1e-4),
      betas,
    });
    this.energy = (x: Tensor) => energyVector(this.energyModel.apply(this.energyModel.parameters(), x));
  }

  /** The current dual variables. */
  get lambda(): Multipliers {
    return { ...this.multipliers };
  }

  /**
   * One iteration of Algorithm 3 on a data batch `[N, d]` (full batch in the paper).
   *
   * @example
   * ```ts
   * const { lambdaRv, klReverse, zeta } = await est.step(data, rng);
   * ```
   */
  async step(batch: Tensor, rng: Rng): Promise<Record<string, number>> {
    const op = 'JeffreysEstimator.step';
    checkBatch(op, batch);
    const n = batch.shape[0] as number;
    const b = this.modelSamples ?? n;
    const { y, yIs, lpIs } = noGrad(() => {
      const model = this.flow.sampleAndLogProb(b, rng);
      const is = this.flow.sampleAndLogProb(this.isSamples, rng);
      return { y: model.x, yIs: is.x, lpIs: is.logProb };
    });
    const samples = this.main === 'ebm' ? langevinChain(this.energy, y, rng, this.langevin) : stopGradient(y);
    const lambda = this.multipliers;
    const read: { fw: number; rv: number; prx: number; logZeta: number } = { fw: 0, rv: 0, prx: 0, logZeta: 0 };
    const { grad } = valueAndGrad((p: { flow: ParamTree; energy: ParamTree }) => {
      const negE = (x: Tensor) => energyVector(this.energyModel.apply(p.energy, x)).neg();
      const terms: LagrangianTerms = {
        logpData: this.flow.apply(p.flow, batch),
        negEnergyData: negE(batch),
        logpModel: this.flow.apply(p.flow, samples),
        negEnergyModel: negE(samples),
        negEnergyIs: negE(stopGradient(yIs)),
        logpIs: stopGradient(lpIs),
      };
      const r =
        this.main === 'flow'
          ? flowMainLagrangian(terms, lambda, this.baseline, this.zetaViolation)
          : ebmMainLagrangian(terms, lambda, this.zetaViolation);
      read.fw = r.constraints.fw.dataSync()[0] as number;
      read.rv = r.constraints.rv.dataSync()[0] as number;
      read.prx = r.constraints.prx.dataSync()[0] as number;
      read.logZeta = r.logZeta.dataSync()[0] as number;
      return r.loss;
    })({ flow: this.flow.parameters(), energy: this.energyModel.parameters() });
    const it = this.iteration;
    finite(op, 'nllMain', read.fw, it);
    finite(op, 'klReverse', read.rv, it);
    finite(op, 'nllProxy', read.prx, it);
    finite(op, 'logZeta', read.logZeta, it);
    const zeta = Math.exp(read.logZeta);
    this.flow.load(this.flowOpt.step(this.flow.parameters(), grad.flow));
    this.energyModel.load(this.energyOpt.step(this.energyModel.parameters(), grad.energy));
    if (this.method === 'dual') {
      const { upper, lower } = zetaViolations(read.logZeta, this.epsZeta, this.zetaViolation);
      this.multipliers = dualAscent(lambda, { fw: read.fw, rv: read.rv, prx: read.prx, upper, lower }, this.dual);
    }
    this.iteration++;
    const l = this.multipliers;
    return {
      lambdaFw: l.fw,
      lambdaRv: l.rv,
      lambdaPrx: l.prx,
      lambdaUpper: l.upper,
      lambdaLower: l.lower,
      nllMain: read.fw,
      klReverse: read.rv,
      nllProxy: read.prx,
      zeta,
      logZeta: read.logZeta,
    };
  }

  /**
   * The warm start of App. B.8: `steps` Adam steps (rate `lr`) on the EBM alone, fitting
   * `−E_ψ(y)` to `log p_θ(y)` by least squares on fresh flow samples (`M` per step), so that the
   * proxy starts near the flow and `ζ ≈ 1` before the primal–dual iterations. Returns the final
   * mean squared error.
   *
   * @example
   * ```ts
   * await est.warmStart(rng, { steps: 200 });
   * ```
   */
  async warmStart(rng: Rng, options: { steps?: number; lr?: number } = {}): Promise<number> {
    const op = 'JeffreysEstimator.warmStart';
    const steps = posInt(op, 'options.steps', options.steps ?? 200);
    const opt = new Adam(this.energyModel.parameters(), { lr: posNum(op, 'options.lr', options.lr ?? 1e-3) });
    let mse = Number.NaN;
    for (let t = 0; t < steps; t++) {
      const { x, logProb } = noGrad(() => this.flow.sampleAndLogProb(this.isSamples, rng));
      const { value, grad } = valueAndGrad((p: ParamTree) =>
        energyVector(this.energyModel.apply(p, stopGradient(x)))
          .neg()
          .sub(stopGradient(logProb))
          .square()
          .mean(),
      )(this.energyModel.parameters());
      mse = finite(op, 'mse', value.dataSync()[0] as number, t);
      this.energyModel.load(opt.step(this.energyModel.parameters(), grad));
    }
    return mse;
  }

  /**
   * `log ζ̂` of the EBM by Algorithm 2 with `m` flow samples (default: the training `M`).
   *
   * @example
   * ```ts
   * const logZ = est.logPartition(new Rng(1), 10000);
   * ```
   */
  logPartition(rng: Rng, m = this.isSamples): number {
    posInt('JeffreysEstimator.logPartition', 'm', m);
    return noGrad(() => {
      const { x, logProb } = this.flow.sampleAndLogProb(m, rng);
      return logPartition(this.energy(x).neg(), logProb).dataSync()[0] as number;
    });
  }

  /**
   * The EBM's log-density normalized by a given `log ζ̂` (the paper's quasi-normalized `q̃_ψ`):
   * `−E_ψ(x) − log ζ̂`, `[n]`.
   *
   * @example
   * ```ts
   * const lq = est.energyLogProb(testPoints, est.logPartition(rng, 10000));
   * ```
   */
  energyLogProb(x: Tensor, logZeta: number): Tensor {
    checkBatch('JeffreysEstimator.energyLogProb', x);
    if (!Number.isFinite(logZeta))
      throw new JouleError('JeffreysEstimator.energyLogProb', 'logZeta', 'a finite number', String(logZeta));
    return noGrad(() => this.energy(x).neg().sub(logZeta));
  }

  /**
   * `n` samples of the main model: the flow's, or (main `'ebm'`) Langevin on the EBM started at
   * flow samples.
   *
   * @example
   * ```ts
   * const x = await est.sample(1000, rng);
   * ```
   */
  async sample(n: number, rng: Rng): Promise<Tensor> {
    posInt('JeffreysEstimator.sample', 'n', n);
    const x0 = noGrad(() => this.flow.sampleAndLogProb(n, rng).x);
    return this.main === 'flow' ? x0 : langevinChain(this.energy, x0, rng, this.langevin);
  }

  /**
   * A snapshot: iteration, multipliers, both models' parameters and optimizer states.
   *
   * @example
   * ```ts
   * const saved = est.state();
   * ```
   */
  state(): JeffreysState {
    return {
      iteration: this.iteration,
      multipliers: { ...this.multipliers },
      flowParams: snapshot(this.flow.parameters()),
      energyParams: snapshot(this.energyModel.parameters()),
      flowOptimizer: this.flowOpt.state(),
      energyOptimizer: this.energyOpt.state(),
    };
  }

  /**
   * Restores a snapshot from {@link JeffreysEstimator.state}.
   *
   * @example
   * ```ts
   * est.load(saved);
   * ```
   */
  load(state: object): void {
    const op = 'JeffreysEstimator.load';
    const s = state as Partial<JeffreysState> | null;
    const m = s?.multipliers;
    const keys = ['fw', 'rv', 'prx', 'upper', 'lower'] as const;
    if (!m || !keys.every((k) => typeof m[k] === 'number' && Number.isFinite(m[k]) && m[k] >= 0)) {
      throw new JouleError(op, 'state.multipliers', '{ fw, rv, prx, upper, lower } finite and ≥ 0', String(m));
    }
    if (
      !s ||
      !Number.isInteger(s.iteration) ||
      !s.flowParams ||
      !s.energyParams ||
      !s.flowOptimizer ||
      !s.energyOptimizer
    ) {
      throw new JouleError(op, 'state', 'a JeffreysEstimator state', String(state));
    }
    this.flow.load(s.flowParams);
    this.energyModel.load(s.energyParams);
    this.flowOpt.load(s.flowOptimizer);
    this.energyOpt.load(s.energyOptimizer);
    this.multipliers = { ...m };
    this.iteration = s.iteration as number;
  }
}

import { JouleError, type Tensor } from '@joule/tensor';
import { Adam, type OptimizerState } from './optim.js';
import type { ParamTree } from './tree.js';

/**
 * A trainable energy: a parameter tree and the energy as a pure function of it, what every
 * estimator that trains an energy takes. `apply(params, x, context?)` gives the energies of `x`
 * (`[n, d]`) under `params`, shape `[n]` or `[n, 1]` (see {@link energyVector}); a conditional
 * model also reads a context (`[n, c]`), an unconditional one simply ignores it. A `Module`
 * such as `MLP(d, 1, …)` or `ConditionalMLP` fits as it is.
 *
 * @example
 * ```ts
 * import { type EnergyModel, MLP } from '@joule/nn';
 *
 * const model: EnergyModel = new MLP(2, 1, { rng, width: 64, depth: 2 });
 * ```
 */
export interface EnergyModel {
  /** The current parameters. */
  parameters(): ParamTree;
  /** The energy of `x` (`[n, d]`, with a context `[n, c]` when conditional) under `params`. */
  apply(params: ParamTree, x: Tensor, context?: Tensor): Tensor;
  /** Replaces the parameters. */
  load(params: ParamTree): unknown;
}

/**
 * What an estimator needs of an optimizer (every `Optimizer` of this package has it): a functional
 * `step(params, grads) → params` and its state for checkpoints.
 *
 * @example
 * ```ts
 * import { SGD, type StepOptimizer } from '@joule/nn';
 *
 * const opt: StepOptimizer = new SGD(model.parameters(), { lr: 0.1 });
 * ```
 */
export interface StepOptimizer {
  /** The updated parameters after one step on `grads`. */
  step(params: ParamTree, grads: ParamTree): ParamTree;
  /** The optimizer's state. */
  state(): OptimizerState;
  /** Restores a state from `state()`. */
  load(state: OptimizerState): void;
}

/**
 * The settings of an estimator's default `Adam` optimizer.
 *
 * @example
 * ```ts
 * import type { AdamSettings } from '@joule/nn';
 *
 * const adam: AdamSettings = { lr: 1e-3 };
 * ```
 */
export interface AdamSettings {
  /** The learning rate (default 1e-3). */
  lr?: number;
}

/**
 * The optimizer an estimator uses: a ready {@link StepOptimizer} of the estimator's parameter tree,
 * or the {@link AdamSettings} of a default Adam (see {@link resolveOptimizer}).
 *
 * @example
 * ```ts
 * import type { OptimizerChoice } from '@joule/nn';
 *
 * const choice: OptimizerChoice = { lr: 3e-4 };
 * ```
 */
export type OptimizerChoice = StepOptimizer | AdamSettings;

/**
 * The optimizer an {@link OptimizerChoice} stands for: the choice itself when it is a
 * {@link StepOptimizer} (anything with a `step` method), otherwise a new `Adam` of `params`
 * with the choice's learning rate (default 1e-3, also when `choice` is absent).
 *
 * @example
 * ```ts
 * import { resolveOptimizer } from '@joule/nn';
 *
 * const opt = resolveOptimizer(model.parameters(), options.optimizer); // Adam lr 1e-3 when absent
 * ```
 */
export function resolveOptimizer(params: ParamTree, choice?: OptimizerChoice): StepOptimizer {
  if (choice && typeof (choice as Partial<StepOptimizer>).step === 'function') return choice as StepOptimizer;
  return new Adam(params, { lr: (choice as AdamSettings | undefined)?.lr ?? 1e-3 });
}

/**
 * Throws `JouleError(op, arg, 'an EnergyModel (parameters, apply, load)', …)` unless `value` has
 * the three methods of an {@link EnergyModel}; afterwards TypeScript knows it is one.
 *
 * @example
 * ```ts
 * import { assertEnergyModel } from '@joule/nn';
 *
 * assertEnergyModel('MyEstimator', 'model', model); // JouleError naming `model` if it is not one
 * ```
 */
export function assertEnergyModel(op: string, arg: string, value: unknown): asserts value is EnergyModel {
  const m = value as Partial<EnergyModel> | null | undefined;
  if (!m || typeof m.parameters !== 'function' || typeof m.apply !== 'function' || typeof m.load !== 'function') {
    throw new JouleError(op, arg, 'an EnergyModel (parameters, apply, load)', String(value));
  }
}

/**
 * The energies an {@link EnergyModel} returned as a vector: `[n, 1]` (what `MLP(d, 1, …)` gives)
 * becomes `[n]`; any other shape, `[n]` included, is returned as it is.
 *
 * @example
 * ```ts
 * import { energyVector } from '@joule/nn';
 *
 * const e = energyVector(model.apply(model.parameters(), x)); // [n]
 * ```
 */
export function energyVector(energies: Tensor): Tensor {
  return energies.rank === 2 && energies.shape[1] === 1 ? energies.reshape([energies.shape[0] as number]) : energies;
}

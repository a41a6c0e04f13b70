import { JouleError, keep, Tensor, tidy } from '@joule/tensor';
import { describe, formatShape, namedLeaves, type ParamTree, sameShape, share, treeFromNamed } from './tree.js';

/** Options of {@link EMA}. */
export interface EMAOptions {
  /** The decay `β` of `s ← βs + (1 − β)p` (default 0.999). */
  decay?: number;
  /** Use `min(β, (1 + k) / (10 + k))` at the `k`-th update, so early averages follow the parameters (default false). */
  warmup?: boolean;
}

/**
 * The state of an {@link EMA}: plain JSON plus tensors.
 *
 * @example
 * ```ts
 * const saved: EMAState = ema.state();
 * ```
 */
export interface EMAState {
  /** Updates done. */
  updates: number;
  /** The averaged parameters by dotted name. */
  shadow: Record<string, Tensor>;
}

/**
 * An exponential moving average of parameters, `s ← βs + (1 − β)p` after each optimizer step;
 * the averaged parameters often sample and evaluate better than the last iterate.
 *
 * @example
 * ```ts
 * const ema = new EMA(model.parameters(), { decay: 0.99 });
 * // after each step:
 * ema.update(model.parameters());
 * // evaluate with the average:
 * model.apply(ema.params(), x);
 * ```
 */
export class EMA {
  /** The decay β. */
  readonly decay: number;
  /** Whether the decay warms up. */
  readonly warmup: boolean;
  /** Updates done so far. */
  updates = 0;
  private readonly names: string[];
  private shadow: Tensor[];

  /** An average starting at `params` (copied). */
  constructor(params: ParamTree, options: EMAOptions = {}) {
    this.decay = options.decay ?? 0.999;
    if (!(this.decay >= 0 && this.decay < 1))
      throw new JouleError('EMA', 'options.decay', 'a number in [0, 1)', describe(this.decay));
    this.warmup = options.warmup ?? false;
    const leaves = namedLeaves(params, 'EMA', 'params');
    this.names = leaves.map(([n]) => n);
    this.shadow = leaves.map(([, t]) => share(t));
  }

  /**
   * Folds the current parameters (same names and shapes as at construction) into the average.
   *
   * @example
   * ```ts
   * ema.update(model.parameters());
   * ```
   */
  update(params: ParamTree): void {
    const leaves = namedLeaves(params, 'EMA.update', 'params');
    this.check(leaves, 'EMA.update', 'params');
    const k = this.updates;
    const beta = this.warmup ? Math.min(this.decay, (1 + k) / (10 + k)) : this.decay;
    const next = tidy(() => leaves.map(([, p], i) => keep(this.shadow[i].mul(beta).add(p.mul(1 - beta)))));
    for (const t of this.shadow) t.dispose();
    this.shadow = next;
    this.updates = k + 1;
  }

  private check(leaves: [string, Tensor][], op: string, arg: string): void {
    if (leaves.length !== this.names.length)
      throw new JouleError(op, arg, `${this.names.length} tensors`, String(leaves.length));
    leaves.forEach(([name, t], i) => {
      if (name !== this.names[i] || !sameShape(t.shape, this.shadow[i].shape)) {
        throw new JouleError(
          op,
          `${arg}.${name}`,
          `${this.names[i]} of shape ${formatShape(this.shadow[i].shape)}`,
          `${name} of shape ${formatShape(t.shape)}`,
        );
      }
    });
  }

  /**
   * The averaged parameters as a tree nested by name like the one given at construction (copies
   * that stay valid after later updates), ready for `module.apply` or `module.load`.
   *
   * @example
   * ```ts
   * model.load(ema.params());
   * ```
   */
  params(): ParamTree {
    return treeFromNamed(this.names.map((n, i) => [n, share(this.shadow[i])]));
  }

  /**
   * The state to save (copies of the averages).
   *
   * @example
   * ```ts
   * const saved = ema.state();
   * ```
   */
  state(): EMAState {
    return { updates: this.updates, shadow: Object.fromEntries(this.names.map((n, i) => [n, share(this.shadow[i])])) };
  }

  /**
   * Checks a saved state (names and shapes) without changing anything.
   *
   * @example
   * ```ts
   * ema.validateState(saved);
   * ```
   */
  validateState(state: EMAState): void {
    if (state === null || typeof state !== 'object')
      throw new JouleError('EMA.load', 'state', 'an EMAState', describe(state));
    if (!Number.isInteger(state.updates) || state.updates < 0) {
      throw new JouleError('EMA.load', 'state.updates', 'a non-negative integer', describe(state.updates));
    }
    const shadow = state.shadow;
    if (shadow === null || typeof shadow !== 'object')
      throw new JouleError('EMA.load', 'state.shadow', 'a record of tensors', describe(shadow));
    const names = Object.keys(shadow);
    const missing = this.names.filter((n) => !(n in shadow));
    if (missing.length > 0)
      throw new JouleError('EMA.load', 'state.shadow', 'every parameter', `none for ${missing.join(', ')}`);
    if (names.length !== this.names.length) {
      const extra = names.filter((n) => !this.names.includes(n));
      throw new JouleError(
        'EMA.load',
        'state.shadow',
        `only the names ${this.names.join(', ')}`,
        `also ${extra.join(', ')}`,
      );
    }
    this.check(
      this.names.map((n) => {
        const t = shadow[n];
        if (!(t instanceof Tensor)) throw new JouleError('EMA.load', `state.shadow.${n}`, 'a Tensor', describe(t));
        return [n, t];
      }),
      'EMA.load',
      'state.shadow',
    );
  }

  /**
   * Restores a state saved with {@link EMA.state}; validated first.
   *
   * @example
   * ```ts
   * ema.load(saved);
   * ```
   */
  load(state: EMAState): void {
    this.validateState(state);
    for (const t of this.shadow) t.dispose();
    this.shadow = this.names.map((n) => share(state.shadow[n]));
    this.updates = state.updates;
  }
}

import { add, flattenTree, JouleError, keep, minimum, Tensor, tidy, zeros } from '@joule/tensor';
import type { Schedule } from './schedules.js';
import { describe, formatShape, namedLeaves, type ParamTree, sameShape, share } from './tree.js';

/** What {@link clipGradNorm} returns. */
export interface ClippedGrads<T> {
  /** The clipped gradients, shaped like the input. */
  grads: T;
  /** The global norm before clipping, a one-element tensor. */
  norm: Tensor;
}

/** One tensor's update: what {@link Optimizer} subclasses return for each parameter. */
export interface StepResult {
  /** The new value of the parameter. */
  param: Tensor;
  /** The new state tensors of the parameter by slot name. */
  slots: Record<string, Tensor>;
}

/**
 * Scales a gradient tree so that its global L2 norm (over all tensors together) is at most
 * `maxNorm` (PyTorch's `clip_grad_norm_`: factor `min(1, maxNorm / (norm + 1e-6))`). Returns the
 * clipped tree and the norm before clipping, as a one-element tensor (nothing is read back).
 *
 * @example
 * ```ts
 * const { grads: clipped, norm } = clipGradNorm(grads, 1.0);
 * ```
 */
export function clipGradNorm<T extends ParamTree>(grads: T, maxNorm: number): ClippedGrads<T> {
  if (!(maxNorm > 0 && Number.isFinite(maxNorm)))
    throw new JouleError('clipGradNorm', 'maxNorm', 'a positive finite number', String(maxNorm));
  const leaves = namedLeaves(grads, 'clipGradNorm', 'grads').map(([, g]) => g);
  const { rebuild } = flattenTree(grads);
  if (leaves.length === 0) return { grads, norm: zeros([]) };
  const { scaled, norm } = clipLeavesByNorm(leaves, maxNorm);
  return { grads: rebuild(scaled), norm };
}

/** Leaves scaled to a global norm of at most `maxNorm`, and their norm before. */
function clipLeavesByNorm(leaves: Tensor[], maxNorm: number): { scaled: Tensor[]; norm: Tensor } {
  const norm = leaves
    .map((g) => g.square().sum())
    .reduce((a, b) => add(a, b))
    .sqrt();
  const factor = minimum(norm.add(1e-6).reciprocal().mul(maxNorm), 1);
  return { scaled: leaves.map((g) => g.mul(factor)), norm };
}

/**
 * Clamps every gradient entry to `[−limit, limit]`.
 *
 * @example
 * ```ts
 * const clipped = clipGradValue(grads, 0.5);
 * ```
 */
export function clipGradValue<T extends ParamTree>(grads: T, limit: number): T {
  if (!(limit > 0 && Number.isFinite(limit)))
    throw new JouleError('clipGradValue', 'limit', 'a positive finite number', String(limit));
  const leaves = namedLeaves(grads, 'clipGradValue', 'grads').map(([, g]) => g);
  return flattenTree(grads).rebuild(leaves.map((g) => g.clamp(-limit, limit)));
}

/**
 * Which parameters a {@link ParamGroup} holds: a dotted-name prefix (`'energy'` matches
 * `energy.layer0.weight`), several prefixes, a subtree of the parameter tree given to the optimizer
 * (matched by tensor identity), or a predicate on dotted names.
 *
 * @example
 * ```ts
 * const byPrefix: GroupSelector = 'sampler';
 * const bySubtree: GroupSelector = params.sampler as ParamTree;
 * const byName: GroupSelector = (name) => name.endsWith('bias');
 * ```
 */
export type GroupSelector = string | readonly string[] | ParamTree | ((name: string) => boolean);

/**
 * A parameter group: the parameters it selects and the hyperparameters that differ from the
 * optimizer's defaults (its own learning rate, say). A parameter belongs to the first group that
 * selects it; the rest form the default group (group 0).
 *
 * @example
 * ```ts
 * new Adam(params, { lr: 1e-3, groups: [{ select: 'logZ', lr: 1e-2 }] });
 * ```
 */
export type ParamGroup<H> = Partial<H> & {
  /** The parameters of the group. */
  select: GroupSelector;
};

/** Options every optimizer takes besides its hyperparameters. */
export interface CommonOptions<H> {
  /** Multiplies every group's learning rate at each step (default: constant 1). */
  schedule?: Schedule;
  /** Clip the gradients to this global L2 norm before each step. */
  clipNorm?: number;
  /** Clamp every gradient entry to `[−clipValue, clipValue]` before each step (after `clipNorm`). */
  clipValue?: number;
  /** Parameter groups with their own hyperparameters. */
  groups?: ParamGroup<H>[];
}

/** Hyperparameters every optimizer has. */
export interface BaseHyper {
  /** Base learning rate. */
  lr: number;
  /** Weight decay (an L2 term for SGD and Adam, decoupled for AdamW). */
  weightDecay: number;
}

/**
 * An optimizer's state as plain JSON plus tensors: what {@link Optimizer.state} returns and
 * {@link Optimizer.load} restores (checkpoints store it in safetensors).
 *
 * @example
 * ```ts
 * const saved = opt.state();
 * later.load(saved);
 * ```
 */
export interface OptimizerState {
  /** `'sgd'`, `'adam'` or `'adamw'`. */
  kind: string;
  /** Steps taken. */
  step: number;
  /** Hyperparameters of each group (group 0 is the default group). */
  groups: Record<string, unknown>[];
  /** Per-parameter tensors (momentum, moments) by dotted parameter name and slot name. */
  slots: Record<string, Record<string, Tensor>>;
}

function checkLr(op: string, arg: string, v: unknown): void {
  if (!(typeof v === 'number' && v >= 0 && Number.isFinite(v)))
    throw new JouleError(op, arg, 'a finite number ≥ 0', describe(v));
}

/**
 * The base of the optimizers: parameter trees in, parameter trees out. The idiom is functional:
 *
 * ```ts
 * const { value, grad } = valueAndGrad((p: ParamTree) => loss(model.apply(p, x)))(model.parameters());
 * model.load(opt.step(model.parameters(), grad));
 * ```
 *
 * `step(params, grads)` returns the updated parameters as a new tree (same structure) and advances
 * the optimizer's own state (moments, step count); nothing else is changed.
 *
 * @typeParam H - the hyperparameters of one group
 *
 * @example
 * ```ts
 * const opt = new SGD(model.parameters(), { lr: 0.1, momentum: 0.9 });
 * model.load(opt.step(model.parameters(), grads));
 * ```
 */
export abstract class Optimizer<H extends BaseHyper> {
  /** `'sgd'`, `'adam'` or `'adamw'`. */
  readonly kind: string;
  /** Dotted names of the parameters, in tree order. */
  readonly names: readonly string[];
  /** Hyperparameters of each group; group 0 holds the parameters no other group selects. Editable. */
  readonly groups: H[];
  /** Steps taken so far. */
  stepCount = 0;
  /** The names of the per-parameter state tensors (`['momentum']`, `['m', 'v']`). */
  readonly slotNames: readonly string[];
  private readonly shapes: Map<string, readonly number[]>;
  private readonly groupOf: Map<string, number>;
  private readonly schedule?: Schedule;
  private readonly clipNorm?: number;
  private readonly clipValue?: number;
  /** Per-parameter state tensors by name and slot. */
  private readonly slots = new Map<string, Record<string, Tensor>>();

  /** An optimizer of the parameters of `params` (read for names and shapes only). */
  protected constructor(
    kind: string,
    params: ParamTree,
    defaults: H,
    options: CommonOptions<H>,
    slotNames: readonly string[],
  ) {
    this.kind = kind;
    this.slotNames = slotNames;
    const op = this.opName();
    const leaves = namedLeaves(params, op, 'params');
    this.names = leaves.map(([n]) => n);
    this.shapes = new Map(leaves.map(([n, t]) => [n, t.shape]));
    this.checkHyper(defaults, 'options');
    const groups = options.groups ?? [];
    if (!Array.isArray(groups)) throw new JouleError(op, 'options.groups', 'an array of groups', describe(groups));
    this.groups = [defaults];
    this.groupOf = new Map(this.names.map((n) => [n, 0]));
    groups.forEach((g, gi) => {
      const { select, ...overrides } = g;
      const hyper = { ...defaults, ...overrides } as H;
      this.checkHyper(hyper, `options.groups[${gi}]`);
      const matches = this.selector(select, leaves, `options.groups[${gi}].select`);
      let count = 0;
      for (const [name] of leaves) {
        if (this.groupOf.get(name) === 0 && matches(name)) {
          this.groupOf.set(name, gi + 1);
          count++;
        }
      }
      if (count === 0)
        throw new JouleError(
          op,
          `options.groups[${gi}].select`,
          'a selector matching some parameter',
          describe(select),
        );
      this.groups.push(hyper);
    });
    if (options.schedule !== undefined && typeof options.schedule !== 'function') {
      throw new JouleError(op, 'options.schedule', 'a Schedule function', describe(options.schedule));
    }
    this.schedule = options.schedule;
    for (const key of ['clipNorm', 'clipValue'] as const) {
      const v = options[key];
      if (v !== undefined && !(v > 0 && Number.isFinite(v)))
        throw new JouleError(op, `options.${key}`, 'a positive finite number', describe(v));
    }
    this.clipNorm = options.clipNorm;
    this.clipValue = options.clipValue;
  }

  private opName(): string {
    return this.constructor.name;
  }

  private selector(select: GroupSelector, leaves: [string, Tensor][], arg: string): (name: string) => boolean {
    if (typeof select === 'function') return select;
    if (typeof select === 'string' || Array.isArray(select)) {
      const prefixes = typeof select === 'string' ? [select] : (select as readonly string[]);
      if (!prefixes.every((s) => typeof s === 'string'))
        throw new JouleError(this.opName(), arg, 'name prefixes', describe(select));
      return (name) => prefixes.some((p) => name === p || name.startsWith(`${p}.`));
    }
    if (select instanceof Tensor || select === null || typeof select !== 'object') {
      throw new JouleError(this.opName(), arg, 'a prefix, prefixes, a subtree or a predicate', describe(select));
    }
    const tensors = new Set(namedLeaves(select, this.opName(), arg).map(([, t]) => t));
    const names = new Set(leaves.filter(([, t]) => tensors.has(t)).map(([n]) => n));
    return (name) => names.has(name);
  }

  /** Throws when a group's hyperparameters are out of range. */
  protected checkHyper(h: H, arg: string): void {
    checkLr(this.opName(), `${arg}.lr`, h.lr);
    checkLr(this.opName(), `${arg}.weightDecay`, h.weightDecay);
  }

  /**
   * The learning rate of group `group` at the next step (base rate times the schedule).
   *
   * @example
   * ```ts
   * opt.learningRate(); // default group
   * ```
   */
  learningRate(group = 0): number {
    const h = this.groups[group];
    if (!h) throw new JouleError(this.opName(), 'group', `a group index below ${this.groups.length}`, String(group));
    return h.lr * (this.schedule ? this.schedule(this.stepCount) : 1);
  }

  /**
   * One update: the new parameters (a tree shaped like `params`) from the current ones and their
   * gradients (a tree of the same names and shapes, as `valueAndGrad` returns).
   *
   * @example
   * ```ts
   * model.load(opt.step(model.parameters(), grad));
   * ```
   */
  step<T extends ParamTree>(params: T, grads: ParamTree): T {
    const op = `${this.opName()}.step`;
    const pl = namedLeaves(params, op, 'params');
    const gl = namedLeaves(grads, op, 'grads');
    if (pl.length !== this.names.length || gl.length !== pl.length) {
      throw new JouleError(
        op,
        pl.length !== this.names.length ? 'params' : 'grads',
        `${this.names.length} tensors`,
        `${pl.length !== this.names.length ? pl.length : gl.length}`,
      );
    }
    for (let i = 0; i < pl.length; i++) {
      const [name, p] = pl[i];
      const shape = this.shapes.get(name);
      if (!shape)
        throw new JouleError(op, `params.${name}`, `one of the names ${this.names.join(', ')}`, 'an unknown name');
      if (!sameShape(p.shape, shape))
        throw new JouleError(op, `params.${name}`, `shape ${formatShape(shape)}`, formatShape(p.shape));
      const [gname, g] = gl[i];
      if (gname !== name || !sameShape(g.shape, shape)) {
        throw new JouleError(
          op,
          `grads.${gname}`,
          `the gradient of ${name}, shape ${formatShape(shape)}`,
          `${gname}, shape ${formatShape(g.shape)}`,
        );
      }
    }
    const t = this.stepCount + 1;
    const lrs = this.groups.map((_, i) => this.learningRate(i));
    const updated = tidy(() => {
      let g = gl.map(([, x]) => x);
      if (this.clipNorm !== undefined && g.length > 0) g = clipLeavesByNorm(g, this.clipNorm).scaled;
      if (this.clipValue !== undefined) {
        const c = this.clipValue;
        g = g.map((x) => x.clamp(-c, c));
      }
      return pl.map(([name, p], i) => {
        const group = this.groupOf.get(name)!;
        const old = this.slots.get(name);
        const { param, slots } = this.update(p, g[i], old, this.groups[group], lrs[group], t);
        for (const s of Object.values(slots)) keep(s);
        if (old) for (const s of Object.values(old)) s.dispose();
        this.slots.set(name, slots);
        return param;
      });
    });
    this.stepCount = t;
    return flattenTree(params).rebuild(updated);
  }

  /**
   * The update of one tensor: its new value and new state slots, given the gradient, the slots
   * before the step (`undefined` at the first step), the group's hyperparameters, the learning rate
   * after the schedule and the step number `t` (1 at the first step).
   *
   * @example
   * ```ts
   * protected update(p, g, _slots, _h, lr) { return { param: p.sub(g.mul(lr)), slots: {} }; }
   * ```
   */
  protected abstract update(
    p: Tensor,
    g: Tensor,
    slots: Record<string, Tensor> | undefined,
    h: H,
    lr: number,
    t: number,
  ): StepResult;

  /**
   * The state to save: plain JSON plus tensors (copies that stay valid after later steps).
   *
   * @example
   * ```ts
   * const saved = opt.state();
   * ```
   */
  state(): OptimizerState {
    const slots: Record<string, Record<string, Tensor>> = {};
    for (const [name, s] of this.slots) {
      slots[name] = Object.fromEntries(Object.entries(s).map(([k, t]) => [k, share(t)]));
    }
    return {
      kind: this.kind,
      step: this.stepCount,
      groups: this.groups.map((h) => ({ ...h }) as unknown as Record<string, unknown>),
      slots,
    };
  }

  /**
   * Checks a saved state against this optimizer (kind, groups, parameter names, slot names and
   * shapes) without changing anything.
   *
   * @example
   * ```ts
   * opt.validateState(saved);
   * ```
   */
  validateState(state: OptimizerState): void {
    const op = `${this.opName()}.load`;
    if (state === null || typeof state !== 'object')
      throw new JouleError(op, 'state', 'an OptimizerState', describe(state));
    if (state.kind !== this.kind) throw new JouleError(op, 'state.kind', `'${this.kind}'`, describe(state.kind));
    if (!Number.isInteger(state.step) || state.step < 0)
      throw new JouleError(op, 'state.step', 'a non-negative integer', describe(state.step));
    if (!Array.isArray(state.groups) || state.groups.length !== this.groups.length) {
      throw new JouleError(op, 'state.groups', `${this.groups.length} groups`, describe(state.groups));
    }
    state.groups.forEach((h, i) => {
      this.checkHyper({ ...this.groups[i], ...h } as H, `state.groups[${i}]`);
    });
    if (state.slots === null || typeof state.slots !== 'object')
      throw new JouleError(op, 'state.slots', 'a record', describe(state.slots));
    for (const [name, s] of Object.entries(state.slots)) {
      const shape = this.shapes.get(name);
      if (!shape)
        throw new JouleError(
          op,
          `state.slots.${name}`,
          `a parameter name (${this.names.join(', ')})`,
          'an unknown name',
        );
      const keys = s && typeof s === 'object' ? Object.keys(s).sort() : [];
      if (keys.join() !== [...this.slotNames].sort().join()) {
        throw new JouleError(
          op,
          `state.slots.${name}`,
          `slots ${this.slotNames.join(', ')}`,
          keys.join(', ') || describe(s),
        );
      }
      for (const k of keys) {
        const t = s[k];
        if (!(t instanceof Tensor) || !sameShape(t.shape, shape)) {
          throw new JouleError(op, `state.slots.${name}.${k}`, `a tensor of shape ${formatShape(shape)}`, describe(t));
        }
      }
    }
  }

  /**
   * Restores a state saved with {@link Optimizer.state}: step count, group hyperparameters and
   * slots. Validated first; nothing changes when it is rejected.
   *
   * @example
   * ```ts
   * opt.load(saved);
   * ```
   */
  load(state: OptimizerState): void {
    this.validateState(state);
    for (const s of this.slots.values()) for (const t of Object.values(s)) t.dispose();
    this.slots.clear();
    for (const [name, s] of Object.entries(state.slots)) {
      this.slots.set(name, Object.fromEntries(Object.entries(s).map(([k, t]) => [k, share(t)])));
    }
    state.groups.forEach((h, i) => {
      this.groups[i] = { ...this.groups[i], ...h } as H;
    });
    this.stepCount = state.step;
  }
}

/** Hyperparameters of {@link SGD}. */
export interface SGDHyper extends BaseHyper {
  /** Momentum factor (default 0: plain SGD). */
  momentum: number;
  /** Dampening of the momentum (default 0). */
  dampening: number;
  /** Nesterov momentum (default false). */
  nesterov: boolean;
}

/** Options of {@link SGD}: hyperparameters (only `lr` required) and the common options. */
export interface SGDOptions extends Partial<SGDHyper>, CommonOptions<SGDHyper> {
  /** Learning rate. */
  lr: number;
}

/**
 * Stochastic gradient descent with optional momentum (Nesterov or not) and L2 weight decay, with
 * PyTorch's update: `g ← g + λp`; `b ← μb + (1 − τ)g` (`b = g` at the first step);
 * `g ← g + μb` (Nesterov) or `g ← b`; `p ← p − lr·g`.
 *
 * @example
 * ```ts
 * const opt = new SGD(model.parameters(), { lr: 0.1, momentum: 0.9, nesterov: true });
 * model.load(opt.step(model.parameters(), grads));
 * ```
 */
export class SGD extends Optimizer<SGDHyper> {
  /** An SGD optimizer of the parameters of `params`. */
  constructor(params: ParamTree, options: SGDOptions) {
    const { schedule, clipNorm, clipValue, groups, ...rest } = options ?? ({} as SGDOptions);
    const defaults: SGDHyper = { momentum: 0, dampening: 0, nesterov: false, weightDecay: 0, ...rest };
    super(
      'sgd',
      params,
      defaults,
      { schedule, clipNorm, clipValue, groups },
      defaults.momentum > 0 || groups?.some((g) => (g.momentum ?? 0) > 0) ? ['momentum'] : [],
    );
  }

  protected override checkHyper(h: SGDHyper, arg: string): void {
    super.checkHyper(h, arg);
    if (!(h.momentum >= 0 && h.momentum < 1))
      throw new JouleError('SGD', `${arg}.momentum`, 'a number in [0, 1)', describe(h.momentum));
    if (!(h.dampening >= 0 && h.dampening <= 1))
      throw new JouleError('SGD', `${arg}.dampening`, 'a number in [0, 1]', describe(h.dampening));
    if (h.nesterov && (h.momentum <= 0 || h.dampening !== 0)) {
      throw new JouleError(
        'SGD',
        `${arg}.nesterov`,
        'momentum > 0 and zero dampening with Nesterov',
        `momentum ${h.momentum}, dampening ${h.dampening}`,
      );
    }
  }

  protected update(
    p: Tensor,
    g: Tensor,
    slots: Record<string, Tensor> | undefined,
    h: SGDHyper,
    lr: number,
  ): StepResult {
    if (h.weightDecay !== 0) g = g.add(p.mul(h.weightDecay));
    const out: Record<string, Tensor> = {};
    if (this.slotNames.length > 0) {
      const prev = slots?.momentum;
      const buf =
        h.momentum === 0 ? zeros(p.shape) : prev ? prev.mul(h.momentum).add(g.mul(1 - h.dampening)) : g.add(0);
      out.momentum = buf;
      if (h.momentum !== 0) g = h.nesterov ? g.add(buf.mul(h.momentum)) : buf;
    }
    return { param: p.sub(g.mul(lr)), slots: out };
  }
}

/** Hyperparameters of {@link Adam} and {@link AdamW}. */
export interface AdamHyper extends BaseHyper {
  /** Decay rates of the first and second moment estimates (default `[0.9, 0.999]`). */
  betas: [number, number];
  /** Added to the denominator (default 1e-8). */
  eps: number;
}

/** Options of {@link Adam} and {@link AdamW}. */
export type AdamOptions = Partial<AdamHyper> & CommonOptions<AdamHyper>;

abstract class AdamBase extends Optimizer<AdamHyper> {
  protected constructor(kind: string, params: ParamTree, options: AdamOptions, weightDecay: number) {
    const { schedule, clipNorm, clipValue, groups, ...rest } = options ?? {};
    const defaults: AdamHyper = { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay, ...rest };
    super(kind, params, defaults, { schedule, clipNorm, clipValue, groups }, ['m', 'v']);
  }

  protected override checkHyper(h: AdamHyper, arg: string): void {
    super.checkHyper(h, arg);
    const b = h.betas;
    if (!Array.isArray(b) || b.length !== 2 || !b.every((x) => x >= 0 && x < 1)) {
      throw new JouleError(
        this.kind === 'adam' ? 'Adam' : 'AdamW',
        `${arg}.betas`,
        'two numbers in [0, 1)',
        describe(b),
      );
    }
    if (!(h.eps > 0))
      throw new JouleError(this.kind === 'adam' ? 'Adam' : 'AdamW', `${arg}.eps`, 'a positive number', describe(h.eps));
  }

  /** The Adam step on `g` (already including any L2 term). */
  protected adam(
    p: Tensor,
    g: Tensor,
    slots: Record<string, Tensor> | undefined,
    h: AdamHyper,
    lr: number,
    t: number,
  ): StepResult {
    const [b1, b2] = h.betas;
    const m = slots ? slots.m.mul(b1).add(g.mul(1 - b1)) : g.mul(1 - b1);
    const v = slots ? slots.v.mul(b2).add(g.square().mul(1 - b2)) : g.square().mul(1 - b2);
    const bc1 = 1 - b1 ** t;
    const bc2 = 1 - b2 ** t;
    const denom = v
      .sqrt()
      .mul(1 / Math.sqrt(bc2))
      .add(h.eps);
    return { param: p.sub(m.div(denom).mul(lr / bc1)), slots: { m, v } };
  }
}

/**
 * Adam (Kingma & Ba, 2015) with optional L2 weight decay added to the gradient:
 * `m ← β₁m + (1 − β₁)g`, `v ← β₂v + (1 − β₂)g²`, `p ← p − lr · m̂ / (√v̂ + ε)` with
 * `m̂ = m / (1 − β₁ᵗ)`, `v̂ = v / (1 − β₂ᵗ)` (computed as PyTorch does). Default `lr` 1e-3.
 *
 * @example
 * ```ts
 * const opt = new Adam(model.parameters(), { lr: 1e-3, groups: [{ select: 'logZ', lr: 1e-2 }] });
 * model.load(opt.step(model.parameters(), grads));
 * ```
 */
export class Adam extends AdamBase {
  /** An Adam optimizer of the parameters of `params`. */
  constructor(params: ParamTree, options: AdamOptions = {}) {
    super('adam', params, options, 0);
  }

  protected update(
    p: Tensor,
    g: Tensor,
    slots: Record<string, Tensor> | undefined,
    h: AdamHyper,
    lr: number,
    t: number,
  ) {
    return this.adam(p, h.weightDecay !== 0 ? g.add(p.mul(h.weightDecay)) : g, slots, h, lr, t);
  }
}

/**
 * AdamW (Loshchilov & Hutter, 2019): Adam with decoupled weight decay, `p ← p(1 − lr·λ)` before the
 * Adam step. Default `lr` 1e-3, `weightDecay` 0.01 (PyTorch's defaults).
 *
 * @example
 * ```ts
 * const opt = new AdamW(model.parameters(), { lr: 3e-4, weightDecay: 1e-4 });
 * ```
 */
export class AdamW extends AdamBase {
  /** An AdamW optimizer of the parameters of `params`. */
  constructor(params: ParamTree, options: AdamOptions = {}) {
    super('adamw', params, options, 0.01);
  }

  protected update(
    p: Tensor,
    g: Tensor,
    slots: Record<string, Tensor> | undefined,
    h: AdamHyper,
    lr: number,
    t: number,
  ) {
    return this.adam(h.weightDecay !== 0 ? p.mul(1 - lr * h.weightDecay) : p, g, slots, h, lr, t);
  }
}

import { JouleError, keep, Tensor } from '@joule/tensor';
import { describe, formatShape, type ParamTree, sameShape } from './tree.js';

const NAME = /^[A-Za-z0-9_]+$/;

/**
 * One named parameter slot of a {@link Module}: the current (immutable) tensor and whether the
 * optimizer trains it. Updating a parameter replaces the tensor in the slot.
 *
 * @example
 * ```ts
 * const p = new Parameter(zeros([4]));
 * p.trainable = false; // frozen: still used in the forward pass, left out of parameters()
 * ```
 */
export class Parameter {
  /** The current value. */
  value: Tensor;
  /** False when frozen: excluded from {@link Module.parameters}, still used by the forward pass. */
  trainable: boolean;

  /** A slot holding `value` (exempted from `tidy`, since a module keeps it). */
  constructor(value: Tensor, trainable = true) {
    if (!(value instanceof Tensor)) throw new JouleError('Parameter', 'value', 'a Tensor', describe(value));
    this.value = keep(value);
    this.trainable = trainable;
  }
}

/** Options of {@link Module.parameters} and {@link Module.namedParameters}. */
export interface ParameterOptions {
  /** Include frozen parameters too (default false: only the trainable ones). */
  includeFrozen?: boolean;
}

/** Options of {@link Module.loadStateDict}. */
export interface LoadOptions {
  /** Require every parameter and buffer to be present (default true). Unknown names are always errors. */
  strict?: boolean;
}

/**
 * A neural-network building block: named parameters, named buffers (persistent state that is not
 * trained, such as a spectral-norm vector) and named sub-modules.
 *
 * Two ways to run it:
 * - `module.forward(...inputs)` uses the module's own current parameters;
 * - `module.apply(params, ...inputs)` uses the given parameter tree, which is how gradients are
 *   taken: `valueAndGrad((p) => loss(model.apply(p, x)))(model.parameters())`.
 *
 * Parameters are immutable tensors: training produces a new tree, which `module.load(tree)` puts
 * back (it validates names and shapes first and never half-loads).
 *
 * A subclass registers its parts in its constructor with {@link Module.addParameter},
 * {@link Module.addBuffer} and {@link Module.addModule}, and implements {@link Module.compute}.
 *
 * @typeParam Args - the inputs of the forward pass
 * @typeParam Out - what the forward pass returns
 *
 * @example
 * ```ts
 * class Scale extends Module {
 *   constructor(dim: number) {
 *     super();
 *     this.addParameter('scale', ones([dim]));
 *   }
 *   protected compute(p: ParamTree, x: Tensor): Tensor {
 *     return x.mul(p.scale as Tensor);
 *   }
 * }
 * const m = new Scale(2);
 * const { grad } = valueAndGrad((p: ParamTree) => m.apply(p, x).sum())(m.parameters());
 * ```
 */
export abstract class Module<Args extends unknown[] = [Tensor], Out = Tensor> {
  private readonly ownParams = new Map<string, Parameter>();
  private readonly ownBuffers = new Map<string, Tensor>();
  private readonly children = new Map<string, Module<never, unknown>>();
  /** The train/eval flag (see {@link Module.train}); layers such as spectral norm behave differently in eval mode. */
  training = true;

  /**
   * The forward pass given this module's resolved parameters: own parameters as tensors, sub-module
   * subtrees (or `undefined` for a sub-module whose parameters are all frozen) to pass on with
   * `child.apply(p.child, …)`.
   *
   * @example
   * ```ts
   * protected compute(p: ParamTree, x: Tensor): Tensor {
   *   return this.inner.apply(p.inner as ParamTree, x).mul(p.scale as Tensor);
   * }
   * ```
   */
  protected abstract compute(p: ParamTree, ...args: Args): Out;

  /** A short name for error messages, the class name by default. */
  get name(): string {
    return this.constructor.name;
  }

  /**
   * Registers a parameter named `name` (letters, digits, `_`).
   *
   * @example
   * ```ts
   * this.addParameter('bias', zeros([out]));
   * ```
   */
  protected addParameter(name: string, value: Tensor, trainable = true): Tensor {
    this.checkNewName(name, 'addParameter');
    const p = new Parameter(value, trainable);
    this.ownParams.set(name, p);
    return p.value;
  }

  /**
   * Registers a buffer: saved in checkpoints, never trained.
   *
   * @example
   * ```ts
   * this.addBuffer('u', u0);
   * ```
   */
  protected addBuffer(name: string, value: Tensor): Tensor {
    this.checkNewName(name, 'addBuffer');
    if (!(value instanceof Tensor)) throw new JouleError(`${this.name}.addBuffer`, name, 'a Tensor', describe(value));
    this.ownBuffers.set(name, keep(value));
    return value;
  }

  /**
   * Replaces the value of buffer `name` (same shape).
   *
   * @example
   * ```ts
   * this.setBuffer('u', newU);
   * ```
   */
  protected setBuffer(name: string, value: Tensor): void {
    const old = this.ownBuffers.get(name);
    if (!old) throw new JouleError(`${this.name}.setBuffer`, 'name', 'a registered buffer', name);
    if (!sameShape(old.shape, value.shape)) {
      throw new JouleError(`${this.name}.setBuffer`, name, `shape ${formatShape(old.shape)}`, formatShape(value.shape));
    }
    this.ownBuffers.set(name, keep(value));
  }

  /**
   * The current value of buffer `name`.
   *
   * @example
   * ```ts
   * const u = this.buffer('u');
   * ```
   */
  protected buffer(name: string): Tensor {
    const b = this.ownBuffers.get(name);
    if (!b) throw new JouleError(`${this.name}.buffer`, 'name', 'a registered buffer', name);
    return b;
  }

  /**
   * Registers a sub-module; its parameters appear under `name` in the parameter tree.
   *
   * @example
   * ```ts
   * this.hidden = this.addModule('hidden', new Linear(2, 64, { rng }));
   * ```
   */
  protected addModule<M extends Module<never, unknown>>(name: string, module: M): M {
    this.checkNewName(name, 'addModule');
    if (!(module instanceof Module)) throw new JouleError(`${this.name}.addModule`, name, 'a Module', describe(module));
    this.children.set(name, module);
    return module;
  }

  private checkNewName(name: string, op: string): void {
    if (typeof name !== 'string' || !NAME.test(name)) {
      throw new JouleError(`${this.name}.${op}`, 'name', 'a name of letters, digits and _', String(name));
    }
    if (this.ownParams.has(name) || this.ownBuffers.has(name) || this.children.has(name)) {
      throw new JouleError(`${this.name}.${op}`, 'name', 'a name not used yet in this module', name);
    }
  }

  /**
   * The forward pass with this module's own current parameters.
   *
   * @example
   * ```ts
   * const y = mlp.forward(x);
   * ```
   */
  forward(...args: Args): Out {
    return this.compute(this.ownTree(), ...args);
  }

  /**
   * The forward pass with the parameters of `params` (a tree shaped like {@link Module.parameters});
   * frozen parameters missing from it are taken from the module. Differentiable with respect to `params`.
   *
   * @example
   * ```ts
   * const { value, grad } = valueAndGrad((p: ParamTree) => mlp.apply(p, x).square().mean())(mlp.parameters());
   * ```
   */
  apply(params: ParamTree | undefined, ...args: Args): Out {
    return this.compute(this.resolve(params), ...args);
  }

  /**
   * `params` checked against this module's own parameters (shapes, unknown names) with missing frozen
   * parameters filled in; sub-module subtrees pass through unchecked (each sub-module checks its own).
   *
   * @example
   * ```ts
   * const p = linear.resolve(tree.linear as ParamTree); // p.weight, p.bias are tensors
   * ```
   */
  resolve(params: ParamTree | undefined): ParamTree {
    const op = `${this.name}.apply`;
    if (params === undefined) params = {};
    else if (params === null || typeof params !== 'object' || params instanceof Tensor || Array.isArray(params)) {
      throw new JouleError(op, 'params', 'a parameter tree (plain object)', describe(params));
    }
    const out: ParamTree = {};
    for (const key in params) {
      if (!this.ownParams.has(key) && !this.children.has(key)) {
        throw new JouleError(op, `params.${key}`, `one of the names ${this.knownNames()}`, 'an unknown name');
      }
      out[key] = params[key];
    }
    for (const [name, slot] of this.ownParams) {
      const given = params[name];
      if (given === undefined) {
        if (slot.trainable) {
          throw new JouleError(op, `params.${name}`, `a tensor of shape ${formatShape(slot.value.shape)}`, 'nothing');
        }
        out[name] = slot.value;
      } else if (!(given instanceof Tensor) || !sameShape(given.shape, slot.value.shape)) {
        throw new JouleError(
          op,
          `params.${name}`,
          `a tensor of shape ${formatShape(slot.value.shape)}`,
          describe(given),
        );
      }
    }
    return out;
  }

  private knownNames(): string {
    return `[${[...this.ownParams.keys(), ...this.children.keys()].join(', ')}]`;
  }

  /** The tree of all current parameter values, frozen ones included. */
  private ownTree(): ParamTree {
    const out: ParamTree = {};
    for (const [name, slot] of this.ownParams) out[name] = slot.value;
    for (const [name, child] of this.children) out[name] = child.ownTree();
    return out;
  }

  /**
   * The parameter tree: own parameters by name and sub-modules' trees under their names. Only the
   * trainable parameters unless `includeFrozen` (sub-modules with none are left out). The tensors
   * are the module's current values, not copies.
   *
   * @example
   * ```ts
   * const params = mlp.parameters(); // { input: { weight, bias }, hidden: { 0: {...} }, output: {...} }
   * ```
   */
  parameters(options: ParameterOptions = {}): ParamTree {
    const all = !!options.includeFrozen;
    const out: ParamTree = {};
    for (const [name, slot] of this.ownParams) if (all || slot.trainable) out[name] = slot.value;
    for (const [name, child] of this.children) {
      const sub = child.parameters(options);
      if (Object.keys(sub).length > 0) out[name] = sub;
    }
    return out;
  }

  /**
   * `[dottedName, tensor]` for every parameter (trainable ones only unless `includeFrozen`), in the
   * order of {@link Module.parameters}.
   *
   * @example
   * ```ts
   * for (const [name, t] of mlp.namedParameters()) console.log(name, t.shape); // 'input.weight' [64, 2] …
   * ```
   */
  namedParameters(options: ParameterOptions = {}): [string, Tensor][] {
    return [...this.walk('')].flatMap(([prefix, m]) =>
      [...m.ownParams]
        .filter(([, slot]) => options.includeFrozen || slot.trainable)
        .map(([name, slot]): [string, Tensor] => [prefix + name, slot.value]),
    );
  }

  /**
   * `[dottedName, tensor]` for every buffer.
   *
   * @example
   * ```ts
   * sn.namedBuffers(); // [['u', …], ['v', …]]
   * ```
   */
  namedBuffers(): [string, Tensor][] {
    return [...this.walk('')].flatMap(([prefix, m]) =>
      [...m.ownBuffers].map(([name, t]): [string, Tensor] => [prefix + name, t]),
    );
  }

  /**
   * Every sub-module (this one first, with name `''`) with its dotted path.
   *
   * @example
   * ```ts
   * for (const [path, m] of mlp.modules()) console.log(path, m.name);
   * ```
   */
  modules(): [string, Module<never, unknown>][] {
    return [...this.walk('')].map(([prefix, m]) => [prefix.slice(0, -1), m]);
  }

  private *walk(prefix: string): Generator<[string, Module<never, unknown>]> {
    yield [prefix, this as unknown as Module<never, unknown>];
    for (const [name, child] of this.children) yield* child.walk(`${prefix}${name}.`);
  }

  /**
   * Everything a checkpoint holds: all parameters (frozen too) and buffers, by dotted name.
   *
   * @example
   * ```ts
   * Object.keys(mlp.stateDict()); // ['input.weight', 'input.bias', …]
   * ```
   */
  stateDict(): Record<string, Tensor> {
    const out: Record<string, Tensor> = {};
    for (const [name, t] of this.namedParameters({ includeFrozen: true })) out[name] = t;
    for (const [name, t] of this.namedBuffers()) out[name] = t;
    return out;
  }

  /** Dotted name → [owning module, own name, kind] for every parameter and buffer. */
  private slots(): Map<
    string,
    { module: Module<never, unknown>; name: string; kind: 'param' | 'buffer'; shape: readonly number[] }
  > {
    const out = new Map();
    for (const [prefix, m] of this.walk('')) {
      for (const [name, slot] of m.ownParams)
        out.set(prefix + name, { module: m, name, kind: 'param', shape: slot.value.shape });
      for (const [name, t] of m.ownBuffers) out.set(prefix + name, { module: m, name, kind: 'buffer', shape: t.shape });
    }
    return out;
  }

  /**
   * Checks a flat `{ dottedName: tensor }` record against this module without changing anything;
   * throws the first problem (unknown name, wrong shape, non-tensor, and with `strict` a missing name).
   *
   * @example
   * ```ts
   * mlp.validateStateDict(dict); // throws before anything would be loaded
   * ```
   */
  validateStateDict(dict: Record<string, Tensor>, options: LoadOptions = {}): void {
    const op = `${this.name}.loadStateDict`;
    if (dict === null || typeof dict !== 'object')
      throw new JouleError(op, 'dict', 'a record of tensors', describe(dict));
    const slots = this.slots();
    for (const [key, t] of Object.entries(dict)) {
      const slot = slots.get(key);
      if (!slot)
        throw new JouleError(op, key, `a name of this module (${[...slots.keys()].join(', ')})`, 'an unknown name');
      if (!(t instanceof Tensor)) throw new JouleError(op, key, 'a Tensor', describe(t));
      if (!sameShape(t.shape, slot.shape))
        throw new JouleError(op, key, `shape ${formatShape(slot.shape)}`, `shape ${formatShape(t.shape)}`);
    }
    if (options.strict ?? true) {
      const missing = [...slots.keys()].filter((k) => !(k in dict));
      if (missing.length > 0)
        throw new JouleError(op, 'dict', 'every parameter and buffer', `none for ${missing.join(', ')}`);
    }
  }

  /**
   * Loads a flat `{ dottedName: tensor }` record (as {@link Module.stateDict} gives and checkpoints
   * hold), parameters and buffers alike. Everything is validated before anything is assigned.
   *
   * @example
   * ```ts
   * target.loadStateDict(source.stateDict());
   * ```
   */
  loadStateDict(dict: Record<string, Tensor>, options: LoadOptions = {}): void {
    this.validateStateDict(dict, options);
    const slots = this.slots();
    for (const [key, t] of Object.entries(dict)) {
      const slot = slots.get(key)!;
      if (slot.kind === 'param') slot.module.ownParams.get(slot.name)!.value = keep(t);
      else slot.module.ownBuffers.set(slot.name, keep(t));
    }
  }

  /**
   * Puts new parameter values into the module: `tree` is shaped like {@link Module.parameters} (any
   * subset of the parameters; frozen ones may be included). Names and shapes are validated before
   * anything is assigned, so a bad tree leaves the module unchanged. Replaced tensors are not disposed.
   *
   * @example
   * ```ts
   * model.load(optimizer.step(model.parameters(), grads));
   * ```
   */
  load(tree: ParamTree): this {
    const op = `${this.name}.load`;
    if (tree === null || typeof tree !== 'object' || tree instanceof Tensor) {
      throw new JouleError(op, 'tree', 'a parameter tree', describe(tree));
    }
    const entries: [string, Tensor][] = [];
    const walk = (node: unknown, prefix: string): void => {
      if (node instanceof Tensor) entries.push([prefix, node]);
      else if (node !== null && typeof node === 'object' && !Array.isArray(node)) {
        for (const [k, v] of Object.entries(node)) walk(v, prefix ? `${prefix}.${k}` : k);
      } else throw new JouleError(op, prefix, 'a tensor or a subtree', describe(node));
    };
    walk(tree, '');
    const slots = this.slots();
    for (const [name, t] of entries) {
      const slot = slots.get(name);
      if (slot?.kind !== 'param') {
        throw new JouleError(op, name, `a parameter name of this module`, 'an unknown name');
      }
      if (!sameShape(t.shape, slot.shape))
        throw new JouleError(op, name, `shape ${formatShape(slot.shape)}`, `shape ${formatShape(t.shape)}`);
    }
    for (const [name, t] of entries) {
      const slot = slots.get(name)!;
      slot.module.ownParams.get(slot.name)!.value = keep(t);
    }
    return this;
  }

  /**
   * Freezes the parameters whose dotted name starts with `prefix` (all when omitted): they leave
   * {@link Module.parameters} (so optimizers skip them) but the forward pass still uses them.
   *
   * @example
   * ```ts
   * model.freeze('embedding'); // train everything but the embedding
   * ```
   */
  freeze(prefix = ''): this {
    return this.setTrainable(prefix, false, 'freeze');
  }

  /**
   * Makes the parameters under `prefix` (all when omitted) trainable again.
   *
   * @example
   * ```ts
   * model.unfreeze();
   * ```
   */
  unfreeze(prefix = ''): this {
    return this.setTrainable(prefix, true, 'unfreeze');
  }

  private setTrainable(prefix: string, trainable: boolean, op: string): this {
    let matched = 0;
    for (const [path, m] of this.walk('')) {
      for (const [name, slot] of m.ownParams) {
        const full = path + name;
        if (prefix === '' || full === prefix || full.startsWith(`${prefix}.`)) {
          slot.trainable = trainable;
          matched++;
        }
      }
    }
    if (matched === 0) throw new JouleError(`${this.name}.${op}`, 'prefix', 'a prefix matching some parameter', prefix);
    return this;
  }

  /**
   * Sets training mode on this module and every sub-module (`train(false)` is {@link Module.eval}).
   *
   * @example
   * ```ts
   * model.train();
   * ```
   */
  train(mode = true): this {
    for (const [, m] of this.walk('')) m.training = mode;
    return this;
  }

  /**
   * Evaluation mode for this module and every sub-module.
   *
   * @example
   * ```ts
   * model.eval();
   * ```
   */
  eval(): this {
    return this.train(false);
  }

  /**
   * The number of scalar parameters (trainable only unless `includeFrozen`).
   *
   * @example
   * ```ts
   * new Linear(2, 3, { rng }).numParameters(); // 9
   * ```
   */
  numParameters(options: ParameterOptions = {}): number {
    return this.namedParameters(options).reduce((n, [, t]) => n + t.size, 0);
  }
}

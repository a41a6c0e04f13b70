import { ones, zeros } from './creation.js';
import { engine, type GradScope } from './engine.js';
import { JouleError } from './errors.js';
import { add, reshape } from './ops.js';
import { formatShape, sameShape } from './shape.js';
import { Tensor } from './tensor.js';

/** A tensor, or arrays and plain objects nesting tensors (a parameter tree). Other leaves pass through. */
export type TensorTree =
  | Tensor
  | readonly TensorTree[]
  | { readonly [key: string]: TensorTree }
  | number
  | string
  | boolean
  | null
  | undefined;

/**
 * What the tree functions accept: a {@link TensorTree}, or a value of any object type holding one
 * (an `interface Params { w: Tensor; b: Tensor }` has no index signature, so it is not a `TensorTree`).
 *
 * @example
 * ```ts
 * interface Params { w: Tensor; b: Tensor }
 * const g = grad((p: Params) => p.w.mul(p.b).sum())({ w, b });   // g: Params
 * ```
 */
export type TreeLike = TensorTree | object;

/** A tree's tensors in order, and how to rebuild the tree around others (see {@link flattenTree}). */
export interface FlatTree<T> {
  /** The tensors, depth first, object keys in insertion order. */
  leaves: Tensor[];
  /** The same tree with `leaves` in place of its tensors. */
  rebuild: (leaves: readonly Tensor[]) => T;
}

/**
 * The tensors of a tree in a fixed order (depth first, object keys in insertion order), with a
 * function that builds the same tree around other tensors.
 *
 * @example
 * ```ts
 * const { leaves, rebuild } = flattenTree({ w: tensor([1]), b: [tensor([2])] });
 * rebuild(leaves.map((t) => t.mul(2)));   // { w: [2], b: [[4]] }
 * ```
 */
export function flattenTree<T extends TreeLike>(tree: T): FlatTree<T> {
  const leaves: Tensor[] = [];
  const collect = (node: TensorTree): void => {
    if (node instanceof Tensor) leaves.push(node);
    else if (Array.isArray(node)) for (const c of node) collect(c);
    else if (node !== null && typeof node === 'object')
      for (const k of Object.keys(node)) collect((node as Record<string, TensorTree>)[k]);
  };
  collect(tree as TensorTree);
  const rebuild = (values: readonly Tensor[]): T => {
    if (values.length !== leaves.length) {
      throw new JouleError('flattenTree', 'leaves', `${leaves.length} tensors`, `${values.length}`);
    }
    let i = 0;
    const build = (node: TensorTree): TensorTree => {
      if (node instanceof Tensor) return values[i++];
      if (Array.isArray(node)) return node.map(build);
      if (node !== null && typeof node === 'object') {
        const out: Record<string, TensorTree> = {};
        for (const k of Object.keys(node)) out[k] = build((node as Record<string, TensorTree>)[k]);
        return out;
      }
      return node;
    };
    return build(tree as TensorTree) as T;
  };
  return { leaves, rebuild };
}

function isThenable(v: unknown): boolean {
  return v !== null && typeof v === 'object' && typeof (v as { then?: unknown }).then === 'function';
}

/**
 * Runs `fn` and disposes every tensor it created except those in its result (and those kept with
 * {@link keep}). Tensors a gradient in progress still needs are held until that gradient is done.
 * `fn` must be synchronous.
 *
 * @example
 * ```ts
 * const y = tidy(() => x.mul(2).add(1).exp());   // the intermediates are released
 * ```
 */
// biome-ignore lint/suspicious/noConfusingVoidType: `fn` may return nothing (a step run only for its effects)
export function tidy<R extends TreeLike | void>(fn: () => R): R {
  const frame: Tensor[] = [];
  engine.tidyFrames.push(frame);
  let result: R;
  try {
    result = fn();
  } catch (e) {
    // nothing made inside is returned: release it all (kept tensors go to the enclosing tidy)
    engine.tidyFrames.pop();
    const parent = engine.tidyFrames[engine.tidyFrames.length - 1];
    for (const t of frame) {
      if (keptForever.has(t)) parent?.push(t);
      else t.dispose();
    }
    throw e;
  }
  engine.tidyFrames.pop();
  if (isThenable(result)) throw new JouleError('tidy', 'fn', 'a synchronous function', 'one that returned a Promise');
  const kept = new Set(flattenTree((result ?? null) as TreeLike).leaves);
  const parent = engine.tidyFrames[engine.tidyFrames.length - 1];
  for (const t of frame) {
    if (kept.has(t) || keptForever.has(t)) parent?.push(t);
    else t.dispose();
  }
  return result;
}

const keptForever = new WeakSet<Tensor>();

/**
 * Exempts a tensor from every enclosing {@link tidy}; dispose it yourself.
 *
 * @example
 * ```ts
 * let state: Tensor;
 * tidy(() => { state = keep(x.mul(2)); });
 * ```
 */
export function keep<T extends Tensor>(t: T): T {
  keptForever.add(t);
  return t;
}

/**
 * Disposes every tensor in a tree.
 *
 * @example
 * ```ts
 * dispose({ w, b });
 * ```
 */
export function dispose(tree: TreeLike): void {
  for (const t of flattenTree(tree).leaves) t.dispose();
}

/**
 * Runs `fn` without recording anything for gradients: faster and lighter for sampling and evaluation.
 * Gradients taken inside `fn` still work.
 *
 * @example
 * ```ts
 * const samples = noGrad(() => langevinSteps(x0));
 * ```
 */
export function noGrad<R>(fn: () => R): R {
  const saved = engine.recording;
  engine.recording = 0;
  try {
    return fn();
  } finally {
    engine.recording = saved;
  }
}

interface Traced<T extends TreeLike> {
  scope: GradScope;
  leaves: Tensor[];
  rebuild: (leaves: readonly Tensor[]) => T;
  out: unknown;
}

/** Runs `f` on copies of the tensors of `x` that a new scope differentiates with respect to. */
function trace<T extends TreeLike>(op: string, f: (x: T) => unknown, x: T): Traced<T> {
  const { leaves: inputs, rebuild } = flattenTree(x);
  if (inputs.length === 0) throw new JouleError(op, 'x', 'a Tensor or a tree holding tensors', typeof x);
  const scope = engine.openScope(op);
  try {
    const leaves = inputs.map((t, i) => {
      if (!(t instanceof Tensor)) throw new JouleError(op, `x[${i}]`, 'a Tensor', typeof t);
      t.check(op, 'x');
      t.storage.retain();
      const leaf = new Tensor(t.storage, t.shape);
      engine.record(leaf, 'input', [t], (g) => [g], scope.bit);
      scope.leaves.add(leaf);
      return leaf;
    });
    const out = f(rebuild(leaves));
    engine.stopRecording(scope);
    return { scope, leaves, rebuild, out };
  } catch (e) {
    engine.closeScope(scope);
    throw e;
  }
}

/** Reverse pass of `scope`: cotangents of `leaves` given those of `outputs`. */
function backward(
  scope: GradScope,
  outputs: readonly Tensor[],
  cotangents: readonly Tensor[],
  leaves: readonly Tensor[],
): Tensor[] {
  const bit = scope.bit;
  const order: Tensor[] = [];
  const seen = new Set<Tensor>();
  const stack: [Tensor, number][] = [];
  for (const o of outputs) if (o.mask & bit) stack.push([o, 0]);
  while (stack.length > 0) {
    const top = stack[stack.length - 1];
    const [t, i] = top;
    if (i === 0) {
      if (seen.has(t)) {
        stack.pop();
        continue;
      }
      seen.add(t);
    }
    const inputs = scope.leaves.has(t) || !t.node ? [] : t.node.inputs;
    if (i < inputs.length) {
      top[1] = i + 1;
      const x = inputs[i];
      if (x.mask & bit && !seen.has(x)) stack.push([x, 0]);
    } else {
      stack.pop();
      order.push(t);
    }
  }
  const grads = new Map<Tensor, Tensor>();
  const accumulate = (t: Tensor, g: Tensor) => {
    const prev = grads.get(t);
    grads.set(t, prev ? add(prev, g) : g);
  };
  outputs.forEach((o, i) => {
    if (o.mask & bit) accumulate(o, cotangents[i]);
  });
  for (let j = order.length - 1; j >= 0; j--) {
    const t = order[j];
    const g = grads.get(t);
    if (!g || scope.leaves.has(t) || !t.node) continue;
    const node = t.node;
    const needs = node.inputs.map((x) => (x.mask & bit) !== 0);
    engine.inGradRule++;
    let results: (Tensor | null)[];
    try {
      results = node.vjp(g, needs);
    } finally {
      engine.inGradRule--;
    }
    for (let k = 0; k < node.inputs.length; k++) {
      const r = results[k];
      if (!needs[k] || !r) continue;
      const x = node.inputs[k];
      if (!sameShape(r.shape, x.shape)) {
        throw new JouleError(
          node.op,
          'gradient',
          `shape ${formatShape(x.shape)}`,
          `${formatShape(r.shape)} (a bug in its gradient rule)`,
        );
      }
      accumulate(x, r);
    }
  }
  // Each leaf gets its own tensor object, never one shared with another leaf or a caller's cotangent.
  const given = new Set<Tensor>(cotangents);
  return leaves.map((l) => {
    const g = grads.get(l);
    if (!g) return zeros(l.shape);
    if (given.has(g)) return reshape(g, g.shape);
    given.add(g);
    return g;
  });
}

function scalarOutput(op: string, out: unknown): Tensor {
  if (!(out instanceof Tensor) || out.size !== 1) {
    const got = out instanceof Tensor ? `shape ${formatShape(out.shape)}` : typeof out;
    throw new JouleError(op, 'f', 'a function returning a one-element tensor', `one returning ${got}`);
  }
  return out;
}

/** What {@link valueAndGrad} returns: the value of `f` and its gradient with respect to the first argument. */
export interface ValueAndGrad<T> {
  /** `f(x)`, a one-element tensor (still differentiable by an enclosing gradient). */
  value: Tensor;
  /** `∇ₓ f(x)`, with the structure of `x`. */
  grad: T;
}

/**
 * `x ↦ { value: f(x), grad: ∇ₓ f(x) }` for `f` returning a one-element tensor; `x` may be a tensor
 * or a tree of tensors (parameters), and `f` may take further arguments that are not differentiated.
 * Nests: `f` may itself take gradients, and the result can be differentiated again.
 *
 * @example
 * ```ts
 * const loss = (p: { w: Tensor; b: Tensor }, x: Tensor) => x.matmul(p.w).add(p.b).square().mean();
 * const { value, grad } = valueAndGrad(loss)({ w, b }, x);   // grad.w, grad.b
 * ```
 */
export function valueAndGrad<T extends TreeLike, A extends unknown[]>(
  f: (x: T, ...rest: A) => Tensor,
): (x: T, ...rest: A) => ValueAndGrad<T> {
  return (x: T, ...rest: A) =>
    tidyTree(() => {
      const tr = trace('valueAndGrad', (y: T) => f(y, ...rest), x);
      try {
        const out = scalarOutput('valueAndGrad', tr.out);
        const gs = backward(tr.scope, [out], [ones(out.shape)], tr.leaves);
        return { value: out, grad: tr.rebuild(gs) };
      } finally {
        engine.closeScope(tr.scope);
      }
    });
}

/**
 * `x ↦ ∇ₓ f(x)` for `f` returning a one-element tensor (see {@link valueAndGrad}).
 *
 * @example
 * ```ts
 * const df = grad((x: Tensor) => x.pow(3).sum());
 * df(tensor([2]));              // [12]
 * grad((x: Tensor) => df(x).sum())(tensor([2]));   // second derivative: [12]
 * ```
 */
export function grad<T extends TreeLike, A extends unknown[]>(
  f: (x: T, ...rest: A) => Tensor,
): (x: T, ...rest: A) => T {
  const vg = valueAndGrad(f);
  return (x: T, ...rest: A) => {
    const r = vg(x, ...rest);
    r.value.dispose();
    return r.grad;
  };
}

/** What {@link vjp} returns. */
export interface VjpResult<T> {
  /** `f(x)`. */
  out: Tensor;
  /** The cotangent of `x` for a cotangent `v` of `out` (`vᵀ ∂f/∂x`); may be called many times. */
  vjp(v: Tensor): T;
  /** Releases the recorded computation; call it once the products are done. */
  release(): void;
}

/**
 * Evaluates `f(x)` and keeps what is needed for vector–Jacobian products with any cotangent, so
 * `d` products cost one forward pass (exact divergences, Jacobians row by row).
 *
 * @example
 * ```ts
 * const r = vjp((x: Tensor) => x.square(), tensor([1, 2]));
 * r.vjp(tensor([1, 0]));    // [2, 0]
 * r.release();
 * ```
 */
export function vjp<T extends TreeLike>(f: (x: T) => Tensor, x: T): VjpResult<T> {
  const tr = trace('vjp', f, x);
  if (!(tr.out instanceof Tensor)) {
    engine.closeScope(tr.scope);
    throw new JouleError('vjp', 'f', 'a function returning a tensor', typeof tr.out);
  }
  const out = tr.out;
  let open = true;
  const result: VjpResult<T> = {
    out,
    vjp(v: Tensor): T {
      if (!open) throw new JouleError('vjp', 'this', 'an unreleased result', 'one already released');
      if (!(v instanceof Tensor) || !sameShape(v.shape, out.shape)) {
        throw new JouleError(
          'vjp',
          'v',
          `a tensor of shape ${formatShape(out.shape)}`,
          v instanceof Tensor ? formatShape(v.shape) : typeof v,
        );
      }
      return tidyTree(() => tr.rebuild(backward(tr.scope, [out], [v], tr.leaves)));
    },
    release() {
      if (!open) return;
      open = false;
      engine.closeScope(tr.scope);
      // the copies of x's tensors that the scope differentiated with respect to (unless f returned one)
      for (const leaf of tr.leaves) if (leaf !== out) leaf.dispose();
    },
  };
  return result;
}

function tidyTree<R>(fn: () => R): R {
  return tidy(fn as () => TensorTree) as R;
}

import { JouleError, keep, Tensor } from '@joule/tensor';

/**
 * A tree of parameters: plain objects nesting tensors, keyed by parameter and sub-module name.
 * It is what {@link Module.parameters} returns and what `valueAndGrad` differentiates.
 *
 * @example
 * ```ts
 * const tree: ParamTree = { weight: randn([4, 2], rng), bias: zeros([4]), inner: { scale: ones([4]) } };
 * ```
 */
export interface ParamTree {
  [name: string]: Tensor | ParamTree;
}

/** `[1, 2]` for error messages. */
export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/** True when two shapes are equal. */
export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** A description of a value for error messages. */
export function describe(value: unknown): string {
  if (value instanceof Tensor) return `a tensor of shape ${formatShape(value.shape)}`;
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  if (typeof value === 'number') return String(value);
  return typeof value;
}

/**
 * The tensors of a parameter tree with their dotted names (`'layers.0.weight'`), depth first in key
 * order (the order `flattenTree` of `@joule/tensor` uses). Arrays are walked with their indices as names.
 *
 * @example
 * ```ts
 * namedLeaves({ a: { w: w1 }, b: w2 }); // [['a.w', w1], ['b', w2]]
 * ```
 */
export function namedLeaves(tree: unknown, op = 'namedLeaves', arg = 'tree'): [string, Tensor][] {
  const out: [string, Tensor][] = [];
  const walk = (node: unknown, prefix: string): void => {
    if (node instanceof Tensor) {
      out.push([prefix, node]);
      return;
    }
    if (node === null || typeof node !== 'object') {
      throw new JouleError(op, prefix ? `${arg}.${prefix}` : arg, 'a tensor or a tree of tensors', describe(node));
    }
    const entries = Array.isArray(node) ? node.map((v, i) => [String(i), v] as const) : Object.entries(node);
    for (const [k, v] of entries) walk(v, prefix ? `${prefix}.${k}` : k);
  };
  walk(tree, '');
  return out;
}

/**
 * The nested tree of a list of dotted names and tensors (the inverse of {@link namedLeaves} for
 * object trees).
 *
 * @example
 * ```ts
 * treeFromNamed([['a.w', w1], ['b', w2]]); // { a: { w: w1 }, b: w2 }
 * ```
 */
export function treeFromNamed(entries: Iterable<readonly [string, Tensor]>): ParamTree {
  const root: ParamTree = {};
  for (const [name, t] of entries) {
    const parts = name.split('.');
    let node = root;
    for (let i = 0; i < parts.length - 1; i++) {
      const next = node[parts[i]];
      if (next === undefined) node = node[parts[i]] = {};
      else if (next instanceof Tensor)
        throw new JouleError('treeFromNamed', 'entries', 'names that do not nest inside a tensor', name);
      else node = next;
    }
    node[parts[parts.length - 1]] = t;
  }
  return root;
}

/** A new handle on the same storage, exempt from `tidy`, that survives disposal of the original. */
export function share(t: Tensor): Tensor {
  return keep(t.stopGradient());
}

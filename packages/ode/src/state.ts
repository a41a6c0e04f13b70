import { flattenTree, JouleError, type Tensor, type TensorTree, tidy } from '@joule/tensor';

/**
 * The state of an ODE: one tensor, or arrays and plain objects nesting tensors (an augmented state
 * such as `{ x, logDet }`). Every leaf evolves together; a vector field returns the same structure.
 *
 * @example
 * ```ts
 * const s: OdeState = { x: randn([64, 2], rng), logDet: zeros([64]) };
 * ```
 */
export type OdeState = Tensor | readonly OdeState[] | { readonly [key: string]: OdeState };

/**
 * A time-dependent vector field `dx/dt = f(x, t)` on a state `S` (a tensor or a tree of tensors).
 * The integrators pass `t` as a plain number; a field that wants a tensor builds one
 * (`full([n, 1], t)`). It must return the same structure and shapes as `x`.
 *
 * @example
 * ```ts
 * const rotation: VectorField<Tensor> = (x) => x.matmul(tensor([[0, -1], [1, 0]]));
 * const forced: VectorField<Tensor> = (x, t) => x.mul(-2).add(Math.sin(t));
 * ```
 */
export type VectorField<S extends OdeState = Tensor> = (x: S, t: number) => S;

/** The leaves of a state, checked to be tensors (at least one). */
export function leavesOf(op: string, arg: string, s: OdeState): Tensor[] {
  const { leaves } = flattenTree(s as TensorTree);
  if (leaves.length === 0) throw new JouleError(op, arg, 'a tensor or a tree of tensors', 'a structure with no tensor');
  return leaves;
}

/** `x + Σ cᵢ kᵢ` leaf by leaf, skipping zero coefficients; `x`, `kᵢ` share the structure of `x`. */
export function combine<S extends OdeState>(op: string, x: S, terms: readonly (readonly [number, S])[]): S {
  const { leaves, rebuild } = flattenTree(x as TensorTree);
  const termLeaves = terms.map(([c, k], i) => {
    const l = flattenTree(k as TensorTree).leaves;
    if (l.length !== leaves.length) {
      throw new JouleError(
        op,
        'f',
        `a vector field returning ${leaves.length} tensor(s) like the state`,
        `${l.length} (stage ${i + 1})`,
      );
    }
    return [c, l] as const;
  });
  const out = leaves.map((leaf, j) => {
    let acc = leaf;
    for (const [c, l] of termLeaves) {
      if (c === 0) continue;
      const k = l[j];
      if (k.shape.length !== leaf.shape.length || k.shape.some((s, a) => s !== leaf.shape[a])) {
        throw new JouleError(
          op,
          'f',
          `a vector field returning shape [${leaf.shape.join(', ')}] like the state`,
          `[${k.shape.join(', ')}]`,
        );
      }
      acc = acc.add(k.mul(c));
    }
    return acc;
  });
  return rebuild(out) as S;
}

/** Runs one step in a `tidy` so that only the new state survives. */
export function tidyStep<S extends OdeState>(fn: () => S): S {
  return tidy(() => fn() as TensorTree) as S;
}

/** Disposes the leaves of `s` that are not leaves of `keep`. */
export function disposeExcept(s: OdeState, keep: OdeState): void {
  const kept = new Set(flattenTree(keep as TensorTree).leaves);
  for (const t of flattenTree(s as TensorTree).leaves) if (!kept.has(t)) t.dispose();
}

/** Checks a time value. */
export function assertTime(op: string, arg: string, t: unknown): asserts t is number {
  if (typeof t !== 'number' || !Number.isFinite(t)) throw new JouleError(op, arg, 'a finite number', String(t));
}

/** The time grid of a fixed-step solve: `grid` as given (strictly monotone), or `steps` equal steps from `t0` to `t1`. */
export function timeGrid(
  op: string,
  options: { t0?: number; t1?: number; steps?: number; grid?: readonly number[] },
): number[] {
  if (options.grid !== undefined) {
    const g = options.grid;
    if (!Array.isArray(g) || g.length < 2) throw new JouleError(op, 'grid', 'an array of at least 2 times', String(g));
    for (const t of g) assertTime(op, 'grid', t);
    const dir = Math.sign(g[1] - g[0]);
    for (let i = 1; i < g.length; i++) {
      if (dir === 0 || Math.sign(g[i] - g[i - 1]) !== dir) {
        throw new JouleError(op, 'grid', 'strictly increasing or strictly decreasing times', `[${g.join(', ')}]`);
      }
    }
    return [...g];
  }
  const t0 = options.t0 ?? 0;
  const t1 = options.t1 ?? 1;
  assertTime(op, 't0', t0);
  assertTime(op, 't1', t1);
  if (t0 === t1) throw new JouleError(op, 't1', `a time different from t0 = ${t0}`, String(t1));
  const steps = options.steps;
  if (typeof steps !== 'number' || !Number.isInteger(steps) || steps <= 0) {
    throw new JouleError(op, 'steps', 'a positive integer (or a grid)', String(steps));
  }
  return Array.from({ length: steps + 1 }, (_, i) => (i === steps ? t1 : t0 + ((t1 - t0) * i) / steps));
}

import { dispose, flattenTree, JouleError, keep, type Tensor, type TreeLike, tidy } from '@joule/tensor';
import type { ParamTree } from './tree.js';

/**
 * Something that holds a parameter tree and takes a new one: a {@link Module}, or any trainable
 * part with the same two methods.
 *
 * @example
 * ```ts
 * const owner: ParamOwner = new MLP(2, 1, { rng: new Rng(0) });
 * ```
 */
export interface ParamOwner {
  /** The current parameter tree. */
  parameters(): ParamTree;
  /** Puts a new parameter tree in place of the current one. */
  load(params: ParamTree): unknown;
}

/** The parameter tensors {@link descend} made: the only ones it later disposes. */
const made = new WeakSet<Tensor>();

/**
 * One gradient step of `owner` that leaves no tensor behind: `lossAndGrad` runs inside `tidy` (its
 * intermediates are freed), the loss is read, `optimizer` updates the parameters, then the gradient
 * and the parameters this replaced are disposed — only those an earlier `descend` made, never the
 * caller's own. On the GPU backend this is what keeps device memory flat over a training run.
 * Resolves to the loss; throws `JouleError(op, what, …)`, changing nothing, when it is not finite.
 *
 * @example
 * ```ts
 * const loss = await descend('MyEstimator.step', 'loss', model, adam, () =>
 *   valueAndGrad((p: ParamTree) => model.apply(p, x).mean())(model.parameters()),
 * );
 * ```
 */
export async function descend(
  op: string,
  what: string,
  owner: ParamOwner,
  optimizer: { step(params: ParamTree, grads: ParamTree): ParamTree },
  lossAndGrad: () => { value: Tensor; grad: ParamTree },
): Promise<number> {
  const { value, grad } = tidy(lossAndGrad);
  let loss: number;
  try {
    loss = (await value.data())[0] as number;
  } finally {
    value.dispose();
  }
  if (!Number.isFinite(loss)) {
    dispose(grad);
    throw new JouleError(op, what, 'a finite value', String(loss));
  }
  const params = owner.parameters();
  const next = tidy(() => optimizer.step(params, grad));
  dispose(grad);
  const old = flattenTree(params).leaves;
  owner.load(next);
  const leaves = flattenTree(next).leaves;
  const reused = new Set(leaves);
  for (const t of old) if (made.has(t) && !reused.has(t)) t.dispose();
  for (const t of leaves) made.add(keep(t));
  return loss;
}

/**
 * New handles on the tensors of `tree` (same storage, no gradient history) that stay valid after
 * the originals are disposed — a snapshot for an estimator's `state()`. The caller disposes them.
 *
 * @example
 * ```ts
 * const saved = snapshot(model.parameters()); // survives the next descend()
 * ```
 */
export function snapshot<T extends TreeLike>(tree: T): T {
  const { leaves, rebuild } = flattenTree(tree);
  return rebuild(leaves.map((t) => keep(t.stopGradient()))) as T;
}

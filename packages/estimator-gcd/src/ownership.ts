import { flattenTree, keep, type Tensor, type TreeLike } from '@joule/tensor';

/**
 * The tensors an estimator made and keeps between calls (parameters after its first update,
 * buffered trajectories): the only ones it disposes when it replaces them, never the caller's.
 */
export class Ownership {
  private readonly owned = new WeakSet<Tensor>();

  /** Takes the tensors of `next` that are not in `previous` (exempting them from `tidy`). */
  adopt<T extends TreeLike>(next: T, previous: TreeLike = {}): T {
    const old = new Set(flattenTree(previous).leaves);
    for (const t of flattenTree(next).leaves) if (!old.has(t)) this.owned.add(keep(t));
    return next;
  }

  /** Disposes the owned tensors of `old` that `next` does not reuse. */
  retire(old: TreeLike, next: TreeLike = {}): void {
    const reused = new Set(flattenTree(next).leaves);
    for (const t of flattenTree(old).leaves) if (this.owned.has(t) && !reused.has(t)) t.dispose();
  }
}

/** New handles on the tensors of `tree` that outlive their disposal (for `state()` snapshots). */
export function snapshot<T extends TreeLike>(tree: T): T {
  const { leaves, rebuild } = flattenTree(tree);
  return rebuild(leaves.map((t) => keep(t.stopGradient())));
}

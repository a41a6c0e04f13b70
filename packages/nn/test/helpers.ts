import { flattenTree, type Tensor, tensor, valueAndGrad } from '@joule/tensor';
import { expect } from 'vitest';
import { namedLeaves, type ParamTree } from '../src/index.js';

/**
 * Checks `valueAndGrad(f)` at `params` against central differences of `f` (evaluated in float32
 * with step `h`), at up to `perTensor` entries of each parameter tensor.
 * Error budget: truncation h²/6·|f'''| plus rounding ~|f|·6e-8/h, both far below `tol`.
 */
export function checkGradients(
  f: (p: ParamTree) => Tensor,
  params: ParamTree,
  h = 1e-2,
  tol = 2e-3,
  perTensor = 6,
): void {
  const { grad } = valueAndGrad(f)(params);
  const grads = new Map(namedLeaves(grad));
  const { leaves, rebuild } = flattenTree(params);
  const names = namedLeaves(params).map(([n]) => n);
  leaves.forEach((t, li) => {
    const base = t.dataSync();
    const g = grads.get(names[li])!.dataSync();
    const step = Math.max(1, Math.floor(base.length / perTensor));
    for (let idx = 0; idx < base.length; idx += step) {
      const at = (delta: number): number => {
        const v = base.slice();
        v[idx] += delta;
        const ls = leaves.slice();
        ls[li] = tensor(v, t.shape);
        return f(rebuild(ls)).dataSync()[0];
      };
      const fd = (at(h) - at(-h)) / (2 * h);
      expect(Math.abs(fd - g[idx]), `${names[li]}[${idx}]: fd ${fd} vs grad ${g[idx]}`).toBeLessThan(
        tol * (1 + Math.abs(g[idx])),
      );
    }
  });
}

/** The values of a tensor as a plain array. */
export function values(t: Tensor): number[] {
  return Array.from(t.dataSync());
}

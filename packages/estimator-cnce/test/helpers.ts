import type { ParamTree } from '@joule/nn';
import { type Rng, randn, stack, type Tensor, tensor } from '@joule/tensor';

/** Equal-shape two-mode energy in 1-D: E(x) = −log(e^a N(x; −m, s²) + N(x; m, s²)), parameter a. */
export function twoModeModel(m: number, s: number, a0: number) {
  let params: ParamTree = { a: tensor(a0) };
  const apply = (p: ParamTree, x: Tensor): Tensor => {
    const z = x.reshape([x.shape[0] as number]);
    const left = z
      .add(m)
      .square()
      .mul(-0.5 / (s * s))
      .add(p.a as Tensor);
    const right = z
      .sub(m)
      .square()
      .mul(-0.5 / (s * s));
    return stack([left, right], 1).logSumExp(1).neg();
  };
  return {
    parameters: () => params,
    apply,
    load: (p: ParamTree) => {
      params = p;
    },
    a: () => (params.a as Tensor).dataSync()[0] as number,
  };
}

/** n draws from ½N(−m, s²) + ½N(m, s²), shape [n, 1]. */
export function twoModeData(n: number, m: number, s: number, rng: Rng): Tensor {
  const side = randn([n, 1], rng)
    .gt(0)
    .mul(2 * m)
    .sub(m);
  return randn([n, 1], rng, 0, s).add(side);
}

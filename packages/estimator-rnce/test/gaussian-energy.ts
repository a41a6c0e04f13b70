/** A test energy shared by the R-NCE tests. */
import type { ParamTree } from '@joule/nn';
import { type Tensor, tensor } from '@joule/tensor';

/** A diagonal Gaussian energy `E(y) = ½ Σ exp(s)(y − m)²` with parameters `{ m, s }` (`[d]` each). */
export class GaussianEnergy {
  private params: ParamTree;
  constructor(d: number, m0 = 0, s0 = 0) {
    this.params = { m: tensor(new Array(d).fill(m0)), s: tensor(new Array(d).fill(s0)) };
  }
  parameters(): ParamTree {
    return this.params;
  }
  apply(p: ParamTree, y: Tensor): Tensor {
    return y
      .sub(p.m as Tensor)
      .square()
      .mul((p.s as Tensor).exp())
      .sum(1)
      .mul(0.5);
  }
  load(p: ParamTree): void {
    this.params = p;
  }
  /** The means and standard deviations of `exp(−E)`. */
  values(): { m: number[]; sigma: number[] } {
    const m = Array.from((this.params.m as Tensor).dataSync());
    const sigma = Array.from((this.params.s as Tensor).dataSync(), (s) => Math.exp(-s / 2));
    return { m, sigma };
  }

  /** `[mean, standard deviation]` of a 1-D `exp(−E)`. */
  pair(): [number, number] {
    const { m, sigma } = this.values();
    return [m[0] as number, sigma[0] as number];
  }
}

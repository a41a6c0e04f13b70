import type { Distribution, EnergyFn, Kernel } from '@joule/core';
import { type Rng, rand, randn, type Tensor, tensor, where } from '@joule/tensor';

/** `N(mean, std² I)`, a minimal Distribution for the tests. */
export class IsoGaussian implements Distribution {
  readonly dim: number;
  constructor(
    readonly mean: number[],
    readonly std: number,
  ) {
    this.dim = mean.length;
  }
  sample(n: number, rng: Rng): Tensor {
    return randn([n, this.dim], rng, 0, this.std).add(tensor(this.mean));
  }
  logProb(x: Tensor): Tensor {
    const c = this.dim * (Math.log(this.std) + 0.5 * Math.log(2 * Math.PI));
    return x
      .sub(tensor(this.mean))
      .square()
      .sum(1)
      .mul(-0.5 / (this.std * this.std))
      .sub(c);
  }
  /** log p in float64 for one point. */
  logProbAt(point: ArrayLike<number>): number {
    let s = 0;
    for (let k = 0; k < this.dim; k++) s += (point[k] - this.mean[k]) ** 2;
    return -s / (2 * this.std * this.std) - this.dim * (Math.log(this.std) + 0.5 * Math.log(2 * Math.PI));
  }
}

/** The state of the random-walk Metropolis–Hastings kernel below. */
export interface MhState {
  readonly x: Tensor;
  readonly energy: EnergyFn;
  readonly e: Tensor;
}

/** A random-walk Metropolis–Hastings kernel with Gaussian proposals of scale `step` (exact invariance). */
export function randomWalkMh(step: number): Kernel<MhState, { acceptance: number }> {
  return {
    init: (x, energy) => ({ x, energy, e: energy(x) }),
    step: (rng, s) => {
      const n = s.x.shape[0];
      const proposal = s.x.add(randn(s.x.shape, rng, 0, step));
      const ep = s.energy(proposal);
      const accept = rand([n], rng).log().lt(s.e.sub(ep));
      const x = where(accept.unsqueeze(1), proposal, s.x);
      const e = where(accept, ep, s.e);
      const acceptance = (accept.mean().dataSync() as Float32Array)[0];
      return { state: { x, energy: s.energy, e }, info: { acceptance } };
    },
  };
}

/** Samples from `N(center, std² I)` as a [n, d] tensor. */
export function gaussianSamples(n: number, center: number[], std: number, rng: Rng): Tensor {
  return randn([n, center.length], rng, 0, std).add(tensor(center));
}

/** Standard normal CDF through erfc (the Chebyshev fit `erfcc` of Numerical Recipes, relative error < 1.2e-7). */
export function normalCdf(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.5 * x);
  const y =
    t *
    Math.exp(
      -x * x -
        1.26551223 +
        t *
          (1.00002368 +
            t *
              (0.37409196 +
                t *
                  (0.09678418 +
                    t *
                      (-0.18628806 +
                        t *
                          (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return z >= 0 ? 1 - 0.5 * y : 0.5 * y;
}

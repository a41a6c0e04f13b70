import { JouleError, noGrad, type Rng, randn, type Tensor } from '@joule/tensor';
import { checkLastDim, Linear, needRng } from './layers.js';
import { Module } from './module.js';
import { describe, type ParamTree } from './tree.js';

/** Options of {@link SpectralNorm}. */
export interface SpectralNormOptions {
  /** The generator the initial power-iteration vector is drawn from. */
  rng: Rng;
  /** Power iterations per forward pass in training mode (default 1). */
  iterations?: number;
  /** Added to norms before dividing (default 1e-12). */
  eps?: number;
}

function normalize(v: Tensor, eps: number): Tensor {
  return v.div(v.norm().add(eps));
}

/**
 * Spectral normalization (Miyato et al., 2018) of a {@link Linear} layer: the forward pass uses
 * `W / σ(W)`, with the largest singular value `σ(W) ≈ uᵀ W v` estimated by power iteration on
 * persistent vectors `u` (`[out]`) and `v` (`[in]`), stored as buffers (saved in checkpoints).
 * In training mode each forward pass runs `iterations` power steps (outside the gradient) before
 * computing `σ`; in eval mode `u` and `v` stay fixed. Keeps an energy network Lipschitz.
 * The wrapped layer's parameters appear under `linear`.
 *
 * @example
 * ```ts
 * const layer = new SpectralNorm(new Linear(64, 64, { rng }), { rng });
 * layer.forward(h);
 * ```
 */
export class SpectralNorm extends Module {
  /** The wrapped layer. */
  readonly linear: Linear;
  private readonly iterations: number;
  private readonly eps: number;

  /** Normalizes `linear`; `u` starts random (from `options.rng`) and gets 15 power iterations. */
  constructor(linear: Linear, options: SpectralNormOptions) {
    super();
    if (!(linear instanceof Linear)) throw new JouleError('SpectralNorm', 'linear', 'a Linear layer', describe(linear));
    const rng = needRng('SpectralNorm', options?.rng);
    this.iterations = options.iterations ?? 1;
    if (!Number.isInteger(this.iterations) || this.iterations < 0) {
      throw new JouleError('SpectralNorm', 'options.iterations', 'a non-negative integer', describe(this.iterations));
    }
    this.eps = options.eps ?? 1e-12;
    this.linear = this.addModule('linear', linear);
    const w = linear.parameters({ includeFrozen: true }).weight as Tensor;
    const u = normalize(randn([linear.outFeatures], rng), this.eps);
    const v = normalize(w.matmul(u, { transA: true }), this.eps);
    this.addBuffer('u', u);
    this.addBuffer('v', v);
    this.powerIterations(w, 15);
  }

  private powerIterations(w: Tensor, steps: number): void {
    if (steps === 0) return;
    noGrad(() => {
      let u = this.buffer('u');
      let v = this.buffer('v');
      for (let k = 0; k < steps; k++) {
        v = normalize(w.matmul(u, { transA: true }), this.eps);
        u = normalize(w.matmul(v), this.eps);
      }
      this.setBuffer('u', u);
      this.setBuffer('v', v);
    });
  }

  /**
   * The current estimate `uᵀ W v` of the largest singular value of the weight (of `params` when given).
   *
   * @example
   * ```ts
   * await layer.sigma().item();
   * ```
   */
  sigma(params?: ParamTree): Tensor {
    const w = (
      params
        ? this.linear.resolve(params.linear as ParamTree | undefined)
        : this.linear.parameters({ includeFrozen: true })
    ).weight as Tensor;
    return this.buffer('u')
      .mul(w.matmul(this.buffer('v')))
      .sum();
  }

  protected compute(p: ParamTree, x: Tensor): Tensor {
    checkLastDim('SpectralNorm', 'x', x, this.linear.inFeatures);
    const lp = this.linear.resolve(p.linear as ParamTree | undefined);
    const w = lp.weight as Tensor;
    if (this.training) this.powerIterations(w, this.iterations);
    const sigma = this.buffer('u')
      .mul(w.matmul(this.buffer('v')))
      .sum();
    const y = x.matmul(w.div(sigma), { transB: true });
    return this.linear.hasBias ? y.add(lp.bias as Tensor) : y;
  }
}

import { Module, type ParamTree } from '@joule/nn';
import { JouleError, Tensor } from '@joule/tensor';

/**
 * What a bijector returns: the transformed points and `log|det ∂y/∂x|` of the direction taken.
 *
 * @example
 * ```ts
 * const { y, logDet } = coupling.forward(z);   // y: [n, d], logDet: [n]
 * ```
 */
export interface BijectorResult {
  /** The transformed points, `[n, d]`. */
  y: Tensor;
  /** `log|det J|` of this direction at each point, `[n]`. */
  logDet: Tensor;
}

/**
 * An invertible map of `R^d` with a tractable log-determinant, possibly conditioned on a context
 * `[n, c]`. `forward` goes from the base to the data (sampling), `inverse` from the data to the
 * base (density evaluation). A bijector is a `Module`: `forward`/`inverse` use its own parameters,
 * `forwardWith`/`inverseWith` use a resolved parameter tree (how gradients are taken).
 *
 * @example
 * ```ts
 * const { y, logDet } = bijector.forward(z);
 * const back = bijector.inverse(y);   // back.y ≈ z, back.logDet ≈ −logDet
 * ```
 */
export abstract class Bijector extends Module<[Tensor, Tensor?], BijectorResult> {
  /** The dimension `d` it acts on. */
  readonly dim: number;

  /** A bijector of `R^dim`. */
  constructor(dim: number) {
    super();
    if (!Number.isInteger(dim) || dim <= 0) throw new JouleError('Bijector', 'dim', 'a positive integer', String(dim));
    this.dim = dim;
  }

  /**
   * Base → data with the resolved parameters `p` (see `Module.resolve`).
   *
   * @example
   * ```ts
   * const { y } = b.forwardWith(b.resolve(params), z);
   * ```
   */
  abstract forwardWith(p: ParamTree, x: Tensor, context?: Tensor): BijectorResult;

  /**
   * Data → base with the resolved parameters `p`.
   *
   * @example
   * ```ts
   * const { y: z, logDet } = b.inverseWith(b.resolve(params), x);
   * ```
   */
  abstract inverseWith(p: ParamTree, y: Tensor, context?: Tensor): BijectorResult;

  /**
   * Data → base with this bijector's own parameters.
   *
   * @example
   * ```ts
   * const { y: z, logDet } = b.inverse(x);
   * ```
   */
  inverse(y: Tensor, context?: Tensor): BijectorResult {
    return this.inverseWith(this.resolve(this.parameters({ includeFrozen: true })), y, context);
  }

  /**
   * Data → base with the parameters of `params` (differentiable with respect to them).
   *
   * @example
   * ```ts
   * const { grad } = valueAndGrad((p: ParamTree) => b.applyInverse(p, x).logDet.sum())(b.parameters());
   * ```
   */
  applyInverse(params: ParamTree | undefined, y: Tensor, context?: Tensor): BijectorResult {
    return this.inverseWith(this.resolve(params), y, context);
  }

  protected compute(p: ParamTree, x: Tensor, context?: Tensor): BijectorResult {
    return this.forwardWith(p, x, context);
  }

  /** Checks `[n, dim]` points. */
  protected checkPoints(op: string, x: unknown): asserts x is Tensor {
    if (!(x instanceof Tensor) || x.rank !== 2 || x.shape[1] !== this.dim) {
      throw new JouleError(
        `${this.name}.${op}`,
        'x',
        `a tensor of shape [n, ${this.dim}]`,
        x instanceof Tensor ? `shape [${x.shape.join(', ')}]` : typeof x,
      );
    }
  }

  /** Checks a context `[n, contextDim]` for a conditional bijector (or its absence for a plain one). */
  protected checkContext(op: string, x: Tensor, context: Tensor | undefined, contextDim: number): void {
    if (contextDim === 0) {
      if (context !== undefined)
        throw new JouleError(`${this.name}.${op}`, 'context', 'no context (built with contextDim 0)', 'a context');
      return;
    }
    if (
      !(context instanceof Tensor) ||
      context.rank !== 2 ||
      context.shape[0] !== x.shape[0] ||
      context.shape[1] !== contextDim
    ) {
      throw new JouleError(
        `${this.name}.${op}`,
        'context',
        `a tensor of shape [${x.shape[0]}, ${contextDim}]`,
        context instanceof Tensor ? `shape [${context.shape.join(', ')}]` : String(context),
      );
    }
  }
}

import { engine, type GradNode, Storage } from './engine.js';
import { JouleError } from './errors.js';
import * as ops from './ops.js';
import { formatShape, type Shape, sizeOf } from './shape.js';

/** Nested arrays of numbers, as `toArray()` returns them. */
export type NestedArray = number | NestedArray[];

/** A tensor or a plain number, where an op broadcasts a scalar. */
export type TensorLike = Tensor | number;

/** Axes for a reduction: one axis, several, or all when omitted. */
export type Axes = number | readonly number[];

/**
 * An immutable float32 array of any rank, row-major, on one backend, that operations record for
 * reverse-mode differentiation when a gradient is being taken.
 *
 * Build ops synchronously; read values with `await t.data()` (or `t.dataSync()` on backends that
 * can). Every op is also a free function (`add(a, b)`), and every method here has one.
 *
 * @example
 * ```ts
 * const x = tensor([[1, 2], [3, 4]]);
 * const y = x.mul(2).add(1).sum(1);     // [7, 15]
 * console.log(await y.data());          // Float32Array [7, 15]
 * ```
 */
export class Tensor {
  /** Dimensions, outermost first. */
  readonly shape: readonly number[];
  /** Number of elements. */
  readonly size: number;
  /** @internal The backend storage (possibly shared with views). */
  readonly storage: Storage;
  /** @internal Bits of the open gradient scopes this tensor depends on. */
  mask = 0;
  /** @internal How this tensor was computed, while a gradient scope needs it. */
  node: GradNode | null = null;
  private disposed = false;

  /** @internal Use {@link tensor} and the other factories. */
  constructor(storage: Storage, shape: Shape) {
    this.storage = storage;
    this.shape = shape;
    this.size = sizeOf(shape);
    engine.track(this);
  }

  /** Number of dimensions. */
  get rank(): number {
    return this.shape.length;
  }

  /** True once {@link Tensor.dispose} has been called. */
  get isDisposed(): boolean {
    return this.disposed;
  }

  /** @internal Throws when the storage is gone. */
  check(op: string, arg: string): this {
    if (this.storage.refs <= 0 || (this.disposed && engine.inGradRule === 0)) {
      throw new JouleError(op, arg, 'a live tensor', 'a disposed tensor');
    }
    return this;
  }

  /** The values, as a new Float32Array. */
  data(): Promise<Float32Array> {
    this.check('data', 'this');
    return this.storage.backend.read(this.storage.data, this.size);
  }

  /** The values now, on backends that can read synchronously (the CPU backend can). */
  dataSync(): Float32Array {
    this.check('dataSync', 'this');
    const b = this.storage.backend;
    if (!b.canReadSync)
      throw new JouleError(
        'dataSync',
        'this',
        'a backend that reads synchronously',
        `backend '${b.name}' (use await data())`,
      );
    return b.readSync(this.storage.data, this.size);
  }

  /** The single value of a one-element tensor. */
  async item(): Promise<number> {
    if (this.size !== 1)
      throw new JouleError('item', 'this', 'a tensor of one element', `shape ${formatShape(this.shape)}`);
    return (await this.data())[0];
  }

  /** The values as nested arrays (a number for a scalar), read synchronously. */
  toArray(): NestedArray {
    const v = this.dataSync();
    const build = (dim: number, at: number): NestedArray => {
      if (dim === this.shape.length) return v[at];
      const inner = sizeOf(this.shape.slice(dim + 1));
      return Array.from({ length: this.shape[dim] }, (_, i) => build(dim + 1, at + i * inner));
    };
    return build(0, 0);
  }

  /** Releases this tensor's hold on its storage (GPU memory is freed when nothing else holds it). Idempotent. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    engine.liveTensors--;
    this.storage.release();
  }

  /** `Tensor([2, 3])` with the values when small, for logs. */
  toString(): string {
    if (this.storage.refs <= 0) return `Tensor(${formatShape(this.shape)}, disposed)`;
    if (!this.storage.backend.canReadSync || this.size > 64) return `Tensor(${formatShape(this.shape)})`;
    return `Tensor(${formatShape(this.shape)}, ${JSON.stringify(this.toArray())})`;
  }

  // element-wise
  /** `this + b`, broadcast. */ add(b: TensorLike): Tensor {
    return ops.add(this, b);
  }
  /** `this − b`, broadcast. */ sub(b: TensorLike): Tensor {
    return ops.sub(this, b);
  }
  /** `this · b`, broadcast. */ mul(b: TensorLike): Tensor {
    return ops.mul(this, b);
  }
  /** `this / b`, broadcast. */ div(b: TensorLike): Tensor {
    return ops.div(this, b);
  }
  /** `this ^ b`, broadcast. */ pow(b: TensorLike): Tensor {
    return ops.pow(this, b);
  }
  /** Element-wise larger of the two. */ maximum(b: TensorLike): Tensor {
    return ops.maximum(this, b);
  }
  /** Element-wise smaller of the two. */ minimum(b: TensorLike): Tensor {
    return ops.minimum(this, b);
  }
  /** Values limited to `[lo, hi]`. */ clamp(lo: number, hi: number): Tensor {
    return ops.clamp(this, lo, hi);
  }
  /** `−this`. */ neg(): Tensor {
    return ops.neg(this);
  }
  /** `|this|`. */ abs(): Tensor {
    return ops.abs(this);
  }
  /** −1, 0 or 1. */ sign(): Tensor {
    return ops.sign(this);
  }
  /** `e^this`. */ exp(): Tensor {
    return ops.exp(this);
  }
  /** Natural logarithm. */ log(): Tensor {
    return ops.log(this);
  }
  /** `log(1 + this)`. */ log1p(): Tensor {
    return ops.log1p(this);
  }
  /** `e^this − 1`. */ expm1(): Tensor {
    return ops.expm1(this);
  }
  /** Square root. */ sqrt(): Tensor {
    return ops.sqrt(this);
  }
  /** `1 / √this`. */ rsqrt(): Tensor {
    return ops.rsqrt(this);
  }
  /** `this²`. */ square(): Tensor {
    return ops.square(this);
  }
  /** `1 / this`. */ reciprocal(): Tensor {
    return ops.reciprocal(this);
  }
  /** Sine. */ sin(): Tensor {
    return ops.sin(this);
  }
  /** Cosine. */ cos(): Tensor {
    return ops.cos(this);
  }
  /** Hyperbolic tangent. */ tanh(): Tensor {
    return ops.tanh(this);
  }
  /** `1 / (1 + e^−this)`. */ sigmoid(): Tensor {
    return ops.sigmoid(this);
  }
  /** `log σ(this)`, stable. */ logSigmoid(): Tensor {
    return ops.logSigmoid(this);
  }
  /** `log(1 + e^this)`, stable. */ softplus(): Tensor {
    return ops.softplus(this);
  }
  /** `max(this, 0)`. */ relu(): Tensor {
    return ops.relu(this);
  }
  /** `this · σ(this)`. */ silu(): Tensor {
    return ops.silu(this);
  }
  /** Exact GELU, `x Φ(x)`. */ gelu(): Tensor {
    return ops.gelu(this);
  }
  /** Error function. */ erf(): Tensor {
    return ops.erf(this);
  }
  /** 1 where finite, else 0. */ isFinite(): Tensor {
    return ops.isFinite(this);
  }
  /** 1 where `this == b`, else 0. */ eq(b: TensorLike): Tensor {
    return ops.eq(this, b);
  }
  /** 1 where `this != b`, else 0. */ ne(b: TensorLike): Tensor {
    return ops.ne(this, b);
  }
  /** 1 where `this < b`, else 0. */ lt(b: TensorLike): Tensor {
    return ops.lt(this, b);
  }
  /** 1 where `this <= b`, else 0. */ le(b: TensorLike): Tensor {
    return ops.le(this, b);
  }
  /** 1 where `this > b`, else 0. */ gt(b: TensorLike): Tensor {
    return ops.gt(this, b);
  }
  /** 1 where `this >= b`, else 0. */ ge(b: TensorLike): Tensor {
    return ops.ge(this, b);
  }

  // reductions
  /** Sum over `axes` (all when omitted). */ sum(axes?: Axes, keepDims = false): Tensor {
    return ops.sum(this, axes, keepDims);
  }
  /** Mean over `axes`. */ mean(axes?: Axes, keepDims = false): Tensor {
    return ops.mean(this, axes, keepDims);
  }
  /** Maximum over `axes`. */ max(axes?: Axes, keepDims = false): Tensor {
    return ops.max(this, axes, keepDims);
  }
  /** Minimum over `axes`. */ min(axes?: Axes, keepDims = false): Tensor {
    return ops.min(this, axes, keepDims);
  }
  /** `log Σ exp` over `axes`, stable. */ logSumExp(axes?: Axes, keepDims = false): Tensor {
    return ops.logSumExp(this, axes, keepDims);
  }
  /** Variance over `axes` with `correction` (0: population, 1: unbiased). */
  var(axes?: Axes, keepDims = false, correction = 0): Tensor {
    return ops.variance(this, axes, keepDims, correction);
  }
  /** Standard deviation over `axes`. */
  std(axes?: Axes, keepDims = false, correction = 0): Tensor {
    return ops.std(this, axes, keepDims, correction);
  }
  /** Index of the largest value along `axis` (of the flattened tensor when omitted). */ argmax(axis?: number): Tensor {
    return ops.argmax(this, axis);
  }
  /** Index of the smallest value along `axis`. */ argmin(axis?: number): Tensor {
    return ops.argmin(this, axis);
  }
  /** Softmax along `axis`. */ softmax(axis = -1): Tensor {
    return ops.softmax(this, axis);
  }
  /** Log-softmax along `axis`. */ logSoftmax(axis = -1): Tensor {
    return ops.logSoftmax(this, axis);
  }
  /** Cumulative sum along `axis`. */ cumsum(axis = -1, reverse = false): Tensor {
    return ops.cumsum(this, axis, reverse);
  }
  /** Vector norm over `axes`: `ord` 2, 1 or Infinity. */
  norm(ord: 1 | 2 | number = 2, axes?: Axes, keepDims = false): Tensor {
    return ops.norm(this, ord, axes, keepDims);
  }

  // shape
  /** Same values, new shape (one entry may be −1). */ reshape(shape: readonly number[]): Tensor {
    return ops.reshape(this, shape);
  }
  /** Permutes axes (reverses them when omitted). */ transpose(perm?: readonly number[]): Tensor {
    return ops.transpose(this, perm);
  }
  /** Broadcasts to `shape`. */ broadcastTo(shape: readonly number[]): Tensor {
    return ops.broadcastTo(this, shape);
  }
  /** Removes size-1 axes (all of them when omitted). */ squeeze(axes?: Axes): Tensor {
    return ops.squeeze(this, axes);
  }
  /** Inserts a size-1 axis at `axis`. */ unsqueeze(axis: number): Tensor {
    return ops.unsqueeze(this, axis);
  }
  /** Collapses to one dimension. */ flatten(): Tensor {
    return ops.reshape(this, [this.size]);
  }
  /** The block starting at `begin` of `size` (−1: to the end). */
  slice(begin: readonly number[], size?: readonly number[]): Tensor {
    return ops.slice(this, begin, size);
  }
  /** Entries `indices` along `axis`. */
  indexSelect(indices: Tensor | ArrayLike<number>, axis = 0): Tensor {
    return ops.indexSelect(this, indices, axis);
  }
  /** `out[..., j, ...] = this[..., indices[..., j, ...], ...]` along `axis`. */
  takeAlongAxis(indices: Tensor, axis: number): Tensor {
    return ops.takeAlongAxis(this, indices, axis);
  }

  // linear algebra
  /** Batched matrix product. */
  matmul(b: Tensor, options?: ops.MatmulOptions): Tensor {
    return ops.matmul(this, b, options);
  }

  // autodiff
  /** The same values, cut from the gradient: no gradient flows through the result. */
  stopGradient(): Tensor {
    return ops.stopGradient(this);
  }
}

/** Wraps new storage as a tensor (internal). */
export function fromStorage(storage: Storage, shape: Shape): Tensor {
  return new Tensor(storage, shape);
}

/** A tensor holding `values` (float32) in `shape` on the active backend (internal: takes the array). */
export function fromValues(values: Float32Array, shape: Shape): Tensor {
  return new Tensor(new Storage(engine.backend, engine.backend.upload(values)), shape);
}

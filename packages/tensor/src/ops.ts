import type { BackendData, BinaryOp, ReduceOp, UnaryOp } from './backend.js';
import { full, tensor, zeros } from './creation.js';
import { engine, Storage } from './engine.js';
import { JouleError } from './errors.js';
import {
  broadcastShapes,
  broadcastStrides,
  formatShape,
  normalizeAxes,
  normalizeAxis,
  type Shape,
  sameShape,
  sizeOf,
  stridesOf,
} from './shape.js';
import { type Axes, Tensor, type TensorLike } from './tensor.js';

type OpVjp = (g: Tensor, needs: readonly boolean[], y: Tensor) => (Tensor | null)[];

/** Converts an argument to a live tensor on the active backend. */
function T(x: TensorLike, op: string, arg: string): Tensor {
  if (typeof x === 'number') return full([], x);
  if (!(x instanceof Tensor)) throw new JouleError(op, arg, 'a Tensor or a number', describe(x));
  x.check(op, arg);
  if (x.storage.backend !== engine.backend) {
    throw new JouleError(op, arg, `a tensor on backend '${engine.backend.name}'`, `one on '${x.storage.backend.name}'`);
  }
  return x;
}

function describe(x: unknown): string {
  if (x === null) return 'null';
  if (Array.isArray(x)) return 'an array (wrap it with tensor())';
  return typeof x;
}

/** Wraps kernel output as a tensor and records how to differentiate it. */
function emit(op: string, data: BackendData, shape: Shape, inputs: Tensor[], vjp?: OpVjp): Tensor {
  const y = new Tensor(new Storage(engine.backend, data), shape);
  if (vjp && engine.recording !== 0) engine.record(y, op, inputs, (g, needs) => vjp(g, needs, y));
  if (engine.debug) debugCheck(op, y, inputs);
  return y;
}

/** A tensor sharing `x`'s storage with another shape. */
function view(op: string, x: Tensor, shape: Shape, vjp: OpVjp): Tensor {
  x.storage.retain();
  const y = new Tensor(x.storage, shape);
  if (engine.recording !== 0) engine.record(y, op, [x], (g, needs) => vjp(g, needs, y));
  return y;
}

function allFinite(t: Tensor): boolean {
  const v = t.dataSync();
  for (let i = 0; i < v.length; i++) if (!Number.isFinite(v[i])) return false;
  return true;
}

function debugCheck(op: string, y: Tensor, inputs: Tensor[]) {
  if (!engine.backend.canReadSync || allFinite(y)) return;
  const from = inputs.every(allFinite) ? 'finite inputs' : 'inputs that were already non-finite';
  throw new JouleError(op, '', 'finite output (debug check)', `a NaN or infinity from ${from}`);
}

/** Runs the body of an op built from other ops, releasing its intermediates: only the result survives. */
function composite(fn: () => Tensor): Tensor {
  const frame: Tensor[] = [];
  engine.tidyFrames.push(frame);
  let y: Tensor | undefined;
  try {
    y = fn();
  } finally {
    engine.tidyFrames.pop();
    const parent = engine.tidyFrames[engine.tidyFrames.length - 1];
    for (const t of frame) {
      if (t === y) parent?.push(t);
      else t.dispose();
    }
  }
  return y as Tensor;
}

// ---------------------------------------------------------------------------------------------
// element-wise

/**
 * Disposes the tensor {@link T} made for a plain-number argument once the op has used it; a gradient
 * record that needs it keeps its storage until the gradient is done.
 */
function releaseNumber(x: TensorLike, t: Tensor): void {
  if (typeof x === 'number') t.dispose();
}

function unary(op: UnaryOp, x: TensorLike, grad?: (g: Tensor, x: Tensor, y: Tensor) => Tensor): Tensor {
  const t = T(x, op, 'x');
  const data = engine.backend.unary(op, t.storage.data, t.size);
  const y = emit(op, data, t.shape, [t], grad && ((g, _n, y) => [grad(g, t, y)]));
  releaseNumber(x, t);
  return y;
}

/** Sums a broadcast gradient back to the shape of the operand it came from. */
export function sumToShape(g: Tensor, shape: Shape): Tensor {
  if (sameShape(g.shape, shape)) return g;
  const lead = g.rank - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < g.rank; i++) if (i < lead || (shape[i - lead] === 1 && g.shape[i] !== 1)) axes.push(i);
  return reshape(sum(g, axes, false), shape);
}

function binary(
  op: BinaryOp,
  a: TensorLike,
  b: TensorLike,
  grad?: (g: Tensor, a: Tensor, b: Tensor, y: Tensor, needs: readonly boolean[]) => [Tensor | null, Tensor | null],
): Tensor {
  const ta = T(a, op, 'a');
  const tb = T(b, op, 'b');
  const shape = broadcastShapes(op, ta.shape, tb.shape, 'b');
  const data = engine.backend.binary(op, ta.storage.data, ta.shape, tb.storage.data, tb.shape, shape);
  const y = emit(
    op,
    data,
    shape,
    [ta, tb],
    grad &&
      ((g, needs, y) => {
        const [da, db] = grad(g, ta, tb, y, needs);
        return [da && needs[0] ? sumToShape(da, ta.shape) : null, db && needs[1] ? sumToShape(db, tb.shape) : null];
      }),
  );
  releaseNumber(a, ta);
  releaseNumber(b, tb);
  return y;
}

/**
 * `a + b` with NumPy broadcasting.
 *
 * @example
 * ```ts
 * add(tensor([[1], [2]]), tensor([10, 20])); // [[11, 21], [12, 22]]
 * ```
 */
export function add(a: TensorLike, b: TensorLike): Tensor {
  return binary('add', a, b, (g) => [g, g]);
}

/**
 * `a − b` with broadcasting.
 *
 * @example
 * ```ts
 * sub(tensor([3, 4]), 1); // [2, 3]
 * ```
 */
export function sub(a: TensorLike, b: TensorLike): Tensor {
  return binary('sub', a, b, (g, _a, _b, _y, needs) => [g, needs[1] ? neg(g) : null]);
}

/**
 * `a · b` element-wise with broadcasting.
 *
 * @example
 * ```ts
 * mul(tensor([1, 2]), tensor([3, 4])); // [3, 8]
 * ```
 */
export function mul(a: TensorLike, b: TensorLike): Tensor {
  return binary('mul', a, b, (g, ta, tb, _y, needs) => [needs[0] ? mul(g, tb) : null, needs[1] ? mul(g, ta) : null]);
}

/**
 * `a / b` element-wise with broadcasting.
 *
 * @example
 * ```ts
 * div(tensor([1, 2]), 2); // [0.5, 1]
 * ```
 */
export function div(a: TensorLike, b: TensorLike): Tensor {
  return binary('div', a, b, (g, _ta, tb, y, needs) => [
    needs[0] ? div(g, tb) : null,
    needs[1] ? neg(div(mul(g, y), tb)) : null,
  ]);
}

/**
 * `a ^ b` element-wise with broadcasting. The gradient in `b` uses `log a` (NaN for `a < 0`).
 *
 * @example
 * ```ts
 * pow(tensor([2, 3]), 2); // [4, 9]
 * ```
 */
export function pow(a: TensorLike, b: TensorLike): Tensor {
  return binary('pow', a, b, (g, ta, tb, y, needs) => [
    needs[0] ? mul(g, mul(tb, pow(ta, sub(tb, 1)))) : null,
    needs[1] ? mul(g, mul(y, log(ta))) : null,
  ]);
}

/**
 * The larger of `a` and `b` element-wise (NaN if either is); on ties the gradient goes to `a`.
 *
 * @example
 * ```ts
 * maximum(tensor([1, 5]), 3); // [3, 5]
 * ```
 */
export function maximum(a: TensorLike, b: TensorLike): Tensor {
  return binary('maximum', a, b, (g, ta, tb, _y, needs) => {
    const m = ge(ta, tb);
    return [needs[0] ? mul(g, m) : null, needs[1] ? mul(g, sub(1, m)) : null];
  });
}

/**
 * The smaller of `a` and `b` element-wise; on ties the gradient goes to `a`.
 *
 * @example
 * ```ts
 * minimum(tensor([1, 5]), 3); // [1, 3]
 * ```
 */
export function minimum(a: TensorLike, b: TensorLike): Tensor {
  return binary('minimum', a, b, (g, ta, tb, _y, needs) => {
    const m = le(ta, tb);
    return [needs[0] ? mul(g, m) : null, needs[1] ? mul(g, sub(1, m)) : null];
  });
}

/**
 * Values limited to `[lo, hi]`; the gradient is 1 inside and 0 outside.
 *
 * @example
 * ```ts
 * clamp(tensor([-2, 0.5, 3]), 0, 1); // [0, 0.5, 1]
 * ```
 */
export function clamp(x: TensorLike, lo: number, hi: number): Tensor {
  return composite(() => {
    if (!(lo <= hi)) throw new JouleError('clamp', 'hi', `a number ≥ lo = ${lo}`, String(hi));
    return minimum(maximum(x, lo), hi);
  });
}

/** 1 where `a == b`, else 0 (no gradient). @example `eq(tensor([1, 2]), 2) // [0, 1]` */
export function eq(a: TensorLike, b: TensorLike): Tensor {
  return binary('eq', a, b);
}
/** 1 where `a != b`, else 0. @example `ne(tensor([1, 2]), 2) // [1, 0]` */
export function ne(a: TensorLike, b: TensorLike): Tensor {
  return binary('ne', a, b);
}
/** 1 where `a < b`, else 0. @example `lt(tensor([1, 2]), 2) // [1, 0]` */
export function lt(a: TensorLike, b: TensorLike): Tensor {
  return binary('lt', a, b);
}
/** 1 where `a <= b`, else 0. @example `le(tensor([1, 2]), 2) // [1, 1]` */
export function le(a: TensorLike, b: TensorLike): Tensor {
  return binary('le', a, b);
}
/** 1 where `a > b`, else 0. @example `gt(tensor([1, 2]), 1) // [0, 1]` */
export function gt(a: TensorLike, b: TensorLike): Tensor {
  return binary('gt', a, b);
}
/** 1 where `a >= b`, else 0. @example `ge(tensor([1, 2]), 2) // [0, 1]` */
export function ge(a: TensorLike, b: TensorLike): Tensor {
  return binary('ge', a, b);
}

/** `−x`. @example `neg(tensor([1, -2])) // [-1, 2]` */
export function neg(x: TensorLike): Tensor {
  return unary('neg', x, (g) => neg(g));
}
/** `|x|` (gradient `sign x`, 0 at 0). @example `abs(tensor([-1, 2])) // [1, 2]` */
export function abs(x: TensorLike): Tensor {
  return unary('abs', x, (g, t) => mul(g, sign(t)));
}
/** −1, 0 or 1 (no gradient). @example `sign(tensor([-3, 0, 2])) // [-1, 0, 1]` */
export function sign(x: TensorLike): Tensor {
  return unary('sign', x);
}
/** `e^x`. @example `exp(tensor([0, 1])) // [1, 2.718…]` */
export function exp(x: TensorLike): Tensor {
  return unary('exp', x, (g, _t, y) => mul(g, y));
}
/** Natural logarithm (−∞ at 0, NaN below). @example `log(tensor([1, Math.E])) // [0, 1]` */
export function log(x: TensorLike): Tensor {
  return unary('log', x, (g, t) => div(g, t));
}
/** `log(1 + x)`, accurate near 0. @example `log1p(tensor([1e-8])) // [1e-8]` */
export function log1p(x: TensorLike): Tensor {
  return unary('log1p', x, (g, t) => div(g, add(t, 1)));
}
/** `e^x − 1`, accurate near 0. @example `expm1(tensor([1e-8])) // [1e-8]` */
export function expm1(x: TensorLike): Tensor {
  return unary('expm1', x, (g, _t, y) => mul(g, add(y, 1)));
}
/** Square root. @example `sqrt(tensor([4, 9])) // [2, 3]` */
export function sqrt(x: TensorLike): Tensor {
  return unary('sqrt', x, (g, _t, y) => div(g, mul(y, 2)));
}
/** `1 / √x`. @example `rsqrt(tensor([4])) // [0.5]` */
export function rsqrt(x: TensorLike): Tensor {
  return unary('rsqrt', x, (g, _t, y) => mul(g, mul(pow(y, 3), -0.5)));
}
/** `x²`. @example `square(tensor([3])) // [9]` */
export function square(x: TensorLike): Tensor {
  return unary('square', x, (g, t) => mul(g, mul(t, 2)));
}
/** `1 / x`. @example `reciprocal(tensor([4])) // [0.25]` */
export function reciprocal(x: TensorLike): Tensor {
  return unary('reciprocal', x, (g, _t, y) => neg(mul(g, square(y))));
}
/** Sine. @example `sin(tensor([0])) // [0]` */
export function sin(x: TensorLike): Tensor {
  return unary('sin', x, (g, t) => mul(g, cos(t)));
}
/** Cosine. @example `cos(tensor([0])) // [1]` */
export function cos(x: TensorLike): Tensor {
  return unary('cos', x, (g, t) => neg(mul(g, sin(t))));
}
/** Hyperbolic tangent. @example `tanh(tensor([0])) // [0]` */
export function tanh(x: TensorLike): Tensor {
  return unary('tanh', x, (g, _t, y) => mul(g, sub(1, square(y))));
}
/** Logistic sigmoid `1 / (1 + e^−x)`. @example `sigmoid(tensor([0])) // [0.5]` */
export function sigmoid(x: TensorLike): Tensor {
  return unary('sigmoid', x, (g, _t, y) => mul(g, mul(y, sub(1, y))));
}
/** `log(1 + e^x)`, stable for large `|x|`. @example `softplus(tensor([0])) // [0.693…]` */
export function softplus(x: TensorLike): Tensor {
  return unary('softplus', x, (g, t) => mul(g, sigmoid(t)));
}
/** `log σ(x) = −softplus(−x)`, stable. @example `logSigmoid(tensor([0])) // [-0.693…]` */
export function logSigmoid(x: TensorLike): Tensor {
  return composite(() => {
    return neg(softplus(neg(x)));
  });
}
/** `max(x, 0)` (gradient 0 at 0). @example `relu(tensor([-1, 2])) // [0, 2]` */
export function relu(x: TensorLike): Tensor {
  return unary('relu', x, (g, t) => mul(g, gt(t, 0)));
}
/** SiLU (swish), `x σ(x)`. @example `silu(tensor([0])) // [0]` */
export function silu(x: TensorLike): Tensor {
  const t = T(x, 'silu', 'x');
  const backend = engine.backend;
  let y: Tensor;
  if (backend.siluSaved && (engine.recording & t.mask) !== 0) {
    // the gradient may be taken: keep σ(−|x|) for it, held by the record (as x is) and released with it
    const [data, m] = backend.siluSaved(t.storage.data, t.size);
    const saved = emit('silu', m, t.shape, []);
    y = emit('silu', data, t.shape, [t, saved], (g) => [siluGrad(t, g, saved), null]);
    saved.dispose();
  } else y = emit('silu', backend.unary('silu', t.storage.data, t.size), t.shape, [t], (g) => [siluGrad(t, g)]);
  releaseNumber(x, t);
  return y;
}
/**
 * `g · silu'(x)` for `g` of `x`'s shape: one fused kernel where the backend has it (from σ(−|x|) `saved` by
 * the forward pass when there is one), differentiable again.
 */
function siluGrad(x: Tensor, g: Tensor, saved?: Tensor): Tensor {
  const backend = engine.backend;
  if (!backend.siluGrad || !sameShape(x.shape, g.shape)) return mul(g, siluPrime(x));
  const m = saved?.storage.data;
  const data = backend.siluGrad(x.storage.data, g.storage.data, x.size, m);
  const inputs = saved ? [x, g, saved] : [x, g];
  return emit('siluGrad', data, x.shape, inputs, (h, needs) => {
    const cotangents = (dx: Tensor | null, dg: Tensor | null) => (saved ? [dx, dg, null] : [dx, dg]);
    if (
      backend.siluGradBackward &&
      (engine.recording & (x.mask | g.mask | h.mask)) === 0 &&
      sameShape(h.shape, x.shape)
    ) {
      // not differentiated further: one fused pass for both cotangents
      const [dx, dg] = backend.siluGradBackward(x.storage.data, g.storage.data, h.storage.data, x.size, m);
      const tx = emit('siluGradBackward', dx, x.shape, []);
      const tg = emit('siluGradBackward', dg, x.shape, []);
      if (!needs[0]) tx.dispose();
      if (!needs[1]) tg.dispose();
      return cotangents(needs[0] ? tx : null, needs[1] ? tg : null);
    }
    if (!needs[0]) return cotangents(null, needs[1] ? mul(h, siluPrime(x)) : null);
    // silu''(x) = σ(x)(1 − σ(x))(2 + x(1 − 2σ(x)))
    const s = sigmoid(x);
    const second = mul(mul(s, sub(1, s)), add(2, mul(x, sub(1, mul(s, 2)))));
    return cotangents(mul(h, mul(g, second)), needs[1] ? mul(h, siluPrime(x)) : null);
  });
}
/** silu'(x) = σ(x)(1 + x(1 − σ(x))). */
function siluPrime(x: Tensor): Tensor {
  const s = sigmoid(x);
  return mul(s, add(1, mul(x, sub(1, s))));
}
/** Error function. @example `erf(tensor([0])) // [0]` */
export function erf(x: TensorLike): Tensor {
  return unary('erf', x, (g, t) => mul(g, mul(exp(neg(square(t))), 2 / Math.sqrt(Math.PI))));
}
/** Exact GELU, `x Φ(x) = x (1 + erf(x/√2)) / 2`. @example `gelu(tensor([0])) // [0]` */
export function gelu(x: TensorLike): Tensor {
  return composite(() => {
    const t = T(x, 'gelu', 'x');
    return mul(mul(t, 0.5), add(erf(mul(t, Math.SQRT1_2)), 1));
  });
}
/** Rounds down (no gradient). @example `floor(tensor([1.5])) // [1]` */
export function floor(x: TensorLike): Tensor {
  return unary('floor', x);
}
/** Rounds up (no gradient). @example `ceil(tensor([1.5])) // [2]` */
export function ceil(x: TensorLike): Tensor {
  return unary('ceil', x);
}
/** Rounds to nearest, halves up (no gradient). @example `round(tensor([1.5])) // [2]` */
export function round(x: TensorLike): Tensor {
  return unary('round', x);
}
/** 1 where finite, 0 at NaN and ±∞. @example `isFinite(tensor([1, Infinity])) // [1, 0]` */
export function isFinite(x: TensorLike): Tensor {
  return unary('isFinite', x);
}

/**
 * `cond ? a : b` element-wise with broadcasting of all three (`cond` ≠ 0 is true).
 *
 * @example
 * ```ts
 * where(gt(x, 0), x, 0); // relu
 * ```
 */
export function where(cond: TensorLike, a: TensorLike, b: TensorLike): Tensor {
  const tc = T(cond, 'where', 'cond');
  const ta = T(a, 'where', 'a');
  const tb = T(b, 'where', 'b');
  const shape = broadcastShapes('where', broadcastShapes('where', tc.shape, ta.shape, 'a'), tb.shape, 'b');
  const data = engine.backend.select(
    tc.storage.data,
    tc.shape,
    ta.storage.data,
    ta.shape,
    tb.storage.data,
    tb.shape,
    shape,
  );
  const y = emit('where', data, shape, [tc, ta, tb], (g, needs) => {
    const z = zeros([]);
    return [
      null,
      needs[1] ? sumToShape(where(tc, g, z), ta.shape) : null,
      needs[2] ? sumToShape(where(tc, z, g), tb.shape) : null,
    ];
  });
  releaseNumber(cond, tc);
  releaseNumber(a, ta);
  releaseNumber(b, tb);
  return y;
}

/**
 * The same values with no gradient flowing through: a constant for every `grad` in progress.
 *
 * @example
 * ```ts
 * const m = stopGradient(x.max());    // treated as a constant when differentiating
 * ```
 */
export function stopGradient(x: Tensor): Tensor {
  const t = T(x, 'stopGradient', 'x');
  t.storage.retain();
  return new Tensor(t.storage, t.shape);
}

// ---------------------------------------------------------------------------------------------
// reductions

interface ReducePlan {
  data: BackendData;
  keptShape: number[];
  outShape: number[];
}

function reduceWith(
  kernel: (x: BackendData, outer: number, red: number, inner: number) => BackendData,
  t: Tensor,
  axes: number[],
  keepDims: boolean,
): ReducePlan {
  const shape = t.shape;
  const keptShape = shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const outShape = keepDims ? keptShape : shape.filter((_, i) => !axes.includes(i));
  const contiguous = axes.every((a, i) => a === axes[0] + i);
  let data = t.storage.data;
  let outer: number;
  let red: number;
  let inner: number;
  if (contiguous) {
    outer = sizeOf(shape.slice(0, axes[0]));
    red = sizeOf(axes.map((a) => shape[a]));
    inner = sizeOf(shape.slice(axes[axes.length - 1] + 1));
  } else {
    const kept = shape.map((_, i) => i).filter((i) => !axes.includes(i));
    const perm = [...kept, ...axes];
    const st = stridesOf(shape);
    data = engine.backend.strided(
      data,
      0,
      perm.map((p) => st[p]),
      perm.map((p) => shape[p]),
    );
    outer = sizeOf(kept.map((k) => shape[k]));
    red = sizeOf(axes.map((a) => shape[a]));
    inner = 1;
  }
  return { data: kernel(data, outer, red, inner), keptShape, outShape };
}

function reduceOp(
  op: ReduceOp,
  x: TensorLike,
  axes: Axes | undefined,
  keepDims: boolean,
  vjp: (g: Tensor, t: Tensor, y: Tensor, keptShape: number[], ax: number[]) => Tensor,
): Tensor {
  const t = T(x, op, 'x');
  const ax = normalizeAxes(op, axes, t.rank);
  if (ax.length === 0) return view(op, t, t.shape, (g) => [g]);
  if (op !== 'sum' && ax.some((a) => t.shape[a] === 0)) {
    throw new JouleError(op, 'x', 'non-empty reduced axes', `shape ${formatShape(t.shape)}`);
  }
  const plan = reduceWith((d, o, r, i) => engine.backend.reduce(op, d, o, r, i), t, ax, keepDims);
  return emit(op, plan.data, plan.outShape, [t], (g, _n, y) => [vjp(g, t, y, plan.keptShape, ax)]);
}

/**
 * Sum over `axes` (all when omitted), keeping them as size 1 when `keepDims`.
 *
 * @example
 * ```ts
 * sum(tensor([[1, 2], [3, 4]]), 1); // [3, 7]
 * ```
 */
export function sum(x: TensorLike, axes?: Axes, keepDims = false): Tensor {
  return reduceOp('sum', x, axes, keepDims, (g, t, _y, kept) => broadcastTo(reshape(g, kept), t.shape));
}

/**
 * Mean over `axes`.
 *
 * @example
 * ```ts
 * mean(tensor([[1, 2], [3, 4]]), 0); // [2, 3]
 * ```
 */
export function mean(x: TensorLike, axes?: Axes, keepDims = false): Tensor {
  return composite(() => {
    const t = T(x, 'mean', 'x');
    const ax = normalizeAxes('mean', axes, t.rank);
    const count = sizeOf(ax.map((a) => t.shape[a]));
    return div(sum(t, ax, keepDims), count);
  });
}

function extremumVjp(g: Tensor, t: Tensor, y: Tensor, kept: number[], ax: number[]): Tensor {
  const mask = eq(t, reshape(y, kept));
  return div(mul(reshape(g, kept), mask), sum(mask, ax, true));
}

/**
 * Maximum over `axes`; the gradient is shared equally among tied maxima.
 *
 * @example
 * ```ts
 * max(tensor([[1, 5], [3, 2]]), 1); // [5, 3]
 * ```
 */
export function max(x: TensorLike, axes?: Axes, keepDims = false): Tensor {
  return reduceOp('max', x, axes, keepDims, extremumVjp);
}

/**
 * Minimum over `axes`; the gradient is shared equally among tied minima.
 *
 * @example
 * ```ts
 * min(tensor([[1, 5], [3, 2]]), 1); // [1, 2]
 * ```
 */
export function min(x: TensorLike, axes?: Axes, keepDims = false): Tensor {
  return reduceOp('min', x, axes, keepDims, extremumVjp);
}

/**
 * `log Σ exp(x)` over `axes`, computed stably (−∞ when every term is −∞). Its gradient is the softmax.
 *
 * @example
 * ```ts
 * logSumExp(tensor([0, 0])); // log 2
 * ```
 */
export function logSumExp(x: TensorLike, axes?: Axes, keepDims = false): Tensor {
  return composite(() => {
    const t = T(x, 'logSumExp', 'x');
    const ax = normalizeAxes('logSumExp', axes, t.rank);
    const m = stopGradient(max(t, ax, true));
    const shift = where(isFinite(m), m, 0);
    const out = add(log(sum(exp(sub(t, shift)), ax, true)), shift);
    return keepDims
      ? out
      : reshape(
          out,
          t.shape.filter((_, i) => !ax.includes(i)),
        );
  });
}

/**
 * Variance over `axes`: `Σ (x − mean)² / (n − correction)`.
 *
 * @example
 * ```ts
 * variance(tensor([1, 2, 3, 4]));        // 1.25
 * variance(tensor([1, 2, 3, 4]), 0, false, 1); // 1.666…
 * ```
 */
export function variance(x: TensorLike, axes?: Axes, keepDims = false, correction = 0): Tensor {
  return composite(() => {
    const t = T(x, 'var', 'x');
    const ax = normalizeAxes('var', axes, t.rank);
    const n = sizeOf(ax.map((a) => t.shape[a]));
    if (!(n - correction > 0))
      throw new JouleError('var', 'correction', `less than the count ${n}`, String(correction));
    const d = sub(t, mean(t, ax, true));
    return div(sum(square(d), ax, keepDims), n - correction);
  });
}

/**
 * Standard deviation over `axes` (square root of {@link variance}).
 *
 * @example
 * ```ts
 * std(tensor([1, 3])); // 1
 * ```
 */
export function std(x: TensorLike, axes?: Axes, keepDims = false, correction = 0): Tensor {
  return composite(() => {
    return sqrt(variance(x, axes, keepDims, correction));
  });
}

function argOp(op: 'argmax' | 'argmin', x: TensorLike, axis?: number): Tensor {
  let t = T(x, op, 'x');
  if (axis === undefined) {
    t = reshape(t, [t.size]);
    axis = 0;
  }
  const a = normalizeAxis(op, axis, t.rank);
  if (t.shape[a] === 0) throw new JouleError(op, 'x', 'a non-empty axis', `shape ${formatShape(t.shape)}`);
  const outer = sizeOf(t.shape.slice(0, a));
  const inner = sizeOf(t.shape.slice(a + 1));
  const data = engine.backend.argReduce(op, t.storage.data, outer, t.shape[a], inner);
  return emit(
    op,
    data,
    t.shape.filter((_, i) => i !== a),
    [t],
  );
}

/**
 * Index of the largest value along `axis` (of the flattened tensor when omitted), first on ties.
 *
 * @example
 * ```ts
 * argmax(tensor([[1, 5], [3, 2]]), 1); // [1, 0]
 * ```
 */
export function argmax(x: TensorLike, axis?: number): Tensor {
  return argOp('argmax', x, axis);
}

/**
 * Index of the smallest value along `axis`, first on ties.
 *
 * @example
 * ```ts
 * argmin(tensor([3, 1, 2])); // 1
 * ```
 */
export function argmin(x: TensorLike, axis?: number): Tensor {
  return argOp('argmin', x, axis);
}

/**
 * Softmax along `axis`, `exp(x − logSumExp(x))`.
 *
 * @example
 * ```ts
 * softmax(tensor([0, 0])); // [0.5, 0.5]
 * ```
 */
export function softmax(x: TensorLike, axis = -1): Tensor {
  return composite(() => {
    return exp(logSoftmax(x, axis));
  });
}

/**
 * Log-softmax along `axis`, `x − logSumExp(x)`.
 *
 * @example
 * ```ts
 * logSoftmax(tensor([0, 0])); // [-0.693…, -0.693…]
 * ```
 */
export function logSoftmax(x: TensorLike, axis = -1): Tensor {
  return composite(() => {
    const t = T(x, 'logSoftmax', 'x');
    return sub(t, logSumExp(t, normalizeAxis('logSoftmax', axis, t.rank), true));
  });
}

/**
 * Inclusive cumulative sum along `axis` (from the end when `reverse`).
 *
 * @example
 * ```ts
 * cumsum(tensor([1, 2, 3])); // [1, 3, 6]
 * ```
 */
export function cumsum(x: TensorLike, axis = -1, reverse = false): Tensor {
  const t = T(x, 'cumsum', 'x');
  const a = normalizeAxis('cumsum', axis, t.rank);
  const outer = sizeOf(t.shape.slice(0, a));
  const inner = sizeOf(t.shape.slice(a + 1));
  const data = engine.backend.cumsum(t.storage.data, outer, t.rank ? t.shape[a] : 1, inner, reverse);
  return emit('cumsum', data, t.shape, [t], (g) => [cumsum(g, a, !reverse)]);
}

/**
 * Vector norm over `axes` (all when omitted): `ord` 2 (Euclidean), 1, Infinity, or any `p > 0`.
 *
 * @example
 * ```ts
 * norm(tensor([3, 4])); // 5
 * norm(tensor([[3, 4], [1, 0]]), 1, 1); // [7, 1]
 * ```
 */
export function norm(x: TensorLike, ord = 2, axes?: Axes, keepDims = false): Tensor {
  return composite(() => {
    const t = T(x, 'norm', 'x');
    if (ord === 2) return sqrt(sum(square(t), axes, keepDims));
    if (ord === 1) return sum(abs(t), axes, keepDims);
    if (ord === Infinity) return max(abs(t), axes, keepDims);
    if (!(ord > 0)) throw new JouleError('norm', 'ord', 'a positive number or Infinity', String(ord));
    return pow(sum(pow(abs(t), ord), axes, keepDims), 1 / ord);
  });
}

// ---------------------------------------------------------------------------------------------
// shape

/**
 * The same values in a new shape with the same number of elements; one entry may be −1.
 *
 * @example
 * ```ts
 * reshape(arange(6), [2, -1]); // shape [2, 3]
 * ```
 */
export function reshape(x: TensorLike, shape: readonly number[]): Tensor {
  const t = T(x, 'reshape', 'x');
  const s = shape.slice();
  const free = s.indexOf(-1);
  if (free >= 0) {
    const rest = sizeOf(s.filter((_, i) => i !== free));
    if (rest === 0 || t.size % rest !== 0 || s.indexOf(-1, free + 1) >= 0) {
      throw new JouleError(
        'reshape',
        'shape',
        `a shape of ${t.size} elements`,
        `${formatShape(shape)} for ${formatShape(t.shape)}`,
      );
    }
    s[free] = t.size / rest;
  }
  if (s.some((d) => !Number.isInteger(d) || d < 0) || sizeOf(s) !== t.size) {
    throw new JouleError(
      'reshape',
      'shape',
      `a shape of ${t.size} elements`,
      `${formatShape(shape)} for ${formatShape(t.shape)}`,
    );
  }
  return view('reshape', t, s, (g) => [reshape(g, t.shape)]);
}

/**
 * Permutes the axes (`perm[i]` is the input axis that becomes axis `i`); reverses them when omitted.
 *
 * @example
 * ```ts
 * transpose(zeros([2, 3, 4]), [0, 2, 1]).shape; // [2, 4, 3]
 * ```
 */
export function transpose(x: TensorLike, perm?: readonly number[]): Tensor {
  const t = T(x, 'transpose', 'x');
  const r = t.rank;
  const p = perm
    ? perm.map((a) => normalizeAxis('transpose', a, r, 'perm'))
    : Array.from({ length: r }, (_, i) => r - 1 - i);
  if (p.length !== r || new Set(p).size !== r) {
    throw new JouleError('transpose', 'perm', `a permutation of ${r} axes`, `[${perm?.join(', ')}]`);
  }
  const inverse = new Array<number>(r);
  p.forEach((a, i) => {
    inverse[a] = i;
  });
  const outShape = p.map((a) => t.shape[a]);
  if (p.every((a, i) => a === i || t.shape[a] === 1)) return reshape(t, outShape);
  const st = stridesOf(t.shape);
  const data = engine.backend.strided(
    t.storage.data,
    0,
    p.map((a) => st[a]),
    outShape,
  );
  return emit('transpose', data, outShape, [t], (g) => [transpose(g, inverse)]);
}

/**
 * Broadcasts to `shape` (NumPy rules); the gradient sums over the broadcast axes.
 *
 * @example
 * ```ts
 * broadcastTo(tensor([1, 2]), [3, 2]); // three copies of the row
 * ```
 */
export function broadcastTo(x: TensorLike, shape: readonly number[]): Tensor {
  const t = T(x, 'broadcastTo', 'x');
  const target = shape.slice();
  let ok = target.length >= t.rank;
  try {
    ok = ok && sameShape(broadcastShapes('broadcastTo', t.shape, target), target);
  } catch {
    ok = false;
  }
  if (!ok)
    throw new JouleError('broadcastTo', 'shape', `a shape ${formatShape(t.shape)} broadcasts to`, formatShape(shape));
  if (sameShape(t.shape, target)) return view('broadcastTo', t, target, (g) => [g]);
  if (sizeOf(target) === t.size) return reshape(t, target);
  const data = engine.backend.strided(t.storage.data, 0, broadcastStrides(t.shape, target), target);
  return emit('broadcastTo', data, target, [t], (g) => [sumToShape(g, t.shape)]);
}

/**
 * Removes size-1 axes (`axes` must all have size 1; all size-1 axes when omitted).
 *
 * @example
 * ```ts
 * squeeze(zeros([2, 1, 3])).shape; // [2, 3]
 * ```
 */
export function squeeze(x: TensorLike, axes?: Axes): Tensor {
  const t = T(x, 'squeeze', 'x');
  const ax =
    axes === undefined ? t.shape.flatMap((d, i) => (d === 1 ? [i] : [])) : normalizeAxes('squeeze', axes, t.rank);
  for (const a of ax) {
    if (t.shape[a] !== 1) throw new JouleError('squeeze', 'axes', `axes of size 1`, `axis ${a} of size ${t.shape[a]}`);
  }
  return reshape(
    t,
    t.shape.filter((_, i) => !ax.includes(i)),
  );
}

/**
 * Inserts a size-1 axis at `axis` (negative counts from the end of the result).
 *
 * @example
 * ```ts
 * unsqueeze(zeros([2, 3]), -1).shape; // [2, 3, 1]
 * ```
 */
export function unsqueeze(x: TensorLike, axis: number): Tensor {
  const t = T(x, 'unsqueeze', 'x');
  const a = normalizeAxis('unsqueeze', axis, t.rank + 1);
  const s = t.shape.slice();
  s.splice(a, 0, 1);
  return reshape(t, s);
}

/**
 * The block of `size` starting at `begin` (a `size` entry of −1 runs to the end; `size` omitted: to the end
 * on every axis). `begin` may be shorter than the rank: the rest starts at 0.
 *
 * @example
 * ```ts
 * slice(arange(10), [2], [3]);          // [2, 3, 4]
 * slice(zeros([4, 5]), [1, 0], [2, -1]).shape; // [2, 5]
 * ```
 */
export function slice(x: TensorLike, begin: readonly number[], size?: readonly number[]): Tensor {
  const t = T(x, 'slice', 'x');
  const r = t.rank;
  if (begin.length > r || (size && size.length > r)) {
    throw new JouleError('slice', 'begin', `at most ${r} entries`, `[${begin.join(', ')}]`);
  }
  const b = t.shape.map((_, i) => begin[i] ?? 0);
  const s = t.shape.map((d, i) => (size && size[i] !== undefined && size[i] !== -1 ? size[i] : d - b[i]));
  for (let i = 0; i < r; i++) {
    if (!Number.isInteger(b[i]) || !Number.isInteger(s[i]) || b[i] < 0 || s[i] < 0 || b[i] + s[i] > t.shape[i]) {
      throw new JouleError(
        'slice',
        'begin, size',
        `a block inside ${formatShape(t.shape)}`,
        `begin [${b.join(', ')}], size [${s.join(', ')}]`,
      );
    }
  }
  if (sameShape(s, t.shape)) return view('slice', t, s, (g) => [g]);
  const st = stridesOf(t.shape);
  let offset = 0;
  for (let i = 0; i < r; i++) offset += b[i] * st[i];
  const data = engine.backend.strided(t.storage.data, offset, st, s);
  const after = t.shape.map((d, i) => d - b[i] - s[i]);
  return emit('slice', data, s, [t], (g) => [
    pad(
      g,
      b.map((v, i) => [v, after[i]]),
    ),
  ]);
}

/**
 * Zero padding: `paddings[d] = [before, after]` zeros on axis `d`.
 *
 * @example
 * ```ts
 * pad(tensor([1, 2]), [[1, 2]]); // [0, 1, 2, 0, 0]
 * ```
 */
export function pad(x: TensorLike, paddings: readonly (readonly [number, number])[]): Tensor {
  const t = T(x, 'pad', 'x');
  if (
    paddings.length !== t.rank ||
    paddings.some((p) => p.length !== 2 || !p.every((v) => Number.isInteger(v) && v >= 0))
  ) {
    throw new JouleError('pad', 'paddings', `${t.rank} pairs of non-negative integers`, JSON.stringify(paddings));
  }
  const before = paddings.map((p) => p[0]);
  const after = paddings.map((p) => p[1]);
  const data = engine.backend.pad(t.storage.data, t.shape, before, after);
  const outShape = t.shape.map((d, i) => d + before[i] + after[i]);
  return emit('pad', data, outShape, [t], (g) => [slice(g, before, t.shape)]);
}

/**
 * Joins tensors along `axis`; their other dimensions must agree.
 *
 * @example
 * ```ts
 * concat([zeros([2, 3]), ones([1, 3])], 0).shape; // [3, 3]
 * ```
 */
export function concat(xs: readonly Tensor[], axis = 0): Tensor {
  if (!Array.isArray(xs) || xs.length === 0)
    throw new JouleError('concat', 'xs', 'a non-empty array of tensors', describe(xs));
  const ts = xs.map((x, i) => T(x, 'concat', `xs[${i}]`));
  const r = ts[0].rank;
  const a = normalizeAxis('concat', axis, r);
  for (let i = 1; i < ts.length; i++) {
    const s = ts[i].shape;
    if (s.length !== r || s.some((d, j) => j !== a && d !== ts[0].shape[j])) {
      throw new JouleError(
        'concat',
        `xs[${i}]`,
        `a shape matching ${formatShape(ts[0].shape)} off axis ${a}`,
        formatShape(s),
      );
    }
  }
  if (ts.length === 1) return view('concat', ts[0], ts[0].shape, (g) => [g]);
  const outShape = ts[0].shape.slice();
  outShape[a] = ts.reduce((p, t) => p + t.shape[a], 0);
  const data = engine.backend.concat(
    ts.map((t) => t.storage.data),
    ts.map((t) => t.shape),
    a,
  );
  return emit('concat', data, outShape, ts, (g, needs) => {
    let at = 0;
    return ts.map((t, i) => {
      const begin = new Array<number>(r).fill(0);
      begin[a] = at;
      at += t.shape[a];
      return needs[i] ? slice(g, begin, t.shape) : null;
    });
  });
}

/**
 * Stacks equal-shaped tensors along a new axis.
 *
 * @example
 * ```ts
 * stack([zeros([3]), ones([3])], 0).shape; // [2, 3]
 * ```
 */
export function stack(xs: readonly Tensor[], axis = 0): Tensor {
  if (!Array.isArray(xs) || xs.length === 0)
    throw new JouleError('stack', 'xs', 'a non-empty array of tensors', describe(xs));
  const first = T(xs[0], 'stack', 'xs[0]');
  const a = normalizeAxis('stack', axis, first.rank + 1);
  xs.forEach((x, i) => {
    if (!sameShape(T(x, 'stack', `xs[${i}]`).shape, first.shape)) {
      throw new JouleError('stack', `xs[${i}]`, `shape ${formatShape(first.shape)}`, formatShape(x.shape));
    }
  });
  return concat(
    xs.map((x) => unsqueeze(x, a)),
    a,
  );
}

/**
 * Splits along `axis` into `sections` equal parts, or into parts of the given sizes.
 *
 * @example
 * ```ts
 * split(arange(6), 3);        // three tensors of 2
 * split(arange(6), [1, 5]);   // sizes 1 and 5
 * ```
 */
export function split(x: TensorLike, sections: number | readonly number[], axis = 0): Tensor[] {
  const t = T(x, 'split', 'x');
  const a = normalizeAxis('split', axis, t.rank);
  const d = t.shape[a];
  let sizes: number[];
  if (typeof sections === 'number') {
    if (!Number.isInteger(sections) || sections <= 0 || d % sections !== 0) {
      throw new JouleError('split', 'sections', `a positive divisor of ${d}`, String(sections));
    }
    sizes = new Array(sections).fill(d / sections);
  } else {
    sizes = sections.slice();
    if (sizes.some((s) => !Number.isInteger(s) || s < 0) || sizes.reduce((p, q) => p + q, 0) !== d) {
      throw new JouleError('split', 'sections', `non-negative sizes adding up to ${d}`, `[${sizes.join(', ')}]`);
    }
  }
  let at = 0;
  return sizes.map((s) => {
    const begin = new Array<number>(t.rank).fill(0);
    begin[a] = at;
    at += s;
    const size = t.shape.slice();
    size[a] = s;
    return slice(t, begin, size);
  });
}

function indexTensor(op: string, indices: Tensor | ArrayLike<number>, dim: number): Tensor {
  const idx = indices instanceof Tensor ? T(indices, op, 'indices') : tensor(Array.from(indices));
  if (engine.backend.canReadSync) {
    const v = idx.dataSync();
    for (let i = 0; i < v.length; i++) {
      if (!Number.isInteger(v[i]) || v[i] < 0 || v[i] >= dim) {
        throw new JouleError(op, 'indices', `integers in [0, ${dim})`, `${v[i]} at position ${i}`);
      }
    }
  }
  return idx;
}

/**
 * Selects entries along `axis`: the result has `x.shape[:axis] + indices.shape + x.shape[axis+1:]`
 * (TensorFlow's `gather`, PyTorch's `index_select` for 1-D indices).
 *
 * @example
 * ```ts
 * indexSelect(tensor([[1, 2], [3, 4], [5, 6]]), [2, 0]); // [[5, 6], [1, 2]]
 * ```
 */
export function indexSelect(x: TensorLike, indices: Tensor | ArrayLike<number>, axis = 0): Tensor {
  const t = T(x, 'indexSelect', 'x');
  const a = normalizeAxis('indexSelect', axis, t.rank);
  const dim = t.shape[a];
  const idx = indexTensor('indexSelect', indices, dim);
  const outer = sizeOf(t.shape.slice(0, a));
  const inner = sizeOf(t.shape.slice(a + 1));
  const data = engine.backend.gather(t.storage.data, outer, dim, inner, idx.storage.data, idx.size);
  const outShape = [...t.shape.slice(0, a), ...idx.shape, ...t.shape.slice(a + 1)];
  return emit('indexSelect', data, outShape, [t, idx], (g) => [indexAdd(g, idx, a, dim), null]);
}

/** TensorFlow's name for {@link indexSelect}. @example `gather(x, [0, 0, 1])` */
export const gather = indexSelect;

/**
 * The adjoint of {@link indexSelect}: adds the slices of `g` into zeros of size `dim` along `axis`
 * at `indices` (repeated indices accumulate).
 *
 * @example
 * ```ts
 * indexAdd(tensor([1, 2, 3]), [0, 0, 2], 0, 3); // [3, 0, 3]
 * ```
 */
export function indexAdd(g: TensorLike, indices: Tensor | ArrayLike<number>, axis: number, dim: number): Tensor {
  const tg = T(g, 'indexAdd', 'g');
  const idx = indexTensor('indexAdd', indices, dim);
  const a = normalizeAxis('indexAdd', axis, tg.rank - idx.rank + 1);
  const lead = tg.shape.slice(0, a);
  const trail = tg.shape.slice(a + idx.rank);
  if (!sameShape(tg.shape.slice(a, a + idx.rank), idx.shape)) {
    throw new JouleError('indexAdd', 'g', `axes ${a}… of shape ${formatShape(idx.shape)}`, formatShape(tg.shape));
  }
  const outer = sizeOf(lead);
  const inner = sizeOf(trail);
  const data = engine.backend.scatterAdd(tg.storage.data, outer, dim, inner, idx.storage.data, idx.size);
  return emit('indexAdd', data, [...lead, dim, ...trail], [tg, idx], (gg) => [indexSelect(gg, idx, a), null]);
}

function alongPlan(op: string, t: Tensor, idx: Tensor, axis: number, dimName: string) {
  const a = normalizeAxis(op, axis, t.rank);
  if (idx.rank !== t.rank || idx.shape.some((d, i) => i !== a && d !== t.shape[i])) {
    throw new JouleError(op, 'indices', `rank ${t.rank} matching ${dimName} off axis ${a}`, formatShape(idx.shape));
  }
  return { a, outer: sizeOf(t.shape.slice(0, a)), inner: sizeOf(t.shape.slice(a + 1)), count: idx.shape[a] };
}

/**
 * `out[…, j, …] = x[…, indices[…, j, …], …]` along `axis` (PyTorch's `gather`, NumPy's `take_along_axis`);
 * `indices` has the rank of `x` and its shape off `axis`.
 *
 * @example
 * ```ts
 * takeAlongAxis(tensor([[1, 2], [3, 4]]), tensor([[1], [0]]), 1); // [[2], [3]]
 * ```
 */
export function takeAlongAxis(x: TensorLike, indices: Tensor, axis: number): Tensor {
  const t = T(x, 'takeAlongAxis', 'x');
  const a0 = normalizeAxis('takeAlongAxis', axis, t.rank);
  const idx = indexTensor('takeAlongAxis', indices, t.shape[a0]);
  const { a, outer, inner, count } = alongPlan('takeAlongAxis', t, idx, axis, `x ${formatShape(t.shape)}`);
  const dim = t.shape[a];
  const data = engine.backend.takeAlong(t.storage.data, outer, dim, inner, idx.storage.data, count);
  return emit('takeAlongAxis', data, idx.shape, [t, idx], (g) => [scatterAddAlongAxis(g, idx, a, dim), null]);
}

/**
 * The adjoint of {@link takeAlongAxis}: `out[…, indices[…, j, …], …] += g[…, j, …]` into zeros whose
 * `axis` has size `dim`.
 *
 * @example
 * ```ts
 * scatterAddAlongAxis(tensor([[5], [7]]), tensor([[1], [0]]), 1, 2); // [[0, 5], [7, 0]]
 * ```
 */
export function scatterAddAlongAxis(g: TensorLike, indices: Tensor, axis: number, dim: number): Tensor {
  const tg = T(g, 'scatterAddAlongAxis', 'g');
  const idx = indexTensor('scatterAddAlongAxis', indices, dim);
  const { a, outer, inner, count } = alongPlan('scatterAddAlongAxis', tg, idx, axis, `g ${formatShape(tg.shape)}`);
  const data = engine.backend.scatterAlong(tg.storage.data, outer, dim, inner, idx.storage.data, count);
  const outShape = tg.shape.slice();
  outShape[a] = dim;
  return emit('scatterAddAlongAxis', data, outShape, [tg, idx], (gg) => [takeAlongAxis(gg, idx, a), null]);
}

/**
 * One-hot rows: `indices` of shape `s` give `s + [depth]`, 1 at each index.
 *
 * @example
 * ```ts
 * oneHot(tensor([0, 2]), 3); // [[1, 0, 0], [0, 0, 1]]
 * ```
 */
export function oneHot(indices: Tensor | ArrayLike<number>, depth: number): Tensor {
  return composite(() => {
    if (!Number.isInteger(depth) || depth <= 0)
      throw new JouleError('oneHot', 'depth', 'a positive integer', String(depth));
    const idx = indexTensor('oneHot', indices, depth);
    const range = new Float32Array(depth);
    for (let i = 0; i < depth; i++) range[i] = i;
    return eq(unsqueeze(idx, -1), tensor(range));
  });
}

// ---------------------------------------------------------------------------------------------
// linear algebra

/** Options of {@link matmul}. */
export interface MatmulOptions {
  /** Use the transpose of `a`'s last two axes. */
  transA?: boolean;
  /** Use the transpose of `b`'s last two axes. */
  transB?: boolean;
}

/**
 * Matrix product over the last two axes, batched with broadcasting over the leading axes.
 * 1-D arguments are read as a row (`a`) or a column (`b`) and that axis is dropped from the result.
 *
 * @example
 * ```ts
 * matmul(randn([256, 2], rng), w);                   // [256, 2] · [2, 128]
 * matmul(a, b, { transB: true });                    // a · bᵀ
 * ```
 */
export function matmul(a: Tensor, b: Tensor, options: MatmulOptions = {}): Tensor {
  let ta = T(a, 'matmul', 'a');
  let tb = T(b, 'matmul', 'b');
  const transA = !!options.transA;
  const transB = !!options.transB;
  const vecA = ta.rank === 1;
  const vecB = tb.rank === 1;
  if (ta.rank === 0 || tb.rank === 0)
    throw new JouleError('matmul', ta.rank ? 'b' : 'a', 'at least 1 dimension', 'a scalar');
  if (vecA) ta = reshape(ta, transA ? [ta.size, 1] : [1, ta.size]);
  if (vecB) tb = reshape(tb, transB ? [1, tb.size] : [tb.size, 1]);
  const ra = ta.rank;
  const rb = tb.rank;
  const m = transA ? ta.shape[ra - 1] : ta.shape[ra - 2];
  const k = transA ? ta.shape[ra - 2] : ta.shape[ra - 1];
  const kb = transB ? tb.shape[rb - 1] : tb.shape[rb - 2];
  const n = transB ? tb.shape[rb - 2] : tb.shape[rb - 1];
  if (k !== kb) {
    throw new JouleError(
      'matmul',
      'b',
      `inner dimension ${k} (a is ${formatShape(a.shape)})`,
      `shape ${formatShape(b.shape)}`,
    );
  }
  const batchA = ta.shape.slice(0, ra - 2);
  const batchB = tb.shape.slice(0, rb - 2);
  const batchShape = broadcastShapes('matmul', batchA, batchB, 'b');
  const batch = sizeOf(batchShape);
  const expandTo = (t: Tensor, own: number[]): Tensor =>
    sizeOf(own) === 1 || sameShape(own, batchShape) ? t : broadcastTo(t, [...batchShape, ...t.shape.slice(t.rank - 2)]);
  const ea = expandTo(ta, batchA);
  const eb = expandTo(tb, batchB);
  const aBatch = sizeOf(ea.shape.slice(0, ea.rank - 2));
  const bBatch = sizeOf(eb.shape.slice(0, eb.rank - 2));
  const data = engine.backend.matmul(ea.storage.data, eb.storage.data, batch, aBatch, bBatch, m, k, n, transA, transB);
  const outShape = [...batchShape, m, n];
  const y = emit('matmul', data, outShape, [ea, eb], (g, needs) => [
    needs[0]
      ? sumToShape(
          transA ? matmul(eb, g, { transA: transB, transB: true }) : matmul(g, eb, { transB: !transB }),
          ea.shape,
        )
      : null,
    needs[1]
      ? sumToShape(
          transB ? matmul(g, ea, { transA: true, transB: transA }) : matmul(ea, g, { transA: !transA }),
          eb.shape,
        )
      : null,
  ]);
  if (!vecA && !vecB) return y;
  const final = outShape.slice();
  if (vecB) final.splice(final.length - 1, 1);
  if (vecA) final.splice(final.length - (vecB ? 1 : 2), 1);
  return reshape(y, final);
}

/**
 * Outer product of the last axes: `[…, n]` and `[…, m]` give `[…, n, m]`.
 *
 * @example
 * ```ts
 * outer(tensor([1, 2]), tensor([1, 10, 100])); // [[1, 10, 100], [2, 20, 200]]
 * ```
 */
export function outer(a: TensorLike, b: TensorLike): Tensor {
  return composite(() => {
    return mul(unsqueeze(a, -1), unsqueeze(b, -2));
  });
}

/**
 * Inner product over the last axis, batched: `[…, n]` and `[…, n]` give `[…]`.
 *
 * @example
 * ```ts
 * dot(tensor([1, 2, 3]), tensor([4, 5, 6])); // 32
 * ```
 */
export function dot(a: TensorLike, b: TensorLike): Tensor {
  return composite(() => {
    return sum(mul(a, b), -1);
  });
}

function squareMatrix(op: string, arg: string, t: Tensor): { batch: number; n: number } {
  if (t.rank < 2 || t.shape[t.rank - 1] !== t.shape[t.rank - 2]) {
    throw new JouleError(op, arg, 'a batch of square matrices [..., n, n]', `shape ${formatShape(t.shape)}`);
  }
  return { batch: sizeOf(t.shape.slice(0, t.rank - 2)), n: t.shape[t.rank - 1] };
}

/**
 * The diagonal of the last two axes: `[…, n, n]` gives `[…, n]`.
 *
 * @example
 * ```ts
 * diagonal(tensor([[1, 2], [3, 4]])); // [1, 4]
 * ```
 */
export function diagonal(x: TensorLike): Tensor {
  const t = T(x, 'diagonal', 'x');
  const { n } = squareMatrix('diagonal', 'x', t);
  const outShape = t.shape.slice(0, t.rank - 1);
  const strides = [...stridesOf(t.shape).slice(0, t.rank - 2), n + 1];
  const data = engine.backend.strided(t.storage.data, 0, strides, outShape);
  return emit('diagonal', data, outShape, [t], (g) => [mul(unsqueeze(g, -1), eyeOf(n))]);
}

function eyeOf(n: number): Tensor {
  const v = new Float32Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  return tensor(v, [n, n]);
}

function triangleMask(n: number, m: number, k: number, lower: boolean): Tensor {
  const v = new Float32Array(n * m);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < m; j++) v[i * m + j] = lower ? (j - i <= k ? 1 : 0) : j - i >= k ? 1 : 0;
  return tensor(v, [n, m]);
}

/**
 * The lower triangle of the last two axes (entries with `j − i ≤ k`), zeros above.
 *
 * @example
 * ```ts
 * tril(ones([3, 3])); // ones on and below the diagonal
 * ```
 */
export function tril(x: TensorLike, k = 0): Tensor {
  return composite(() => {
    const t = T(x, 'tril', 'x');
    if (t.rank < 2) throw new JouleError('tril', 'x', 'at least 2 dimensions', formatShape(t.shape));
    return mul(t, triangleMask(t.shape[t.rank - 2], t.shape[t.rank - 1], k, true));
  });
}

/**
 * The upper triangle of the last two axes (entries with `j − i ≥ k`), zeros below.
 *
 * @example
 * ```ts
 * triu(ones([3, 3]), 1); // ones strictly above the diagonal
 * ```
 */
export function triu(x: TensorLike, k = 0): Tensor {
  return composite(() => {
    const t = T(x, 'triu', 'x');
    if (t.rank < 2) throw new JouleError('triu', 'x', 'at least 2 dimensions', formatShape(t.shape));
    return mul(t, triangleMask(t.shape[t.rank - 2], t.shape[t.rank - 1], k, false));
  });
}

/**
 * Lower Cholesky factor `L` with `L Lᵀ = A` of symmetric positive-definite matrices `[…, n, n]`.
 * Throws a `JouleError` when a matrix is not positive definite. Differentiable (the gradient is
 * symmetrized, as for a symmetric input).
 *
 * @example
 * ```ts
 * cholesky(tensor([[4, 2], [2, 3]])); // [[2, 0], [1, 1.414…]]
 * ```
 */
export function cholesky(a: TensorLike): Tensor {
  const t = T(a, 'cholesky', 'a');
  const { batch, n } = squareMatrix('cholesky', 'a', t);
  const data = engine.backend.cholesky(t.storage.data, batch, n);
  const y = emit('cholesky', data, t.shape, [t], (g, _needs, L) => {
    // Ā = ½ (S + Sᵀ), S = L⁻ᵀ Φ(Lᵀ L̄) L⁻¹, Φ: lower triangle with a halved diagonal (Murray, 2016).
    const P = tril(matmul(L, g, { transA: true }));
    const phi = sub(P, mul(mul(P, eyeOf(n)), 0.5));
    const X = triangularSolve(L, phi, { lower: true, transpose: true });
    const S = swapLast(triangularSolve(L, swapLast(X), { lower: true, transpose: true }));
    return [mul(add(S, swapLast(S)), 0.5)];
  });
  if (engine.backend.canReadSync && n > 0) {
    const v = y.dataSync();
    for (let p = 0; p < batch; p++) {
      if (Number.isNaN(v[p * n * n])) {
        throw new JouleError(
          'cholesky',
          'a',
          'symmetric positive-definite matrices',
          `matrix ${p} is not positive definite`,
        );
      }
    }
  }
  return y;
}

function swapLast(t: Tensor): Tensor {
  const p = t.shape.map((_, i) => i);
  p[p.length - 1] = p.length - 2;
  p[p.length - 2] = p.length - 1;
  return transpose(t, p);
}

/** Options of {@link triangularSolve}. */
export interface TriangularSolveOptions {
  /** `l` is lower-triangular (default) or upper. */
  lower?: boolean;
  /** Solve with the transpose of `l`. */
  transpose?: boolean;
}

/**
 * Solves `op(L) X = B` for triangular `L` of `[…, n, n]` and `B` of `[…, n, m]` (only `L`'s triangle is read).
 *
 * @example
 * ```ts
 * const L = cholesky(A);
 * const z = triangularSolve(L, b);                       // L⁻¹ b
 * const x = triangularSolve(L, z, { transpose: true });  // A⁻¹ b
 * ```
 */
export function triangularSolve(l: Tensor, b: Tensor, options: TriangularSolveOptions = {}): Tensor {
  const lower = options.lower ?? true;
  const trans = !!options.transpose;
  const tl = T(l, 'triangularSolve', 'l');
  let tb = T(b, 'triangularSolve', 'b');
  const { n } = squareMatrix('triangularSolve', 'l', tl);
  if (tb.rank < 2 || tb.shape[tb.rank - 2] !== n) {
    throw new JouleError('triangularSolve', 'b', `a shape [..., ${n}, m]`, formatShape(tb.shape));
  }
  const m = tb.shape[tb.rank - 1];
  const batchShape = broadcastShapes(
    'triangularSolve',
    tl.shape.slice(0, tl.rank - 2),
    tb.shape.slice(0, tb.rank - 2),
    'b',
  );
  const batch = sizeOf(batchShape);
  if (!sameShape(tb.shape.slice(0, tb.rank - 2), batchShape)) tb = broadcastTo(tb, [...batchShape, n, m]);
  let el = tl;
  const lBatch = sizeOf(tl.shape.slice(0, tl.rank - 2));
  if (lBatch !== 1 && lBatch !== batch) el = broadcastTo(tl, [...batchShape, n, n]);
  const data = engine.backend.triangularSolve(
    el.storage.data,
    tb.storage.data,
    batch,
    lBatch === 1 ? 1 : batch,
    n,
    m,
    lower,
    trans,
  );
  const outShape = [...batchShape, n, m];
  return emit('triangularSolve', data, outShape, [el, tb], (g, needs, X) => {
    const gb = triangularSolve(el, g, { lower, transpose: !trans });
    let gl: Tensor | null = null;
    if (needs[0]) {
      const d = trans ? neg(matmul(X, gb, { transB: true })) : neg(matmul(gb, X, { transB: true }));
      gl = sumToShape(lower ? tril(d) : triu(d), el.shape);
    }
    return [gl, needs[1] ? gb : null];
  });
}

/**
 * `log det A` from the Cholesky factor `L` of `A`: `2 Σ log Lᵢᵢ`, batched over leading axes.
 *
 * @example
 * ```ts
 * logdetFromCholesky(cholesky(tensor([[4, 0], [0, 9]]))); // log 36
 * ```
 */
export function logdetFromCholesky(l: TensorLike): Tensor {
  return composite(() => {
    return mul(sum(log(diagonal(l)), -1), 2);
  });
}

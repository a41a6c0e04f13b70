import { assemble, Code, I32, V128, validates } from './wasm-asm.js';

/** The element-wise functions with a WebAssembly SIMD kernel. @internal */
export type WasmUnary = 'sigmoid' | 'silu';

// Cephes expf: e^x = 2^n · e^r with n = round(x / ln 2), r = x − n ln 2 (ln 2 split in two parts), and a
// degree-6 polynomial for e^r; about 1 ulp on [−88.37, 88.37]. Below that range 2^n underflows to 0
// (float32 subnormals are flushed); above it the result is +∞; NaN propagates.
const EXP_HI = 88.37626;
const LOG2E = Math.LOG2E;
const LN2_HI = 0.693359375;
const LN2_LO = -2.1219444e-4;
const EXP_POLY = [1.98756915e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1];

/** 1.5 · 2²³: adding it rounds a float32 of magnitude below 2²² to the nearest integer, held in the low mantissa bits. */
const ROUND_MAGIC = 12582912;

/** Emits e^x for the v128 in local `x`, leaving it on the stack; `t`, `n`, `r` are scratch v128 locals. */
function emitExp(f: Code, x: number, n: number, r: number, t: number): void {
  // xc = clamp(x) (pseudo-min/max: single instructions, a NaN in x stays)
  f.get(x).f32x4Const(EXP_HI).f32x4Pmin().f32x4Const(-EXP_HI).f32x4Pmax().set(t);
  // n = xc · log2 e + magic: nearest(xc · log2 e) sits in the low bits of n, and n − magic is it as a float
  f.get(t).f32x4Const(LOG2E).f32x4Mul().f32x4Const(ROUND_MAGIC).f32x4Add().set(n);
  f.get(n).f32x4Const(ROUND_MAGIC).f32x4Sub().set(r);
  // r = xc − nearest·LN2_HI − nearest·LN2_LO
  f.get(t).get(r).f32x4Const(LN2_HI).f32x4Mul().f32x4Sub().get(r).f32x4Const(LN2_LO).f32x4Mul().f32x4Sub().set(r);
  // p = ((((c0 r + c1) r + c2) r + c3) r + c4) r + c5, then p·r² + r + 1
  f.f32x4Const(EXP_POLY[0]);
  for (let i = 1; i < EXP_POLY.length; i++) f.get(r).f32x4Mul().f32x4Const(EXP_POLY[i]).f32x4Add();
  f.get(r).get(r).f32x4Mul().f32x4Mul().get(r).f32x4Add().f32x4Const(1).f32x4Add();
  // · 2^nearest, built in the exponent field: (bits(n) + 127) << 23 keeps the low 9 bits, those of nearest + 127
  f.get(n).i32x4Const(127).i32x4Add().i32(23).i32x4Shl().f32x4Mul();
  // +∞ above the range
  f.set(t);
  f.f32x4Const(Number.POSITIVE_INFINITY).get(t).get(x).f32x4Const(EXP_HI).f32x4Gt().v128Bitselect();
}

/** A kernel `(src, dst, n)` over `n` floats (n a multiple of 4) computing `body(x)` for the v128 `x`. */
function unaryKernel(body: (f: Code, x: number, scratch: number[]) => void): Code {
  const f = new Code(3);
  const [src, dst, n] = [0, 1, 2];
  const end = f.local(I32);
  const x = f.local(V128);
  const scratch = [f.local(V128), f.local(V128), f.local(V128), f.local(V128)];
  f.get(src).get(n).i32(4).mul().add().set(end);
  f.block().loop();
  f.get(src).get(end).ltU().eqz().brIf(1);
  f.get(src).v128Load().set(x);
  f.get(dst);
  body(f, x, scratch);
  f.v128Store();
  f.inc(src, 16).inc(dst, 16);
  f.br(0);
  f.end().end();
  return f;
}

/** A kernel `(srcX, srcG, dst, n)` over `n` floats (n a multiple of 4) computing `body(x, g)`. */
function binaryKernel(body: (f: Code, x: number, g: number, scratch: number[]) => void): Code {
  const f = new Code(4);
  const [srcX, srcG, dst, n] = [0, 1, 2, 3];
  const end = f.local(I32);
  const x = f.local(V128);
  const g = f.local(V128);
  const scratch = [f.local(V128), f.local(V128), f.local(V128), f.local(V128), f.local(V128)];
  f.get(srcX).get(n).i32(4).mul().add().set(end);
  f.block().loop();
  f.get(srcX).get(end).ltU().eqz().brIf(1);
  f.get(srcX).v128Load().set(x);
  f.get(srcG).v128Load().set(g);
  f.get(dst);
  body(f, x, g, scratch);
  f.v128Store();
  f.inc(srcX, 16).inc(srcG, 16).inc(dst, 16);
  f.br(0);
  f.end().end();
  return f;
}

/** sigmoid(x) = 1 / (1 + e^−x), left on the stack. */
function emitSigmoid(f: Code, x: number, [nx, n, r, t]: number[]): void {
  f.get(x).f32x4Neg().set(nx);
  f.f32x4Const(1);
  f.f32x4Const(1);
  emitExp(f, nx, n, r, t);
  f.f32x4Add().f32x4Div();
}

/**
 * The backward pass of the SiLU gradient `y = g · silu'(x)` for a cotangent `h`, in one pass:
 * `dx = h · g · silu''(x)` and `dg = h · silu'(x)`, with `silu'(x) = σ(1 + x q)`,
 * `silu''(x) = σ q (2 + x (q − σ))` and `q = 1 − σ(x)` (computed as e^−x σ for x ≥ 0, no cancellation).
 * Parameters `(srcX, srcG, srcH, dstDx, dstDg, n)` over `n` floats, n a multiple of 4.
 */
function siluGradBackwardKernel(): Code {
  const f = new Code(6);
  const [srcX, srcG, srcH, dstDx, dstDg, n] = [0, 1, 2, 3, 4, 5];
  const end = f.local(I32);
  const [x, g, h, nx, en, r, t, e, sig, q] = Array.from({ length: 10 }, () => f.local(V128));
  f.get(srcX).get(n).i32(4).mul().add().set(end);
  f.block().loop();
  f.get(srcX).get(end).ltU().eqz().brIf(1);
  f.get(srcX).v128Load().set(x);
  f.get(srcG).v128Load().set(g);
  f.get(srcH).v128Load().set(h);
  f.get(x).f32x4Neg().set(nx);
  emitExp(f, nx, en, r, t);
  f.set(e);
  f.f32x4Const(1).f32x4Const(1).get(e).f32x4Add().f32x4Div().set(sig);
  f.f32x4Const(1).get(sig).f32x4Sub().get(e).get(sig).f32x4Mul().get(x).f32x4Const(0).f32x4Lt().v128Bitselect().set(q);
  // dg = h · σ · (1 + x q)
  f.get(dstDg).get(h).get(sig).f32x4Mul().f32x4Const(1).get(x).get(q).f32x4Mul().f32x4Add().f32x4Mul().v128Store();
  // dx = h · g · σ · q · (2 + x (q − σ))
  f.get(dstDx).get(h).get(g).f32x4Mul().get(sig).f32x4Mul().get(q).f32x4Mul();
  f.f32x4Const(2).get(x).get(q).get(sig).f32x4Sub().f32x4Mul().f32x4Add().f32x4Mul().v128Store();
  f.inc(srcX, 16).inc(srcG, 16).inc(srcH, 16).inc(dstDx, 16).inc(dstDg, 16);
  f.br(0);
  f.end().end();
  return f;
}

/** The arithmetic operators with a WebAssembly SIMD kernel. @internal */
export type WasmArith = 'add' | 'sub' | 'mul' | 'div';

const ARITH_OPS: Record<WasmArith, (f: Code) => void> = {
  add: (f) => f.f32x4Add(),
  sub: (f) => f.f32x4Sub(),
  mul: (f) => f.f32x4Mul(),
  div: (f) => f.f32x4Div(),
};

/**
 * `o = a op b` over `[rows, cols]` (cols a multiple of 4) with parameters
 * `(a, aRowBytes, aVec, b, bRowBytes, bVec, o, rows, cols)`: operand rows start `rowBytes` apart and are
 * read as vectors when the `Vec` flag is set, or as one value broadcast along the row otherwise (a bias
 * row, a per-row scale, a scalar). One inner loop per combination of flags, chosen once per row.
 */
function arithKernel(emitOp: (f: Code) => void): Code {
  const f = new Code(9);
  const [a, ar, aVec, b, br, bVec, o, rows, cols] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const r = f.local(I32);
  const pa = f.local(I32);
  const pb = f.local(I32);
  const end = f.local(I32);
  const va = f.local(V128);
  const vb = f.local(V128);
  const rowLoop = (aIsVec: boolean, bIsVec: boolean) => {
    if (!aIsVec) f.get(pa).loadSplat().set(va);
    if (!bIsVec) f.get(pb).loadSplat().set(vb);
    f.block().loop();
    f.get(o).get(end).ltU().eqz().brIf(1);
    f.get(o);
    if (aIsVec) f.get(pa).v128Load();
    else f.get(va);
    if (bIsVec) f.get(pb).v128Load();
    else f.get(vb);
    emitOp(f);
    f.v128Store();
    f.inc(o, 16);
    if (aIsVec) f.inc(pa, 16);
    if (bIsVec) f.inc(pb, 16);
    f.br(0);
    f.end().end();
  };
  f.i32(0).set(r);
  f.block().loop();
  f.get(r).get(rows).ltU().eqz().brIf(1);
  f.get(a).get(r).get(ar).mul().add().set(pa);
  f.get(b).get(r).get(br).mul().add().set(pb);
  f.get(o).get(cols).i32(4).mul().add().set(end);
  f.get(aVec).if_();
  f.get(bVec).if_();
  rowLoop(true, true);
  f.else_();
  rowLoop(true, false);
  f.end();
  f.else_();
  f.get(bVec).if_();
  rowLoop(false, true);
  f.else_();
  rowLoop(false, false);
  f.end();
  f.end();
  f.inc(r, 1);
  f.br(0);
  f.end().end();
  return f;
}

/** Bytes of the element-wise module. @internal */
export function elementwiseModuleBytes(): Uint8Array<ArrayBuffer> {
  return assemble([
    { name: 'sigmoid', code: unaryKernel((f, x, s) => emitSigmoid(f, x, s)) },
    {
      name: 'silu',
      code: unaryKernel((f, x, s) => {
        f.get(x);
        emitSigmoid(f, x, s);
        f.f32x4Mul();
      }),
    },
    {
      // g · σ(x) · (1 + x · (1 − σ(x))), the gradient of silu, with 1 − σ(x) = e^−x σ(x) for x ≥ 0 (no cancellation)
      name: 'siluGrad',
      code: binaryKernel((f, x, g, [nx, n, r, t, e]) => {
        const sig = nx; // −x is dead once e^−x is known
        f.get(x).f32x4Neg().set(nx);
        emitExp(f, nx, n, r, t);
        f.set(e);
        f.f32x4Const(1).f32x4Const(1).get(e).f32x4Add().f32x4Div().set(sig);
        f.get(g).get(sig).f32x4Mul();
        f.f32x4Const(1).get(x);
        f.f32x4Const(1).get(sig).f32x4Sub().get(e).get(sig).f32x4Mul().get(x).f32x4Const(0).f32x4Lt().v128Bitselect();
        f.f32x4Mul().f32x4Add();
        f.f32x4Mul();
      }),
    },
    { name: 'siluGradBackward', code: siluGradBackwardKernel() },
    ...Object.entries(ARITH_OPS).map(([name, emitOp]) => ({ name, code: arithKernel(emitOp) })),
  ]);
}

type MapFn = (src: number, dst: number, n: number) => void;
type ZipFn = (srcX: number, srcG: number, dst: number, n: number) => void;
type ArithFn = (
  a: number,
  aRowBytes: number,
  aVec: number,
  b: number,
  bRowBytes: number,
  bVec: number,
  o: number,
  rows: number,
  cols: number,
) => void;
type Zip3To2Fn = (srcX: number, srcG: number, srcH: number, dstDx: number, dstDg: number, n: number) => void;

/**
 * Element-wise functions on WebAssembly SIMD with a vectorised exponential (sigmoid within a few ulp
 * of the correctly rounded value). Inputs are copied into the module's memory and the results out.
 * @internal
 */
export class WasmElementwise {
  private readonly memory = new WebAssembly.Memory({ initial: 16 });
  private f32 = new Float32Array(this.memory.buffer);
  private readonly fns: Record<WasmUnary, MapFn>;
  private readonly siluGradFn: ZipFn;
  private readonly siluGradBackwardFn: Zip3To2Fn;
  private readonly arithFns: Record<WasmArith, ArithFn>;

  constructor() {
    const instance = new WebAssembly.Instance(new WebAssembly.Module(elementwiseModuleBytes()), {
      env: { mem: this.memory },
    });
    this.fns = { sigmoid: instance.exports.sigmoid as MapFn, silu: instance.exports.silu as MapFn };
    this.siluGradFn = instance.exports.siluGrad as ZipFn;
    this.siluGradBackwardFn = instance.exports.siluGradBackward as Zip3To2Fn;
    const e = instance.exports;
    this.arithFns = { add: e.add as ArithFn, sub: e.sub as ArithFn, mul: e.mul as ArithFn, div: e.div as ArithFn };
  }

  private reserve(floats: number): Float32Array {
    const bytes = floats * 4;
    const have = this.memory.buffer.byteLength;
    if (have < bytes) this.memory.grow(Math.ceil((bytes - have) / 65536));
    if (this.f32.buffer !== this.memory.buffer) this.f32 = new Float32Array(this.memory.buffer);
    return this.f32;
  }

  /** `out[i] = op(x[i])` for `i < size`. */
  unary(op: WasmUnary, x: Float32Array, out: Float32Array, size: number): void {
    const padded = (size + 3) & ~3;
    const mem = this.reserve(2 * padded);
    mem.set(x.subarray(0, size), 0);
    this.fns[op](0, padded * 4, padded);
    out.set(mem.subarray(padded, padded + size));
  }

  /** `out[i] = g[i] · silu'(x[i])` for `i < size`. */
  siluGrad(x: Float32Array, g: Float32Array, out: Float32Array, size: number): void {
    const padded = (size + 3) & ~3;
    const mem = this.reserve(3 * padded);
    mem.set(x.subarray(0, size), 0);
    mem.set(g.subarray(0, size), padded);
    this.siluGradFn(0, padded * 4, padded * 8, padded);
    out.set(mem.subarray(2 * padded, 2 * padded + size));
  }

  /** `dx[i] = h[i] · g[i] · silu''(x[i])` and `dg[i] = h[i] · silu'(x[i])` for `i < size`. */
  siluGradBackward(
    x: Float32Array,
    g: Float32Array,
    h: Float32Array,
    dx: Float32Array,
    dg: Float32Array,
    size: number,
  ): void {
    const padded = (size + 3) & ~3;
    const mem = this.reserve(5 * padded);
    mem.set(x.subarray(0, size), 0);
    mem.set(g.subarray(0, size), padded);
    mem.set(h.subarray(0, size), 2 * padded);
    this.siluGradBackwardFn(0, padded * 4, padded * 8, padded * 12, padded * 16, padded);
    dx.set(mem.subarray(3 * padded, 3 * padded + size));
    dg.set(mem.subarray(4 * padded, 4 * padded + size));
  }

  /**
   * `out = a op b` over `[rows, cols]` (cols a multiple of 4): row `r` of `a` starts at `r · aRow` and is
   * read along the row when `aCol` is 1, or is the single value there broadcast along it when 0 (same for `b`).
   */
  arith(
    op: WasmArith,
    a: Float32Array,
    aLength: number,
    aRow: number,
    aCol: number,
    b: Float32Array,
    bLength: number,
    bRow: number,
    bCol: number,
    out: Float32Array,
    rows: number,
    cols: number,
  ): void {
    const aPad = (aLength + 3) & ~3;
    const bPad = (bLength + 3) & ~3;
    const size = rows * cols;
    const mem = this.reserve(aPad + bPad + size);
    mem.set(a.subarray(0, aLength), 0);
    mem.set(b.subarray(0, bLength), aPad);
    const o = aPad + bPad;
    this.arithFns[op](0, aRow * 4, aCol, aPad * 4, bRow * 4, bCol, o * 4, rows, cols);
    out.set(mem.subarray(o, o + size));
  }
}

let available: boolean | null = null;

/** True when this engine runs the element-wise module. @internal */
export function wasmElementwiseAvailable(): boolean {
  if (available === null) available = validates(elementwiseModuleBytes());
  return available;
}

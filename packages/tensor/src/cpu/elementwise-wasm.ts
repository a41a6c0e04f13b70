import { RESERVED_BYTES, WasmArena } from './arena.js';
import { assemble, Code, I32, V128, validates } from './wasm-asm.js';
import { type ThreadedModule, type ThreadsPart, WasmThreads } from './wasm-threads.js';

/** The element-wise functions with a WebAssembly SIMD kernel. @internal */
export type WasmUnary = 'sigmoid' | 'silu' | WasmExactUnary;
/** The element-wise functions whose kernel gives exactly the JavaScript loop's float32 results. @internal */
export type WasmExactUnary = 'neg' | 'abs' | 'square' | 'sqrt' | 'relu';

/** Bodies of the exact kernels: single correctly rounded operations, so no different from the JavaScript loops. */
const EXACT_UNARY: Record<WasmExactUnary, (f: Code, x: number) => void> = {
  neg: (f, x) => f.get(x).f32x4Neg(),
  abs: (f, x) => f.get(x).f32x4Abs(),
  square: (f, x) => f.get(x).get(x).f32x4Mul(),
  sqrt: (f, x) => f.get(x).f32x4Sqrt(),
  // pseudo-maximum `x < 0 ? 0 : x`: NaN and −0 pass through, as in `x < 0 ? 0 : x`
  relu: (f, x) => f.get(x).i32(0).v128Load(constF32(0)).f32x4Pmax(),
};

/**
 * The kernels' v128 constants live in a table at the start of the module's memory (16 bytes each) and are
 * loaded where used: TurboFan rebuilds a `v128.const` inside a loop from general registers at every use
 * (three instructions each, fifteen constants in the exponential), where a load is one.
 */
const constantSlots = new Map<string, number>();
const constantTable: number[] = [];

function constantAt(bits: Uint8Array): number {
  const key = Array.from(bits).join(',');
  let at = constantSlots.get(key);
  if (at === undefined) {
    at = constantTable.length;
    if (at + 16 > RESERVED_BYTES) throw new Error('elementwise-wasm: constant table full');
    constantTable.push(...bits);
    constantSlots.set(key, at);
  }
  return at;
}
/** Byte address of a v128 constant with `value` in its four f32 lanes. */
const constF32 = (value: number) => constantAt(new Uint8Array(new Float32Array([value, value, value, value]).buffer));
/** Byte address of a v128 constant with `value` in its four i32 lanes. */
const constI32 = (value: number) => constantAt(new Uint8Array(new Int32Array([value, value, value, value]).buffer));

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

/**
 * Emits e^x for the v128 in local `x`, leaving it on the stack; `t`, `n`, `r` are scratch v128 locals. With
 * `nonPositive` the caller promises x ≤ 0 (or NaN), and the clamp above and the +∞ case are left out.
 */
function emitExp(f: Code, x: number, n: number, r: number, t: number, nonPositive = false): void {
  // xc = clamp(x) (pseudo-min/max: single instructions, a NaN in x stays)
  f.get(x);
  if (!nonPositive) f.i32(0).v128Load(constF32(EXP_HI)).f32x4Pmin();
  f.i32(0).v128Load(constF32(-EXP_HI)).f32x4Pmax().set(t);
  // n = xc · log2 e + magic: nearest(xc · log2 e) sits in the low bits of n, and n − magic is it as a float
  f.get(t).i32(0).v128Load(constF32(LOG2E)).f32x4Mul().i32(0).v128Load(constF32(ROUND_MAGIC)).f32x4Add().set(n);
  f.get(n).i32(0).v128Load(constF32(ROUND_MAGIC)).f32x4Sub().set(r);
  // r = xc − nearest·LN2_HI − nearest·LN2_LO
  f.get(t)
    .get(r)
    .i32(0)
    .v128Load(constF32(LN2_HI))
    .f32x4Mul()
    .f32x4Sub()
    .get(r)
    .i32(0)
    .v128Load(constF32(LN2_LO))
    .f32x4Mul()
    .f32x4Sub()
    .set(r);
  // p = c0 r⁵ + … + c5 by Estrin's scheme (r² in t; a shorter chain of dependent operations than Horner's),
  // then e^r ≈ p·r² + (r + 1)
  const c = (i: number) => f.i32(0).v128Load(constF32(EXP_POLY[i]));
  f.get(r).get(r).f32x4Mul().set(t);
  c(0).get(r).f32x4Mul();
  c(1).f32x4Add().get(t).f32x4Mul();
  c(2).get(r).f32x4Mul();
  c(3).f32x4Add().f32x4Add().get(t).f32x4Mul();
  c(4).get(r).f32x4Mul();
  c(5).f32x4Add().f32x4Add();
  f.get(t).f32x4Mul().get(r).i32(0).v128Load(constF32(1)).f32x4Add().f32x4Add();
  // · 2^nearest, built in the exponent field: (bits(n) + 127) << 23 keeps the low 9 bits, those of nearest + 127
  f.get(n).i32(0).v128Load(constI32(127)).i32x4Add().i32(23).i32x4Shl().f32x4Mul();
  if (nonPositive) return;
  // +∞ above the range
  f.set(t);
  f.i32(0)
    .v128Load(constF32(Number.POSITIVE_INFINITY))
    .get(t)
    .get(x)
    .i32(0)
    .v128Load(constF32(EXP_HI))
    .f32x4Gt()
    .v128Bitselect();
}

/** sigmoid(x) = 1 / (1 + e^−x), left on the stack. */
function emitSigmoid(f: Code, x: number, [nx, n, r, t]: number[]): void {
  f.get(x).f32x4Neg().set(nx);
  f.i32(0).v128Load(constF32(1));
  f.i32(0).v128Load(constF32(1));
  emitExp(f, nx, n, r, t);
  f.f32x4Add().f32x4Div();
}

/** The float32 sign bit, as an i32 lane. */
const SIGN_BIT = -0x80000000;

/** Pushes the v128 constant with `value` in its four f32 lanes (a load from the constant table). */
function pushF32(f: Code, value: number): Code {
  return f.i32(0).v128Load(constF32(value));
}

/**
 * Sets local `m` = σ(−|x|) and pushes silu(x) = x σ(x), from one exponential: with t = e^−|x|,
 * σ(|x|) = 1 / (1 + t) and σ(−|x|) = t σ(|x|). `m` is the smaller of σ(x) and 1 − σ(x), so both follow from it
 * with full relative precision (see {@link emitSigmoidFromSaved}); the gradient kernels take it instead of
 * evaluating the exponential again. `scratch` holds four v128 locals.
 */
function emitSiluSaved(f: Code, x: number, m: number, [a, n, r, t]: number[]): void {
  // −|x|: x with its sign bit set (one instruction, where abs and neg each build a mask)
  f.get(x).i32(0).v128Load(constI32(SIGN_BIT)).v128Or().set(a);
  emitExp(f, a, n, r, t, true);
  f.set(a);
  pushF32(f, 1);
  pushF32(f, 1).get(a).f32x4Add().f32x4Div().set(r);
  f.get(a).get(r).f32x4Mul().set(m);
  // x · (m where x's sign bit is set, else r): the sign bit spread over the lane selects
  f.get(x).get(m).get(r).get(x).i32(31).i32x4ShrS().v128Bitselect().f32x4Mul();
}

/** Sets `s` = σ(x) and `q` = 1 − σ(x) from `m` = σ(−|x|) (m where x < 0, else 1 − m, and the other way round). */
function emitSigmoidFromSaved(f: Code, x: number, m: number, s: number, q: number, negative: number): void {
  f.get(x).i32(31).i32x4ShrS().set(negative); // all ones where the sign bit is set (−0 gives s = q = 1/2 either way)
  pushF32(f, 1).get(m).f32x4Sub().set(q);
  f.get(m).get(q).get(negative).v128Bitselect().set(s);
  f.get(q).get(m).get(negative).v128Bitselect().set(q);
}

/**
 * A kernel `(src_0 … src_{ins−1}, dst_0 … dst_{outs−1}, n)` over `n` floats (n a multiple of 4): loads the
 * inputs' vectors into locals, then `body` computes the outputs, storing output `k` with `store(k, push)`
 * where `push` leaves its value on the stack. `scratch` v128 locals are free for the body.
 */
function zipKernel(
  ins: number,
  outs: number,
  scratch: number,
  body: (f: Code, x: number[], scratch: number[], store: (k: number, push: () => void) => void) => void,
): Code {
  const f = new Code(ins + outs + 1);
  const n = ins + outs;
  const end = f.local(I32);
  const x = Array.from({ length: ins }, () => f.local(V128));
  const free = Array.from({ length: scratch }, () => f.local(V128));
  f.get(0).get(n).i32(4).mul().add().set(end);
  f.block().loop();
  f.get(0).get(end).ltU().eqz().brIf(1);
  for (let i = 0; i < ins; i++) f.get(i).v128Load().set(x[i]);
  body(f, x, free, (k, push) => {
    f.get(ins + k);
    push();
    f.v128Store();
  });
  for (let p = 0; p < n; p++) f.inc(p, 16);
  f.br(0);
  f.end().end();
  return f;
}

/** A kernel `(src, dst, n)` over `n` floats computing `body(x)` for the v128 `x` (four scratch v128 locals). */
function mapKernel(body: (f: Code, x: number, scratch: number[]) => void): Code {
  return zipKernel(1, 1, 4, (f, [x], scratch, store) => store(0, () => body(f, x, scratch)));
}

/** `(x, y, m, n)`: y = silu(x) and m = σ(−|x|), the value the gradient kernels below take. */
function siluSavedKernel(): Code {
  return zipKernel(1, 2, 5, (f, [x], [m, ...scratch], store) => {
    store(0, () => emitSiluSaved(f, x, m, scratch));
    store(1, () => f.get(m));
  });
}

/** `(x, m, g, out, n)`: out = g · silu'(x) = g σ (1 + x q), with σ and q = 1 − σ from m = σ(−|x|). */
function siluGradKernel(): Code {
  return zipKernel(3, 1, 3, (f, [x, m, g], [s, q, negative], store) => {
    emitSigmoidFromSaved(f, x, m, s, q, negative);
    store(0, () => {
      f.get(g).get(s).f32x4Mul();
      pushF32(f, 1).get(x).get(q).f32x4Mul().f32x4Add().f32x4Mul();
    });
  });
}

/**
 * `(x, m, g, h, dx, dg, n)`: the backward pass of the SiLU gradient for a cotangent h, dx = h g σ q (2 + x (q − σ))
 * and dg = h σ (1 + x q), with σ and q = 1 − σ from m = σ(−|x|).
 */
function siluGradBackwardKernel(): Code {
  return zipKernel(4, 2, 3, (f, [x, m, g, h], [s, q, negative], store) => {
    emitSigmoidFromSaved(f, x, m, s, q, negative);
    store(0, () => {
      f.get(h).get(g).f32x4Mul().get(s).f32x4Mul().get(q).f32x4Mul();
      pushF32(f, 2).get(x).get(q).get(s).f32x4Sub().f32x4Mul().f32x4Add().f32x4Mul();
    });
    store(1, () => {
      f.get(h).get(s).f32x4Mul();
      pushF32(f, 1).get(x).get(q).f32x4Mul().f32x4Add().f32x4Mul();
    });
  });
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

/** The reductions with a WebAssembly SIMD kernel. @internal */
export type WasmReduce = 'sum' | 'max' | 'min';

/**
 * `dst[r] = Σ src[r, :]` over `rows` rows of `len` contiguous floats, with parameters `(src, dst, rows, len)`.
 * Accumulates in float64 (two f64x2 accumulators over groups of four, the tail one float at a time) and
 * rounds once, as the JavaScript loop does.
 */
function sumRowsKernel(): Code {
  const f = new Code(4);
  const [src, dst, rows, len] = [0, 1, 2, 3];
  const dstEnd = f.local(I32);
  const quadEnd = f.local(I32);
  const rowEnd = f.local(I32);
  const acc0 = f.local(V128);
  const acc1 = f.local(V128);
  f.get(dst).get(rows).i32(4).mul().add().set(dstEnd);
  f.block().loop();
  f.get(dst).get(dstEnd).ltU().eqz().brIf(1);
  f.get(src).get(len).i32(-4).i32And().i32(4).mul().add().set(quadEnd);
  f.get(src).get(len).i32(4).mul().add().set(rowEnd);
  f.v128Zero().set(acc0).v128Zero().set(acc1);
  f.block().loop();
  f.get(src).get(quadEnd).ltU().eqz().brIf(1);
  f.get(acc0).get(src).v128Load64Zero().f64x2PromoteLowF32x4().f64x2Add().set(acc0);
  f.get(acc1).get(src).v128Load64Zero(8).f64x2PromoteLowF32x4().f64x2Add().set(acc1);
  f.inc(src, 16).br(0);
  f.end().end();
  f.block().loop();
  f.get(src).get(rowEnd).ltU().eqz().brIf(1);
  f.get(acc0).get(src).v128Load32Zero().f64x2PromoteLowF32x4().f64x2Add().set(acc0);
  f.inc(src, 4).br(0);
  f.end().end();
  f.get(acc0).get(acc1).f64x2Add().set(acc0);
  f.get(dst).get(acc0).f64x2ExtractLane(0).get(acc0).f64x2ExtractLane(1).f64Add().f32DemoteF64().f32Store();
  f.inc(dst, 4).br(0);
  f.end().end();
  return f;
}

/**
 * `dst[r] = max (or min) of src[r, :]` over `rows` rows of `len` contiguous floats, with parameters
 * `(src, dst, rows, len)`; NaN when the row holds one, ∓∞ for an empty row.
 */
function extremumRowsKernel(isMax: boolean): Code {
  const f = new Code(4);
  const [src, dst, rows, len] = [0, 1, 2, 3];
  const dstEnd = f.local(I32);
  const quadEnd = f.local(I32);
  const rowEnd = f.local(I32);
  const acc = f.local(V128);
  const pick = () => (isMax ? f.f32x4Max() : f.f32x4Min());
  const pickScalar = () => (isMax ? f.f32Max() : f.f32Min());
  f.get(dst).get(rows).i32(4).mul().add().set(dstEnd);
  f.block().loop();
  f.get(dst).get(dstEnd).ltU().eqz().brIf(1);
  f.get(src).get(len).i32(-4).i32And().i32(4).mul().add().set(quadEnd);
  f.get(src).get(len).i32(4).mul().add().set(rowEnd);
  f.i32(0)
    .v128Load(constF32(isMax ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY))
    .set(acc);
  f.block().loop();
  f.get(src).get(quadEnd).ltU().eqz().brIf(1);
  f.get(acc).get(src).v128Load();
  pick();
  f.set(acc).inc(src, 16).br(0);
  f.end().end();
  // the tail, one float splat to every lane (max and min are idempotent)
  f.block().loop();
  f.get(src).get(rowEnd).ltU().eqz().brIf(1);
  f.get(acc).get(src).loadSplat();
  pick();
  f.set(acc).inc(src, 4).br(0);
  f.end().end();
  f.get(dst).get(acc).f32x4ExtractLane(0).get(acc).f32x4ExtractLane(1);
  pickScalar();
  f.get(acc).f32x4ExtractLane(2);
  pickScalar();
  f.get(acc).f32x4ExtractLane(3);
  pickScalar();
  f.f32Store();
  f.inc(dst, 4).br(0);
  f.end().end();
  return f;
}

/**
 * Column sums: `dst[o, i] = Σ_r src[o, r, i]` for `src` of `[outer, reduced, inner]`, with parameters
 * `(src, dst, acc, outer, reduced, inner)`; `acc` is scratch for `inner` float64 accumulators (8-byte
 * aligned). Each row is added to the accumulators two floats at a time (widened to f64x2), so the
 * vectors run across the inner dimension; the result is rounded once, as in the JavaScript loop.
 */
function sumColumnsKernel(): Code {
  const f = new Code(6);
  const [src, dst, acc, outer, reduced, inner] = [0, 1, 2, 3, 4, 5];
  const dstEnd = f.local(I32);
  const accEnd = f.local(I32);
  const pairEnd = f.local(I32);
  const q = f.local(I32);
  const r = f.local(I32);
  f.get(dst).get(outer).get(inner).mul().i32(4).mul().add().set(dstEnd);
  f.get(acc).get(inner).i32(8).mul().add().set(accEnd);
  f.get(acc).get(inner).i32(-2).i32And().i32(8).mul().add().set(pairEnd);
  f.block().loop();
  f.get(dst).get(dstEnd).ltU().eqz().brIf(1);
  // zero the accumulators
  f.get(acc).set(q);
  f.block().loop();
  f.get(q).get(accEnd).ltU().eqz().brIf(1);
  f.get(q).f64Const(0).f64Store().inc(q, 8).br(0);
  f.end().end();
  f.i32(0).set(r);
  f.block().loop();
  f.get(r).get(reduced).ltU().eqz().brIf(1);
  f.get(acc).set(q);
  f.block().loop();
  f.get(q).get(pairEnd).ltU().eqz().brIf(1);
  f.get(q).get(q).v128Load().get(src).v128Load64Zero().f64x2PromoteLowF32x4().f64x2Add().v128Store();
  f.inc(q, 16).inc(src, 8).br(0);
  f.end().end();
  f.get(q).get(accEnd).ltU().if_();
  f.get(q).get(q).f64Load().get(src).f32Load().f64PromoteF32().f64Add().f64Store();
  f.inc(src, 4);
  f.end();
  f.inc(r, 1).br(0);
  f.end().end();
  // round into the output row
  f.get(acc).set(q);
  f.block().loop();
  f.get(q).get(accEnd).ltU().eqz().brIf(1);
  f.get(dst).get(q).f64Load().f32DemoteF64().f32Store();
  f.inc(q, 8).inc(dst, 4).br(0);
  f.end().end();
  f.br(0);
  f.end().end();
  return f;
}

/**
 * Column maxima (or minima): `dst[o, i] = max_r src[o, r, i]` for `src` of `[outer, reduced, inner]`, with
 * parameters `(src, dst, outer, reduced, inner)`; the output row holds the running extremum, updated
 * four floats at a time (the tail one at a time). NaN propagates; ∓∞ when `reduced` is 0.
 */
function extremumColumnsKernel(isMax: boolean): Code {
  const f = new Code(5);
  const [src, dst, outer, reduced, inner] = [0, 1, 2, 3, 4];
  const dstEnd = f.local(I32);
  const rowEnd = f.local(I32);
  const quadEnd = f.local(I32);
  const p = f.local(I32);
  const r = f.local(I32);
  const init = isMax ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
  f.get(dst).get(outer).get(inner).mul().i32(4).mul().add().set(dstEnd);
  f.block().loop();
  f.get(dst).get(dstEnd).ltU().eqz().brIf(1);
  f.get(dst).get(inner).i32(4).mul().add().set(rowEnd);
  f.get(dst).get(inner).i32(-4).i32And().i32(4).mul().add().set(quadEnd);
  f.get(dst).set(p);
  f.block().loop();
  f.get(p).get(rowEnd).ltU().eqz().brIf(1);
  f.get(p).i32(0).v128Load(constF32(init)).f32x4ExtractLane(0).f32Store().inc(p, 4).br(0);
  f.end().end();
  f.i32(0).set(r);
  f.block().loop();
  f.get(r).get(reduced).ltU().eqz().brIf(1);
  f.get(dst).set(p);
  f.block().loop();
  f.get(p).get(quadEnd).ltU().eqz().brIf(1);
  f.get(p).get(p).v128Load().get(src).v128Load();
  if (isMax) f.f32x4Max();
  else f.f32x4Min();
  f.v128Store().inc(p, 16).inc(src, 16).br(0);
  f.end().end();
  f.block().loop();
  f.get(p).get(rowEnd).ltU().eqz().brIf(1);
  f.get(p).get(p).f32Load().get(src).f32Load();
  if (isMax) f.f32Max();
  else f.f32Min();
  f.f32Store().inc(p, 4).inc(src, 4).br(0);
  f.end().end();
  f.inc(r, 1).br(0);
  f.end().end();
  f.get(rowEnd).set(dst);
  f.br(0);
  f.end().end();
  return f;
}

/** Bytes of the element-wise module. @internal */
export function elementwiseModuleBytes(shared = false): Uint8Array<ArrayBuffer> {
  return assemble(
    [
      { name: 'sigmoid', code: mapKernel((f, x, s) => emitSigmoid(f, x, s)) },
      // the same formula as siluSaved, so that silu gives the same bits whether its gradient is recorded or not
      {
        name: 'silu',
        code: zipKernel(1, 1, 5, (f, [x], [m, ...t], store) => store(0, () => emitSiluSaved(f, x, m, t))),
      },
      { name: 'siluSaved', code: siluSavedKernel() },
      { name: 'siluGrad', code: siluGradKernel() },
      { name: 'siluGradBackward', code: siluGradBackwardKernel() },
      ...Object.entries(EXACT_UNARY).map(([name, body]) => ({ name, code: mapKernel((f, x) => body(f, x)) })),
      ...Object.entries(ARITH_OPS).map(([name, emitOp]) => ({ name, code: arithKernel(emitOp) })),
      { name: 'sumRows', code: sumRowsKernel() },
      { name: 'maxRows', code: extremumRowsKernel(true) },
      { name: 'minRows', code: extremumRowsKernel(false) },
      { name: 'sumColumns', code: sumColumnsKernel() },
      { name: 'maxColumns', code: extremumColumnsKernel(true) },
      { name: 'minColumns', code: extremumColumnsKernel(false) },
    ],
    shared,
  );
}

type MapFn = (src: number, dst: number, n: number) => void;
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
type RowsFn = (src: number, dst: number, rows: number, len: number) => void;
type SumColumnsFn = (src: number, dst: number, acc: number, outer: number, reduced: number, inner: number) => void;
type ExtremumColumnsFn = (src: number, dst: number, outer: number, reduced: number, inner: number) => void;

/** The maps shared with worker threads (those with an exponential, and the SiLU gradients), by index. */
const THREADED_MAPS: readonly string[] = ['sigmoid', 'silu', 'siluSaved', 'siluGrad', 'siluGradBackward'];

/**
 * Element-wise functions on WebAssembly SIMD with a vectorised exponential (sigmoid within a few ulp
 * of the correctly rounded value), and sums, maxima and minima, on the memory of a {@link WasmArena}:
 * operands and outputs that live there are read and written in place, others are copied in and out. Every
 * call returns false, writing nothing, when the memory is full.
 * @internal
 */
export class WasmElementwise {
  /** Worker threads for the maps with an exponential, when there are any. */
  private pool: ThreadsPart | null;
  private readonly fns: Record<WasmUnary, MapFn>;
  private readonly siluFns: Record<'siluSaved' | 'siluGrad' | 'siluGradBackward', (...at: number[]) => void>;
  private readonly arithFns: Record<WasmArith, ArithFn>;
  private readonly rowsFns: Record<WasmReduce, RowsFn>;
  private readonly sumColumnsFn: SumColumnsFn;
  private readonly extremumColumnsFns: Record<'max' | 'min', ExtremumColumnsFn>;
  /** Scratch blocks of the current call (address, bytes pairs). */
  private readonly blocks: number[] = [];

  /**
   * @param threads Threads for the maps with an exponential (sigmoid, SiLU and the SiLU gradients) of at
   *   least `parallelMinSize` floats, this one included (more than 1 needs Node's `worker_threads` and a
   *   shared memory), or the share of a pool made with {@link elementwiseThreadedModule} that this module uses.
   * @param parallelMinSize Shorter maps run on this thread alone.
   * @param arena The memory the kernels work in (a memory of their own by default).
   */
  constructor(
    threads: number | ThreadsPart = 1,
    readonly parallelMinSize = 1 << 15,
    readonly arena: WasmArena = new WasmArena(),
  ) {
    let e: WebAssembly.Exports;
    if (typeof threads === 'number') {
      const threaded = elementwiseThreadedModule(arena.shared);
      this.pool = threads > 1 && arena.threadable ? new WasmThreads(arena.memory, [threaded], threads).part(0) : null;
      e = this.pool?.exports ?? new WebAssembly.Instance(threaded.module, { env: { mem: arena.memory } }).exports;
    } else {
      this.pool = threads;
      e = threads.exports;
    }
    // the module's code is emitted by now, so the table holds every constant it loads
    new Uint8Array(arena.memory.buffer).set(constantTable);
    const map = (name: WasmUnary) => e[name] as MapFn;
    this.fns = {
      sigmoid: map('sigmoid'),
      silu: map('silu'),
      neg: map('neg'),
      abs: map('abs'),
      square: map('square'),
      sqrt: map('sqrt'),
      relu: map('relu'),
    };
    this.siluFns = {
      siluSaved: e.siluSaved as (...at: number[]) => void,
      siluGrad: e.siluGrad as (...at: number[]) => void,
      siluGradBackward: e.siluGradBackward as (...at: number[]) => void,
    };
    this.arithFns = { add: e.add as ArithFn, sub: e.sub as ArithFn, mul: e.mul as ArithFn, div: e.div as ArithFn };
    this.rowsFns = { sum: e.sumRows as RowsFn, max: e.maxRows as RowsFn, min: e.minRows as RowsFn };
    this.sumColumnsFn = e.sumColumns as SumColumnsFn;
    this.extremumColumnsFns = { max: e.maxColumns as ExtremumColumnsFn, min: e.minColumns as ExtremumColumnsFn };
  }

  /** Stops the worker threads; later maps run on this thread. */
  close(): void {
    this.pool?.pool.close();
    this.pool = null;
  }

  /**
   * Runs export `THREADED_MAPS[fn]` over `padded` floats: `fn(…addresses, n)` with every address
   * advanced by the chunk's offset, in chunks shared with the worker threads when the map is long
   * enough, on this thread otherwise. Each float is computed the same way whichever thread runs it.
   */
  private map(fn: number, run: (...args: number[]) => void, addresses: number[], padded: number): void {
    const pool = this.pool;
    if (!pool || padded < this.parallelMinSize) {
      run(...addresses, padded);
      return;
    }
    const chunk = Math.max(4096, Math.ceil(padded / (4 * pool.threads) / 4) * 4);
    for (let at = 0; at < padded; at += chunk) {
      pool.call(fn, ...addresses.map((a) => a + at * 4), Math.min(chunk, padded - at));
      pool.endUnit();
    }
    pool.run();
  }

  /** Byte address of operand `a` (its first `length` floats, read on to `reach` bytes). */
  private input(a: Float32Array, length: number, reach = length * 4): number {
    return this.arena.operand(a, 0, length, reach, this.blocks);
  }

  /**
   * Byte address where a kernel writes `floats` floats (up to 3 past the output's length): `out` itself
   * when it is storage from the arena (its block has that room), else a scratch block.
   */
  private output(out: Float32Array, floats: number): number {
    if (this.arena.owns(out)) return out.byteOffset;
    const at = this.arena.block(floats * 4);
    if (at >= 0) this.blocks.push(at, floats * 4);
    return at;
  }

  /** Copies the result at `at` to `out` unless it was written there; false (nothing kept) when any address is −1. */
  private done(addresses: readonly number[], outputs: readonly [Float32Array, number, number][]): boolean {
    const ok = addresses.every((a) => a >= 0);
    if (ok) {
      for (const [out, at, length] of outputs)
        if (at !== out.byteOffset || !this.arena.owns(out)) out.set(this.arena.f32.subarray(at / 4, at / 4 + length));
    }
    this.arena.releaseBlocks(this.blocks);
    return ok;
  }

  /** `out[i] = op(x[i])` for `i < size`. */
  unary(op: WasmUnary, x: Float32Array, out: Float32Array, size: number): boolean {
    const padded = (size + 3) & ~3;
    const src = this.input(x, size, padded * 4);
    const dst = this.output(out, padded);
    if (src >= 0 && dst >= 0) {
      const threaded = THREADED_MAPS.indexOf(op);
      if (threaded >= 0) this.map(threaded, this.fns[op], [src, dst], padded);
      else this.fns[op](src, dst, padded);
    }
    return this.done([src, dst], [[out, dst, size]]);
  }

  /**
   * `y[i] = silu(x[i])` and `m[i] = σ(−|x[i]|)` for `i < size`: `m` is what {@link siluGrad} and
   * {@link siluGradBackward} take to skip the exponential.
   */
  siluSaved(x: Float32Array, y: Float32Array, m: Float32Array, size: number): boolean {
    const padded = (size + 3) & ~3;
    const at = [this.input(x, size, padded * 4), this.output(y, padded), this.output(m, padded)];
    if (at.every((a) => a >= 0)) this.map(THREADED_MAPS.indexOf('siluSaved'), this.siluFns.siluSaved, at, padded);
    return this.done(at, [
      [y, at[1], size],
      [m, at[2], size],
    ]);
  }

  /**
   * Byte address of σ(−|x|) for the gradient kernels: `m` read in place (or copied in) when given, else
   * computed here into a scratch block (with silu(x), which is not needed, into another).
   */
  private saved(x: number, m: Float32Array | undefined, size: number, padded: number): number {
    if (m) return this.input(m, size, padded * 4);
    const scratch = [this.arena.block(padded * 4), this.arena.block(padded * 4)];
    for (const at of scratch) if (at >= 0) this.blocks.push(at, padded * 4);
    if (x < 0 || scratch.some((a) => a < 0)) return -1;
    this.map(THREADED_MAPS.indexOf('siluSaved'), this.siluFns.siluSaved, [x, ...scratch], padded);
    return scratch[1];
  }

  /** `out[i] = g[i] · silu'(x[i])` for `i < size`, from `m` of {@link siluSaved} (computed here when not given). */
  siluGrad(x: Float32Array, g: Float32Array, out: Float32Array, size: number, m?: Float32Array): boolean {
    const padded = (size + 3) & ~3;
    const sx = this.input(x, size, padded * 4);
    const at = [sx, this.saved(sx, m, size, padded), this.input(g, size, padded * 4), this.output(out, padded)];
    if (at.every((a) => a >= 0)) this.map(THREADED_MAPS.indexOf('siluGrad'), this.siluFns.siluGrad, at, padded);
    return this.done(at, [[out, at[3], size]]);
  }

  /**
   * `dx[i] = h[i] · g[i] · silu''(x[i])` and `dg[i] = h[i] · silu'(x[i])` for `i < size`, from `m` of
   * {@link siluSaved} (computed here when not given).
   */
  siluGradBackward(
    x: Float32Array,
    g: Float32Array,
    h: Float32Array,
    dx: Float32Array,
    dg: Float32Array,
    size: number,
    m?: Float32Array,
  ): boolean {
    const padded = (size + 3) & ~3;
    const reach = padded * 4;
    const sx = this.input(x, size, reach);
    const at = [sx, this.saved(sx, m, size, padded), this.input(g, size, reach), this.input(h, size, reach)];
    at.push(this.output(dx, padded), this.output(dg, padded));
    if (at.every((a) => a >= 0))
      this.map(THREADED_MAPS.indexOf('siluGradBackward'), this.siluFns.siluGradBackward, at, padded);
    return this.done(at, [
      [dx, at[4], size],
      [dg, at[5], size],
    ]);
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
  ): boolean {
    const size = rows * cols;
    const sa = this.input(a, aLength);
    const sb = this.input(b, bLength);
    const o = this.output(out, size);
    if (sa >= 0 && sb >= 0 && o >= 0) this.arithFns[op](sa, aRow * 4, aCol, sb, bRow * 4, bCol, o, rows, cols);
    return this.done([sa, sb, o], [[out, o, size]]);
  }

  /**
   * Reduces the middle axis of `x` viewed as `[outer, reduced, inner]` into `out` (`[outer, inner]`): sums
   * accumulate in float64 and round once; max and min give NaN where a NaN is reduced.
   */
  reduce(op: WasmReduce, x: Float32Array, out: Float32Array, outer: number, reduced: number, inner: number): boolean {
    const outSize = outer * inner;
    const src = this.input(x, outer * reduced * inner);
    const dst = this.output(out, outSize);
    const accBytes = inner === 1 || op !== 'sum' ? 0 : 8 * inner; // a float64 per column
    const acc = accBytes > 0 ? this.arena.block(accBytes) : 0;
    if (accBytes > 0 && acc >= 0) this.blocks.push(acc, accBytes);
    if (src >= 0 && dst >= 0 && acc >= 0) {
      if (inner === 1) this.rowsFns[op](src, dst, outer, reduced);
      else if (op === 'sum') this.sumColumnsFn(src, dst, acc, outer, reduced, inner);
      else this.extremumColumnsFns[op](src, dst, outer, reduced, inner);
    }
    return this.done([src, dst, acc], [[out, dst, outSize]]);
  }
}

/** The element-wise module (importing a shared memory or not) and the maps units call. @internal */
export function elementwiseThreadedModule(shared: boolean): ThreadedModule {
  return { module: new WebAssembly.Module(elementwiseModuleBytes(shared)), names: THREADED_MAPS };
}

let available: boolean | null = null;

/** True when this engine runs the element-wise module. @internal */
export function wasmElementwiseAvailable(): boolean {
  if (available === null) available = validates(elementwiseModuleBytes());
  return available;
}

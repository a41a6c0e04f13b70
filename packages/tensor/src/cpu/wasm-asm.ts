/**
 * A tiny WebAssembly assembler: enough of the binary format to emit the CPU backend's kernels at run
 * time (one imported memory, functions of i32 parameters, i32/f32/v128 locals, structured control
 * flow, loads/stores and the SIMD arithmetic the kernels use). No external toolchain is involved.
 * @internal
 */

/** Value types. */
export const I32 = 0x7f;
export const F32 = 0x7d;
export const V128 = 0x7b;
export type ValType = typeof I32 | typeof F32 | typeof V128;

function uleb(out: number[], v: number): void {
  do {
    let byte = v & 0x7f;
    v >>>= 7;
    if (v !== 0) byte |= 0x80;
    out.push(byte);
  } while (v !== 0);
}

function sleb(out: number[], v: number): void {
  for (;;) {
    const byte = v & 0x7f;
    v >>= 7;
    if ((v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return;
    }
    out.push(byte | 0x80);
  }
}

/** Emits the instructions of one function body. Locals are declared with {@link Code.local}. */
export class Code {
  readonly bytes: number[] = [];
  private readonly localTypes: ValType[] = [];
  constructor(readonly params: number) {}

  /** A new local of type `t`; returns its index. */
  local(t: ValType): number {
    this.localTypes.push(t);
    return this.params + this.localTypes.length - 1;
  }

  private op(...b: number[]): this {
    for (const x of b) this.bytes.push(x);
    return this;
  }
  private simd(code: number): this {
    this.bytes.push(0xfd);
    uleb(this.bytes, code);
    return this;
  }
  private mem(align: number, offset: number): this {
    uleb(this.bytes, align);
    uleb(this.bytes, offset);
    return this;
  }

  get(i: number): this {
    return this.op(0x20, i);
  }
  set(i: number): this {
    return this.op(0x21, i);
  }
  tee(i: number): this {
    return this.op(0x22, i);
  }
  i32(v: number): this {
    this.bytes.push(0x41);
    sleb(this.bytes, v | 0);
    return this;
  }
  add(): this {
    return this.op(0x6a);
  }
  sub(): this {
    return this.op(0x6b);
  }
  mul(): this {
    return this.op(0x6c);
  }
  ltU(): this {
    return this.op(0x49);
  }
  eqz(): this {
    return this.op(0x45);
  }
  /** `local[i] += delta` for an i32 local. */
  inc(i: number, delta: number): this {
    return this.get(i).i32(delta).add().set(i);
  }
  /** `local[i] += local[j]` for i32 locals. */
  incBy(i: number, j: number): this {
    return this.get(i).get(j).add().set(i);
  }
  block(): this {
    return this.op(0x02, 0x40);
  }
  loop(): this {
    return this.op(0x03, 0x40);
  }
  if_(): this {
    return this.op(0x04, 0x40);
  }
  else_(): this {
    return this.op(0x05);
  }
  end(): this {
    return this.op(0x0b);
  }
  br(depth: number): this {
    return this.op(0x0c, depth);
  }
  brIf(depth: number): this {
    return this.op(0x0d, depth);
  }
  f32Load(offset = 0): this {
    return this.op(0x2a).mem(2, offset);
  }
  f32Store(offset = 0): this {
    return this.op(0x38).mem(2, offset);
  }
  f32Add(): this {
    return this.op(0x92);
  }
  f32Mul(): this {
    return this.op(0x94);
  }
  f32ConvertI32(): this {
    return this.op(0xb2);
  }

  v128Load(offset = 0): this {
    return this.simd(0x00).mem(4, offset);
  }
  v128Store(offset = 0): this {
    return this.simd(0x0b).mem(4, offset);
  }
  /** Loads one f32 and splats it to all four lanes. */
  loadSplat(offset = 0): this {
    return this.simd(0x09).mem(2, offset);
  }
  v128Zero(): this {
    this.simd(0x0c);
    for (let i = 0; i < 16; i++) this.bytes.push(0);
    return this;
  }
  f32x4Splat(): this {
    return this.simd(0x13);
  }
  f32x4Add(): this {
    return this.simd(0xe4);
  }
  f32x4Sub(): this {
    return this.simd(0xe5);
  }
  f32x4Mul(): this {
    return this.simd(0xe6);
  }
  f32x4Div(): this {
    return this.simd(0xe7);
  }
  /** Pseudo-minimum `b < a ? b : a` (one instruction on x86; keeps a NaN in `a`). */
  f32x4Pmin(): this {
    return this.simd(0xea);
  }
  /** Pseudo-maximum `a < b ? b : a` (one instruction on x86; keeps a NaN in `a`). */
  f32x4Pmax(): this {
    return this.simd(0xeb);
  }
  f32x4Neg(): this {
    return this.simd(0xe1);
  }
  f32x4Gt(): this {
    return this.simd(0x44);
  }
  f32x4Lt(): this {
    return this.simd(0x43);
  }
  i32x4Add(): this {
    return this.simd(0xae);
  }
  i32x4Shl(): this {
    return this.simd(0xab);
  }
  v128Bitselect(): this {
    return this.simd(0x52);
  }
  v128Or(): this {
    return this.simd(0x50);
  }
  /** Arithmetic shift right of each i32 lane (by 31: all ones where the sign bit is set, else zeros). */
  i32x4ShrS(): this {
    return this.simd(0xac);
  }
  /** A v128 constant holding `value` in its four f32 lanes. */
  f32x4Const(value: number): this {
    this.simd(0x0c);
    const bytes = new Uint8Array(new Float32Array([value, value, value, value]).buffer);
    for (const b of bytes) this.bytes.push(b);
    return this;
  }
  /** A v128 constant holding `value` in its four i32 lanes. */
  i32x4Const(value: number): this {
    this.simd(0x0c);
    const bytes = new Uint8Array(new Int32Array([value, value, value, value]).buffer);
    for (const b of bytes) this.bytes.push(b);
    return this;
  }
  f32x4ExtractLane(lane: number): this {
    return this.simd(0x1f).op(lane);
  }
  /** `a * b + c` fused where the hardware has FMA (relaxed SIMD). */
  f32x4RelaxedMadd(): this {
    return this.simd(0x105);
  }
  i32And(): this {
    return this.op(0x71);
  }
  f32Min(): this {
    return this.op(0x96);
  }
  f32Max(): this {
    return this.op(0x97);
  }
  f64Load(offset = 0): this {
    return this.op(0x2b).mem(3, offset);
  }
  f64Store(offset = 0): this {
    return this.op(0x39).mem(3, offset);
  }
  f64Add(): this {
    return this.op(0xa0);
  }
  /** A scalar f64 constant. */
  f64Const(value: number): this {
    this.bytes.push(0x44);
    for (const b of new Uint8Array(new Float64Array([value]).buffer)) this.bytes.push(b);
    return this;
  }
  f64PromoteF32(): this {
    return this.op(0xbb);
  }
  f32DemoteF64(): this {
    return this.op(0xb6);
  }
  /** Loads two f32 (8 bytes) into the low half of a v128, zeroing the high half. */
  v128Load64Zero(offset = 0): this {
    return this.simd(0x5d).mem(3, offset);
  }
  /** Loads one f32 (4 bytes) into lane 0 of a v128, zeroing the other lanes. */
  v128Load32Zero(offset = 0): this {
    return this.simd(0x5c).mem(2, offset);
  }
  /** The two low f32 lanes widened to an f64x2. */
  f64x2PromoteLowF32x4(): this {
    return this.simd(0x5f);
  }
  f64x2Add(): this {
    return this.simd(0xf0);
  }
  f64x2ExtractLane(lane: number): this {
    return this.simd(0x21).op(lane);
  }
  /** Lane-wise minimum; NaN when either lane is NaN. */
  f32x4Min(): this {
    return this.simd(0xe8);
  }
  f32x4Abs(): this {
    return this.simd(0xe0);
  }
  /** Lane-wise square root, correctly rounded. */
  f32x4Sqrt(): this {
    return this.simd(0xe3);
  }
  /** Lane-wise maximum; NaN when either lane is NaN. */
  f32x4Max(): this {
    return this.simd(0xe9);
  }

  /** The body as the binary format wants it: size, locals, code, `end`. */
  encode(): number[] {
    const body: number[] = [];
    // run-length encode the locals
    const groups: [number, ValType][] = [];
    for (const t of this.localTypes) {
      const last = groups[groups.length - 1];
      if (last && last[1] === t) last[0]++;
      else groups.push([1, t]);
    }
    uleb(body, groups.length);
    for (const [n, t] of groups) {
      uleb(body, n);
      body.push(t);
    }
    body.push(...this.bytes, 0x0b);
    const out: number[] = [];
    uleb(out, body.length);
    return out.concat(body);
  }
}

/** One exported function of `params` i32 parameters and no result. */
export interface FunctionDef {
  name: string;
  code: Code;
}

function section(out: number[], id: number, content: number[]): void {
  out.push(id);
  uleb(out, content.length);
  for (const b of content) out.push(b);
}

function name(out: number[], s: string): void {
  uleb(out, s.length);
  for (let i = 0; i < s.length; i++) out.push(s.charCodeAt(i));
}

/** Largest memory of a shared-memory module, in 64 KiB pages (4 GiB, the 32-bit address space). */
export const SHARED_MAX_PAGES = 65536;

/**
 * A module importing `env.mem` (a memory of at least one page; a shared memory of at most
 * {@link SHARED_MAX_PAGES} pages when `shared`) and exporting `fns`, each taking its parameters as
 * i32 and returning nothing.
 */
export function assemble(fns: readonly FunctionDef[], shared = false): Uint8Array<ArrayBuffer> {
  const out = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
  // types: one per distinct parameter count
  const arities = [...new Set(fns.map((f) => f.code.params))];
  const types: number[] = [];
  uleb(types, arities.length);
  for (const n of arities) {
    types.push(0x60);
    uleb(types, n);
    for (let i = 0; i < n; i++) types.push(I32);
    types.push(0);
  }
  section(out, 1, types);
  const imports: number[] = [1];
  name(imports, 'env');
  name(imports, 'mem');
  if (shared) {
    imports.push(0x02, 0x03, 0x01); // memory, limits: shared, min 1, max
    uleb(imports, SHARED_MAX_PAGES);
  } else imports.push(0x02, 0x00, 0x01); // memory, limits: min 1, no max
  section(out, 2, imports);
  const funcs: number[] = [];
  uleb(funcs, fns.length);
  for (const f of fns) uleb(funcs, arities.indexOf(f.code.params));
  section(out, 3, funcs);
  const exports: number[] = [];
  uleb(exports, fns.length);
  fns.forEach((f, i) => {
    name(exports, f.name);
    exports.push(0x00);
    uleb(exports, i);
  });
  section(out, 7, exports);
  const code: number[] = [];
  uleb(code, fns.length);
  for (const f of fns) code.push(...f.code.encode());
  section(out, 10, code);
  return new Uint8Array(out);
}

/** True when this engine validates a module using `bytes`' features. */
export function validates(bytes: Uint8Array): boolean {
  try {
    return typeof WebAssembly === 'object' && WebAssembly.validate(bytes as BufferSource);
  } catch {
    return false;
  }
}

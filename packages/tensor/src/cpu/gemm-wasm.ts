import { assemble, Code, I32, V128, validates } from './wasm-asm.js';

/** Rows of a register tile. */
export const MR = 4;
/** Columns of a register tile (two f32x4 vectors). */
export const NR = 8;
const NV = NR / 4;
/** Depth of one packed block of B (keeps a B micro-panel of KC·NR floats in L1). */
const KC = 256;
/** Rows of A per kernel call (keeps the A block in L2). */
const MC = 128;
/** Steps of the depth loop unrolled in the kernel. */
const UNROLL = 4;

/**
 * Emits the micro-kernel driver: for every panel `jp < nPanels` of packed B and every tile of MR rows
 * (`mTiles` of them), `C[tile] (+)= A[tile, 0:kc] · Bpanel[0:kc]`, accumulating into C when `acc`.
 * Parameters (all i32, addresses in bytes): a, aStride, b, c, ldc, mTiles, nPanels, kc, acc, ldb, panelBytes.
 * Row p of a B panel starts `ldb` after row p − 1 and panels start `panelBytes` apart: `NR·4` and
 * `kc·NR·4` for a packed block, `n·4` and `NR·4` for B read in place.
 * Non-transposed A: element (i, p) at `a + i·aStride + 4p`; transposed: at `a + p·aStride + 4i`.
 */
function kernel(transA: boolean, fma: boolean): Code {
  const f = new Code(11);
  const [a, aStride, b, c, ldc, mTiles, nPanels, kc, acc, ldb, panelBytes] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  const jp = f.local(I32);
  const bp = f.local(I32);
  const ci = f.local(I32);
  const ap = f.local(I32);
  const it = f.local(I32);
  const p = f.local(I32);
  const pb = f.local(I32);
  const tmp = f.local(I32);
  const pa: number[] = [];
  for (let r = 0; r < (transA ? 1 : MR); r++) pa.push(f.local(I32));
  const accs: number[] = [];
  for (let i = 0; i < MR * NV; i++) accs.push(f.local(V128));
  const bv: number[] = [];
  for (let v = 0; v < NV; v++) bv.push(f.local(V128));
  const av = f.local(V128);

  // one depth step u (0-based within an unrolled group): acc[r][v] += A(r, p+u) * B(p+u, v)
  const step = (u: number) => {
    for (let v = 0; v < NV; v++)
      f.get(pb)
        .v128Load(v * 16)
        .set(bv[v]);
    f.incBy(pb, ldb);
    for (let r = 0; r < MR; r++) {
      if (transA) f.get(pa[0]).loadSplat(r * 4);
      else f.get(pa[r]).loadSplat(u * 4);
      f.set(av);
      for (let v = 0; v < NV; v++) {
        const x = accs[r * NV + v];
        if (fma) f.get(av).get(bv[v]).get(x).f32x4RelaxedMadd().set(x);
        else f.get(x).get(av).get(bv[v]).f32x4Mul().f32x4Add().set(x);
      }
    }
    if (transA) f.incBy(pa[0], aStride);
  };

  f.i32(0).set(jp);
  f.get(b).set(bp);
  f.loop(); // over panels
  f.get(c)
    .get(jp)
    .i32(NR * 4)
    .mul()
    .add()
    .set(ci);
  f.get(a).set(ap);
  f.i32(0).set(it);
  f.loop(); // over row tiles
  // load or clear the accumulators
  f.get(acc).if_();
  f.get(ci).set(tmp);
  for (let r = 0; r < MR; r++) {
    for (let v = 0; v < NV; v++)
      f.get(tmp)
        .v128Load(v * 16)
        .set(accs[r * NV + v]);
    if (r < MR - 1) f.incBy(tmp, ldc);
  }
  f.else_();
  for (const x of accs) f.v128Zero().set(x);
  f.end();
  // row pointers of A
  if (transA) f.get(ap).set(pa[0]);
  else {
    f.get(ap).set(pa[0]);
    for (let r = 1; r < MR; r++)
      f.get(pa[r - 1])
        .get(aStride)
        .add()
        .set(pa[r]);
  }
  f.get(bp).set(pb);
  f.get(kc).set(p);
  // unrolled depth loop
  f.block().loop();
  f.get(p).i32(UNROLL).ltU().brIf(1);
  for (let u = 0; u < UNROLL; u++) step(u);
  if (!transA) for (let r = 0; r < MR; r++) f.inc(pa[r], UNROLL * 4);
  f.inc(p, -UNROLL);
  f.br(0);
  f.end().end();
  // remainder
  f.block().loop();
  f.get(p).eqz().brIf(1);
  step(0);
  if (!transA) for (let r = 0; r < MR; r++) f.inc(pa[r], 4);
  f.inc(p, -1);
  f.br(0);
  f.end().end();
  // store the tile
  f.get(ci).set(tmp);
  for (let r = 0; r < MR; r++) {
    for (let v = 0; v < NV; v++)
      f.get(tmp)
        .get(accs[r * NV + v])
        .v128Store(v * 16);
    if (r < MR - 1) f.incBy(tmp, ldc);
  }
  // next row tile
  if (transA) f.inc(ap, MR * 4);
  else f.get(ap).get(aStride).i32(MR).mul().add().set(ap);
  f.get(ci).get(ldc).i32(MR).mul().add().set(ci);
  f.inc(it, 1);
  f.get(it).get(mTiles).ltU().brIf(0);
  f.end();
  f.incBy(bp, panelBytes);
  f.inc(jp, 1);
  f.get(jp).get(nPanels).ltU().brIf(0);
  f.end();
  return f;
}

type KernelFn = (
  a: number,
  aStride: number,
  b: number,
  c: number,
  ldc: number,
  mTiles: number,
  nPanels: number,
  kc: number,
  acc: number,
  ldb: number,
  panelBytes: number,
) => void;

/** Bytes of the gemm module, with or without relaxed-SIMD FMA. @internal */
export function gemmModuleBytes(fma: boolean): Uint8Array<ArrayBuffer> {
  return assemble([
    { name: 'gemmN', code: kernel(false, fma) },
    { name: 'gemmT', code: kernel(true, fma) },
  ]);
}

const roundUp = (x: number, m: number) => Math.ceil(x / m) * m;

/**
 * Matrix products on a WebAssembly SIMD micro-kernel (register tiles of MR×NR, B packed in panels
 * of NR columns, cache blocking over the depth and the rows). Operands are copied into the module's
 * memory; the packing of B absorbs `transB`, and the kernel reads a transposed A in place.
 * @internal
 */
export class WasmGemm {
  private readonly memory = new WebAssembly.Memory({ initial: 16 });
  private f32 = new Float32Array(this.memory.buffer);
  private readonly gemmN: KernelFn;
  private readonly gemmT: KernelFn;

  constructor(readonly fma: boolean) {
    const instance = new WebAssembly.Instance(new WebAssembly.Module(gemmModuleBytes(fma)), {
      env: { mem: this.memory },
    });
    this.gemmN = instance.exports.gemmN as KernelFn;
    this.gemmT = instance.exports.gemmT as KernelFn;
  }

  private reserve(bytes: number): Float32Array {
    const have = this.memory.buffer.byteLength;
    if (have < bytes) this.memory.grow(Math.ceil((bytes - have) / 65536));
    if (this.f32.buffer !== this.memory.buffer) this.f32 = new Float32Array(this.memory.buffer);
    return this.f32;
  }

  /**
   * `out[oOff..] = op(A) · op(B)` for one `[m, k] · [k, n]` product; `A` starts at `aOff` (stored
   * `[k, m]` when `transA`), `B` at `bOff` (stored `[n, k]` when `transB`).
   */
  matmul(
    A: Float32Array,
    aOff: number,
    B: Float32Array,
    bOff: number,
    out: Float32Array,
    oOff: number,
    m: number,
    k: number,
    n: number,
    transA: boolean,
    transB: boolean,
  ): void {
    const mPad = roundUp(m, MR);
    const nPad = roundUp(n, NR);
    const kcMax = Math.min(k, KC);
    // B whose rows are whole panels is read in place (one copy, no packing); otherwise packed per depth block
    const inPlace = !transB && n === nPad;
    // layout (floats): A (padded so tiles past the last row stay in bounds) | B or its packed block | C
    const aLen = transA ? k * m + MR : mPad * k;
    const aPtr = 0;
    const bPtr = roundUp(aLen, 4);
    const cPtr = bPtr + (inPlace ? k * n : kcMax * nPad);
    const mem = this.reserve((cPtr + mPad * nPad) * 4);
    mem.set(A.subarray(aOff, aOff + m * k), aPtr);
    if (inPlace) mem.set(B.subarray(bOff, bOff + k * n), bPtr);
    const nPanels = nPad / NR;
    for (let p0 = 0; p0 < k; p0 += KC) {
      const kc = Math.min(KC, k - p0);
      if (!inPlace) packB(B, bOff, mem, bPtr, p0, kc, k, n, nPanels, transB);
      const b = (inPlace ? bPtr + p0 * n : bPtr) * 4;
      const ldb = inPlace ? n * 4 : NR * 4;
      const panelBytes = inPlace ? NR * 4 : kc * NR * 4;
      for (let i0 = 0; i0 < mPad; i0 += MC) {
        const rows = Math.min(MC, mPad - i0);
        const c = (cPtr + i0 * nPad) * 4;
        const acc = p0 > 0 ? 1 : 0;
        if (transA)
          this.gemmT((aPtr + p0 * m + i0) * 4, m * 4, b, c, nPad * 4, rows / MR, nPanels, kc, acc, ldb, panelBytes);
        else this.gemmN((aPtr + i0 * k + p0) * 4, k * 4, b, c, nPad * 4, rows / MR, nPanels, kc, acc, ldb, panelBytes);
      }
    }
    if (nPad === n) out.set(mem.subarray(cPtr, cPtr + m * n), oOff);
    else if (n >= NR) {
      for (let i = 0; i < m; i++) out.set(mem.subarray(cPtr + i * nPad, cPtr + i * nPad + n), oOff + i * n);
    } else {
      // narrow rows (an energy head, a 2-D input gradient): element copies beat a subarray per row
      for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) out[oOff + i * n + j] = mem[cPtr + i * nPad + j];
    }
  }
}

/** Packs rows `p0 .. p0+kc` of B into panels `[nPanels][kc][NR]`, zero past column n. */
function packB(
  B: Float32Array,
  bOff: number,
  mem: Float32Array,
  dst: number,
  p0: number,
  kc: number,
  k: number,
  n: number,
  nPanels: number,
  transB: boolean,
): void {
  for (let jp = 0; jp < nPanels; jp++) {
    const j0 = jp * NR;
    const w = Math.min(NR, n - j0);
    let d = dst + jp * kc * NR;
    if (!transB) {
      for (let p = 0; p < kc; p++, d += NR) {
        const s = bOff + (p0 + p) * n + j0;
        for (let q = 0; q < w; q++) mem[d + q] = B[s + q];
        for (let q = w; q < NR; q++) mem[d + q] = 0;
      }
    } else {
      for (let q = 0; q < w; q++) {
        const s = bOff + (j0 + q) * k + p0;
        for (let p = 0; p < kc; p++) mem[d + p * NR + q] = B[s + p];
      }
      for (let q = w; q < NR; q++) for (let p = 0; p < kc; p++) mem[d + p * NR + q] = 0;
    }
  }
}

let probed: { simd: boolean; fma: boolean } | null = null;

/** Which WebAssembly features this engine has for the gemm kernels. @internal */
export function wasmFeatures(): { simd: boolean; fma: boolean } {
  if (!probed) probed = { simd: validates(gemmModuleBytes(false)), fma: validates(gemmModuleBytes(true)) };
  return probed;
}

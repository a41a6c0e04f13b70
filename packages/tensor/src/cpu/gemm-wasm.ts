import { gemmModuleBytes, type KernelFn, MR, NR } from './gemm-kernel.js';
import { validates } from './wasm-asm.js';

/** Depth of one packed block of B (keeps a B micro-panel of KC·NR floats in L1). */
const KC = 256;
/** Rows of A per kernel call (keeps the A block in L2). */
const MC = 128;
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

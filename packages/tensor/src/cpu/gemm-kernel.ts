import { assemble, Code, F32, I32, V128 } from './wasm-asm.js';

/** Rows of a register tile. */
export const MR = 4;
/** Columns of a register tile (two f32x4 vectors). */
export const NR = 8;
const NV = NR / 4;

/**
 * Emits the micro-kernel: for every panel `jp < nPanels` of B and every tile `it < mTiles` of MR rows of A,
 * `C[tile, panel] (+)= Atile[0:kc] · Bpanel[0:kc]`, accumulating into C when `acc`.
 * Parameters (all i32, addresses in bytes): a, b, c, ldc, mTiles, nPanels, kc, acc, aStep, aTile.
 * Element (r, p) of A tile t is at `a + t·aTile + p·aStep + 4r` (the MR values of a step contiguous: A
 * packed in tiles, `aStep` = 4·MR and `aTile` = 4·kc·MR, or a transposed A read in place) or, with
 * `rowPointers`, at `a + t·aTile + r·aStep + 4p` (a row-major A read in place, `aStep` its row).
 * B is packed in panels of `kc·NR` floats, one after the other (element (p, j) at `4(p·NR + j)`).
 * C is row-major with rows `ldc` bytes apart; tile (it, jp) is at `c + it·MR·ldc + 4jp·NR`.
 *
 * The depth loop is deliberately not unrolled: TurboFan schedules all the loads of an unrolled body
 * first, and the values they hold spill the accumulators out of the 16 xmm registers (measured: a
 * 4-fold unroll runs at half the speed). Wider tiles (5×8, 6×8) spill for the same reason.
 */
function kernel(fma: boolean, rowPointers: boolean): Code {
  const f = new Code(10);
  const [a, b, c, ldc, mTiles, nPanels, kc, acc, aStep, aTile] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
  const jp = f.local(I32);
  const bp = f.local(I32);
  const cp = f.local(I32);
  const ci = f.local(I32);
  const at = f.local(I32);
  const it = f.local(I32);
  const p = f.local(I32);
  const pb = f.local(I32);
  const tmp = f.local(I32);
  const tileRowsBytes = f.local(I32);
  const panelBytes = f.local(I32);
  // pointers into the A tile: one for all rows, or one per row
  const pa: number[] = [];
  for (let r = 0; r < (rowPointers ? MR : 1); r++) pa.push(f.local(I32));
  const accs: number[] = [];
  for (let i = 0; i < MR * NV; i++) accs.push(f.local(V128));
  const bv: number[] = [];
  for (let v = 0; v < NV; v++) bv.push(f.local(V128));
  const av = f.local(V128);

  f.get(ldc).i32(MR).mul().set(tileRowsBytes);
  f.get(kc)
    .i32(NR * 4)
    .mul()
    .set(panelBytes);
  f.get(nPanels).set(jp);
  f.get(b).set(bp);
  f.get(c).set(cp);
  f.loop(); // over panels
  f.get(cp).set(ci);
  f.get(a).set(at);
  f.get(mTiles).set(it);
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
  f.get(at).set(pa[0]);
  for (let r = 1; r < pa.length; r++)
    f.get(pa[r - 1])
      .get(aStep)
      .add()
      .set(pa[r]);
  f.get(bp).set(pb);
  f.get(kc).set(p);
  // depth loop, one step per iteration: acc[r][v] += A(r, p) · B(p, v)
  f.loop();
  for (let v = 0; v < NV; v++)
    f.get(pb)
      .v128Load(v * 16)
      .set(bv[v]);
  for (let r = 0; r < MR; r++) {
    if (rowPointers) f.get(pa[r]).loadSplat();
    else f.get(pa[0]).loadSplat(r * 4);
    f.set(av);
    for (let v = 0; v < NV; v++) {
      const x = accs[r * NV + v];
      if (fma) f.get(av).get(bv[v]).get(x).f32x4RelaxedMadd().set(x);
      else f.get(x).get(av).get(bv[v]).f32x4Mul().f32x4Add().set(x);
    }
  }
  if (rowPointers) for (const q of pa) f.inc(q, 4);
  else f.incBy(pa[0], aStep);
  f.inc(pb, NR * 4);
  f.inc(p, -1);
  f.get(p).brIf(0);
  f.end();
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
  f.incBy(at, aTile);
  f.incBy(ci, tileRowsBytes);
  f.inc(it, -1);
  f.get(it).brIf(0);
  f.end();
  // next panel
  f.incBy(bp, panelBytes);
  f.inc(cp, NR * 4);
  f.inc(jp, -1);
  f.get(jp).brIf(0);
  f.end();
  return f;
}

/**
 * Emits a packing routine for tiles of `width` rows or columns: for `count` tiles, copies `kc` steps of
 * `width` floats, element (j, p) of tile t read at `src + t·width·js + j·js + p·ps`, to
 * `dst + 4(t·kc·width + p·width + j)`; the last tile holds only `lastWidth` valid elements per step and
 * is zero past them (nothing past them is read). Whole tiles with contiguous elements (`js` = 4) are
 * copied a vector at a time. Parameters (i32, bytes): src, dst, count, kc, ps, js, lastWidth.
 */
function packer(width: number): Code {
  const f = new Code(7);
  const [src, dst, count, kc, ps, js, lastWidth] = [0, 1, 2, 3, 4, 5, 6];
  const t = f.local(I32);
  const w = f.local(I32);
  const p = f.local(I32);
  const s = f.local(I32);
  const sj = f.local(I32);
  const d = f.local(I32);
  const tileStride = f.local(I32);
  const v = f.local(F32);
  const zero = f.local(F32);
  // a loop over the kc steps of one tile around `body`, which copies the step at `s` to `d`
  const steps = (body: () => void) => {
    f.get(src).set(s);
    f.get(kc).set(p);
    f.loop();
    body();
    f.incBy(s, ps);
    f.inc(d, width * 4);
    f.inc(p, -1);
    f.get(p).brIf(0);
    f.end();
  };
  f.get(js).i32(width).mul().set(tileStride);
  f.get(dst).set(d);
  f.get(count).set(t);
  f.loop(); // over tiles
  f.i32(width).set(w);
  f.get(t).i32(1).sub().eqz().if_();
  f.get(lastWidth).set(w);
  f.end();
  f.get(w).i32(width).sub().eqz().if_();
  // a whole tile
  f.get(js).i32(4).sub().eqz().if_();
  steps(() => {
    for (let q = 0; q < width / 4; q++)
      f.get(d)
        .get(s)
        .v128Load(q * 16)
        .v128Store(q * 16);
  });
  f.else_();
  steps(() => {
    f.get(s).set(sj);
    for (let j = 0; j < width; j++) {
      f.get(d)
        .get(sj)
        .f32Load()
        .f32Store(j * 4);
      if (j < width - 1) f.incBy(sj, js);
    }
  });
  f.end();
  f.else_();
  // the last, partial tile: zero past `w`
  steps(() => {
    f.get(s).set(sj);
    for (let j = 0; j < width; j++) {
      f.i32(j).get(w).ltU().if_();
      f.get(sj).f32Load().set(v);
      f.else_();
      f.get(zero).set(v);
      f.end();
      f.get(d)
        .get(v)
        .f32Store(j * 4);
      if (j < width - 1) f.incBy(sj, js);
    }
  });
  f.end();
  f.incBy(src, tileStride);
  f.inc(t, -1);
  f.get(t).brIf(0);
  f.end();
  return f;
}

/** Signature of the exported kernels `gemm` and `gemmRows` (see {@link gemmModuleBytes}). @internal */
export type KernelFn = (
  a: number,
  b: number,
  c: number,
  ldc: number,
  mTiles: number,
  nPanels: number,
  kc: number,
  acc: number,
  aStep: number,
  aTile: number,
) => void;

/** Signature of the exported packing routines `packA` and `packB` (see {@link gemmModuleBytes}). @internal */
export type PackFn = (
  src: number,
  dst: number,
  count: number,
  kc: number,
  ps: number,
  js: number,
  lastWidth: number,
) => void;

/**
 * Bytes of the gemm module, with or without relaxed-SIMD FMA: the micro-kernels `gemm` (A packed or
 * transposed) and `gemmRows` (a row-major A read in place), and `packA` / `packB`, which pack tiles of
 * MR rows of A and panels of NR columns of B; the module imports a shared memory when `shared` (for
 * worker threads). @internal
 */
export function gemmModuleBytes(fma: boolean, shared = false): Uint8Array<ArrayBuffer> {
  return assemble(
    [
      { name: 'gemm', code: kernel(fma, false) },
      { name: 'gemmRows', code: kernel(fma, true) },
      { name: 'packA', code: packer(MR) },
      { name: 'packB', code: packer(NR) },
    ],
    shared,
  );
}

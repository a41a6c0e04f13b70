import { assemble, Code, I32, V128 } from './wasm-asm.js';

/** Rows of a register tile. */
export const MR = 4;
/** Columns of a register tile (two f32x4 vectors). */
export const NR = 8;
const NV = NR / 4;
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

/** Signature of the exported kernels (see {@link gemmModuleBytes}). @internal */
export type KernelFn = (
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

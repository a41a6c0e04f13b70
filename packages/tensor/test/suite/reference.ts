/**
 * Float64 reference implementations in plain JavaScript, written independently of the kernels, for
 * the op suite: forward values are compared against them and finite differences are taken of them.
 * Self-contained on purpose (no imports) so the GPU backend package can reuse the suite.
 */

/** A float64 n-dimensional array, row-major. */
export interface Arr {
  shape: number[];
  data: Float64Array;
}

export function sizeOfShape(shape: readonly number[]): number {
  return shape.reduce((p, d) => p * d, 1);
}

export function arr(shape: readonly number[], values: ArrayLike<number>): Arr {
  if (values.length !== sizeOfShape(shape)) throw new Error(`reference: ${values.length} values for [${shape}]`);
  return { shape: shape.slice(), data: Float64Array.from(values) };
}

function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

function unravel(flat: number, shape: readonly number[]): number[] {
  const idx = new Array<number>(shape.length);
  for (let i = shape.length - 1; i >= 0; i--) {
    idx[i] = flat % shape[i];
    flat = Math.floor(flat / shape[i]);
  }
  return idx;
}

function ravel(idx: readonly number[], shape: readonly number[]): number {
  let flat = 0;
  for (let i = 0; i < shape.length; i++) flat = flat * shape[i] + idx[i];
  return flat;
}

/** NumPy broadcast of several shapes. */
export function broadcast(...shapes: (readonly number[])[]): number[] {
  const n = Math.max(...shapes.map((s) => s.length));
  const out = new Array<number>(n).fill(1);
  for (const s of shapes) {
    for (let i = 0; i < s.length; i++) {
      const j = n - s.length + i;
      if (s[i] !== 1) {
        if (out[j] !== 1 && out[j] !== s[i]) throw new Error(`reference: [${shapes.join('] [')}] do not broadcast`);
        out[j] = s[i];
      }
    }
  }
  return out;
}

/** Flat index into `shape` of the element read at output index `idx` under broadcasting. */
function broadcastIndex(idx: readonly number[], shape: readonly number[]): number {
  const off = idx.length - shape.length;
  let flat = 0;
  for (let i = 0; i < shape.length; i++) flat = flat * shape[i] + (shape[i] === 1 ? 0 : idx[i + off]);
  return flat;
}

export function map(xs: readonly Arr[], f: (...v: number[]) => number): Arr {
  const shape = broadcast(...xs.map((x) => x.shape));
  const n = sizeOfShape(shape);
  const data = new Float64Array(n);
  const v = new Array<number>(xs.length);
  for (let i = 0; i < n; i++) {
    const idx = unravel(i, shape);
    for (let k = 0; k < xs.length; k++) v[k] = xs[k].data[broadcastIndex(idx, xs[k].shape)];
    data[i] = f(...v);
  }
  return { shape, data };
}

/** Applies `f` to the values along `axes` (all when undefined) for every kept position. */
export function reduce(
  x: Arr,
  axes: number | number[] | undefined,
  keepDims: boolean,
  f: (v: number[]) => number,
): Arr {
  const r = x.shape.length;
  const ax =
    axes === undefined ? x.shape.map((_, i) => i) : (typeof axes === 'number' ? [axes] : axes).map((a) => (a + r) % r);
  const kept = x.shape.map((d, i) => (ax.includes(i) ? 1 : d));
  const groups: number[][] = Array.from({ length: sizeOfShape(kept) }, () => []);
  for (let i = 0; i < x.data.length; i++) {
    const idx = unravel(i, x.shape).map((v, d) => (ax.includes(d) ? 0 : v));
    groups[ravel(idx, kept)].push(x.data[i]);
  }
  const shape = keepDims ? kept : x.shape.filter((_, i) => !ax.includes(i));
  return { shape, data: Float64Array.from(groups.map(f)) };
}

export const sumOf = (v: number[]) => v.reduce((p, q) => p + q, 0);
export const maxOf = (v: number[]) => v.reduce((p, q) => (p !== p || q !== q ? Number.NaN : q > p ? q : p), -Infinity);
export const minOf = (v: number[]) => v.reduce((p, q) => (p !== p || q !== q ? Number.NaN : q < p ? q : p), Infinity);
export const logSumExpOf = (v: number[]) => {
  const m = maxOf(v);
  if (m === -Infinity || m === Infinity) return m;
  return m + Math.log(sumOf(v.map((q) => Math.exp(q - m))));
};
export const varOf = (correction: number) => (v: number[]) => {
  const mu = sumOf(v) / v.length;
  return sumOf(v.map((q) => (q - mu) ** 2)) / (v.length - correction);
};

export function transposeRef(x: Arr, perm: number[]): Arr {
  const shape = perm.map((p) => x.shape[p]);
  const data = new Float64Array(x.data.length);
  for (let i = 0; i < data.length; i++) {
    const idx = unravel(i, shape);
    const src = new Array<number>(perm.length);
    perm.forEach((p, k) => {
      src[p] = idx[k];
    });
    data[i] = x.data[ravel(src, x.shape)];
  }
  return { shape, data };
}

export function reshapeRef(x: Arr, shape: number[]): Arr {
  return { shape, data: x.data.slice() };
}

export function sliceRef(x: Arr, begin: number[], size: number[]): Arr {
  const data = new Float64Array(sizeOfShape(size));
  for (let i = 0; i < data.length; i++) {
    const idx = unravel(i, size).map((v, d) => v + begin[d]);
    data[i] = x.data[ravel(idx, x.shape)];
  }
  return { shape: size.slice(), data };
}

export function padRef(x: Arr, pads: [number, number][]): Arr {
  const shape = x.shape.map((d, i) => d + pads[i][0] + pads[i][1]);
  const data = new Float64Array(sizeOfShape(shape));
  for (let i = 0; i < x.data.length; i++) {
    const idx = unravel(i, x.shape).map((v, d) => v + pads[d][0]);
    data[ravel(idx, shape)] = x.data[i];
  }
  return { shape, data };
}

export function concatRef(xs: Arr[], axis: number): Arr {
  const shape = xs[0].shape.slice();
  shape[axis] = xs.reduce((p, x) => p + x.shape[axis], 0);
  const data = new Float64Array(sizeOfShape(shape));
  let at = 0;
  for (const x of xs) {
    for (let i = 0; i < x.data.length; i++) {
      const idx = unravel(i, x.shape);
      idx[axis] += at;
      data[ravel(idx, shape)] = x.data[i];
    }
    at += x.shape[axis];
  }
  return { shape, data };
}

/** `x.shape[:axis] + idxShape + x.shape[axis+1:]`, reading `x` at `indices` along `axis`. */
export function indexSelectRef(x: Arr, indices: number[], idxShape: number[], axis: number): Arr {
  const shape = [...x.shape.slice(0, axis), ...idxShape, ...x.shape.slice(axis + 1)];
  const data = new Float64Array(sizeOfShape(shape));
  for (let i = 0; i < data.length; i++) {
    const idx = unravel(i, shape);
    const j = ravel(idx.slice(axis, axis + idxShape.length), idxShape);
    const src = [...idx.slice(0, axis), indices[j], ...idx.slice(axis + idxShape.length)];
    data[i] = x.data[ravel(src, x.shape)];
  }
  return { shape, data };
}

export function takeAlongRef(x: Arr, indices: Arr, axis: number): Arr {
  const data = new Float64Array(indices.data.length);
  for (let i = 0; i < data.length; i++) {
    const idx = unravel(i, indices.shape);
    idx[axis] = indices.data[i];
    data[i] = x.data[ravel(idx, x.shape)];
  }
  return { shape: indices.shape.slice(), data };
}

export function cumsumRef(x: Arr, axis: number, reverse: boolean): Arr {
  const data = new Float64Array(x.data.length);
  const len = x.shape[axis];
  const stride = stridesOf(x.shape)[axis];
  for (let i = 0; i < data.length; i++) {
    const idx = unravel(i, x.shape);
    let s = 0;
    if (reverse) for (let t = idx[axis]; t < len; t++) s += x.data[i + (t - idx[axis]) * stride];
    else for (let t = 0; t <= idx[axis]; t++) s += x.data[i - (idx[axis] - t) * stride];
    data[i] = s;
  }
  return { shape: x.shape.slice(), data };
}

/** The `[m, n]` matrix `p` of a batch, read as `op(matrix)` (transposed when `trans`). */
function matrixAt(x: Arr, batchIdx: number[], trans: boolean) {
  const r = x.shape.length;
  const rows = x.shape[r - 2];
  const cols = x.shape[r - 1];
  const base = broadcastIndex(batchIdx, x.shape.slice(0, r - 2)) * rows * cols;
  return {
    rows: trans ? cols : rows,
    cols: trans ? rows : cols,
    at: (i: number, j: number) => (trans ? x.data[base + j * cols + i] : x.data[base + i * cols + j]),
  };
}

/** Batched `op(a) · op(b)` with broadcasting over leading axes (a and b of rank ≥ 2). */
export function matmulRef(a: Arr, b: Arr, transA = false, transB = false): Arr {
  const batchShape = broadcast(a.shape.slice(0, -2), b.shape.slice(0, -2));
  const batch = sizeOfShape(batchShape);
  const probe = matrixAt(a, new Array(batchShape.length).fill(0), transA);
  const probeB = matrixAt(b, new Array(batchShape.length).fill(0), transB);
  const m = probe.rows;
  const k = probe.cols;
  const n = probeB.cols;
  const data = new Float64Array(batch * m * n);
  for (let p = 0; p < batch; p++) {
    const bi = unravel(p, batchShape);
    const A = matrixAt(a, bi, transA);
    const B = matrixAt(b, bi, transB);
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let q = 0; q < k; q++) s += A.at(i, q) * B.at(q, j);
        data[(p * m + i) * n + j] = s;
      }
    }
  }
  return { shape: [...batchShape, m, n], data };
}

/** Lower Cholesky factors of a batch of SPD matrices (reads the lower triangle), by the textbook recurrence. */
export function choleskyRef(a: Arr): Arr {
  const n = a.shape[a.shape.length - 1];
  const data = new Float64Array(a.data.length);
  for (let base = 0; base < a.data.length; base += n * n) {
    for (let i = 0; i < n; i++) {
      for (let j = 0; j <= i; j++) {
        let s = a.data[base + i * n + j];
        for (let q = 0; q < j; q++) s -= data[base + i * n + q] * data[base + j * n + q];
        data[base + i * n + j] = i === j ? Math.sqrt(s) : s / data[base + j * n + j];
      }
    }
  }
  return { shape: a.shape.slice(), data };
}

/** Solves `op(L) X = B` (reading only L's triangle), batched with broadcasting of L over B's batch. */
export function triangularSolveRef(l: Arr, b: Arr, lower: boolean, transpose: boolean): Arr {
  const n = l.shape[l.shape.length - 1];
  const m = b.shape[b.shape.length - 1];
  const batchShape = broadcast(l.shape.slice(0, -2), b.shape.slice(0, -2));
  const batch = sizeOfShape(batchShape);
  const data = new Float64Array(batch * n * m);
  for (let p = 0; p < batch; p++) {
    const bi = unravel(p, batchShape);
    const lb = broadcastIndex(bi, l.shape.slice(0, -2)) * n * n;
    const bb = broadcastIndex(bi, b.shape.slice(0, -2)) * n * m;
    // the triangular matrix actually used: entries outside L's triangle are zero
    const op = (i: number, j: number) => {
      const [r, c] = transpose ? [j, i] : [i, j];
      const inside = lower ? c <= r : c >= r;
      return inside ? l.data[lb + r * n + c] : 0;
    };
    // Gaussian elimination with the full (zero-filled) matrix, independent of the triangle's orientation.
    const M = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => op(i, j)));
    const R = Array.from({ length: n }, (_, i) => Array.from({ length: m }, (_, c) => b.data[bb + i * m + c]));
    for (let col = 0; col < n; col++) {
      let piv = col;
      for (let i = col + 1; i < n; i++) if (Math.abs(M[i][col]) > Math.abs(M[piv][col])) piv = i;
      [M[col], M[piv]] = [M[piv], M[col]];
      [R[col], R[piv]] = [R[piv], R[col]];
      for (let i = 0; i < n; i++) {
        if (i === col) continue;
        const f = M[i][col] / M[col][col];
        for (let j = 0; j < n; j++) M[i][j] -= f * M[col][j];
        for (let c = 0; c < m; c++) R[i][c] -= f * R[col][c];
      }
    }
    for (let i = 0; i < n; i++) for (let c = 0; c < m; c++) data[(p * n + i) * m + c] = R[i][c] / M[i][i];
  }
  return { shape: [...batchShape, n, m], data };
}

/** erf by composite Simpson integration of `2/√π e^{−t²}` (2000 panels; |error| < 1e-12 on |x| ≤ 6). */
export function erfRef(x: number): number {
  if (x !== x) return Number.NaN;
  if (Math.abs(x) > 6) return Math.sign(x);
  const n = 2000;
  const h = x / n;
  let s = 1 + Math.exp(-x * x);
  for (let i = 1; i < n; i++) s += (i % 2 === 1 ? 4 : 2) * Math.exp(-((i * h) ** 2));
  return ((s * h) / 3) * (2 / Math.sqrt(Math.PI));
}

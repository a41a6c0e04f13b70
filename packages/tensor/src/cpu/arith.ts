/**
 * Monomorphic JavaScript loops for the four arithmetic operators over a coalesced iteration space of
 * at most two dimensions `[rows, cols]`: the cases that dominate training steps (same shapes, a bias
 * row added to every row, a column scaling every row, a scalar). Each operator has its own function so
 * the engine compiles every loop for one operator only; the general strided walk in cpu.ts handles the rest.
 *
 * Arguments: output `o` (contiguous `rows × cols`), operands `a`, `b` with their row strides (`ar`,
 * `br`) and column strides (`ac`, `bc`, each 0 or 1).
 * @internal
 */
export type ArithKernel = (
  o: Float32Array,
  a: Float32Array,
  ar: number,
  ac: number,
  b: Float32Array,
  br: number,
  bc: number,
  rows: number,
  cols: number,
) => void;

function add(
  o: Float32Array,
  a: Float32Array,
  ar: number,
  ac: number,
  b: Float32Array,
  br: number,
  bc: number,
  rows: number,
  cols: number,
): void {
  let oi = 0;
  for (let r = 0, ai = 0, bi = 0; r < rows; r++, ai += ar, bi += br) {
    if (ac === 1 && bc === 1) for (let c = 0; c < cols; c++) o[oi++] = a[ai + c] + b[bi + c];
    else if (ac === 1) {
      const v = b[bi];
      for (let c = 0; c < cols; c++) o[oi++] = a[ai + c] + v;
    } else if (bc === 1) {
      const v = a[ai];
      for (let c = 0; c < cols; c++) o[oi++] = v + b[bi + c];
    } else {
      const v = a[ai] + b[bi];
      for (let c = 0; c < cols; c++) o[oi++] = v;
    }
  }
}

function sub(
  o: Float32Array,
  a: Float32Array,
  ar: number,
  ac: number,
  b: Float32Array,
  br: number,
  bc: number,
  rows: number,
  cols: number,
): void {
  let oi = 0;
  for (let r = 0, ai = 0, bi = 0; r < rows; r++, ai += ar, bi += br) {
    if (ac === 1 && bc === 1) for (let c = 0; c < cols; c++) o[oi++] = a[ai + c] - b[bi + c];
    else if (ac === 1) {
      const v = b[bi];
      for (let c = 0; c < cols; c++) o[oi++] = a[ai + c] - v;
    } else if (bc === 1) {
      const v = a[ai];
      for (let c = 0; c < cols; c++) o[oi++] = v - b[bi + c];
    } else {
      const v = a[ai] - b[bi];
      for (let c = 0; c < cols; c++) o[oi++] = v;
    }
  }
}

function mul(
  o: Float32Array,
  a: Float32Array,
  ar: number,
  ac: number,
  b: Float32Array,
  br: number,
  bc: number,
  rows: number,
  cols: number,
): void {
  let oi = 0;
  for (let r = 0, ai = 0, bi = 0; r < rows; r++, ai += ar, bi += br) {
    if (ac === 1 && bc === 1) for (let c = 0; c < cols; c++) o[oi++] = a[ai + c] * b[bi + c];
    else if (ac === 1) {
      const v = b[bi];
      for (let c = 0; c < cols; c++) o[oi++] = a[ai + c] * v;
    } else if (bc === 1) {
      const v = a[ai];
      for (let c = 0; c < cols; c++) o[oi++] = v * b[bi + c];
    } else {
      const v = a[ai] * b[bi];
      for (let c = 0; c < cols; c++) o[oi++] = v;
    }
  }
}

function div(
  o: Float32Array,
  a: Float32Array,
  ar: number,
  ac: number,
  b: Float32Array,
  br: number,
  bc: number,
  rows: number,
  cols: number,
): void {
  let oi = 0;
  for (let r = 0, ai = 0, bi = 0; r < rows; r++, ai += ar, bi += br) {
    if (ac === 1 && bc === 1) for (let c = 0; c < cols; c++) o[oi++] = a[ai + c] / b[bi + c];
    else if (ac === 1) {
      const v = b[bi];
      for (let c = 0; c < cols; c++) o[oi++] = a[ai + c] / v;
    } else if (bc === 1) {
      const v = a[ai];
      for (let c = 0; c < cols; c++) o[oi++] = v / b[bi + c];
    } else {
      const v = a[ai] / b[bi];
      for (let c = 0; c < cols; c++) o[oi++] = v;
    }
  }
}

/** The arithmetic kernels by operator name. @internal */
export const arithKernels: Readonly<Record<'add' | 'sub' | 'mul' | 'div', ArithKernel>> = { add, sub, mul, div };

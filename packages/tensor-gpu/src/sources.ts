/**
 * Sources of the gpu.js kernels, as JavaScript function text that gpu.js translates to GLSL (or
 * WebAssembly, JavaScript). Every kernel writes a flat 1-D output; sizes, strides and loop bounds
 * are kernel arguments (`params`), so one compiled kernel serves an op at every shape of a given
 * rank: compiling a shader costs far more than running it (~0.3 s each on Mesa's llvmpipe).
 *
 * Index arithmetic is in float32: `Math.floor((r + 0.5) / s)` is exact for indices below 2²⁴ even
 * where the GPU's division is not correctly rounded. NaN and ∞ come in as the `nan` and `inf`
 * arguments, because GLSL has no literal for them.
 */
import type { BinaryOp, ReduceOp, UnaryOp } from '@joule/tensor';

/** Statements setting `out` to `expm1(v)`, accurate near 0 (the `(u − 1)·v / log u` correction). */
function expm1Into(out: string, v: string): string {
  return `let ${out} = Math.exp(${v}) - 1;
if (Math.abs(${v}) < 0.5) {
  const ${out}u = Math.exp(${v});
  const ${out}d = ${out}u - 1;
  if (${out}d == 0) { ${out} = ${v}; } else { ${out} = ${out}d * ${v} / Math.log(${out}u); }
}`;
}

/** Statements setting `out` to `log1p(v)` for `v ≥ −1`, accurate near 0. */
function log1pInto(out: string, v: string): string {
  return `let ${out} = Math.log(1 + ${v});
if (Math.abs(${v}) < 0.5) {
  const ${out}u = 1 + ${v};
  const ${out}d = ${out}u - 1;
  if (${out}d == 0) { ${out} = ${v}; } else { ${out} = Math.log(${out}u) * (${v} / ${out}d); }
}`;
}

/** Statements setting `out` to `sigmoid(v)` without overflow. */
function sigmoidInto(out: string, v: string): string {
  return `let ${out} = 0;
if (${v} >= 0) { ${out} = 1 / (1 + Math.exp(-${v})); } else { const ${out}e = Math.exp(${v}); ${out} = ${out}e / (1 + ${out}e); }`;
}

/** The body of each unary kernel: reads `v`, returns the result. */
const UNARY_BODIES: Record<UnaryOp, string> = {
  neg: 'return -v;',
  abs: 'return Math.abs(v);',
  sign: 'if (v > 0) { return 1; }\nif (v < 0) { return -1; }\nreturn v;',
  exp: 'return Math.exp(v);',
  log: 'if (v < 0) { return nan; }\nif (v == 0) { return -inf; }\nreturn Math.log(v);',
  log1p: `if (v < -1) { return nan; }\nif (v == -1) { return -inf; }\n${log1pInto('r', 'v')}\nreturn r;`,
  expm1: `${expm1Into('r', 'v')}\nreturn r;`,
  sqrt: 'if (v < 0) { return nan; }\nreturn Math.sqrt(v);',
  rsqrt:
    'if (v < 0) { return nan; }\nif (v == 0) { if (1 / v < 0) { return -inf; } return inf; }\nreturn 1 / Math.sqrt(v);',
  square: 'return v * v;',
  reciprocal: 'if (v == 0) { if (1 / v < 0) { return -inf; } return inf; }\nreturn 1 / v;',
  sin: 'return Math.sin(v);',
  cos: 'return Math.cos(v);',
  // tanh(v) = t / (t + 2) with t = expm1(2|v|); 1 beyond |v| > 10 where the float32 result is 1
  tanh: `const a = Math.abs(v);
if (a > 10) { if (v > 0) { return 1; } return -1; }
${expm1Into('t', '2 * a')}
const r = t / (t + 2);
if (v < 0) { return -r; }
return r;`,
  sigmoid: `${sigmoidInto('s', 'v')}\nreturn s;`,
  softplus: `let e = Math.exp(v);
if (v > 0) { e = Math.exp(-v); }
${log1pInto('l', 'e')}
if (v > 0) { return v + l; }
return l;`,
  relu: 'if (v != v) { return nan; }\nif (v < 0) { return 0; }\nreturn v;',
  silu: `${sigmoidInto('s', 'v')}\nreturn v * s;`,
  // |v| < 1: Maclaurin series (14 terms, error < 1e-12); else 1 − erfc by the Chebyshev fit of
  // Numerical Recipes (erfcc, relative error < 1.2e-7).
  erf: `const z = Math.abs(v);
let r = 0;
if (z < 1) {
  const z2 = z * z;
  let term = z;
  let sum = z;
  for (let k = 1; k < 14; k++) {
    term = term * -z2 / k;
    sum = sum + term / (2 * k + 1);
  }
  r = 1.1283791670955126 * sum;
} else {
  const t = 1 / (1 + 0.5 * z);
  const p = -1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  r = 1 - t * Math.exp(-z * z + p);
}
if (v < 0) { return -r; }
return r;`,
  floor: 'return Math.floor(v);',
  ceil: 'return Math.ceil(v);',
  // JavaScript's Math.round: halves go up
  round: 'const f = Math.floor(v);\nif (v - f >= 0.5) { return f + 1; }\nreturn f;',
  isFinite: 'if (v != v) { return 0; }\nconst a = Math.abs(v);\nif (a != 0 && a * 0.5 == a) { return 0; }\nreturn 1;',
};

/**
 * Kernel text `function(<tensors>, <params>[, nan, inf]) { <body> }`: the tensor arguments, then
 * the numeric parameters in the order the backend passes them, then `nan` and `inf` when used.
 */
export interface KernelSource {
  /** The function text gpu.js compiles (also the cache key). */
  readonly text: string;
  /** Whether the kernel takes the trailing `nan, inf` arguments. */
  readonly specials: boolean;
}

function kernel(tensors: number, params: readonly string[], body: string): KernelSource {
  const specials = /\b(nan|inf)\b/.test(body);
  const args = [...Array.from({ length: tensors }, (_, k) => `x${k}`), ...params, ...(specials ? ['nan', 'inf'] : [])];
  return { text: `function(${args.join(', ')}) {\nconst i = this.thread.x;\n${body}\n}`, specials };
}

/** Names `prefix0…prefix{n-1}`. */
function names(prefix: string, n: number): string[] {
  return Array.from({ length: n }, (_, k) => `${prefix}${k}`);
}

/** Statements splitting `i` into coordinates `c0…c{rank-1}` given the row-major strides `os0…os{rank-2}`. */
function coords(rank: number): string {
  const lines = ['let cr = i;'];
  for (let d = 0; d < rank - 1; d++) {
    lines.push(`const c${d} = Math.floor((cr + 0.5) / os${d});`, `cr = cr - c${d} * os${d};`);
  }
  if (rank > 0) lines.push(`const c${rank - 1} = cr;`);
  return lines.join('\n');
}

/** `Σ_d c_d · prefix_d` as an expression (`0` at rank 0). */
function dot(rank: number, prefix: string): string {
  return rank === 0
    ? '0'
    : names(prefix, rank)
        .map((s, d) => `c${d} * ${s}`)
        .join(' + ');
}

/** `i` split as `[c0, c1]` of rows of `inner`. */
const SPLIT2 = 'const c0 = Math.floor((i + 0.5) / inner);\nconst c1 = i - c0 * inner;';
/** `i` split as `[c0, c1, c2]` of `[*, mid, inner]`. */
const SPLIT3 = `const c0 = Math.floor((i + 0.5) / (mid * inner));
const cr = i - c0 * mid * inner;
const c1 = Math.floor((cr + 0.5) / inner);
const c2 = cr - c1 * inner;`;

/** Identity copy: uploads a typed array into device storage. */
export function copySource(): KernelSource {
  return kernel(1, [], 'return x0[i];');
}

/** `f(x)` element by element. */
export function unarySource(op: UnaryOp): KernelSource {
  return kernel(1, [], `const v = x0[i];\n${UNARY_BODIES[op]}`);
}

/** `g · silu'(x)` element by element. */
export function siluGradSource(): KernelSource {
  return kernel(2, [], `const v = x0[i];\n${sigmoidInto('s', 'v')}\nreturn x1[i] * s * (1 + v * (1 - s));`);
}

const BINARY_BODIES: Record<BinaryOp, string> = {
  add: 'return a + b;',
  sub: 'return a - b;',
  mul: 'return a * b;',
  div: 'return a / b;',
  // JavaScript's `a ** b`, special values included.
  pow: `if (b == 0) { return 1; }
if (a != a || b != b) { return nan; }
const ab = Math.abs(a);
const bb = Math.abs(b);
if (bb * 0.5 == bb) {
  if (ab == 1) { return nan; }
  if (ab > 1 && b > 0) { return inf; }
  if (ab < 1 && b < 0) { return inf; }
  return 0;
}
let whole = 0;
if (Math.floor(b) == b) { whole = 1; }
let odd = 0;
if (whole == 1 && Math.floor(bb * 0.5) * 2 != bb) { odd = 1; }
if (a == 0) {
  if (b > 0) { if (odd == 1) { return a; } return 0; }
  if (odd == 1) { return 1 / a; }
  return inf;
}
if (ab * 0.5 == ab) {
  if (a > 0) { if (b > 0) { return inf; } return 0; }
  if (b > 0) { if (odd == 1) { return -inf; } return inf; }
  return 0;
}
if (a < 0 && whole == 0) { return nan; }
const r = Math.pow(ab, b);
if (a < 0 && odd == 1) { return -r; }
return r;`,
  maximum: 'if (a != a || b != b) { return nan; }\nif (a >= b) { return a; }\nreturn b;',
  minimum: 'if (a != a || b != b) { return nan; }\nif (a <= b) { return a; }\nreturn b;',
  eq: 'if (a == b) { return 1; }\nreturn 0;',
  ne: 'if (a != b) { return 1; }\nreturn 0;',
  lt: 'if (a < b) { return 1; }\nreturn 0;',
  le: 'if (a <= b) { return 1; }\nreturn 0;',
  gt: 'if (a > b) { return 1; }\nreturn 0;',
  ge: 'if (a >= b) { return 1; }\nreturn 0;',
};

/**
 * `f(a, b)` over a coalesced output of `rank` axes. Params: output strides `os0…os{rank-2}`, then
 * the strides of `a` (`as*`) and of `b` (`bs*`), 0 along broadcast axes.
 */
export function binarySource(op: BinaryOp, rank: number): KernelSource {
  return kernel(
    2,
    [...names('os', rank - 1), ...names('as', rank), ...names('bs', rank)],
    `${coords(rank)}\nconst a = x0[${dot(rank, 'as')}];\nconst b = x1[${dot(rank, 'bs')}];\n${BINARY_BODIES[op]}`,
  );
}

/** `cond ? a : b` over a coalesced output of `rank` axes. Params: `os*`, then strides `ks*`, `as*`, `bs*`. */
export function selectSource(rank: number): KernelSource {
  return kernel(
    3,
    [...names('os', rank - 1), ...names('ks', rank), ...names('as', rank), ...names('bs', rank)],
    `${coords(rank)}\nif (x0[${dot(rank, 'ks')}] != 0) { return x1[${dot(rank, 'as')}]; }\nreturn x2[${dot(rank, 'bs')}];`,
  );
}

/** Reduction of the middle axis of `[outer, reduced, inner]`. Params: `reduced, inner`. */
export function reduceSource(op: ReduceOp): KernelSource {
  const head = `${SPLIT2}\nconst base = c0 * reduced * inner + c1;`;
  if (op === 'sum') {
    return kernel(
      1,
      ['reduced', 'inner'],
      `${head}\nlet acc = 0;\nfor (let r = 0; r < reduced; r++) { acc = acc + x0[base + r * inner]; }\nreturn acc;`,
    );
  }
  return kernel(
    1,
    ['reduced', 'inner'],
    `${head}
let best = ${op === 'max' ? '-inf' : 'inf'};
let bad = 0;
for (let r = 0; r < reduced; r++) {
  const v = x0[base + r * inner];
  if (v != v) { bad = 1; }
  if (${op === 'max' ? 'v > best' : 'v < best'}) { best = v; }
}
if (bad == 1) { return nan; }
return best;`,
  );
}

/** Index of the first largest (smallest) value of the middle axis; a NaN wins at its first place. Params: `reduced, inner`. */
export function argReduceSource(op: 'argmax' | 'argmin'): KernelSource {
  return kernel(
    1,
    ['reduced', 'inner'],
    `${SPLIT2}
const base = c0 * reduced * inner + c1;
let best = x0[base];
let at = 0;
let done = 0;
if (best != best) { done = 1; }
for (let r = 1; r < reduced; r++) {
  if (done == 0) {
    const v = x0[base + r * inner];
    if (v != v) { best = v; at = r; done = 1; }
    if (${op === 'argmax' ? 'v > best' : 'v < best'}) { best = v; at = r; }
  }
}
return at;`,
  );
}

/** Inclusive cumulative sum along the middle axis of `[outer, mid, inner]`. Params: `mid, inner, dir` (1, or −1 from the end). */
export function cumsumSource(): KernelSource {
  return kernel(
    1,
    ['mid', 'inner', 'dir'],
    `${SPLIT3}
const base = c0 * mid * inner + c2;
let acc = 0;
for (let s = 0; s < mid; s++) {
  if ((s - c1) * dir <= 0) { acc = acc + x0[base + s * inner]; }
}
return acc;`,
  );
}

/**
 * Batched matrix product giving `[batch, mid = m, inner = n]`. Params: `mid, inner, k`, then the
 * strides of A (`aBatch`, `aRow`, `aCol`) and of B (`bBatch`, `bRow`, `bCol`), which encode the
 * transposes and a batch of one (stride 0).
 */
export function matmulSource(): KernelSource {
  return kernel(
    2,
    ['mid', 'inner', 'k', 'aBatch', 'aRow', 'aCol', 'bBatch', 'bRow', 'bCol'],
    `${SPLIT3}
const aBase = c0 * aBatch + c1 * aRow;
const bBase = c0 * bBatch + c2 * bCol;
let acc = 0;
for (let q = 0; q < k; q++) { acc = acc + x0[aBase + q * aCol] * x1[bBase + q * bRow]; }
return acc;`,
  );
}

/** `out[i] = x[offset + Σ c_d · xs_d]` over a coalesced output of `rank` axes. Params: `os*`, `xs*`, `offset`. */
export function stridedSource(rank: number): KernelSource {
  return kernel(
    1,
    [...names('os', rank - 1), ...names('xs', rank), 'offset'],
    `${coords(rank)}\nreturn x0[offset + ${dot(rank, 'xs')}];`,
  );
}

/**
 * Zero padding at `rank` axes. Params: output strides `os*`, input strides `xs*`, the first padded
 * coordinate `lo*` and the end `hi*` of the copied block per axis, and `offset = −Σ lo_d · xs_d`.
 */
export function padSource(rank: number): KernelSource {
  const inside = names('c', rank).map((c, d) => `${c} >= lo${d} && ${c} < hi${d}`);
  const read = `return x0[offset + ${dot(rank, 'xs')}];`;
  return kernel(
    1,
    [...names('os', rank - 1), ...names('xs', rank), ...names('lo', rank), ...names('hi', rank), 'offset'],
    `${coords(rank)}\n${rank === 0 ? read : `if (${inside.join(' && ')}) { ${read} }\nreturn 0;`}`,
  );
}

/** Concatenation of `arity` inputs along rows. Params: `inner` (the output row), then widths `w*` and starts `s*` of the pieces. */
export function concatSource(arity: number): KernelSource {
  const lines = Array.from(
    { length: arity },
    (_, k) => `if (c1 >= s${k} && c1 < s${k} + w${k}) { return x${k}[c0 * w${k} + c1 - s${k}]; }`,
  );
  return kernel(
    arity,
    ['inner', ...names('w', arity), ...names('s', arity)],
    `${SPLIT2}\n${lines.join('\n')}\nreturn 0;`,
  );
}

/** `out[o, j, i] = x[o, idx[j], i]`, output `[*, mid = count, inner]`. Params: `mid, inner, dim`. */
export function gatherSource(): KernelSource {
  return kernel(2, ['mid', 'inner', 'dim'], `${SPLIT3}\nreturn x0[(c0 * dim + x1[c1]) * inner + c2];`);
}

/** `out[o, d, i] = Σ_{j: idx[j] = d} g[o, j, i]`, output `[*, mid = dim, inner]`. Params: `mid, inner, count`. */
export function scatterAddSource(): KernelSource {
  return kernel(
    2,
    ['mid', 'inner', 'count'],
    `${SPLIT3}
let acc = 0;
for (let j = 0; j < count; j++) {
  if (x1[j] == c1) { acc = acc + x0[(c0 * count + j) * inner + c2]; }
}
return acc;`,
  );
}

/** `out[o, j, i] = x[o, idx[o, j, i], i]`, output `[*, mid = count, inner]`. Params: `mid, inner, dim`. */
export function takeAlongSource(): KernelSource {
  return kernel(2, ['mid', 'inner', 'dim'], `${SPLIT3}\nreturn x0[(c0 * dim + x1[i]) * inner + c2];`);
}

/** `out[o, d, i] = Σ_{j: idx[o, j, i] = d} g[o, j, i]`, output `[*, mid = dim, inner]`. Params: `mid, inner, count`. */
export function scatterAlongSource(): KernelSource {
  return kernel(
    2,
    ['mid', 'inner', 'count'],
    `${SPLIT3}
let acc = 0;
for (let j = 0; j < count; j++) {
  const at = (c0 * count + j) * inner + c2;
  if (x1[at] == c1) { acc = acc + x0[at]; }
}
return acc;`,
  );
}

/**
 * One column of a batched Cholesky factorization, output `[batch, mid = n, inner = n]`: column `j`
 * of `L` from `A` (`x0`) and the columns before it (`x1`, the previous pass); NaN in the column
 * where `A` is not positive definite. Params: `mid, inner, j`.
 */
export function choleskyColumnSource(): KernelSource {
  return kernel(
    2,
    ['mid', 'inner', 'j'],
    `${SPLIT3}
const base = c0 * mid * inner;
if (c2 < j) { return x1[i]; }
if (c2 > j || c1 < j) { return 0; }
let d = x0[base + j * inner + j];
for (let q = 0; q < j; q++) { const l = x1[base + j * inner + q]; d = d - l * l; }
if (d <= 0 || d != d) { return nan; }
const s = Math.sqrt(d);
if (c1 == j) { return s; }
let e = x0[base + c1 * inner + j];
for (let t = 0; t < j; t++) { e = e - x1[base + c1 * inner + t] * x1[base + j * inner + t]; }
return e / s;`,
  );
}

/** Makes a whole `[n, n]` factor NaN where any of its diagonal entries is not a positive number. Params: `n`. */
export function choleskyCheckSource(): KernelSource {
  return kernel(
    1,
    ['n'],
    `const c0 = Math.floor((i + 0.5) / (n * n));
let bad = 0;
for (let q = 0; q < n; q++) { const d = x0[c0 * n * n + q * (n + 1)]; if (d <= 0 || d != d) { bad = 1; } }
if (bad == 1) { return nan; }
return x0[i];`,
  );
}

/**
 * One row of a batched triangular solve `op(L) X = B`, output `[batch, mid = n, inner = m]`: row
 * `row` of `X` from `L` (`x0`), `B` (`x1`) and the rows solved before it (`x2`, the previous pass),
 * which are the rows `lo ≤ j < hi`. Params: `mid, inner, row, lo, hi, lBatch` (0 for a shared `L`),
 * and `lr, lc`, the strides of `op(L)`'s rows and columns.
 */
export function triangularRowSource(): KernelSource {
  return kernel(
    3,
    ['mid', 'inner', 'row', 'lo', 'hi', 'lBatch', 'lr', 'lc'],
    `${SPLIT3}
if (c1 != row) { return x2[i]; }
const lBase = c0 * lBatch + row * lr;
let s = x1[i];
for (let j = lo; j < hi; j++) { s = s - x0[lBase + j * lc] * x2[c0 * mid * inner + j * inner + c2]; }
return s / x0[lBase + row * lc];`,
  );
}

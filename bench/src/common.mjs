// Shared pieces of the workloads W1-W4 (../shared/bench/README.md): sizes, the timing protocol, statistics.

/** Sizes of the workloads, identical to torch_ref.py. */
export const D = 2;
export const H = 128;
export const DEPTH = 3;
export const NDATA = 4096;
export const B = 256;
export const K = 16;
export const NCH = 1024;
export const ULA_STEP = 0.01;
export const BD = 512;
export const SIGMA = 0.1;
export const LR = 1e-3;
export const BETA1 = 0.9;
export const BETA2 = 0.999;
export const EPS = 1e-8;

export function median(values) {
  const s = [...values].sort((a, b) => a - b);
  return s[s.length >> 1];
}

/**
 * Milliseconds per call of `fn`: the protocol of torch_ref.py (10 warm-up calls, then the median over 7
 * repeats of the mean of 20 calls), shortened for slow steps so one figure takes about a second, and to
 * a smoke test with `quick`.
 */
export function timed(fn, { quick = false } = {}) {
  if (quick) {
    fn();
    const t = performance.now();
    fn();
    return performance.now() - t;
  }
  const t0 = performance.now();
  fn();
  const first = performance.now() - t0;
  const warm = first > 100 ? 1 : 10;
  for (let i = 1; i < warm; i++) fn();
  let probe = performance.now();
  fn();
  probe = performance.now() - probe;
  const inner = Math.max(1, Math.min(20, Math.round(150 / Math.max(probe, 1e-3))));
  const reps = probe > 100 ? 3 : 7;
  const runs = [];
  for (let r = 0; r < reps; r++) {
    const t = performance.now();
    for (let i = 0; i < inner; i++) fn();
    runs.push((performance.now() - t) / inner);
  }
  return median(runs);
}

/** Uniform(-1/sqrt(fan_in), 1/sqrt(fan_in)) initial values of the MLP d-128-128-128-1, as plain arrays (torch.nn.Linear's init). */
export function mlpInitValues(uniform) {
  const dims = [D, ...Array(DEPTH).fill(H), 1];
  const layers = [];
  for (let i = 0; i + 1 < dims.length; i++) {
    const bound = 1 / Math.sqrt(dims[i]);
    const w = uniform(dims[i] * dims[i + 1]).map((u) => (2 * u - 1) * bound);
    const b = uniform(dims[i + 1]).map((u) => (2 * u - 1) * bound);
    layers.push({ w, wShape: [dims[i], dims[i + 1]], b, bShape: [dims[i + 1]] });
  }
  return layers;
}

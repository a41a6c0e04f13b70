/** Column means and (population) variances of a row-major `[n, d]` array, in float64. */
export function columnMoments(v: ArrayLike<number>, n: number, d: number): { mean: number[]; variance: number[] } {
  const mean = new Array<number>(d).fill(0);
  const variance = new Array<number>(d).fill(0);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j]! += v[i * d + j]! / n;
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) variance[j]! += (v[i * d + j]! - mean[j]!) ** 2 / n;
  return { mean, variance };
}

/** Sample covariance `[d][d]` (population) of a row-major `[n, d]` array, in float64. */
export function covariance(v: ArrayLike<number>, n: number, d: number): number[][] {
  const { mean } = columnMoments(v, n, d);
  const c = Array.from({ length: d }, () => new Array<number>(d).fill(0));
  for (let i = 0; i < n; i++) {
    for (let a = 0; a < d; a++)
      for (let b = 0; b < d; b++) c[a]![b]! += ((v[i * d + a]! - mean[a]!) * (v[i * d + b]! - mean[b]!)) / n;
  }
  return c;
}

/** `log N(x; μ, σ²)` in float64. */
export function normalLogPdf(x: number, mu: number, sigma: number): number {
  return -0.5 * ((x - mu) / sigma) ** 2 - Math.log(sigma) - 0.5 * Math.log(2 * Math.PI);
}

/** `log Σ exp` in float64. */
export function logSumExp(a: readonly number[]): number {
  const m = Math.max(...a);
  return m + Math.log(a.reduce((s, v) => s + Math.exp(v - m), 0));
}

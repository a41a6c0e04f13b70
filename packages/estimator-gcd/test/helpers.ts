import { oneHot, type Tensor, tensor } from '@joule/tensor';

/** Per-step one-hot `[n, T]` of the time column `[n, 1]`. */
export function stepOneHot(t: Tensor, steps: number): Tensor {
  return oneHot(t.reshape([t.shape[0]]), steps);
}

/** Sample mean and (population) standard deviation of a flat array. */
export function moments(v: ArrayLike<number>): { mean: number; std: number } {
  let s = 0;
  for (let i = 0; i < v.length; i++) s += v[i];
  const mean = s / v.length;
  let q = 0;
  for (let i = 0; i < v.length; i++) q += (v[i] - mean) ** 2;
  return { mean, std: Math.sqrt(q / v.length) };
}

/** Column tensor `[n, 1]` from numbers. */
export function column(values: number[]): Tensor {
  return tensor(values, [values.length, 1]);
}

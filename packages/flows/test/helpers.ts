import type { Module, ParamTree } from '@joule/nn';
import { type Rng, randn, Tensor, tensor } from '@joule/tensor';

/** Adds N(0, scale²) noise to every trainable parameter, so layers leave the identity. */
export function perturb<M extends Module<never, unknown>>(m: M, rng: Rng, scale = 0.3): M {
  const walk = (t: ParamTree): ParamTree => {
    const out: ParamTree = {};
    for (const [k, v] of Object.entries(t))
      out[k] = v instanceof Tensor ? v.add(randn(v.shape, rng, 0, scale)) : walk(v);
    return out;
  };
  m.load(walk(m.parameters()));
  return m;
}

/** The central-difference Jacobian of `f` at one point `x` (a `[1, d]` batch), in float64. */
export function fdJacobian(f: (x: Tensor) => Tensor, x: number[], h = 1e-2): number[][] {
  const d = x.length;
  const J: number[][] = Array.from({ length: d }, () => new Array(d).fill(0));
  for (let j = 0; j < d; j++) {
    const up = [...x];
    const dn = [...x];
    up[j] += h;
    dn[j] -= h;
    const a = f(tensor([up])).dataSync();
    const b = f(tensor([dn])).dataSync();
    for (let i = 0; i < d; i++) J[i][j] = (a[i] - b[i]) / (2 * h);
  }
  return J;
}

/** The ∞-norm (largest absolute row sum) of the finite-difference Jacobian of `f` at `x`. */
export function fdInfNorm(f: (x: Tensor) => Tensor, x: number[]): number {
  return Math.max(...fdJacobian(f, x).map((row) => row.reduce((s, v) => s + Math.abs(v), 0)));
}

/** log|det| of the central-difference Jacobian of `f` at one point `x` (2-D or 3-D via LU in float64). */
export function fdLogAbsDet(f: (x: Tensor) => Tensor, x: number[], h = 1e-2): number {
  const d = x.length;
  const J = fdJacobian(f, x, h);
  // Gaussian elimination with partial pivoting.
  let logDet = 0;
  for (let c = 0; c < d; c++) {
    let piv = c;
    for (let r = c + 1; r < d; r++) if (Math.abs(J[r][c]) > Math.abs(J[piv][c])) piv = r;
    [J[c], J[piv]] = [J[piv], J[c]];
    logDet += Math.log(Math.abs(J[c][c]));
    for (let r = c + 1; r < d; r++) {
      const m = J[r][c] / J[c][c];
      for (let k = c; k < d; k++) J[r][k] -= m * J[c][k];
    }
  }
  return logDet;
}

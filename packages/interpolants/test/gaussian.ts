import { type Tensor, tensor } from '@joule/tensor';
import type { StochasticInterpolant, TimeField } from '../src/index.js';

/**
 * Closed forms for x0 ~ N(0, I), x1 ~ N(m, diag(s²)), z ~ N(0, I) independent: x_t ~ N(β m, σ²)
 * per coordinate with σ² = α² + β² s² + γ².
 */
export function gaussianFields(I: StochasticInterpolant, mean: number[], std: number[]) {
  const d = mean.length;
  const rows = (t: Tensor) => Array.from(t.dataSync());
  const build = (
    coef: (t: number, j: number) => { shift: number; slope: number; centre: number },
  ): ((x: Tensor, t: Tensor, m?: Tensor) => Tensor) => {
    return (x, t, ctx) => {
      const ts = rows(t);
      const n = ts.length;
      const cols = { shift: new Float32Array(n * d), slope: new Float32Array(n * d), centre: new Float32Array(n * d) };
      ts.forEach((ti, i) => {
        for (let j = 0; j < d; j++) {
          const c = coef(ti, j);
          cols.shift[i * d + j] = c.shift;
          cols.slope[i * d + j] = c.slope;
          cols.centre[i * d + j] = c.centre;
        }
      });
      // Tensor ops on x, so that autodiff (the ODE's exact divergence) sees the field.
      const m = ctx ?? tensor(mean).broadcastTo([n, d]);
      const [shift, slope, centre] = [cols.shift, cols.slope, cols.centre].map((v) => tensor(v, [n, d]));
      return shift.mul(m).add(slope.mul(x.sub(centre.mul(m))));
    };
  };
  const sigma2 = (t: number, j: number) => {
    const k = I.coefficients(t);
    return k.alpha ** 2 + k.beta ** 2 * std[j] ** 2 + k.gamma ** 2;
  };
  /** b(t, x) = β' m + (α α' + β β' s² + γ γ') / σ² (x − β m). */
  const velocity: TimeField = build((t, j) => {
    const k = I.coefficients(t);
    const gg = I.gammaSchedule.gammaDGamma(t);
    return {
      shift: k.dBeta,
      slope: (k.alpha * k.dAlpha + k.beta * k.dBeta * std[j] ** 2 + gg) / sigma2(t, j),
      centre: k.beta,
    };
  });
  /** E[x0 | x_t = x] = α / σ² (x − β m). */
  const denoiser: TimeField = build((t, j) => {
    const k = I.coefficients(t);
    return { shift: 0, slope: k.alpha / sigma2(t, j), centre: k.beta };
  });
  /** ∇ log ρ_t(x) = −(x − β m) / σ². */
  const score: TimeField = build((t, j) => {
    const k = I.coefficients(t);
    return { shift: 0, slope: -1 / sigma2(t, j), centre: k.beta };
  });
  /** log N(y; m, diag(s²)) row by row. */
  const targetLogProb = (y: number[][], m: number[][] | number[] = mean) =>
    y.map((row, i) => {
      const mu = (Array.isArray(m[0]) ? (m as number[][])[i] : m) as number[];
      return row.reduce(
        (acc, v, j) => acc - 0.5 * Math.log(2 * Math.PI * std[j] ** 2) - (v - mu[j]) ** 2 / (2 * std[j] ** 2),
        0,
      );
    });
  return { velocity, denoiser, score, targetLogProb };
}

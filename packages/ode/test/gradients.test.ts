import { Rng, type Tensor, tensor, valueAndGrad } from '@joule/tensor';
import { describe, expect, it } from 'vitest';
import { integrateWithLogDet, solveDopri5, solveFixed, solveSde } from '../src/index.js';

// Field f(x) = tanh(x W + b) on 2-D rows, parameters p = [w00, w01, w10, w11, b0, b1].
type Vec = number[];
function field64(p: Vec, x: Vec): Vec {
  return [Math.tanh(x[0] * p[0] + x[1] * p[2] + p[4]), Math.tanh(x[0] * p[1] + x[1] * p[3] + p[5])];
}
/** div f = Σᵢ (1 − tanh² zᵢ) Wᵢᵢ. */
function div64(p: Vec, x: Vec): number {
  const z0 = x[0] * p[0] + x[1] * p[2] + p[4];
  const z1 = x[0] * p[1] + x[1] * p[3] + p[5];
  return (1 - Math.tanh(z0) ** 2) * p[0] + (1 - Math.tanh(z1) ** 2) * p[3];
}
/** RK4 on the augmented state [x, logDet] in float64, the same scheme as solveFixed. */
function rk4Aug64(p: Vec, x0: Vec, T: number, steps: number): { x: Vec; l: number } {
  const h = T / steps;
  let x = x0;
  let l = 0;
  const add = (u: Vec, v: Vec, c: number) => u.map((ui, i) => ui + c * v[i]);
  for (let s = 0; s < steps; s++) {
    const k1 = field64(p, x);
    const d1 = div64(p, x);
    const x2 = add(x, k1, h / 2);
    const k2 = field64(p, x2);
    const d2 = div64(p, x2);
    const x3 = add(x, k2, h / 2);
    const k3 = field64(p, x3);
    const d3 = div64(p, x3);
    const x4 = add(x, k3, h);
    const k4 = field64(p, x4);
    const d4 = div64(p, x4);
    x = x.map((xi, i) => xi + (h / 6) * (k1[i] + 2 * k2[i] + 2 * k3[i] + k4[i]));
    l += (h / 6) * (d1 + 2 * d2 + 2 * d3 + d4);
  }
  return { x, l };
}

const P = [0.8, -1.1, 0.6, 0.5, 0.2, -0.3];
const X0 = [
  [0.5, -0.4],
  [-1.0, 0.7],
  [0.3, 1.2],
];
const T = 1.2;
const STEPS = 6;

/** loss = Σ_rows (|x(T)|² + 0.7·logDet), evaluated in float64. */
function loss64(p: Vec, x0: Vec[]): number {
  return x0.reduce((acc, r) => {
    const { x, l } = rk4Aug64(p, r, T, STEPS);
    return acc + x[0] ** 2 + x[1] ** 2 + 0.7 * l;
  }, 0);
}

function centralDiff(fn: (v: Vec) => number, v: Vec, eps = 1e-6): Vec {
  return v.map((_, i) => {
    const up = [...v];
    const dn = [...v];
    up[i] += eps;
    dn[i] -= eps;
    return (fn(up) - fn(dn)) / (2 * eps);
  });
}

function tensorField(params: { W: Tensor; b: Tensor }) {
  return (x: Tensor) => x.matmul(params.W).add(params.b).tanh();
}

describe('gradients through integration (against float64 central differences of the same scheme)', () => {
  it('flow through RK4 steps and the exact divergence (second order) to parameters and initial state', () => {
    const loss = (q: { W: Tensor; b: Tensor; x0: Tensor }) => {
      const { x, logDet } = integrateWithLogDet(tensorField(q), q.x0, { method: 'rk4', t1: T, steps: STEPS });
      return x.square().sum().add(logDet.sum().mul(0.7));
    };
    const W = tensor([
      [P[0], P[1]],
      [P[2], P[3]],
    ]);
    const b = tensor([P[4], P[5]]);
    const { value, grad } = valueAndGrad(loss)({ W, b, x0: tensor(X0) });
    expect(value.dataSync()[0]).toBeCloseTo(loss64(P, X0), 4);
    const gp = centralDiff((p) => loss64(p, X0), P);
    const got = [...grad.W.dataSync(), ...grad.b.dataSync()];
    got.forEach((g, i) => void expect(Math.abs(g - gp[i])).toBeLessThan(1e-4 * Math.max(1, Math.abs(gp[i]))));
    const gx = centralDiff((v) => loss64(P, [v.slice(0, 2), v.slice(2, 4), v.slice(4, 6)]), X0.flat());
    for (const [i, g] of Array.from(grad.x0.dataSync()).entries()) {
      expect(Math.abs(g - gx[i])).toBeLessThan(1e-4 * Math.max(1, Math.abs(gx[i])));
    }
  });

  it('flow through Euler and Heun steps', () => {
    for (const [method, stepFn] of [
      ['euler', (p: Vec, x: Vec, h: number) => field64(p, x).map((k, i) => x[i] + h * k)],
      [
        'heun',
        (p: Vec, x: Vec, h: number) => {
          const k1 = field64(p, x);
          const k2 = field64(
            p,
            x.map((xi, i) => xi + h * k1[i]),
          );
          return x.map((xi, i) => xi + (h / 2) * (k1[i] + k2[i]));
        },
      ],
    ] as const) {
      const f64 = (p: Vec) => {
        let x = X0[0];
        for (let s = 0; s < STEPS; s++) x = stepFn(p, x, T / STEPS);
        return x[0] * 2 + x[1] * x[1];
      };
      const { grad } = valueAndGrad((q: { W: Tensor; b: Tensor }) => {
        const { x } = solveFixed(tensorField(q), tensor([X0[0]]), { method, t1: T, steps: STEPS });
        return x
          .slice([0, 0], [1, 1])
          .mul(2)
          .sum()
          .add(x.slice([0, 1], [1, 1]).square().sum());
      })({ W: tensor([P.slice(0, 2), P.slice(2, 4)]), b: tensor(P.slice(4)) });
      const want = centralDiff(f64, P);
      [...grad.W.dataSync(), ...grad.b.dataSync()].forEach((g, i) => void expect(g).toBeCloseTo(want[i], 4));
    }
  });

  it('flow through Dopri5 to the exact sensitivity of x′ = −θx', () => {
    const theta = 0.7;
    const x0 = 1.3;
    const { value, grad } = valueAndGrad((th: Tensor) =>
      solveDopri5((x) => x.mul(th).neg(), tensor([x0]), { t1: 2, rtol: 1e-6, atol: 1e-7 }).x.sum(),
    )(tensor([theta]));
    // x(2) = x0 e^{−2θ}, dx(2)/dθ = −2 x0 e^{−2θ}.
    expect(value.dataSync()[0]).toBeCloseTo(x0 * Math.exp(-2 * theta), 5);
    expect(grad.dataSync()[0]).toBeCloseTo(-2 * x0 * Math.exp(-2 * theta), 4);
  });

  it('flow through Euler–Maruyama with the noise held fixed by the seed', () => {
    // dx = −θ x dt + 0.5 dW on 5 steps, replayed in float64 with the same normal draws of the seed.
    const steps = 5;
    const h = 1 / steps;
    const noise: number[] = [];
    const rng = new Rng(11);
    for (let k = 0; k < steps; k++) noise.push(rng.normal(1)[0] * Math.fround(Math.sqrt(h)));
    const em64 = (th: number) => {
      let x = 0.8;
      for (let k = 0; k < steps; k++) x = x - th * x * h + 0.5 * noise[k];
      return x;
    };
    const { grad } = valueAndGrad((th: Tensor) =>
      solveSde(
        (x) => x.mul(th).neg(),
        () => 0.5,
        tensor([[0.8]]),
        { steps, rng: new Rng(11) },
      ).x.sum(),
    )(tensor([0.9]));
    expect(grad.dataSync()[0]).toBeCloseTo(centralDiff((v) => em64(v[0]), [0.9])[0], 4);
  });
});

import { JouleError } from '@joule/core';
import { grad, Rng, randn, type Tensor, tensor, valueAndGrad } from '@joule/tensor';
import { describe, expect, it } from 'vitest';
import { flowMainLagrangian, logPartition, type Multipliers, scoreFunctionSurrogate } from '../src/index.js';

const LOG_2PI = Math.log(2 * Math.PI);

describe('logPartition (Algorithm 2)', () => {
  it('estimates log ζ of an unnormalized Gaussian within 5 standard errors', () => {
    // Proposal N(0, 1.5²), target exp(−x²/(2·1.3²)): log ζ = ln(1.3·√(2π)) = 1.181303.
    // Var(w)/ζ² = σp²/(s·√(2σp² − s²)) − 1 = 0.0325, so sd(log ζ̂) ≈ √(0.0325/M).
    const m = 20000;
    const sp = 1.5;
    const s = 1.3;
    const y = randn([m], new Rng(11), 0, sp);
    const logq = y
      .square()
      .mul(-1 / (2 * sp * sp))
      .sub(Math.log(sp) + LOG_2PI / 2);
    const f = y.square().mul(-1 / (2 * s * s));
    const est = logPartition(f, logq).dataSync()[0] as number;
    const relVar = (sp * sp) / (s * Math.sqrt(2 * sp * sp - s * s)) - 1;
    expect(Math.abs(est - Math.log(s * Math.sqrt(2 * Math.PI)))).toBeLessThan(5 * Math.sqrt(relVar / m));
  });

  it('shifts by exactly c when a constant c is added to −E (gauge), leaving KL̂ and NLL(q) unchanged', () => {
    const rng = new Rng(3);
    const terms = {
      logpData: randn([8], rng),
      negEnergyData: randn([8], rng),
      logpModel: randn([6], rng),
      negEnergyModel: randn([6], rng),
      negEnergyIs: randn([10], rng),
      logpIs: randn([10], rng),
    };
    const lambda: Multipliers = { fw: 1, rv: 0.5, prx: 2, upper: 0, lower: 0 };
    const a = flowMainLagrangian(terms, lambda, true);
    const c = 1.75;
    const shifted = flowMainLagrangian(
      {
        ...terms,
        negEnergyData: terms.negEnergyData.add(c),
        negEnergyModel: terms.negEnergyModel.add(c),
        negEnergyIs: terms.negEnergyIs.add(c),
      },
      lambda,
      true,
    );
    const v = (t: Tensor) => t.dataSync()[0] as number;
    expect(v(shifted.logZeta) - v(a.logZeta)).toBeCloseTo(c, 5);
    expect(v(shifted.constraints.rv)).toBeCloseTo(v(a.constraints.rv), 5);
    expect(v(shifted.constraints.prx)).toBeCloseTo(v(a.constraints.prx), 5);
    expect(v(shifted.constraints.fw)).toBe(v(a.constraints.fw));
  });

  it('rejects mismatched shapes', () => {
    expect(() => logPartition(tensor([1, 2, 3]), tensor([1, 2]))).toThrow(JouleError);
    expect(() => logPartition(tensor([[1, 2]]), tensor([1, 2]))).toThrow(/negEnergy/);
  });
});

describe('score-function gradient of the reverse KL (eqs. 16–18)', () => {
  it('matches the analytic ∇(μ, log σ) KL(N(0.5, 0.8²) ‖ N(−0.3, 1.3²)) within 5 standard errors', () => {
    // Oracle from the digest §4.2: (0.473373, −0.621302). The proxy is given unnormalized.
    const n = 20000;
    const mu = 0.5;
    const logSigma = Math.log(0.8);
    const y = randn([n], new Rng(21), mu, 0.8);
    const fq = (t: Tensor) =>
      t
        .add(0.3)
        .square()
        .mul(-1 / (2 * 1.69));
    const logp = (p: { mu: Tensor; logSigma: Tensor }, t: Tensor) =>
      t
        .sub(p.mu)
        .square()
        .mul(p.logSigma.mul(-2).exp())
        .mul(-0.5)
        .sub(p.logSigma)
        .sub(LOG_2PI / 2);
    const theta = { mu: tensor([mu]), logSigma: tensor([logSigma]) };
    const coef = logp(theta, y).sub(fq(y));
    for (const baseline of [false, true]) {
      const g = grad((p: typeof theta) => scoreFunctionSurrogate(coef, logp(p, y), baseline))(theta);
      // Per-sample terms (c_i − b)·∇log p(y_i) in float64 for the standard error.
      const yv = y.dataSync();
      const cv = coef.dataSync();
      let cm = 0;
      for (let i = 0; i < n; i++) cm += (cv[i] as number) / n;
      const terms: [number[], number[]] = [[], []];
      for (let i = 0; i < n; i++) {
        const z = ((yv[i] as number) - mu) / 0.8;
        const c = (cv[i] as number) - (baseline ? cm : 0);
        terms[0].push((c * z) / 0.8);
        terms[1].push(c * (z * z - 1));
      }
      const se = terms.map((t) => {
        const m = t.reduce((a, b) => a + b, 0) / n;
        return Math.sqrt(t.reduce((a, b) => a + (b - m) ** 2, 0) / (n - 1) / n);
      });
      expect(Math.abs((g.mu.dataSync()[0] as number) - 0.473373)).toBeLessThan(5 * (se[0] as number));
      expect(Math.abs((g.logSigma.dataSync()[0] as number) + 0.621302)).toBeLessThan(5 * (se[1] as number));
    }
  });
});

describe('flowMainLagrangian gradients', () => {
  it('match central finite differences of the Lagrangian (eqs. 11, 15, 18) in float64', () => {
    // p_θ: diagonal Gaussian (μ, log s); f_ψ(x) = −a·|x − c|² (the EBM's −E).
    const xs = [
      [0.3, -0.2],
      [1.1, 0.4],
      [-0.7, 0.9],
      [0.2, 0.05],
    ];
    const ys = [
      [0.5, 0.1],
      [-0.4, -0.6],
      [1.3, 0.2],
    ];
    const yis = [
      [0.1, 0.2],
      [-1.2, 0.3],
      [0.8, -0.9],
      [0.4, 1.1],
      [-0.3, -0.2],
    ];
    const lpIs = [-1.9, -2.7, -2.4, -2.6, -1.8];
    const lambda: Multipliers = { fw: 0.8, rv: 0.6, prx: 1.3, upper: 0.4, lower: 0.1 };
    const th = { mu: [0.2, -0.1], logS: [0.1, -0.3] };
    const ps = { c: [0.1, 0.2], a: 0.7 };
    const logpJs = (t: typeof th, x: number[]) =>
      x.reduce((acc, xi, j) => {
        const s = Math.exp(t.logS[j] as number);
        return acc - 0.5 * ((xi - (t.mu[j] as number)) / s) ** 2 - Math.log(s) - 0.5 * LOG_2PI;
      }, 0);
    const fJs = (p: typeof ps, x: number[]) => -p.a * x.reduce((acc, xi, j) => acc + (xi - (p.c[j] as number)) ** 2, 0);
    const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
    // Coefficients of the score-function term are stop-gradient: frozen at the base point.
    const coef0 = ys.map((y) => logpJs(th, y) - fJs(ps, y));
    const b0 = mean(coef0);
    const thetaLoss = (t: typeof th) =>
      -lambda.fw * mean(xs.map((x) => logpJs(t, x))) +
      lambda.rv * mean(ys.map((y, i) => ((coef0[i] as number) - b0) * logpJs(t, y)));
    const psiLoss = (p: typeof ps) => {
      const w = yis.map((y, j) => fJs(p, y) - (lpIs[j] as number));
      const mx = Math.max(...w);
      const logZ = mx + Math.log(mean(w.map((v) => Math.exp(v - mx))));
      return (
        -lambda.prx * mean(xs.map((x) => fJs(p, x))) -
        lambda.rv * mean(ys.map((y) => fJs(p, y))) +
        (lambda.prx + lambda.rv) * logZ +
        (lambda.upper - lambda.lower) * Math.exp(logZ)
      );
    };
    const X = tensor(xs);
    const Y = tensor(ys);
    const YIS = tensor(yis);
    const logpT = (t: { mu: Tensor; logS: Tensor }, x: Tensor) =>
      x
        .sub(t.mu)
        .div(t.logS.exp())
        .square()
        .mul(-0.5)
        .sub(t.logS)
        .sub(0.5 * LOG_2PI)
        .sum(1);
    const fT = (p: { c: Tensor; a: Tensor }, x: Tensor) => x.sub(p.c).square().sum(1).mul(p.a).neg();
    const params = {
      theta: { mu: tensor(th.mu), logS: tensor(th.logS) },
      psi: { c: tensor(ps.c), a: tensor([ps.a]) },
    };
    const { grad: g } = valueAndGrad(
      (p: typeof params) =>
        flowMainLagrangian(
          {
            logpData: logpT(p.theta, X),
            negEnergyData: fT(p.psi, X),
            logpModel: logpT(p.theta, Y),
            negEnergyModel: fT(p.psi, Y),
            negEnergyIs: fT(p.psi, YIS),
            logpIs: tensor(lpIs),
          },
          lambda,
          true,
        ).loss,
    )(params);
    const h = 1e-6;
    const fd = (f: () => number, set: (v: number) => void, v0: number) => {
      set(v0 + h);
      const up = f();
      set(v0 - h);
      const down = f();
      set(v0);
      return (up - down) / (2 * h);
    };
    for (const key of ['mu', 'logS'] as const) {
      const auto = g.theta[key].dataSync();
      for (let j = 0; j < 2; j++) {
        const v0 = th[key][j] as number;
        const num = fd(
          () => thetaLoss(th),
          (v) => {
            th[key][j] = v;
          },
          v0,
        );
        expect(auto[j] as number).toBeCloseTo(num, 4);
      }
    }
    const autoC = g.psi.c.dataSync();
    for (let j = 0; j < 2; j++) {
      const num = fd(
        () => psiLoss(ps),
        (v) => {
          ps.c[j] = v;
        },
        ps.c[j] as number,
      );
      expect(autoC[j] as number).toBeCloseTo(num, 4);
    }
    const numA = fd(
      () => psiLoss(ps),
      (v) => {
        ps.a = v;
      },
      ps.a,
    );
    expect(g.psi.a.dataSync()[0] as number).toBeCloseTo(numA, 4);
  });
});

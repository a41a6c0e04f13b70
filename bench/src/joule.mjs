// The workloads W1-W4 written with @joule/tensor exactly as a user would: tensor ops, valueAndGrad / grad, tidy.
import {
  concat,
  dispose,
  getBackend,
  grad,
  keep,
  Rng,
  rand,
  randint,
  randn,
  tensor,
  tidy,
  valueAndGrad,
} from '@joule/tensor';
import { B, BD, BETA1, BETA2, D, EPS, K, LR, NCH, NDATA, SIGMA, ULA_STEP } from './common.mjs';

export const name = 'joule';

export function describe() {
  const b = getBackend();
  const threads = (b.threads ?? 1) > 1 ? `, ${b.threads} threads` : '';
  const products = b.matmulKernel ? `, large products on ${b.matmulKernel.name}` : '';
  return `joule (@joule/tensor, ${b.name} backend, kernels ${b.kernels ?? 'n/a'}${threads}${products})`;
}

/** The MLP's parameters from plain initial values (see mlpInitValues). */
export function mlpFrom(values) {
  return values.map((l) => ({ w: keep(tensor(l.w, l.wShape)), b: keep(tensor(l.b, l.bShape)) }));
}

/** E(x): [n, 2] -> [n], the MLP 2-128-128-128-1 with SiLU. */
export function energy(params, x) {
  let h = x;
  params.forEach((l, i) => {
    h = h.matmul(l.w).add(l.b);
    if (i < params.length - 1) h = h.silu();
  });
  return h.reshape([-1]);
}

/** Adam (PyTorch's update rule) over a parameter tree, as tensor ops. */
export class Adam {
  constructor(params) {
    this.t = 0;
    this.m = params.map((l) => ({ w: keep(l.w.mul(0)), b: keep(l.b.mul(0)) }));
    this.v = params.map((l) => ({ w: keep(l.w.mul(0)), b: keep(l.b.mul(0)) }));
  }

  /** New parameters from the gradient; the old parameters and moments are disposed. */
  step(params, grads) {
    this.t++;
    const stepSize = LR / (1 - BETA1 ** this.t);
    const sqrtBc2 = Math.sqrt(1 - BETA2 ** this.t);
    const next = params.map(() => ({}));
    const m = params.map(() => ({}));
    const v = params.map(() => ({}));
    tidy(() => {
      params.forEach((l, i) => {
        for (const key of ['w', 'b']) {
          const g = grads[i][key];
          const m1 = this.m[i][key].mul(BETA1).add(g.mul(1 - BETA1));
          const v1 = this.v[i][key].mul(BETA2).add(g.square().mul(1 - BETA2));
          const denom = v1.sqrt().div(sqrtBc2).add(EPS);
          next[i][key] = keep(l[key].sub(m1.mul(stepSize).div(denom)));
          m[i][key] = keep(m1);
          v[i][key] = keep(v1);
        }
      });
    });
    dispose([params, this.m, this.v]);
    this.m = m;
    this.v = v;
    return next;
  }
}

/** W1: a @ a for a ~ U[0, 1) of [n, n]. */
export function matmul(n) {
  const a = rand([n, n], new Rng(n));
  return () => a.matmul(a).dispose();
}

/** The R-NCE loss of W2 on a batch `allx` [B, K+1, 2] whose first column holds the data points. */
export function rnceLoss(params, allx, logq) {
  const logits = energy(params, allx.reshape([-1, D]))
    .reshape([B, K + 1])
    .neg()
    .sub(logq);
  const pos = logits.slice([0, 0], [B, 1]).reshape([B]);
  return pos.sub(logits.logSumExp(1)).mean().neg();
}

/** The batch of W2: data rows `idx`, K negatives from N(0, 2² I), and their log-density up to a constant. */
export function rnceBatch(data, idx, neg) {
  const y = data.indexSelect(idx, 0);
  const allx = concat([y.reshape([B, 1, D]), neg], 1);
  const logq = allx
    .square()
    .sum(-1)
    .mul(-0.5 / 4);
  return { allx, logq };
}

/** W2: one R-NCE step (batch 256, K = 16, Adam). */
export function rnce(dataValues, initValues) {
  const rng = new Rng(3);
  const data = keep(tensor(dataValues, [NDATA, D]));
  let params = mlpFrom(initValues);
  const opt = new Adam(params);
  const step = () => {
    const { value, grads } = tidy(() => {
      const { allx, logq } = rnceBatch(data, randint([B], 0, NDATA, rng), randn([B, K, D], rng, 0, 2));
      const r = valueAndGrad(rnceLoss)(params, allx, logq);
      return { value: r.value, grads: r.grad };
    });
    params = opt.step(params, grads);
    dispose(grads);
    return value;
  };
  return { step: () => step().dispose(), params: () => params };
}

/** W3: one ULA step of 1024 chains on the energy (gradient in x only). */
export function ula(params) {
  const rng = new Rng(5);
  const gradE = grad((x) => energy(params, x).sum());
  let x = keep(randn([NCH, D], new Rng(4)));
  const noiseScale = Math.sqrt(2 * ULA_STEP);
  return () => {
    const next = tidy(() => keep(x.sub(gradE(x).mul(ULA_STEP)).add(randn([NCH, D], rng).mul(noiseScale))));
    x.dispose();
    x = next;
  };
}

/** The DSM loss of W4 at noisy points `xn` with target `(xn - x) / σ²`: a gradient of a gradient. */
export function dsmLoss(params, xn, target) {
  const score = grad((xx) => energy(params, xx).sum().neg())(xn);
  return score
    .add(target)
    .square()
    .sum(-1)
    .mean()
    .mul(SIGMA ** 2);
}

/** W4: one denoising-score-matching step (batch 512, σ = 0.1, Adam). */
export function dsm(dataValues, initValues) {
  const rng = new Rng(7);
  const data = keep(tensor(dataValues, [NDATA, D]));
  let params = mlpFrom(initValues);
  const opt = new Adam(params);
  return () => {
    const grads = tidy(() => {
      const x = data.indexSelect(randint([BD], 0, NDATA, rng), 0);
      const xn = x.add(randn([BD, D], rng, 0, SIGMA));
      const target = xn.sub(x).div(SIGMA ** 2);
      const r = valueAndGrad(dsmLoss)(params, xn, target);
      return r.grad;
    });
    params = opt.step(params, grads);
    dispose(grads);
  };
}

/** Losses of W2 and W4, the sums of |gradient| and the ULA drift on fixed inputs, to compare with the other systems. */
export function check(fixed) {
  return tidy(() => {
    const params = mlpFrom(fixed.init);
    const data = tensor(fixed.data, [NDATA, D]);
    const { allx, logq } = rnceBatch(data, tensor(fixed.idx), tensor(fixed.neg, [B, K, D]));
    const r = valueAndGrad(rnceLoss)(params, allx, logq);
    const x = data.indexSelect(tensor(fixed.idx2), 0);
    const xn = x.add(tensor(fixed.noise, [BD, D]).mul(SIGMA));
    const d = valueAndGrad(dsmLoss)(params, xn, xn.sub(x).div(SIGMA ** 2));
    const gx = grad((xx) => energy(params, xx).sum())(tensor(fixed.chains, [NCH, D]));
    const absSum = (g) => g.flatMap((l) => [l.w, l.b]).reduce((s, t) => s + t.abs().sum().dataSync()[0], 0);
    const out = {
      rnceLoss: r.value.dataSync()[0],
      rnceGradAbsSum: absSum(r.grad),
      dsmLoss: d.value.dataSync()[0],
      dsmGradAbsSum: absSum(d.grad),
      ulaGradSum: gx.abs().sum().dataSync()[0],
    };
    dispose(params);
    return out;
  });
}

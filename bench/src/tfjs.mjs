// The workloads W1-W4 on TensorFlow.js (same maths as joule.mjs), on its `wasm` or `cpu` backend.
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { B, BD, BETA1, BETA2, D, EPS, K, LR, NCH, NDATA, SIGMA, ULA_STEP } from './common.mjs';

export const name = 'tfjs';

/** Switches TF.js to `backend` ('wasm' or 'cpu'); returns false when it cannot start. */
export async function use(backend) {
  try {
    return (await tf.setBackend(backend)) && tf.getBackend() === backend;
  } catch {
    return false;
  }
}

export function describe() {
  return `TensorFlow.js ${tf.version.tfjs} ${tf.getBackend()}`;
}

function mlpFrom(values) {
  return values.map((l) => ({ w: tf.variable(tf.tensor(l.w, l.wShape)), b: tf.variable(tf.tensor(l.b, l.bShape)) }));
}

function energy(params, x) {
  let h = x;
  params.forEach((l, i) => {
    h = tf.add(tf.matMul(h, l.w), l.b);
    if (i < params.length - 1) h = tf.mul(h, tf.sigmoid(h));
  });
  return tf.reshape(h, [-1]);
}

class Adam {
  constructor(params) {
    this.t = 0;
    this.m = params.map((l) => ({ w: tf.variable(tf.zerosLike(l.w)), b: tf.variable(tf.zerosLike(l.b)) }));
    this.v = params.map((l) => ({ w: tf.variable(tf.zerosLike(l.w)), b: tf.variable(tf.zerosLike(l.b)) }));
  }
  step(params, grads) {
    this.t++;
    const stepSize = LR / (1 - BETA1 ** this.t);
    const sqrtBc2 = Math.sqrt(1 - BETA2 ** this.t);
    tf.tidy(() => {
      params.forEach((l, i) => {
        for (const key of ['w', 'b']) {
          const g = grads[i][key];
          const m1 = tf.add(tf.mul(this.m[i][key], BETA1), tf.mul(g, 1 - BETA1));
          const v1 = tf.add(tf.mul(this.v[i][key], BETA2), tf.mul(tf.square(g), 1 - BETA2));
          const denom = tf.add(tf.div(tf.sqrt(v1), sqrtBc2), EPS);
          l[key].assign(tf.sub(l[key], tf.div(tf.mul(m1, stepSize), denom)));
          this.m[i][key].assign(m1);
          this.v[i][key].assign(v1);
        }
      });
    });
  }
}

const flat = (params) => params.flatMap((l) => [l.w, l.b]);
const unflat = (list) => {
  const out = [];
  for (let i = 0; i < list.length; i += 2) out.push({ w: list[i], b: list[i + 1] });
  return out;
};

/**
 * Gradient of `loss(params)` with respect to every parameter; returns { value, grads } (grads as a tree).
 * With `lastBiasConstant` the output bias is held constant and its gradient is zero (DSM: the score does
 * not depend on it, and TF.js refuses to differentiate with respect to an unused input).
 */
function valueAndGrads(params, loss, lastBiasConstant = false) {
  const vars = flat(params);
  const last = vars.length - 1;
  const free = lastBiasConstant ? vars.slice(0, last) : vars;
  const f = (...xs) => loss(unflat(lastBiasConstant ? [...xs, vars[last]] : xs));
  const { value, grads } = tf.valueAndGrads(f)(free);
  return { value, grads: unflat(lastBiasConstant ? [...grads, tf.zerosLike(vars[last])] : grads) };
}

function rnceLoss(params, allx, logq) {
  const logits = tf.sub(tf.neg(tf.reshape(energy(params, tf.reshape(allx, [-1, D])), [B, K + 1])), logq);
  const pos = tf.reshape(tf.slice(logits, [0, 0], [B, 1]), [B]);
  return tf.neg(tf.mean(tf.sub(pos, tf.logSumExp(logits, 1))));
}

function rnceBatch(data, idx, neg) {
  const y = tf.gather(data, idx);
  const allx = tf.concat([tf.reshape(y, [B, 1, D]), neg], 1);
  const logq = tf.mul(tf.sum(tf.square(allx), -1), -0.5 / 4);
  return { allx, logq };
}

function dsmLoss(params, xn, target) {
  const score = tf.grad((xx) => tf.neg(tf.sum(energy(params, xx))))(xn);
  return tf.mul(tf.mean(tf.sum(tf.square(tf.add(score, target)), -1)), SIGMA ** 2);
}

export function matmul(n) {
  const a = tf.randomUniform([n, n], 0, 1, 'float32', n);
  return () => {
    const y = tf.matMul(a, a);
    y.dataSync();
    y.dispose();
  };
}

export function rnce(dataValues, initValues) {
  const data = tf.tensor(dataValues, [NDATA, D]);
  const params = mlpFrom(initValues);
  const opt = new Adam(params);
  let seed = 3;
  return {
    step: () => {
      const { value, grads } = tf.tidy(() => {
        const idx = tf.randomUniformInt([B], 0, NDATA, seed++);
        const { allx, logq } = rnceBatch(data, idx, tf.randomNormal([B, K, D], 0, 2, 'float32', seed++));
        return valueAndGrads(params, (p) => rnceLoss(p, allx, logq));
      });
      opt.step(params, grads);
      value.dataSync();
      tf.dispose([value, grads]);
    },
    params: () => params,
  };
}

export function ula(params) {
  const gradE = tf.grad((x) => tf.sum(energy(params, x)));
  let x = tf.randomNormal([NCH, D], 0, 1, 'float32', 4);
  let seed = 5;
  const noiseScale = Math.sqrt(2 * ULA_STEP);
  return () => {
    const next = tf.tidy(() =>
      tf.add(
        tf.sub(x, tf.mul(gradE(x), ULA_STEP)),
        tf.mul(tf.randomNormal([NCH, D], 0, 1, 'float32', seed++), noiseScale),
      ),
    );
    next.dataSync();
    x.dispose();
    x = next;
  };
}

export function dsm(dataValues, initValues) {
  const data = tf.tensor(dataValues, [NDATA, D]);
  const params = mlpFrom(initValues);
  const opt = new Adam(params);
  let seed = 7;
  return () => {
    const { value, grads } = tf.tidy(() => {
      const x = tf.gather(data, tf.randomUniformInt([BD], 0, NDATA, seed++));
      const xn = tf.add(x, tf.randomNormal([BD, D], 0, SIGMA, 'float32', seed++));
      const target = tf.div(tf.sub(xn, x), SIGMA ** 2);
      return valueAndGrads(params, (p) => dsmLoss(p, xn, target), true);
    });
    opt.step(params, grads);
    value.dataSync();
    tf.dispose([value, grads]);
  };
}

export function check(fixed) {
  return tf.tidy(() => {
    const params = mlpFrom(fixed.init);
    const data = tf.tensor(fixed.data, [NDATA, D]);
    const { allx, logq } = rnceBatch(data, tf.tensor(fixed.idx, undefined, 'int32'), tf.tensor(fixed.neg, [B, K, D]));
    const r = valueAndGrads(params, (p) => rnceLoss(p, allx, logq));
    const x = tf.gather(data, tf.tensor(fixed.idx2, undefined, 'int32'));
    const xn = tf.add(x, tf.mul(tf.tensor(fixed.noise, [BD, D]), SIGMA));
    const d = valueAndGrads(params, (p) => dsmLoss(p, xn, tf.div(tf.sub(xn, x), SIGMA ** 2)), true);
    const gx = tf.grad((xx) => tf.sum(energy(params, xx)))(tf.tensor(fixed.chains, [NCH, D]));
    const absSum = (g) => g.flatMap((l) => [l.w, l.b]).reduce((s, t) => s + tf.sum(tf.abs(t)).dataSync()[0], 0);
    const out = {
      rnceLoss: r.value.dataSync()[0],
      rnceGradAbsSum: absSum(r.grads),
      dsmLoss: d.value.dataSync()[0],
      dsmGradAbsSum: absSum(d.grads),
      ulaGradSum: tf.sum(tf.abs(gx)).dataSync()[0],
    };
    for (const l of params) {
      l.w.dispose();
      l.b.dispose();
    }
    return out;
  });
}

// Vendored copy of ../shared/bench/jaxjs_ref.mjs (reformatted by biome), run by src/main.mjs when @jax-js/jax is installed.
// jax-js (@jax-js/jax) timings of the bench workloads W1-W4 of shared/bench/README.md, matching torch_ref.py; prints one JSON object (ms per step, median).
// Install and run: in any folder, `npm i @jax-js/jax@0.1.25`, copy this file there, `node jaxjs_ref.mjs` (ESM resolves the package next to the file).
// Node >= 20; in Node only the wasm and cpu devices exist and wasm runs single-threaded. Flags: --no-eager (skip the no-jit timings), --no-check (skip loss checks), --quick (smoke test).

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { defaultDevice, grad, init, jit, nn, numpy as np, random, tree, valueAndGrad } from '@jax-js/jax';

const require = createRequire(import.meta.url);
const version = JSON.parse(
  readFileSync(join(dirname(require.resolve('@jax-js/jax')), '..', 'package.json'), 'utf8'),
).version;
const DEVICE = 'wasm';
const devices = await init(DEVICE); // init() with no argument probes WebGPU through `navigator` and crashes in Node 20
defaultDevice(DEVICE);
const CHECK = !process.argv.includes('--no-check');
const EAGER = !process.argv.includes('--no-eager'); // also time W2-W4 without jit (op-by-op dispatch)

function median(a) {
  a = [...a].sort((x, y) => x - y);
  return a[a.length >> 1];
}
// Same protocol as torch_ref.py: warm 10, then 7 repeats of 20 inner steps, median of the per-step means.
const QUICK = process.argv.includes('--quick'); // smoke test only: 1 warm-up, 1 repeat of 2 steps
function timed(fn, warm = QUICK ? 1 : 10, reps = QUICK ? 1 : 7, inner = QUICK ? 2 : 20) {
  for (let i = 0; i < warm; i++) fn();
  const runs = [];
  for (let j = 0; j < reps; j++) {
    const t = performance.now();
    for (let i = 0; i < inner; i++) fn();
    runs.push((performance.now() - t) / inner);
  }
  return median(runs);
}

const out = {
  jaxjs: version,
  device: DEVICE,
  devices,
  node: process.version,
  cpus: os.cpus().length,
  loadavg_start: os.loadavg().map((x) => +x.toFixed(2)),
  // The wasm backend spawns a worker pool only when both SharedArrayBuffer and a global (web) Worker exist;
  // there is no thread-count setting. Node 20 has no global Worker, so it runs single-threaded.
  wasm_threads: typeof SharedArrayBuffer !== 'undefined' && typeof Worker !== 'undefined' ? 'worker pool' : 1,
};

// ---------------- W1: float32 matmul, a @ a with a ~ U[0,1) ----------------
for (const n of [256, 512]) {
  const a = random.uniform(random.key(n), [n, n]);
  const mm = jit((x, y) => np.matmul(x, y));
  out[`matmul${n}_ms`] = timed(() => {
    mm(a.ref, a.ref).dataSync();
  });
  mm.dispose();
  a.dispose();
}

// ---------------- shared pieces ----------------
const D = 2,
  H = 128,
  B = 256,
  K = 16;
const LR = 1e-3,
  B1 = 0.9,
  B2 = 0.999,
  EPS = 1e-8; // torch.optim.Adam defaults

// MLP 2-128-128-128-1 with SiLU; torch.nn.Linear-like init: W, b ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)); W stored [in, out].
function mlpInit(key, dIn, hidden, depth) {
  const dims = [dIn, ...Array(depth).fill(hidden), 1];
  const keys = random.split(key, 2 * (dims.length - 1));
  const layers = [];
  for (let i = 0; i + 1 < dims.length; i++) {
    const bound = 1 / Math.sqrt(dims[i]);
    layers.push({
      w: random.uniform(keys.ref.slice(2 * i), [dims[i], dims[i + 1]], { minval: -bound, maxval: bound }),
      b: random.uniform(keys.ref.slice(2 * i + 1), [dims[i + 1]], { minval: -bound, maxval: bound }),
    });
  }
  keys.dispose();
  return layers;
}

// Energy E(x): [N, D] -> [N]. Takes ownership of params and x (each leaf is used exactly once).
function energy(params, x) {
  let h = x;
  params.forEach(({ w, b }, i) => {
    h = np.matmul(h, w).add(b);
    if (i < params.length - 1) h = nn.silu(h);
  });
  return h.reshape([-1]);
}

// Adam with PyTorch's update rule. t is the new step count (1, 2, ...) as a scalar array. Consumes all inputs.
function adam(params, grads, m, v, t) {
  const [pl, def] = tree.flatten(params);
  const gl = tree.leaves(grads),
    ml = tree.leaves(m),
    vl = tree.leaves(v);
  const bc1 = np
    .exp(t.ref.mul(Math.log(B1)))
    .neg()
    .add(1); // 1 - b1^t
  const bc2 = np
    .exp(t.mul(Math.log(B2)))
    .neg()
    .add(1); // 1 - b2^t
  const stepSize = np.reciprocal(bc1).mul(LR); // lr / bc1
  const sqrtBc2 = np.sqrt(bc2);
  const np_ = [],
    nm = [],
    nv = [];
  for (let i = 0; i < pl.length; i++) {
    const g = gl[i];
    const m1 = ml[i].mul(B1).add(g.ref.mul(1 - B1));
    const v1 = vl[i].mul(B2).add(np.square(g).mul(1 - B2));
    const denom = np.sqrt(v1.ref).div(sqrtBc2.ref).add(EPS);
    np_.push(pl[i].sub(m1.ref.mul(stepSize.ref).div(denom)));
    nm.push(m1);
    nv.push(v1);
  }
  stepSize.dispose();
  sqrtBc2.dispose();
  return { params: tree.unflatten(def, np_), m: tree.unflatten(def, nm), v: tree.unflatten(def, nv) };
}

function adamInit(params) {
  return {
    params,
    m: tree.map((p) => np.zerosLike(p.ref), params),
    v: tree.map((p) => np.zerosLike(p.ref), params),
    t: np.array(0),
  };
}

// ---------------- W2: one R-NCE step ----------------
const POS_MASK = new Float32Array(K + 1);
POS_MASK[0] = 1;
// Bug probe (jax-js 0.1.25): d/dx sum(x[:, 0]) under jit should be [[1,0,0],...]; it comes out all ones.
{
  const f = (x) => x.slice([], 0).sum();
  const x = np.arange(12).astype(np.float32).reshape([4, 3]);
  const ge = Array.from(grad(f)(x.ref).dataSync()),
    gj = Array.from(jit(grad(f))(x).dataSync());
  out.jit_grad_slice_ok = ge.every((v, i) => v === gj[i]);
  out.jit_grad_slice = { eager: ge.slice(0, 3), jit: gj.slice(0, 3) };
}
// state = { params, m, v, t, key }; returns [newState, loss]. The whole step (sampling, loss, gradient,
// Adam update) is jitted as one function below; the PRNG key is passed in and split every step.
const rnceRaw = (state, data) => {
  const { params, m, v, t, key } = state;
  const ks = random.split(key, 3);
  const idx = random.randint(ks.ref.slice(1), { minval: 0, maxval: 4096, shape: [B] });
  const y = np.take(data, idx, 0); // [B, D]
  const neg = random.normal(ks.ref.slice(2), [B, K, D]).mul(2.0); // N(0, 2^2 I)
  const allx = np.concatenate([y.reshape([B, 1, D]), neg], 1); // [B, K+1, D]
  const logq = np.square(allx.ref).sum(-1).mul(-0.5).div(4.0); // [B, K+1]
  const lossFn = (p) => {
    const logits = energy(p, allx.reshape([-1, D]))
      .reshape([B, K + 1])
      .neg()
      .sub(logq);
    // logits[:, 0] as a masked sum: under jit, the gradient of logits.slice([], 0) comes out wrong in
    // jax-js 0.1.25 (the padded cotangent is not zeroed; see the jit_grad_slice_ok probe above), so the loss diverged.
    const pos = logits.ref.mul(np.array(POS_MASK)).sum(1);
    return pos.sub(nn.logsumexp(logits, 1)).mean().neg();
  };
  const [loss, g] = valueAndGrad(lossFn)(tree.ref(params));
  const t1 = t.add(1);
  return [{ ...adam(params, g, m, v, t1.ref), t: t1, key: ks.slice(0) }, loss];
};

// ---------------- W3: one ULA step, 1024 chains, gradient in x only ----------------
// Under jit this is ~10x slower than eager in jax-js 0.1.25: the fuser inlines the SiLU derivative
// (exp, reciprocal of the pre-activation) into the inner loop of the backward matmul, so exp runs
// 1024*128*128 times in one strided kernel (~0.6 s). Hence ula_step_eager_ms as well.
const NCH = 1024,
  STEP = 0.01;
const ulaRaw = (params, x, key) => {
  const ks = random.split(key, 2);
  const g = grad((xx) => energy(params, xx).sum())(x.ref);
  const noise = random.normal(ks.ref.slice(1), [NCH, D]);
  const xn = x.sub(g.mul(STEP)).add(noise.mul(Math.sqrt(2 * STEP)));
  return [xn, ks.slice(0)];
};

// ---------------- W4: one DSM step (gradient of a gradient), batch 512, sigma 0.1 ----------------
const BD = 512,
  SIGMA = 0.1;
const dsmRaw = (state, data) => {
  const { params, m, v, t, key } = state;
  const ks = random.split(key, 3);
  const idx = random.randint(ks.ref.slice(1), { minval: 0, maxval: 4096, shape: [BD] });
  const x = np.take(data, idx, 0); // [BD, D]
  const xn = x.ref.add(random.normal(ks.ref.slice(2), [BD, D]).mul(SIGMA));
  const target = xn.ref.sub(x).div(SIGMA ** 2); // (xn - x) / sigma^2
  const lossFn = (p) => {
    const score = grad((xx) => energy(p, xx).sum().neg())(xn); // -grad_x E(xn)
    return np
      .square(score.add(target))
      .sum(-1)
      .mean()
      .mul(SIGMA ** 2);
  };
  const [loss, g] = valueAndGrad(lossFn)(tree.ref(params));
  const t1 = t.add(1);
  return [{ ...adam(params, g, m, v, t1.ref), t: t1, key: ks.slice(0) }, loss];
};

// The whole step under one jit, as the README recommends; the *Raw functions also run eagerly (op by op) for comparison.
const rnceStep = jit(rnceRaw),
  ulaStep = jit(ulaRaw),
  dsmStep = jit(dsmRaw);
const data = random.normal(random.key(1), [4096, D]); // data ~ N(0, I), as torch.randn(4096, D)
const errors = {};
function attempt(name, fn) {
  try {
    fn();
  } catch (e) {
    errors[name] = String(e?.stack || e)
      .split('\n')
      .slice(0, 6)
      .join(' | ');
  }
}

// W2 timing (trains the net like torch_ref.py does; W3 then reuses it)
function timeRnce(step) {
  let st = { ...adamInit(mlpInit(random.key(2), D, H, 3)), key: random.key(3) };
  const ms = timed(() => {
    const [s, loss] = step(st, data.ref);
    st = s;
    loss.dataSync();
  });
  tree.dispose([st.m, st.v, st.t, st.key]);
  return [ms, st.params];
}
// W3 timing
function timeUla(step, params) {
  let x = random.normal(random.key(4), [NCH, D]),
    key = random.key(5);
  const ms = timed(() => {
    const r = step(tree.ref(params), x, key);
    x = r[0];
    key = r[1];
    x.ref.dataSync();
  });
  const finite = x.dataSync().every(Number.isFinite);
  key.dispose();
  return [ms, finite];
}
// W4 timing
function timeDsm(step) {
  let st = { ...adamInit(mlpInit(random.key(6), D, H, 3)), key: random.key(7) };
  const ms = timed(() => {
    const [s, loss] = step(st, data.ref);
    st = s;
    loss.dataSync();
  });
  tree.dispose(st);
  return ms;
}
for (const [tag, rnce, ula, dsm] of [
  ['', rnceStep, ulaStep, dsmStep],
  ['_eager', rnceRaw, ulaRaw, dsmRaw],
]) {
  if (tag && !EAGER) continue;
  let net = null;
  attempt(`rnce${tag}`, () => {
    [out[`rnce_step${tag}_ms`], net] = timeRnce(rnce);
  });
  attempt(`ula${tag}`, () => {
    const params = net ?? mlpInit(random.key(2), D, H, 3);
    [out[`ula_step${tag}_ms`], out[`ula_x_finite${tag}`]] = timeUla(ula, params);
    tree.dispose(params);
  });
  attempt(`dsm${tag}`, () => {
    out[`dsm_step${tag}_ms`] = timeDsm(dsm);
  });
}

// Light correctness: losses should fall over 200 steps from a fresh net on data drawn from N(0, I).
function lossCurve(step, seed, n = QUICK ? 20 : 200) {
  let st = { ...adamInit(mlpInit(random.key(seed), D, H, 3)), key: random.key(seed + 1) };
  const ls = [];
  for (let i = 0; i < n; i++) {
    const [s, loss] = step(st, data.ref);
    st = s;
    ls.push(loss.dataSync()[0]);
  }
  tree.dispose(st);
  const mean = (a) => a.reduce((x, y) => x + y, 0) / a.length;
  return { first: ls[0], last: ls[n - 1], first10: mean(ls.slice(0, 10)), last10: mean(ls.slice(-10)) };
}
if (CHECK) {
  for (const [name, step, seed] of [
    ['rnce', rnceStep, 10],
    ['dsm', dsmStep, 20],
  ]) {
    attempt(`${name}_check`, () => {
      const c = lossCurve(step, seed);
      out[`${name}_loss_first`] = c.first;
      out[`${name}_loss_last`] = c.last;
      out[`${name}_loss_first10_mean`] = c.first10;
      out[`${name}_loss_last10_mean`] = c.last10;
      out[`${name}_loss_falls`] = c.last10 < c.first10;
    });
  }
}
if (Object.keys(errors).length) out.errors = errors;
out.loadavg_end = os.loadavg().map((x) => +x.toFixed(2));
console.log(JSON.stringify(out));

// The workloads W1-W3 on @joule/tensor-gpu, per gpu.js mode: `node bench/src/gpu.mjs [--mode m] [--quick] [--json file]`.
//
// Every timed step ends with a read of its result (the loss, the product, the chains), so a figure
// is the time until the values are on the host, not the time to queue GL commands. headlessgl needs
// a display: run under `xvfb-run -a` (Mesa's llvmpipe: a software rasterizer, not a GPU).
import { writeFileSync } from 'node:fs';
import {
  CpuBackend,
  dispose,
  grad,
  keep,
  Rng,
  rand,
  randint,
  randn,
  setBackend,
  tensor,
  tidy,
  valueAndGrad,
} from '@joule/tensor';
import { availableModes, GpuBackend } from '@joule/tensor-gpu';
import { B, D, K, mlpInitValues, NCH, NDATA, timed, ULA_STEP } from './common.mjs';
import { Adam, energy, mlpFrom, rnceBatch, rnceLoss } from './joule.mjs';

const args = process.argv.slice(2);
const option = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const quick = args.includes('--quick');
const jsonPath = option('--json');
const modes = option('--mode') ? [option('--mode')] : await availableModes();

const dataValues = Array.from(new Rng(1).normal(NDATA * D));
const initRng = new Rng(2);
const initValues = mlpInitValues((n) => Array.from(initRng.uniform(n)));

/** W1: `a @ a` for a ~ U[0, 1) of [n, n], read back. */
function matmulStep(n) {
  const a = keep(rand([n, n], new Rng(n)));
  return () => {
    const c = a.matmul(a);
    c.dataSync();
    c.dispose();
  };
}

/** W2: one R-NCE step (batch 256, K = 16, Adam), the loss read back. Returns the step and the parameters. */
function rnceStep() {
  const rng = new Rng(3);
  const points = keep(tensor(dataValues, [NDATA, D]));
  let params = mlpFrom(initValues);
  const opt = new Adam(params);
  const step = () => {
    const { value, grads } = tidy(() => {
      const { allx, logq } = rnceBatch(points, randint([B], 0, NDATA, rng), randn([B, K, D], rng, 0, 2));
      const r = valueAndGrad(rnceLoss)(params, allx, logq);
      return { value: keep(r.value), grads: keep(r.grad) };
    });
    params = opt.step(params, grads);
    dispose(grads);
    value.dataSync();
    value.dispose();
  };
  return { step, params: () => params };
}

/** W3: one ULA step of 1024 chains on the MLP energy, the chains read back. */
function ulaStep(params) {
  const rng = new Rng(5);
  const gradE = grad((x) => energy(params, x).sum());
  let x = keep(randn([NCH, D], new Rng(4)));
  const noiseScale = Math.sqrt(2 * ULA_STEP);
  return () => {
    const next = tidy(() => keep(x.sub(gradE(x).mul(ULA_STEP)).add(randn([NCH, D], rng).mul(noiseScale))));
    x.dispose();
    x = next;
    x.dataSync();
  };
}

const results = [];
for (const mode of modes) {
  const backend = await GpuBackend.create({ mode });
  setBackend(backend);
  const row = { mode, matmul256_ms: timed(matmulStep(256), { quick }) };
  row.matmul512_ms = timed(matmulStep(512), { quick });
  const w2 = rnceStep();
  row.rnce_step_ms = timed(w2.step, { quick });
  row.ula_step_ms = timed(ulaStep(w2.params()), { quick });
  row.kernels = backend.compiledKernels;
  results.push(row);
  console.log(JSON.stringify(row));
  setBackend(new CpuBackend());
  backend.destroy();
}

const fmt = (v) => (v >= 100 ? v.toFixed(0) : v.toPrecision(3));
console.log('\n| gpu.js mode | W1 256 | W1 512 | W2 R-NCE | W3 ULA |\n| --- | --- | --- | --- | --- |');
for (const r of results) {
  console.log(
    `| ${r.mode} | ${fmt(r.matmul256_ms)} | ${fmt(r.matmul512_ms)} | ${fmt(r.rnce_step_ms)} | ${fmt(r.ula_step_ms)} |`,
  );
}
console.log('milliseconds per step (median; first call compiles the kernels and is not timed)');
if (jsonPath) writeFileSync(jsonPath, `${JSON.stringify({ quick, results }, null, 2)}\n`);

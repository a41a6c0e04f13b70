// `pnpm bench`: times the workloads W1-W4 of ../shared/bench/README.md on joule and its peers in one run
// and prints a table of median milliseconds per step with the ratio joule / peer (below 1: joule is faster).
// Flags: --json <file> (write the results), --quick (smoke test: two calls per figure), --skip <list>
// (comma-separated among tfjs-wasm, tfjs-cpu, torch, jaxjs), --torch-threads <n> (default 1, as torch_ref.py),
// --threads <n> (joule's CPU backend with n threads for large matrix products; default 1), --blas (joule's large
// matrix products on OpenBLAS through @joule/tensor-blas, with its own threads: OPENBLAS_NUM_THREADS or every core),
// --rounds <n> (default 1: joule and PyTorch take turns n times, and the joule / PyTorch column gives the median
// ratio of the rounds with its range; on a shared machine a ratio within one round is what stays comparable).
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CpuBackend, Rng, setBackend } from '@joule/tensor';
import { B, BD, D, K, median, mlpInitValues, NCH, NDATA, timed } from './common.mjs';
import * as joule from './joule.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const argv = process.argv.slice(2);
const flag = (name) => argv.includes(name);
const option = (name, fallback) => {
  const i = argv.indexOf(name);
  return i >= 0 && i + 1 < argv.length ? argv[i + 1] : fallback;
};
const quick = flag('--quick');
const skip = new Set(option('--skip', '').split(',').filter(Boolean));
const jsonPath = option('--json', null);
const torchThreads = option('--torch-threads', '1');
const rounds = Number(option('--rounds', '1'));
if (!Number.isInteger(rounds) || rounds < 1)
  throw new Error(`--rounds takes an integer ≥ 1, got ${option('--rounds')}`);
const jouleThreads = Number(option('--threads', '1'));
if (flag('--blas')) {
  const { blasBackend } = await import('@joule/tensor-blas');
  setBackend(blasBackend({ cpu: { threads: jouleThreads } }));
} else if (jouleThreads > 1) setBackend(new CpuBackend({ threads: jouleThreads }));

const WORKLOADS = [
  { id: 'W1 256', key: 'matmul256_ms' },
  { id: 'W1 512', key: 'matmul512_ms' },
  { id: 'W2 R-NCE', key: 'rnce_step_ms' },
  { id: 'W3 ULA', key: 'ula_step_ms' },
  { id: 'W4 DSM', key: 'dsm_step_ms' },
];

function log(msg) {
  process.stderr.write(`${msg}\n`);
}

// Shared inputs: the data set and the initial parameters, identical for every JavaScript system.
const dataValues = Array.from(new Rng(1).normal(NDATA * D));
const initRng = new Rng(2);
const initValues = mlpInitValues((n) => Array.from(initRng.uniform(n)));

/** Times W1-W4 (or the subset in `which`) on a module with the interface of joule.mjs. */
function runJs(sys, which = ['matmul', 'rnce', 'ula', 'dsm']) {
  const out = {};
  if (which.includes('matmul')) {
    for (const n of [256, 512]) out[`matmul${n}_ms`] = timed(sys.matmul(n), { quick });
  }
  let params = null;
  if (which.includes('rnce')) {
    const w2 = sys.rnce(dataValues, initValues);
    out.rnce_step_ms = timed(w2.step, { quick });
    params = w2.params();
  }
  if (which.includes('ula')) {
    out.ula_step_ms = timed(sys.ula(params ?? sys.rnce(dataValues, initValues).params()), { quick });
  }
  if (which.includes('dsm')) out.dsm_step_ms = timed(sys.dsm(dataValues, initValues), { quick });
  return out;
}

/** Fixed inputs on which every system must compute the same losses and gradients. */
function fixedInputs() {
  const rng = new Rng(11);
  return {
    init: initValues,
    data: dataValues,
    idx: Array.from(rng.integers(B, 0, NDATA)),
    neg: Array.from(rng.normal(B * K * D)).map((z) => 2 * z),
    idx2: Array.from(rng.integers(BD, 0, NDATA)),
    noise: Array.from(rng.normal(BD * D)),
    chains: Array.from(rng.normal(NCH * D)),
  };
}

/** Relative difference of each checked quantity. */
function compareChecks(a, b) {
  const out = {};
  for (const key of Object.keys(a)) {
    out[key] = Math.abs(a[key] - b[key]) / Math.max(Math.abs(a[key]), Math.abs(b[key]), 1e-12);
  }
  return out;
}

function runPython() {
  const python = '/usr/bin/python3';
  const probe = spawnSync(python, ['-c', 'import torch'], { encoding: 'utf8' });
  if (probe.status !== 0) {
    log('torch: not available (apt-get install -y python3-torch libopenblas0-pthread); skipped');
    return null;
  }
  const r = spawnSync(python, [join(here, '..', 'peers', 'torch_ref.py'), torchThreads], {
    encoding: 'utf8',
    timeout: 600_000,
  });
  if (r.status !== 0) {
    log(`torch: failed (${r.stderr.trim().split('\n').pop()}); skipped`);
    return null;
  }
  const out = JSON.parse(r.stdout.trim().split('\n').pop());
  return {
    // one torch thread, but OpenBLAS keeps its own threads for the matrix products (both cores here)
    label: `PyTorch ${out.torch} (${out.threads} torch thread${out.threads === '1' || out.threads === 1 ? '' : 's'}, OpenBLAS threads its own)`,
    results: out,
  };
}

function runJaxjs() {
  try {
    import.meta.resolve('@jax-js/jax');
  } catch {
    log('jax-js: @jax-js/jax is not installed; skipped');
    return null;
  }
  const args = [join(here, '..', 'peers', 'jaxjs_ref.mjs'), '--no-check'];
  if (quick) args.push('--quick');
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', timeout: 900_000 });
  if (r.status !== 0) {
    log(`jax-js: failed (${(r.stderr || '').trim().split('\n').pop()}); skipped`);
    return null;
  }
  const out = JSON.parse(r.stdout.trim().split('\n').pop());
  // The faster of jit and op by op, as the shared README asks.
  const results = {};
  for (const { key } of WORKLOADS) {
    const eager = out[key.replace('_ms', '_eager_ms')];
    const candidates = [out[key], eager].filter((v) => typeof v === 'number');
    if (candidates.length > 0) results[key] = Math.min(...candidates);
  }
  return { label: `jax-js ${out.jaxjs} wasm (faster of jit / op by op)`, results };
}

const systems = [];
log(
  `machine: ${os.cpus()[0]?.model ?? 'unknown cpu'}, ${os.cpus().length} cores, node ${process.version}; load ${os.loadavg()[0].toFixed(2)}`,
);

const fixed = fixedInputs();
const jouleCheck = joule.check(fixed);
log(`${joule.describe()}: timing`);
const jouleRuns = [runJs(joule)];
const torchRuns = [];
if (!skip.has('torch'))
  for (let r = 0; r < rounds; r++) {
    if (r > 0) {
      log(`round ${r + 1} of ${rounds}: joule`);
      jouleRuns.push(runJs(joule));
    }
    log('PyTorch: running peers/torch_ref.py');
    const torch = runPython();
    if (!torch) break;
    torchRuns.push(torch);
  }
/** Per workload, the median over runs (the rounds' figures for --rounds). */
const medians = (runs) =>
  Object.fromEntries(WORKLOADS.map(({ key }) => [key, median(runs.map((run) => run.results?.[key] ?? run[key]))]));
systems.push({ label: joule.describe(), results: medians(jouleRuns), check: jouleCheck, rounds: jouleRuns });

if (!skip.has('tfjs-wasm') || !skip.has('tfjs-cpu')) {
  const tfjs = await import('./tfjs.mjs');
  const runs = [
    ['wasm', ['matmul', 'rnce', 'ula', 'dsm']],
    ['cpu', ['rnce', 'ula']],
  ];
  for (const [backend, which] of runs) {
    if (skip.has(`tfjs-${backend}`)) continue;
    if (!(await tfjs.use(backend))) {
      log(`tfjs ${backend}: backend unavailable; skipped`);
      continue;
    }
    const check = tfjs.check(fixed);
    const agreement = compareChecks(jouleCheck, check);
    const diffs = Object.entries(agreement).map(([k, v]) => `${k} ${v.toExponential(1)}`);
    log(`${tfjs.describe()}: relative difference from joule on the fixed inputs: ${diffs.join(', ')}; timing`);
    systems.push({ label: tfjs.describe(), results: runJs(tfjs, which), check, agreement });
  }
}
if (torchRuns.length > 0) {
  // the ratio of each round, joule's run and PyTorch's next to each other in time
  const ratios = Object.fromEntries(
    WORKLOADS.map(({ key }) => [key, torchRuns.map((t, r) => jouleRuns[r][key] / t.results[key])]),
  );
  systems.push({ label: torchRuns[0].label, results: medians(torchRuns), ratios, rounds: torchRuns });
}
if (!skip.has('jaxjs')) {
  log('jax-js: running peers/jaxjs_ref.mjs');
  const jax = runJaxjs();
  if (jax) systems.push(jax);
}

// the table
const fmt = (v) => (v === undefined ? '' : v < 10 ? v.toFixed(2) : v < 100 ? v.toFixed(1) : v.toFixed(0));
const [mine, ...peers] = systems;
const header = ['workload', 'joule ms', ...peers.flatMap((p) => [`${p.label} ms`, 'joule / peer'])];
const rows = WORKLOADS.map(({ id, key }) => {
  const j = mine.results[key];
  return [
    id,
    fmt(j),
    ...peers.flatMap((p) => {
      const v = p.results[key];
      if (v === undefined || j === undefined) return [fmt(v), ''];
      const r = p.ratios?.[key];
      if (!r || r.length < 2) return [fmt(v), `${(j / v).toFixed(2)}×`];
      return [fmt(v), `${median(r).toFixed(2)}× (${Math.min(...r).toFixed(2)}–${Math.max(...r).toFixed(2)})`];
    }),
  ];
});
const line = (cells) => `| ${cells.join(' | ')} |`;
console.log(`\n${mine.label}${torchRuns.length > 1 ? `; ${torchRuns.length} rounds with PyTorch, medians` : ''}`);
console.log(line(header));
console.log(line(header.map(() => '---')));
for (const r of rows) console.log(line(r));
const gflops = (n, ms) => ((2 * n ** 3) / ms / 1e6).toFixed(1);
console.log(
  `\nW1 joule: ${gflops(256, mine.results.matmul256_ms)} GFLOP/s at 256, ${gflops(512, mine.results.matmul512_ms)} GFLOP/s at 512; load average at the end ${os.loadavg()[0].toFixed(2)}`,
);

if (jsonPath) {
  const doc = {
    date: new Date().toISOString(),
    machine: { cpu: os.cpus()[0]?.model, cores: os.cpus().length, node: process.version, loadavg: os.loadavg() },
    quick,
    systems,
    table: { header, rows },
  };
  writeFileSync(jsonPath, `${JSON.stringify(doc, null, 2)}\n`);
  log(`wrote ${jsonPath}`);
}

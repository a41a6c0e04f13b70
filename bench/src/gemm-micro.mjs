// GFLOP/s of `matmul` on the CPU backend at W1's sizes and the MLP workloads' shapes,
// optionally against another build of @joule/tensor (e.g. the previous commit's) in the same process.
// Usage: node src/gemm-micro.mjs [--baseline <dir or dist/index.js of another build>] [--current <same, in
//        place of the installed @joule/tensor>] [--rounds N] [--threads N] (adds the current build with
//        `new CpuBackend({ threads: N })`) [--blas] (adds the current build with every product on OpenBLAS,
//        `new CpuBackend({ matmul: blasMatmul({ minInner: 0 }) })`: the small squares give the crossover)
//        [--relaxed-simd] (calls v8.setFlagsFromString('--experimental-wasm-relaxed-simd') before the
//        kernels are compiled, so Node 20 validates the FMA module) [--no-fma] [--only <shape ids>] [--json <file>]
// Each figure is the median over `rounds` of one timed batch of calls (about 40 ms of work); the systems
// alternate round by round so that the load of a shared machine hits both alike. The load average is printed.
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import v8 from 'node:v8';

const argv = process.argv.slice(2);
const option = (name, fallback) => {
  const i = argv.indexOf(name);
  return i >= 0 && i + 1 < argv.length ? argv[i + 1] : fallback;
};
const rounds = Number(option('--rounds', '15'));
const baselinePath = option('--baseline', null);
const jsonPath = option('--json', null);
const only = option('--only', null)?.split(',');
if (argv.includes('--relaxed-simd')) v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
const fma = !argv.includes('--no-fma');

/** [id, m, k, n, transA, transB]: `[m, k]·[k, n]` with A stored `[k, m]` when transA, B stored `[n, k]` when transB. */
const SHAPES = [
  ['16', 16, 16, 16, false, false],
  ['24', 24, 24, 24, false, false],
  ['32', 32, 32, 32, false, false],
  ['48', 48, 48, 48, false, false],
  ['64', 64, 64, 64, false, false],
  ['256', 256, 256, 256, false, false],
  ['512', 512, 512, 512, false, false],
  ['4352x2·2x128', 4352, 2, 128, false, false],
  ['4352x128·128x128', 4352, 128, 128, false, false],
  ['(4352x128)ᵀ·4352x128', 128, 4352, 128, true, false],
  ['1024x128·128x1', 1024, 128, 1, false, false],
  ['1024x128·(128x128)ᵀ', 1024, 128, 128, false, true],
].filter((s) => !only || only.includes(s[0]));

async function load(spec) {
  const path = spec.endsWith('.js') ? spec : resolve(spec, 'index.js');
  return import(spec === '@joule/tensor' ? spec : pathToFileURL(resolve(path)).href);
}

const systems = [{ name: 'current', mod: await load(option('--current', '@joule/tensor')) }];
if (baselinePath) systems.push({ name: 'baseline', mod: await load(baselinePath) });

const threads = Number(option('--threads', '1'));
if (threads > 1) systems.push({ name: `${threads} threads`, mod: systems[0].mod, threads });

if (argv.includes('--blas')) {
  const { blasMatmul } = await import('@joule/tensor-blas');
  systems.push({ name: 'openblas', mod: systems[0].mod, matmul: blasMatmul({ minInner: 0 }) });
}

for (const s of systems) {
  s.backend = new s.mod.CpuBackend({ fma, threads: s.threads ?? 1, matmul: s.matmul });
  s.mod.setBackend(s.backend);
  s.kernels = s.backend.kernels;
}

function median(values) {
  const v = [...values].sort((a, b) => a - b);
  return v[v.length >> 1];
}

/** A closure running one product on `mod`, and the number of calls that make about 40 ms. */
function prepare({ mod, backend }, [, m, k, n, transA, transB]) {
  mod.setBackend(backend);
  const rng = new mod.Rng(1);
  const a = mod.randn(transA ? [k, m] : [m, k], rng);
  const b = mod.randn(transB ? [n, k] : [k, n], rng);
  const call = () => {
    mod.setBackend(backend);
    mod.matmul(a, b, { transA, transB }).dispose();
  };
  for (let i = 0; i < 3; i++) call();
  const t = performance.now();
  call();
  const once = performance.now() - t;
  return { call, inner: Math.max(1, Math.round(40 / Math.max(once, 0.01))) };
}

const loadBefore = os.loadavg();
const rows = [];
for (const shape of SHAPES) {
  const [id, m, k, n] = shape;
  const flop = 2 * m * k * n;
  const runs = systems.map((s) => ({ s, ...prepare(s, shape), gflops: [] }));
  const inner = Math.max(...runs.map((r) => r.inner));
  for (let r = 0; r < rounds; r++) {
    for (const run of r % 2 ? [...runs].reverse() : runs) {
      const t = performance.now();
      for (let i = 0; i < inner; i++) run.call();
      run.gflops.push((flop * inner) / ((performance.now() - t) * 1e6));
    }
  }
  const row = { shape: id, m, k, n };
  for (const run of runs) row[run.s.name] = median(run.gflops);
  rows.push(row);
}
const loadAfter = os.loadavg();

const fmt = (x) => x.toFixed(2);
const header = ['shape (m·k·n)', ...systems.map((s) => `${s.name} GFLOP/s (${s.kernels})`)];
if (baselinePath) header.push('current / baseline');
const lines = [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`];
for (const row of rows) {
  const cells = [row.shape, ...systems.map((s) => fmt(row[s.name]))];
  if (baselinePath) cells.push(`${fmt(row.current / row.baseline)}×`);
  lines.push(`| ${cells.join(' | ')} |`);
}
console.log(`${os.cpus()[0].model}, Node ${process.version}, ${rounds} rounds per figure (median)`);
console.log(`load average before ${loadBefore.map(fmt).join(' ')}, after ${loadAfter.map(fmt).join(' ')}`);
console.log(lines.join('\n'));
if (jsonPath) writeFileSync(jsonPath, JSON.stringify({ loadBefore, loadAfter, rounds, rows }, null, 2));

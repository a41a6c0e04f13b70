// Times joule's workloads W2-W4 under several CPU configurations, each in its own process (OpenBLAS's
// threads spin for a while after a product, so configurations sharing a process would disturb each
// other), alternating configurations round by round so that a shared machine's load hits all alike.
// Configurations: the built-in WebAssembly kernels on 1 and 2 threads, and large products on OpenBLAS
// and SiLU on AVX2 (@joule/tensor-blas's blasBackend) with 1 or 2 BLAS threads, alone or with 2 threads for
// the WebAssembly kernels.
// Usage: node src/configs.mjs [--rounds N] [--only <config names, comma-separated>] [--workloads ula,dsm,rnce]
// Prints the median over rounds of each process's median wall milliseconds per step (profile.mjs --time).
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { median } from './common.mjs';

const argv = process.argv.slice(2);
const option = (name, fallback) => {
  const i = argv.indexOf(name);
  return i >= 0 && i + 1 < argv.length ? argv[i + 1] : fallback;
};
const rounds = Number(option('--rounds', '3'));
const only = option('--only', null)?.split(',');
const workloads = option('--workloads', 'rnce,ula,dsm').split(',');
const profile = join(dirname(fileURLToPath(import.meta.url)), 'profile.mjs');

const CONFIGS = [
  { name: 'wasm', args: [] },
  { name: 'wasm 2 threads', args: ['--threads', '2'] },
  { name: 'blas 1', args: ['--blas'], env: { OPENBLAS_NUM_THREADS: '1' } },
  { name: 'blas 2', args: ['--blas'], env: { OPENBLAS_NUM_THREADS: '2' } },
  { name: 'blas 1 + 2 threads', args: ['--blas', '--threads', '2'], env: { OPENBLAS_NUM_THREADS: '1' } },
  { name: 'blas 2 + 2 threads', args: ['--blas', '--threads', '2'], env: { OPENBLAS_NUM_THREADS: '2' } },
].filter((c) => !only || only.includes(c.name));

const results = new Map(CONFIGS.map((c) => [c.name, Object.fromEntries(workloads.map((w) => [w, []]))]));
const loadBefore = os.loadavg()[0];
for (let r = 0; r < rounds; r++)
  for (const w of workloads)
    for (const config of CONFIGS) {
      const out = execFileSync(process.execPath, [profile, w, w === 'rnce' ? '35' : '140', '--time', ...config.args], {
        env: { ...process.env, ...config.env },
        encoding: 'utf8',
      });
      const ms = Number(out.match(/median ([\d.]+) ms wall/)[1]);
      results.get(config.name)[w].push(ms);
    }

console.log(
  `${os.cpus()[0].model.trim()}, ${os.cpus().length} cores, ${rounds} rounds; load ${loadBefore.toFixed(2)} → ${os.loadavg()[0].toFixed(2)}`,
);
console.log(`| configuration | ${workloads.map((w) => `${w} ms (range)`).join(' | ')} |`);
console.log(`| --- | ${workloads.map(() => '---').join(' | ')} |`);
for (const config of CONFIGS) {
  const row = results.get(config.name);
  const cells = workloads.map((w) => {
    const v = row[w];
    return `${median(v).toFixed(2)} (${Math.min(...v).toFixed(2)}–${Math.max(...v).toFixed(2)})`;
  });
  console.log(`| ${config.name} | ${cells.join(' | ')} |`);
}

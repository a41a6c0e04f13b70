// Runs one joule workload (ula, dsm or rnce) for profiling: `node src/profile.mjs <workload> <steps> [--time]
// [--blas] [--threads n]` (--blas: large products on OpenBLAS and SiLU on AVX2, @joule/tensor-blas's blasBackend; --threads: the CPU backend's threads).
// Under `node --cpu-prof` or `valgrind --tool=callgrind` it just runs 10 warm-up steps and then `steps` steps
// (compare two step counts to get instructions per step); with --time it prints the median wall and CPU
// milliseconds per step over 7 repeats.
import { CpuBackend, Rng, setBackend } from '@joule/tensor';
import { D, median, mlpInitValues, NDATA } from './common.mjs';
import * as joule from './joule.mjs';

const [which = 'ula', stepsArg = '100'] = process.argv.slice(2);
const threadsAt = process.argv.indexOf('--threads');
const threads = threadsAt > 0 ? Number(process.argv[threadsAt + 1]) : 1;
if (process.argv.includes('--blas')) {
  const { blasBackend } = await import('@joule/tensor-blas');
  setBackend(blasBackend({ cpu: { threads } }));
} else if (threads > 1) setBackend(new CpuBackend({ threads }));
const steps = Number(stepsArg);
const dataValues = Array.from(new Rng(1).normal(NDATA * D));
const initRng = new Rng(2);
const initValues = mlpInitValues((n) => Array.from(initRng.uniform(n)));
const workloads = {
  ula: () => joule.ula(joule.mlpFrom(initValues)),
  dsm: () => joule.dsm(dataValues, initValues),
  rnce: () => joule.rnce(dataValues, initValues).step,
};
if (!workloads[which]) throw new Error(`unknown workload ${which}: one of ${Object.keys(workloads).join(', ')}`);
const step = workloads[which]();
for (let i = 0; i < 10; i++) step();
if (process.argv.includes('--time')) {
  const per = Math.max(1, Math.floor(steps / 7));
  const wall = [];
  const cpu = [];
  for (let r = 0; r < 7; r++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    for (let i = 0; i < per; i++) step();
    wall.push((performance.now() - t0) / per);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000 / per);
  }
  console.log(`${which}: median ${median(wall).toFixed(2)} ms wall, ${median(cpu).toFixed(2)} ms CPU per step`);
} else {
  for (let i = 0; i < steps; i++) step();
}

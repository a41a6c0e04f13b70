// Carbone et al. 2023 §4.1 / Fig. 1: Jarzynski-weighted SMC vs PCD vs CD on the d = 50 two-mode mixture
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ContrastiveDivergence } from '@joule/estimator-cd';
import { JarzynskiEstimator, mixtureEnergy, mixtureLogZ, sampleMixture } from '@joule/estimator-jarzynski';
import { ula } from '@joule/mcmc';
import { SGD } from '@joule/nn';
import { Rng, randn, tensor, zeros } from '@joule/tensor';
import { renderSvg } from '@joule/viz';
import { svgToPng } from '@joule/viz/node';
import { paperArgs } from '../args.mjs';

const here = dirname(fileURLToPath(import.meta.url));

const args = paperArgs(here);
// The paper: d = 50, N = 10^5 walkers (mini-batches N' = 10^4), n = 10^5 data, 20 runs, h = 0.1,
// per-iteration rates γ·h = 0.02 (a, b) and 0.1 (z), CD rates ×10, 1,000 iterations (digest §3.1).
const settings = args.quick
  ? { dim: 50, walkers: 1000, walkerBatch: 1000, data: 1000, iterations: 150, seeds: 1, every: 10, test: 2000 }
  : { dim: 50, walkers: 2000, walkerBatch: 2000, data: 2000, iterations: 800, seeds: 3, every: 20, test: 4000 };
if (args.seeds !== undefined) settings.seeds = args.seeds;
const { dim: d } = settings;
const h = 0.1;
const essThreshold = 1 / 1.05; // §4.1: resample when ESS < 1/1.05 (systematic)
const lrAB = 0.02;
const lrZ = 0.1;
const cdFactor = 10;
const cdSteps = 4;

// Teacher (eq. 14): a* = −10 e₁, b* = 6 e₁, z* = −log 3, so the mode at a* carries p* = 0.25.
const e1 = (v) => {
  const a = new Float32Array(d);
  a[0] = v;
  return tensor(a, [d]);
};
const teacher = { a: e1(-10), b: e1(6), z: tensor([-Math.log(3)], [1]) };
const pStar = 0.25;
const logZStar = mixtureLogZ(-Math.log(3), d);

/** Mass of the student mode nearer a* and the mode-location errors, labels matched on coordinate 1. */
function modeSummary(p) {
  const a = p.a.dataSync();
  const b = p.b.dataSync();
  const z = p.z.dataSync()[0];
  const massA = 1 / (1 + Math.exp(-z));
  const swapped = Math.abs(b[0] + 10) < Math.abs(a[0] + 10);
  const nearA = swapped ? b : a;
  const nearB = swapped ? a : b;
  const dist = (u, v) => Math.sqrt(u.reduce((s, x, j) => s + (x - v[j]) ** 2, 0));
  const aStar = teacher.a.dataSync();
  const bStar = teacher.b.dataSync();
  return { p: swapped ? 1 - massA : massA, errA: dist(nearA, aStar), errB: dist(nearB, bStar) };
}

/** Exact KL(ρ*‖ρ_θ) = log Z_θ − log Z* + E_*[U_θ − U*], the expectation over held-out teacher draws. */
function exactKL(p, test, teacherEnergy) {
  const u = mixtureEnergy(p, test).dataSync();
  let s = 0;
  for (let i = 0; i < u.length; i++) s += u[i] - teacherEnergy[i];
  return mixtureLogZ(p.z.dataSync()[0], d) - logZStar + s / u.length;
}

function init(rng) {
  return { a: randn([d], rng, 0, 0.1), b: randn([d], rng, 0, 0.1), z: zeros([1]) };
}

const sgd = (p, factor = 1) => new SGD(p, { lr: lrAB * factor, groups: [{ select: 'z', lr: lrZ * factor }] });

/**
 * An optimizer that ignores the gradient and replays another run's parameters: the "shadow" Jarzynski
 * estimator follows the trained run's protocol θ_0, θ_1, … with its own, independent walkers, so for it
 * the protocol is fixed in advance (Proposition 1 applies exactly) and its log Z carries no feedback bias.
 */
function replayOptimizer() {
  return {
    next: undefined,
    step() {
      return this.next;
    },
  };
}

async function runSeed(seed) {
  const rng = new Rng(seed);
  const data = sampleMixture(teacher, settings.data, rng);
  const test = sampleMixture(teacher, settings.test, rng);
  const teacherEnergy = Float64Array.from(mixtureEnergy(teacher, test).dataSync());
  const entropyStar = logZStar + teacherEnergy.reduce((s, v) => s + v, 0) / teacherEnergy.length;
  const t0 = init(rng);
  const methods = {
    Jarzynski: new JarzynskiEstimator({
      energy: mixtureEnergy,
      params: t0,
      optimizer: sgd(t0),
      walkers: sampleMixture(t0, settings.walkers, rng),
      logZ0: mixtureLogZ(0, d),
      stepSize: h,
      walkerBatch: settings.walkerBatch,
      essThreshold,
      scheme: 'systematic',
    }),
    PCD: new ContrastiveDivergence({
      energy: mixtureEnergy,
      params: t0,
      optimizer: sgd(t0),
      kernel: ula({ stepSize: h }),
      mode: 'pcd',
      numChains: settings.walkers,
    }),
    CD: new ContrastiveDivergence({
      energy: mixtureEnergy,
      params: t0,
      optimizer: sgd(t0, cdFactor),
      kernel: ula({ stepSize: h }),
      mcmcSteps: cdSteps,
      mode: 'cd',
      numChains: settings.walkers,
    }),
  };
  const replay = replayOptimizer();
  const shadow = new JarzynskiEstimator({
    energy: mixtureEnergy,
    params: t0,
    optimizer: replay,
    walkers: sampleMixture(t0, settings.walkers, rng),
    logZ0: mixtureLogZ(0, d),
    stepSize: h,
    walkerBatch: settings.walkerBatch,
    essThreshold,
    scheme: 'systematic',
  });
  const dataEnergy = (p) => mixtureEnergy(p, data).mean().dataSync()[0];
  const curves = [];
  for (let k = 0; k <= settings.iterations; k++) {
    const log = k % settings.every === 0 || k === settings.iterations;
    for (const [name, est] of Object.entries(methods)) {
      if (log) {
        const s = modeSummary(est.params);
        const row = { seed, method: name, step: k, p: s.p, errA: s.errA, errB: s.errB };
        row.kl = exactKL(est.params, test, teacherEnergy);
        if (name === 'Jarzynski') {
          const exact = mixtureLogZ(est.params.z.dataSync()[0], d);
          row.logZError = est.logZ() - exact;
          row.shadowLogZError = shadow.logZ() - exact;
          row.klJarzynski = est.logZ() + dataEnergy(est.params) - entropyStar;
        }
        curves.push(row);
      }
      if (k === settings.iterations) continue;
      const stats = await est.step(data, rng);
      if (name === 'Jarzynski') {
        if (log) curves[curves.length - 1].ess = stats.ess;
        // own handles: the trained estimator disposes its parameters when it next steps
        replay.next = Object.fromEntries(Object.entries(est.params).map(([k, t]) => [k, t.stopGradient()]));
        await shadow.step(data, rng);
      }
    }
  }
  return { curves, resamplings: methods.Jarzynski.resamplings };
}

function meanStd(values) {
  const m = values.reduce((s, v) => s + v, 0) / values.length;
  const v = values.length > 1 ? values.reduce((s, x) => s + (x - m) ** 2, 0) / (values.length - 1) : 0;
  return { mean: m, std: Math.sqrt(v) };
}

const fmt = (x, digits = 3) => (Number.isFinite(x) ? x.toFixed(digits) : 'n/a');
const pm = (ms, digits = 3) => `${fmt(ms.mean, digits)} ± ${fmt(ms.std, digits)}`;

async function linePng(rows, quantities, title) {
  const values = [];
  for (const r of rows)
    for (const [q, label] of quantities)
      if (Number.isFinite(r[q])) values.push({ step: r.step, method: r.method, quantity: label, value: r[q] });
  const svg = await renderSvg({
    title,
    data: { values },
    facet: { row: { field: 'quantity', type: 'nominal', title: null, sort: quantities.map(([, l]) => l) } },
    spec: {
      width: 420,
      height: 130,
      mark: { type: 'line' },
      encoding: {
        x: { field: 'step', type: 'quantitative', title: 'iteration k' },
        y: { field: 'value', type: 'quantitative', scale: { zero: false }, title: null },
        color: { field: 'method', type: 'nominal' },
      },
    },
    resolve: { scale: { y: 'independent' } },
  });
  return svgToPng(svg, { scale: 1.5 });
}

async function main() {
  const started = performance.now();
  mkdirSync(args.out, { recursive: true });
  const seeds = Array.from({ length: settings.seeds }, (_, i) => i + 1);
  const runs = [];
  for (const seed of seeds) {
    const t = performance.now();
    runs.push(await runSeed(seed));
    console.log(`seed ${seed} done in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  }
  // average the curves over seeds
  const keys = ['p', 'errA', 'errB', 'kl', 'klJarzynski', 'logZError', 'shadowLogZError', 'ess'];
  const groups = new Map();
  for (const run of runs)
    for (const row of run.curves) {
      const id = `${row.method}|${row.step}`;
      if (!groups.has(id)) groups.set(id, []);
      groups.get(id).push(row);
    }
  const averaged = [];
  for (const rowsAt of groups.values()) {
    const out = { method: rowsAt[0].method, step: rowsAt[0].step };
    for (const key of keys) {
      const v = rowsAt.map((r) => r[key]).filter((x) => x !== undefined);
      if (v.length > 0) {
        const ms = meanStd(v);
        out[key] = ms.mean;
        out[`${key}Std`] = ms.std;
      }
    }
    averaged.push(out);
  }
  const final = averaged.filter((r) => r.step === settings.iterations);
  const wall = (performance.now() - started) / 1000;
  const results = {
    paper: 'Carbone, Hua, Coste, Vanden-Eijnden 2023, §4.1 / Fig. 1',
    settings: { ...settings, h, essThreshold, lrAB, lrZ, cdFactor, cdSteps, pStar, scheme: 'systematic' },
    wallSeconds: wall,
    resamplings: runs.map((r) => r.resamplings),
    final,
    curves: averaged,
  };
  writeFileSync(join(args.out, 'results.json'), `${JSON.stringify(results, null, 1)}\n`);
  const lines = [
    `# Jarzynski vs PCD vs CD, d = ${d} two-mode mixture (p* = ${pStar})`,
    '',
    `N = ${settings.walkers} walkers (moved per iteration: ${settings.walkerBatch}), n = ${settings.data} data, ${settings.iterations} iterations, ${settings.seeds} seed(s), wall ${wall.toFixed(0)} s. Mean ± std over seeds at the last iteration.`,
    '',
    '| method | p_K (mass near a*) | ‖a_K − a*‖ | ‖b_K − b*‖ | exact KL | Jarzynski KL estimate |',
    '| --- | --- | --- | --- | --- | --- |',
  ];
  for (const r of final)
    lines.push(
      `| ${r.method} | ${pm({ mean: r.p, std: r.pStd })} | ${pm({ mean: r.errA, std: r.errAStd }, 2)} | ${pm({ mean: r.errB, std: r.errBStd }, 2)} | ${pm({ mean: r.kl, std: r.klStd })} | ${r.klJarzynski === undefined ? '' : pm({ mean: r.klJarzynski, std: r.klJarzynskiStd })} |`,
    );
  const jz = final.find((r) => r.method === 'Jarzynski');
  lines.push(
    '',
    `Jarzynski running log Z − exact log Z at the end: ${pm({ mean: jz.logZError, std: jz.logZErrorStd })} nats; the same for a shadow estimator that replays the trained protocol with independent walkers (no feedback): ${pm({ mean: jz.shadowLogZError, std: jz.shadowLogZErrorStd })} nats. Resamplings per run: ${results.resamplings.join(', ')}.`,
    '',
    '## Along training (mean over seeds)',
    '',
    '| k | p (J / PCD / CD) | KL (J / PCD / CD) | J: log Z error | shadow: log Z error |',
    '| --- | --- | --- | --- | --- |',
  );
  const steps = [...new Set(averaged.map((r) => r.step))].sort((u, v) => u - v);
  const stride = Math.max(1, Math.ceil(steps.length / 10));
  for (let i = 0; i < steps.length; i++) {
    if (i % stride !== 0 && i !== steps.length - 1) continue;
    const at = (m) => averaged.find((r) => r.step === steps[i] && r.method === m);
    const [j, p, c] = [at('Jarzynski'), at('PCD'), at('CD')];
    lines.push(
      `| ${steps[i]} | ${fmt(j.p)} / ${fmt(p.p)} / ${fmt(c.p)} | ${fmt(j.kl)} / ${fmt(p.kl)} / ${fmt(c.kl)} | ${fmt(j.logZError)} | ${fmt(j.shadowLogZError)} |`,
    );
  }
  writeFileSync(join(args.out, 'results.md'), `${lines.join('\n')}\n`);
  const pngs = {
    'training.png': [
      [
        ['p', 'p_k (mass near a*, target 0.25)'],
        ['kl', 'KL(ρ*‖ρ_θ) exact'],
        ['errA', '‖a_k − a*‖'],
        ['errB', '‖b_k − b*‖'],
      ],
      `d = ${d}, N = ${settings.walkers}, mean of ${settings.seeds} seed(s)`,
    ],
    'logz.png': [
      [
        ['logZError', 'log Z estimate − exact'],
        ['shadowLogZError', 'log Z error, shadow (fixed protocol)'],
        ['klJarzynski', 'KL, Jarzynski estimate (eq. 12)'],
      ],
      'Jarzynski running estimates',
    ],
  };
  for (const [file, [quantities, title]] of Object.entries(pngs)) {
    const rows = averaged.filter((r) => quantities.some(([q]) => r[q] !== undefined));
    writeFileSync(join(args.out, file), await linePng(rows, quantities, title));
  }
  console.log(lines.join('\n'));
}

await main();

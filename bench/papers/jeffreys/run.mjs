// Ben-Dov & Chamon (adaptive symmetrization of the KL) §5.2: 2-D density estimation, dual vs NF, P-W and EBM alone
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { moons } from '@joule/datasets';
import { GaussianMixture } from '@joule/distributions';
import { EnergyMaximumLikelihood, FlowMaximumLikelihood, JeffreysEstimator } from '@joule/estimator-jeffreys';
import { Flow, RationalQuadraticCoupling } from '@joule/flows';
import { MLP } from '@joule/nn';
import { Rng, tensor } from '@joule/tensor';
import { energyHeatmap } from '@joule/viz';
import { svgToPng } from '@joule/viz/node';
import { paperArgs } from '../args.mjs';

const here = dirname(fileURLToPath(import.meta.url));

const parsed = paperArgs(here, {
  datasets: { type: 'string' },
  iterations: { type: 'string' },
  train: { type: 'string' },
});
const args = {
  ...parsed,
  datasets: parsed.datasets?.split(','),
  iterations: parsed.iterations === undefined ? undefined : Number(parsed.iterations),
  train: parsed.train === undefined ? undefined : Number(parsed.train),
};
// The paper (D.2): 1000 train / 10,000 test points, 25,000 full-batch iterations, NSF (5 transforms,
// 8 bins), ResMLP EBM (6 blocks, h = 64), M = 1000, 5 seeds. Scaled down here (see README).
const settings = args.quick
  ? { datasets: ['gmmRing', 'moons'], seeds: 1, iterations: 30, train: 128, test: 500, m: 128, every: 30, warm: 20 }
  : {
      datasets: ['gmmRing', 'gmmGrid', 'rings', 'spiral', 'moons'],
      seeds: 3,
      iterations: 150,
      train: 256,
      test: 2000,
      m: 256,
      every: 25,
      warm: 50,
    };
if (args.seeds !== undefined) settings.seeds = args.seeds;
if (args.datasets !== undefined) settings.datasets = args.datasets;
if (args.iterations !== undefined) settings.iterations = args.iterations;
if (args.train !== undefined) {
  settings.train = args.train;
  settings.m = args.train;
}
// Learning rates: the paper's ratios (flow 10× the EBM, ζ multipliers 10× the KL multipliers would
// be 1e-3 : 1e-4) with the KL-multiplier rate set so that 2/α_λ (the dual's time constant) is half
// the run, since the run is ~60× shorter than the paper's.
const lrDual = 4 / settings.iterations;
const rates = { flow: 3e-3, energy: 3e-4, dual: lrDual, zeta: lrDual };

/** The paper's datasets (§3.2 of the digest); the two GMMs come with exact densities. */
function gmmRing() {
  const means = Array.from({ length: 8 }, (_, k) => [
    Math.SQRT2 * Math.cos((2 * Math.PI * k) / 8),
    Math.SQRT2 * Math.sin((2 * Math.PI * k) / 8),
  ]);
  return new GaussianMixture(means, 0.05);
}
function gmmGrid() {
  const s = Math.sqrt(0.5);
  const means = [];
  for (let i = 0; i < 5; i++) for (let j = 0; j < 5; j++) means.push([(-1 + i / 2) / s, (-1 + j / 2) / s]);
  return new GaussianMixture(means, 0.05);
}
function concentricRings(n, rng) {
  const g = rng.normal(2 * n);
  const u = rng.uniform(3 * n);
  const out = new Float32Array(2 * n);
  for (let i = 0; i < n; i++) {
    const norm = Math.hypot(g[2 * i], g[2 * i + 1]) || 1;
    const r = u[3 * i] < 0.5 ? 0.2 : 0.6;
    out[2 * i] = (r * g[2 * i]) / norm + 0.1 * u[3 * i + 1];
    out[2 * i + 1] = (r * g[2 * i + 1]) / norm + 0.1 * u[3 * i + 2];
  }
  return tensor(out, [n, 2]);
}
function spiral(n, rng) {
  const u = rng.uniform(n);
  const e = rng.normal(2 * n);
  const out = new Float32Array(2 * n);
  for (let i = 0; i < n; i++) {
    const t = 10 * u[i];
    out[2 * i] = t * Math.cos(t) + 0.02 * e[2 * i];
    out[2 * i + 1] = t * Math.sin(t) + 0.02 * e[2 * i + 1];
  }
  return tensor(out, [n, 2]);
}
const DATASETS = {
  gmmRing: { exact: gmmRing(), standardize: false },
  gmmGrid: { exact: gmmGrid(), standardize: false },
  rings: { sample: concentricRings, standardize: true },
  spiral: { sample: spiral, standardize: true },
  moons: { sample: moons, standardize: true },
};

function draw(spec, n, rng) {
  return spec.exact ? spec.exact.sample(n, rng) : spec.sample(n, rng);
}

/** Per-coordinate standardization from the training set: x ↦ (x − m)/s; NLLs shift by Σ log s. */
function standardizer(x, enabled) {
  const v = x.dataSync();
  const n = x.shape[0];
  const m = [0, 0];
  const s = [1, 1];
  if (enabled) {
    for (let j = 0; j < 2; j++) {
      let a = 0;
      for (let i = 0; i < n; i++) a += v[2 * i + j];
      m[j] = a / n;
      let b = 0;
      for (let i = 0; i < n; i++) b += (v[2 * i + j] - m[j]) ** 2;
      s[j] = Math.sqrt(b / n);
    }
  }
  return {
    apply: (t) => t.sub(tensor(m, [1, 2])).div(tensor(s, [1, 2])),
    logDet: Math.log(s[0]) + Math.log(s[1]),
  };
}

// The flow: rational-quadratic spline couplings (an NSF on [−4, 4], the identity outside, so its
// tails stay Gaussian as Zuko's NSF's do).
function makeFlow(rng) {
  return new Flow(
    Array.from(
      { length: 4 },
      (_, i) => new RationalQuadraticCoupling(2, { rng, keep: i % 2 ? 'last' : 'first', bins: 8, width: 32, depth: 2 }),
    ),
  );
}
// The EBM: a residual MLP plus a fixed confining term |x|²/18 (a N(0, 3²) envelope), so that exp(−E)
// is integrable; an MLP alone grows linearly and lets ζ diverge on flow samples far from the data.
function makeEbm(rng) {
  const mlp = new MLP(2, 1, { rng, width: 64, depth: 3, residual: true, layerNorm: true });
  return {
    parameters: () => mlp.parameters(),
    load: (p) => mlp.load(p),
    apply: (p, x) => mlp.apply(p, x).reshape([x.shape[0]]).add(x.square().sum(1).div(18)),
  };
}

// A 200 × 200 grid on [−4, 4]² (standardized units) to normalize EBMs exactly enough in 2-D.
const GRID = (() => {
  const n = 200;
  const h = 8 / (n - 1);
  const pts = [];
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) pts.push(-4 + i * h, -4 + j * h);
  return { x: tensor(pts, [n * n, 2]), area: h * h };
})();

function gridLogZ(energy) {
  const e = energy(GRID.x).dataSync();
  let mx = -Infinity;
  for (const v of e) mx = Math.max(mx, -v);
  let s = 0;
  for (const v of e) s += Math.exp(-v - mx);
  return mx + Math.log(s * GRID.area);
}

const mean = (a) => a.reduce((x, y) => x + y, 0) / a.length;
const meanOf = (t) => mean(Array.from(t.dataSync()));

/** Exact Jeffreys divergence KL(π‖p) + KL(p‖π) on GRID for a model log-density in standardized units. */
function jeffreysGrid(exact, logModel) {
  const lpi = exact.logProb(GRID.x).dataSync();
  const lp = logModel(GRID.x).dataSync();
  let j = 0;
  for (let k = 0; k < lpi.length; k++) j += (Math.exp(lpi[k]) - Math.exp(lp[k])) * (lpi[k] - lp[k]) * GRID.area;
  return j;
}

async function runOne(name, seed) {
  const spec = DATASETS[name];
  const dataRng = new Rng(1000 + seed);
  const rawTrain = draw(spec, settings.train, dataRng);
  const rawTest = draw(spec, settings.test, dataRng);
  const st = standardizer(rawTrain, spec.standardize);
  const train = st.apply(rawTrain);
  const test = st.apply(rawTest);
  const rng = new Rng(seed);
  const nf = new FlowMaximumLikelihood(makeFlow(new Rng(10 + seed)), { lr: rates.flow });
  const common = { lrFlow: rates.flow, lrEnergy: rates.energy, isSamples: settings.m };
  const dual = new JeffreysEstimator(makeFlow(new Rng(10 + seed)), makeEbm(new Rng(20 + seed)), {
    ...common,
    dual: { lr: rates.dual, lrZeta: rates.zeta, init: 0.5 },
  });
  const pw = new JeffreysEstimator(makeFlow(new Rng(10 + seed)), makeEbm(new Rng(20 + seed)), {
    ...common,
    method: 'weighted',
    weights: { fw: 1, rv: 1, prx: 1 },
  });
  const ebm = new EnergyMaximumLikelihood(makeEbm(new Rng(20 + seed)), {
    lr: 1e-3,
    langevin: { steps: 20, stepSize: 1e-3 },
  });
  await dual.warmStart(rng, { steps: settings.warm });
  await pw.warmStart(rng, { steps: settings.warm });
  // NLL in the data's original units: standardized NLL + log|det S|.
  const nllFlow = (flow) => -meanOf(flow.apply(flow.parameters(), test)) + st.logDet;
  const nllEnergy = (energy) => meanOf(energy(test)) + gridLogZ(energy) + st.logDet;
  const curves = { nf: [], dualP: [], dualQ: [], pwP: [], pwQ: [], ebm: [], zetaDual: [], zetaPw: [] };
  const lambdas = [];
  // A method whose step throws (a non-finite quantity) is recorded as diverged and stopped.
  const diverged = {};
  const last = { dual: {}, pw: {} };
  const guarded = async (key, fn) => {
    if (diverged[key]) return;
    try {
      last[key] = await fn();
    } catch (err) {
      diverged[key] = String(err.message ?? err);
      console.log(name, 'seed', seed, key, 'diverged:', diverged[key]);
    }
  };
  const nan = (key, fn) => (diverged[key] ? Number.NaN : fn());
  for (let t = 1; t <= settings.iterations; t++) {
    await guarded('nf', () => nf.step(train, rng));
    await guarded('dual', () => dual.step(train, rng));
    await guarded('pw', () => pw.step(train, rng));
    await guarded('ebm', () => ebm.step(train, rng));
    if (t % settings.every === 0 || t === settings.iterations) {
      curves.nf.push(nan('nf', () => nllFlow(nf.flow)));
      curves.dualP.push(nan('dual', () => nllFlow(dual.flow)));
      curves.dualQ.push(nan('dual', () => nllEnergy(dual.energy)));
      curves.pwP.push(nan('pw', () => nllFlow(pw.flow)));
      curves.pwQ.push(nan('pw', () => nllEnergy(pw.energy)));
      curves.ebm.push(nan('ebm', () => nllEnergy(ebm.energy)));
      curves.zetaDual.push(nan('dual', () => last.dual.zeta));
      curves.zetaPw.push(nan('pw', () => last.pw.zeta));
      const s = last.dual;
      lambdas.push({ t, fw: s.lambdaFw, rv: s.lambdaRv, prx: s.lambdaPrx, upper: s.lambdaUpper, lower: s.lambdaLower });
    }
  }
  const final = (a) => a[a.length - 1];
  const best = (a) => (a.some(Number.isFinite) ? Math.min(...a.filter(Number.isFinite)) : Number.NaN);
  const metrics = {};
  for (const [k, label] of [
    ['nf', 'NF (MLE) p'],
    ['dualP', 'dual p_θ'],
    ['dualQ', 'dual q̃_ψ'],
    ['pwP', 'P-W p_θ'],
    ['pwQ', 'P-W q̃_ψ'],
    ['ebm', 'EBM alone (PCD)'],
  ]) {
    metrics[label] = { nllLast: final(curves[k]), nllBest: best(curves[k]) };
  }
  metrics['dual q̃_ψ'].nllLastIS = nan(
    'dual',
    () => meanOf(dual.energy(test)) + dual.logPartition(rng, 10000) + st.logDet,
  );
  metrics['dual q̃_ψ'].zetaLast = final(curves.zetaDual);
  metrics['P-W q̃_ψ'].zetaLast = final(curves.zetaPw);
  if (spec.exact) {
    for (const [label, key, flow] of [
      ['NF (MLE) p', 'nf', nf.flow],
      ['dual p_θ', 'dual', dual.flow],
      ['P-W p_θ', 'pw', pw.flow],
    ]) {
      metrics[label].jeffreys = nan(key, () => jeffreysGrid(spec.exact, (x) => flow.apply(flow.parameters(), x)));
    }
    for (const [label, key, est] of [
      ['dual q̃_ψ', 'dual', dual],
      ['P-W q̃_ψ', 'pw', pw],
      ['EBM alone (PCD)', 'ebm', ebm],
    ]) {
      const lz = nan(key, () => gridLogZ(est.energy));
      metrics[label].jeffreys = nan(key, () => jeffreysGrid(spec.exact, (x) => est.energy(x).neg().sub(lz)));
    }
  }
  return { metrics, curves, lambdas, diverged, models: { nf, dual, ebm } };
}

async function heatmap(path, energy, title) {
  const svg = await energyHeatmap(energy, { domain: [-3.5, 3.5], resolution: 64, size: 160, title, show: 'density' });
  writeFileSync(path, svgToPng(svg, { scale: 1 }));
}

function writeResults() {
  results.wallSeconds = (Date.now() - started) / 1000;
  writeFileSync(join(args.out, 'results.json'), `${JSON.stringify(results, null, 1)}\n`);

  function fmt(s) {
    return s && Number.isFinite(s.mean)
      ? `${s.mean.toFixed(3)} ± ${s.std.toFixed(3)}${s.finiteRuns < s.values.length ? ` (${s.finiteRuns}/${s.values.length} runs)` : ''}`
      : '–';
  }
  const lines = [
    `# Jeffreys (adaptive symmetrization) — 2-D density estimation`,
    '',
    `Settings: ${JSON.stringify(settings)}; rates ${JSON.stringify(rates)}; wall ${results.wallSeconds.toFixed(0)} s.`,
    'Test NLL in nats (original data units; EBMs normalized on a 200×200 grid), mean ± std over seeds; "Jeffreys" is the exact',
    'KL(π‖·) + KL(·‖π) on the grid (GMM datasets only).',
    '',
    '| dataset | model | NLL last | NLL best | Jeffreys | ζ̂ last |',
    '| --- | --- | --- | --- | --- | --- |',
  ];
  for (const [name, d] of Object.entries(results.datasets)) {
    for (const [label, s] of Object.entries(d.summary)) {
      lines.push(
        `| ${name} | ${label} | ${fmt(s.nllLast)} | ${fmt(s.nllBest)} | ${fmt(s.jeffreys)} | ${fmt(s.zetaLast)} |`,
      );
    }
  }
  writeFileSync(join(args.out, 'results.md'), `${lines.join('\n')}\n`);
  console.log(lines.join('\n'));
}

const started = Date.now();
mkdirSync(args.out, { recursive: true });
const results = { settings: { ...settings, rates }, datasets: {} };
for (const name of settings.datasets) {
  if (!DATASETS[name]) throw new Error(`unknown dataset ${name} (${Object.keys(DATASETS).join(', ')})`);
  const runs = [];
  for (let seed = 0; seed < settings.seeds; seed++) {
    const r = await runOne(name, seed);
    runs.push(r);
    console.log(name, 'seed', seed, JSON.stringify(r.metrics), `${((Date.now() - started) / 1000).toFixed(0)} s`);
    if (seed === 0) {
      const { nf, dual, ebm } = r.models;
      await heatmap(join(args.out, `${name}-nf.png`), nf.energy, `${name}: NF (MLE)`);
      await heatmap(
        join(args.out, `${name}-dual-p.png`),
        (x) => dual.flow.apply(dual.flow.parameters(), x).neg(),
        `${name}: dual p_θ`,
      );
      await heatmap(join(args.out, `${name}-dual-q.png`), dual.energy, `${name}: dual q_ψ`);
      await heatmap(join(args.out, `${name}-ebm.png`), ebm.energy, `${name}: EBM alone`);
    }
  }
  const summary = {};
  for (const label of Object.keys(runs[0].metrics)) {
    summary[label] = {};
    for (const key of Object.keys(runs[0].metrics[label])) {
      const all = runs.map((r) => r.metrics[label][key]);
      const vals = all.filter(Number.isFinite);
      const m = vals.length > 0 ? mean(vals) : Number.NaN;
      const sd = vals.length > 1 ? Math.sqrt(vals.reduce((a, v) => a + (v - m) ** 2, 0) / (vals.length - 1)) : 0;
      summary[label][key] = { mean: m, std: sd, values: all, finiteRuns: vals.length };
    }
  }
  results.datasets[name] = {
    summary,
    diverged: runs.map((r) => r.diverged),
    lambdas: runs[0].lambdas,
    curves: runs[0].curves,
  };
  writeResults();
}

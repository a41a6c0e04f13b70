// Yu et al. (CNCE) Table 1 + Fig. 2: NCE / CNCE variants and EBM diffusion ± regularizer on the 20-D 40-mode mixture, 2-D grid images
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cnceMixture } from '@joule/datasets';
import { GaussianKDE, GaussianMixture, MultivariateNormal } from '@joule/distributions';
import { CNCE, kdeNoise, localNoise, mixedNoise, NCE } from '@joule/estimator-cnce';
import { cosineSchedule, DSM } from '@joule/estimator-dsm';
import { cnceMeasures, importanceLogZ } from '@joule/metrics';
import { ConditionalMLP, MLP, SinusoidalEmbedding } from '@joule/nn';
import { Rng, tensor, zeros } from '@joule/tensor';
import { energyHeatmap } from '@joule/viz';
import { svgToPng } from '@joule/viz/node';
import { paperArgs } from '../args.mjs';

const here = dirname(fileURLToPath(import.meta.url));

const args = paperArgs(here);
// The paper (App. C): 10^4 train/val/test points, batch 256, 50,000 Adam steps, a 530k-parameter
// ResNet, a grid over LR and noise settings, seeds 1–3, IS with 10^5 draws from the true density.
const settings = args.quick
  ? {
      train: 2000,
      test: 2000,
      batch: 128,
      steps: 60,
      gridSteps: 60,
      seeds: 1,
      gridSeeds: 1,
      isSamples: 20000,
      width: 32,
    }
  : {
      train: 2000,
      test: 4000,
      batch: 128,
      steps: 500,
      gridSteps: 1000,
      seeds: 3,
      gridSeeds: 2,
      isSamples: 100000,
      width: 32,
    };
if (args.seeds !== undefined) {
  settings.seeds = args.seeds;
  settings.gridSeeds = Math.min(settings.gridSeeds, args.seeds);
}
const lr = 3e-3; // the largest rate of the paper's grid {1e-4, 3e-4, 1e-3, 3e-3}: few steps here
// One configuration per method, from the paper's grids (App. C.1–C.2), not tuned here.
const sigmaLocal = 0.1;
const sigmaGlobal = 0.1;
const localFraction = 0.5;
const regWeight = 1;
const levels = cosineSchedule(100);

function energyNet(d, rng) {
  return new MLP(d, 1, { width: settings.width, depth: 2, residual: true, activation: 'silu', rng });
}

function levelNet(d, rng) {
  return new ConditionalMLP(d, 16, 1, {
    width: settings.width,
    depth: 2,
    mode: 'film',
    contextEmbedding: new SinusoidalEmbedding(16),
    residual: true,
    rng,
  });
}

function empiricalGaussian(x) {
  const [n, d] = x.shape;
  const v = x.dataSync();
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] += v[i * d + j] / n;
  const cov = new Float32Array(d * d);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < d; j++)
      for (let k = 0; k < d; k++) cov[j * d + k] += ((v[i * d + j] - mean[j]) * (v[i * d + k] - mean[k])) / (n - 1);
  return new MultivariateNormal(tensor(Float32Array.from(mean), [d]), { covariance: tensor(cov, [d, d]) });
}

/** The estimators of Table 1 and Fig. 2(a), each on a fresh network. */
function makeMethods(train, d, rng, names) {
  const all = {
    NCE: () => new NCE(energyNet(d, rng), { noise: empiricalGaussian(train), optimizer: { lr } }),
    'NCE GMM': () =>
      new NCE(energyNet(d, rng), {
        noise: new GaussianKDE(train, { bandwidth: { std: sigmaGlobal } }),
        optimizer: { lr },
      }),
    CNCE: () => new CNCE(energyNet(d, rng), { noise: localNoise(sigmaLocal), optimizer: { lr } }),
    'CNCE mix': () =>
      new CNCE(energyNet(d, rng), {
        noise: mixedNoise(train, { sigmaLocal, sigmaGlobal, localFraction }),
        optimizer: { lr },
      }),
    'CNCE GMM': () => new CNCE(energyNet(d, rng), { noise: kdeNoise(train, sigmaGlobal), optimizer: { lr } }),
    'EBM diff': () => new DSM(levelNet(d, rng), { levels, optimizer: { lr } }),
    'EBM diff reg': () =>
      new DSM(levelNet(d, rng), {
        levels,
        regularizer: { noise: new GaussianKDE(train, { bandwidth: { std: sigmaGlobal } }), weight: regWeight },
        optimizer: { lr },
      }),
  };
  return Object.fromEntries(names.map((name) => [name, all[name]()]));
}

async function train(est, data, steps, rng) {
  const n = data.shape[0];
  for (let s = 0; s < steps; s++) {
    const idx = tensor(
      Float32Array.from(rng.uniform(settings.batch), (u) => Math.floor(u * n)),
      [settings.batch],
    );
    await est.step(data.indexSelect(idx, 0), rng);
  }
}

async function measure(energy, truth, test, seed) {
  const logZ = await importanceLogZ(energy, truth, { n: settings.isSamples, rng: new Rng(1000 + seed) });
  const m = await cnceMeasures(energy, truth, test, logZ, { rng: new Rng(2000 + seed) });
  return { ratio: m.ratio, nll: m.nll, mse: m.mse, oracleNll: m.oracleNll };
}

const methods20 = ['NCE', 'NCE GMM', 'CNCE', 'CNCE mix', 'CNCE GMM', 'EBM diff', 'EBM diff reg'];

function meanStd(values) {
  const m = values.reduce((s, v) => s + v, 0) / values.length;
  const v = values.length > 1 ? values.reduce((s, x) => s + (x - m) ** 2, 0) / (values.length - 1) : 0;
  return { mean: m, std: Math.sqrt(v) };
}
const fmt = (x, digits = 1) => (Number.isFinite(x) ? x.toFixed(digits) : 'n/a');
const pm = (v, digits = 1) => {
  const s = meanStd(v);
  return v.length > 1 ? `${fmt(s.mean, digits)} ± ${fmt(s.std, digits)}` : fmt(s.mean, digits);
};

/** The 2-D grid of Fig. 2(b): 25 equal-weight modes at {−2..2}², std 0.1. */
function gridMixture() {
  const means = [];
  for (let i = -2; i <= 2; i++) for (let j = -2; j <= 2; j++) means.push([i, j]);
  return new GaussianMixture(tensor(means), 0.1);
}

async function main() {
  const started = performance.now();
  mkdirSync(args.out, { recursive: true });
  // The data are fixed (data seed 0); the seed changes the network initialisation, batches and noise.
  const truth = cnceMixture();
  const dataRng = new Rng(0);
  const train20 = truth.sample(settings.train, dataRng);
  const test20 = truth.sample(settings.test, dataRng);
  const table = Object.fromEntries(methods20.map((m) => [m, []]));
  const seeds = Array.from({ length: settings.seeds }, (_, i) => i + 1);
  for (const seed of seeds) {
    for (const name of methods20) {
      const rng = new Rng(seed * 100 + methods20.indexOf(name));
      const est = makeMethods(train20, 20, rng, [name])[name];
      const t = performance.now();
      await train(est, train20, settings.steps, rng);
      const m = await measure(est.energy, truth, test20, seed);
      m.seconds = (performance.now() - t) / 1000;
      table[name].push(m);
      console.log(
        `20-D seed ${seed} ${name}: ratio ${fmt(m.ratio)} nll ${fmt(m.nll, 2)} mse ${fmt(m.mse)} (${fmt(m.seconds)} s)`,
      );
    }
  }
  // reference rows (§4.3 of the digest): the true energy, a constant energy, the tempered −½ log p_d
  const references = {
    'true energy': (x) => truth.logProb(x).neg(),
    'flat (constant) energy': (x) => zeros([x.shape[0]]),
    'tempered −½ log p_d': (x) => truth.logProb(x).mul(-0.5),
  };
  const referenceRows = {};
  for (const [name, energy] of Object.entries(references))
    referenceRows[name] = await measure(energy, truth, test20, 0);

  // 2-D grid: EBM diffusion with and without the regularizer, density images
  const grid = gridMixture();
  const gridRng = new Rng(0);
  const train2 = grid.sample(settings.train, gridRng);
  const test2 = grid.sample(settings.test, gridRng);
  const grid2 = { 'EBM diff': [], 'EBM diff reg': [] };
  const images = [];
  writeFileSync(
    join(args.out, 'grid-truth.png'),
    svgToPng(
      await energyHeatmap((x) => grid.logProb(x).neg(), {
        domain: [-3, 3],
        resolution: 64,
        show: 'density',
        title: 'true density',
      }),
    ),
  );
  images.push('grid-truth.png');
  for (const seed of seeds.slice(0, settings.gridSeeds)) {
    for (const name of Object.keys(grid2)) {
      const rng = new Rng(seed * 100 + 50 + Object.keys(grid2).indexOf(name));
      const est = makeMethods(train2, 2, rng, [name])[name];
      await train(est, train2, settings.gridSteps, rng);
      grid2[name].push(await measure(est.energy, grid, test2, seed));
      if (seed === 1) {
        const file = `grid-${name.replaceAll(' ', '-').toLowerCase()}.png`;
        const svg = await energyHeatmap(est.energy, { domain: [-3, 3], resolution: 64, show: 'density', title: name });
        writeFileSync(join(args.out, file), svgToPng(svg));
        images.push(file);
      }
      console.log(`2-D seed ${seed} ${name}: ratio ${fmt(grid2[name].at(-1).ratio, 3)}`);
    }
  }
  const gridReference = await measure((x) => grid.logProb(x).neg(), grid, test2, 0);
  const gridFlat = await measure((x) => zeros([x.shape[0]]), grid, test2, 0);

  const wall = (performance.now() - started) / 1000;
  writeFileSync(
    join(args.out, 'results.json'),
    `${JSON.stringify(
      {
        paper: 'Yu, Gutmann, Klami, Chehab: CNCE by jumping between modes, Table 1 and Fig. 2',
        settings: { ...settings, lr, sigmaLocal, sigmaGlobal, localFraction, regWeight, levels: 100 },
        wallSeconds: wall,
        table1: table,
        references: referenceRows,
        grid2d: grid2,
        grid2dReferences: { 'true energy': gridReference, 'flat (constant) energy': gridFlat },
        images,
      },
      null,
      1,
    )}\n`,
  );
  const lines = [
    '# CNCE paper, Table 1 and Fig. 2 at a reduced scale',
    '',
    `20-D mixture of 40 Gaussians (std 0.1, equal weights, data seed 0), ${settings.train} training / ${settings.test} test points, residual MLP width ${settings.width}, ${settings.steps} Adam steps (lr ${lr}) of batch ${settings.batch}, log Z by importance sampling with ${settings.isSamples} draws from the true density; mean ± std over ${settings.seeds} seed(s). Wall ${fmt(wall, 0)} s.`,
    '',
    '| method | Ratio ↓ | NLL ↓ | MSE ↓ |',
    '| --- | --- | --- | --- |',
  ];
  for (const name of methods20) {
    const rows = table[name];
    lines.push(
      `| ${name} | ${pm(rows.map((r) => r.ratio))} | ${pm(
        rows.map((r) => r.nll),
        2,
      )} | ${pm(rows.map((r) => r.mse))} |`,
    );
  }
  for (const [name, r] of Object.entries(referenceRows))
    lines.push(`| *${name}* | ${fmt(r.ratio)} | ${fmt(r.nll, 2)} | ${fmt(r.mse)} |`);
  lines.push(
    '',
    `## 2-D 25-mode grid (${settings.train} points, ${settings.gridSteps} steps, ${settings.gridSeeds} seed(s)), EBM diffusion`,
    '',
    '| method | Ratio ↓ | NLL ↓ | MSE ↓ |',
    '| --- | --- | --- | --- |',
  );
  for (const [name, rows] of Object.entries(grid2))
    lines.push(
      `| ${name} | ${pm(
        rows.map((r) => r.ratio),
        3,
      )} | ${pm(
        rows.map((r) => r.nll),
        3,
      )} | ${pm(
        rows.map((r) => r.mse),
        3,
      )} |`,
    );
  lines.push(
    `| *true energy* | ${fmt(gridReference.ratio, 3)} | ${fmt(gridReference.nll, 3)} | ${fmt(gridReference.mse, 3)} |`,
  );
  lines.push(
    `| *flat (constant) energy* | ${fmt(gridFlat.ratio, 3)} | ${fmt(gridFlat.nll, 3)} | ${fmt(gridFlat.mse, 3)} |`,
  );
  lines.push('', `Images: ${images.join(', ')} (density exp(−E) normalised over the plotted grid, seed 1).`);
  writeFileSync(join(args.out, 'results.md'), `${lines.join('\n')}\n`);
  console.log(lines.join('\n'));
}

await main();

// Ben-Dov & Chamon Algorithm 3 on the paper digest's 1-D oracle (§4.3): Gaussian p_θ + 25-RBF EBM, dual vs forward
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GaussianMixture } from '@joule/distributions';
import { GaussianDensity, JeffreysEstimator, RadialBasisEnergy } from '@joule/estimator-jeffreys';
import { Rng } from '@joule/tensor';
import { renderSvg, trainingCurves } from '@joule/viz';
import { svgToPng } from '@joule/viz/node';
import { paperArgs } from '../args.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const parsed = paperArgs(here, { iterations: { type: 'string' }, every: { type: 'string' } });
// The digest's §4.3 setting: N = 800 train / 10,000 test points, 30,000 full-batch iterations, seeds 0–2.
const settings = parsed.quick
  ? { seeds: 1, iterations: 600, every: 200 }
  : { seeds: 3, iterations: 30000, every: 5000 };
if (parsed.seeds !== undefined) settings.seeds = parsed.seeds;
if (parsed.iterations !== undefined) settings.iterations = Number(parsed.iterations);
if (parsed.every !== undefined) settings.every = Number(parsed.every);
const curveEvery = Math.max(1, Math.round(settings.iterations / 300));

// Target π = ½N(−2, 0.5²) + ½N(2, 0.5²); models as in §4.3.
const MODES = [-2, 2];
const SD = 0.5;
const CENTRES = Array.from({ length: 25 }, (_, k) => [-6 + k * 0.5]);
const BANDWIDTH = 0.5;
const CONFINEMENT = 1 / 50;
const base = {
  isSamples: 1000,
  lrFlow: 1e-3,
  lrEnergy: 1e-4,
  betas: [0, 0.9],
  epsZeta: 0.1,
  baseline: false, // the paper's plain REINFORCE (eq. 18)
};
const arms = {
  // Algorithm 3 in its plain resilient form (the digest's unscaled "Dual" row; B.7 is its scaled row).
  dual: { ...base, method: 'dual', dual: { lr: 1e-4, lrZeta: 1e-3, init: 0.01, negativeNll: false } },
  // NLL of p and NLL of q only, no ζ constraint: P-W with weights (1, 0, 1). θ gets the forward KL alone.
  forward: { ...base, method: 'weighted', weights: { fw: 1, rv: 0, prx: 1 } },
};

// Quadrature on [−40, 40] (the EBM's exp(−x²/50) tail holds 1.6 % of its mass beyond |x| = 12).
const LO = -40;
const HI = 40;
const H = 1e-3;
const GRID = Float64Array.from({ length: Math.round((HI - LO) / H) + 1 }, (_, i) => LO + i * H);
const logNormal = (x, m, s) => -0.5 * ((x - m) / s) ** 2 - Math.log(s) - 0.5 * Math.log(2 * Math.PI);
const logSumExp2 = (a, b) => {
  const m = Math.max(a, b);
  return m === Number.NEGATIVE_INFINITY ? m : m + Math.log(Math.exp(a - m) + Math.exp(b - m));
};
const logPi = (x) => logSumExp2(Math.log(0.5) + logNormal(x, MODES[0], SD), Math.log(0.5) + logNormal(x, MODES[1], SD));
const LOG_PI = GRID.map(logPi);
/** ∫ g over the grid (trapezoid). */
function integrate(values) {
  let s = 0;
  for (let i = 0; i < values.length; i++) s += (i === 0 || i === values.length - 1 ? 0.5 : 1) * values[i];
  return s * H;
}

/** −E_ψ(x) in float64 from the parameters. */
function negEnergy(weights, bias) {
  return (x) => {
    let f = bias - CONFINEMENT * x * x;
    for (let k = 0; k < weights.length; k++)
      f += weights[k] * Math.exp(-((x - CENTRES[k][0]) ** 2) / (2 * BANDWIDTH ** 2));
    return f;
  };
}

/** Exact quantities at the current parameters and multipliers. */
function exact(est, testPoints) {
  const { mean, logStd } = est.flow.parameters();
  const mu = mean.dataSync()[0];
  const sd = Math.exp(logStd.dataSync()[0]);
  const { weights, bias } = est.energyModel.parameters();
  const f = negEnergy(Array.from(weights.dataSync()), bias.dataSync()[0]);
  const fGrid = GRID.map(f);
  const fMax = Math.max(...fGrid);
  const logZeta = fMax + Math.log(integrate(fGrid.map((v) => Math.exp(v - fMax))));
  const logP = GRID.map((x) => logNormal(x, mu, sd));
  const klForward = integrate(GRID.map((_, i) => Math.exp(LOG_PI[i]) * (LOG_PI[i] - logP[i])));
  const klReverse = integrate(GRID.map((_, i) => Math.exp(logP[i]) * (logP[i] - LOG_PI[i])));
  let qTestNll = 0;
  for (const x of testPoints) qTestNll -= f(x) - logZeta;
  qTestNll /= testPoints.length;
  const l = est.lambda;
  const a = l.rv / (l.rv + l.prx); // q* = (λ_prx π + λ_rv p)/(λ_prx + λ_rv) (§1.12 item 5)
  const mixtureNll = -integrate(
    GRID.map((_, i) => Math.exp(LOG_PI[i]) * logSumExp2(Math.log1p(-a) + LOG_PI[i], Math.log(a) + logP[i])),
  );
  const qExactNll = -integrate(GRID.map((_, i) => Math.exp(LOG_PI[i]) * (fGrid[i] - logZeta)));
  return {
    mu,
    sd,
    zetaExact: Math.exp(logZeta),
    klForward,
    klReverse,
    jeffreys: klForward + klReverse,
    qTestNll,
    qExactNll,
    mixtureNll,
    lambda: l,
    density: { mu, sd, f, logZeta, a },
  };
}

const r3 = (v) => Math.round(v * 1000) / 1000;

async function runArm(arm, seed, data, testPoints) {
  const p = new GaussianDensity(1, { mean: [0.3], logStd: [0] });
  const q = new RadialBasisEnergy(CENTRES, { bandwidth: BANDWIDTH, confinement: CONFINEMENT });
  const est = new JeffreysEstimator(p, q, arms[arm]);
  const rng = new Rng(100 + seed);
  const checkpoints = [];
  const curve = [];
  const start = performance.now();
  const initial = exact(est, testPoints);
  checkpoints.push({ iteration: 0, zetaHat: null, ...summary(initial) });
  // Every step's ζ̂ from 15k on (the window of the [1, 1.2] criterion): how often, and by how much, the
  // single-step IS estimate leaves it.
  const late = [];
  for (let t = 1; t <= settings.iterations; t++) {
    const s = await est.step(data, rng);
    if (t >= 15000) late.push(s.zeta);
    if (t % curveEvery === 0) curve.push({ step: t, values: { zetaHat: s.zeta, ...lambdas(s), sd: sdOf(est) } });
    if (t % settings.every === 0)
      checkpoints.push({ iteration: t, zetaHat: s.zeta, ...summary(exact(est, testPoints)) });
  }
  const final = exact(est, testPoints);
  return { checkpoints, curve, final, lateZeta: zetaStats(late), seconds: (performance.now() - start) / 1000 };
}

/** Summary of the per-step ζ̂ values: mean, quantiles, and the share inside [1, 1.2]. */
function zetaStats(values) {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const q = (f) => sorted[Math.min(sorted.length - 1, Math.floor(f * sorted.length))];
  return {
    steps: values.length,
    mean: r3(values.reduce((s, v) => s + v, 0) / values.length),
    q01: r3(q(0.01)),
    median: r3(q(0.5)),
    q99: r3(q(0.99)),
    max: r3(sorted.at(-1)),
    shareIn1to12: r3(values.filter((v) => v >= 1 && v <= 1.2).length / values.length),
  };
}

const sdOf = (est) => Math.exp(est.flow.parameters().logStd.dataSync()[0]);
const lambdas = (s) => ({ lambdaFw: s.lambdaFw, lambdaRv: s.lambdaRv, lambdaPrx: s.lambdaPrx });
function summary(e) {
  const { density: _density, lambda, ...rest } = e;
  return { ...Object.fromEntries(Object.entries(rest).map(([k, v]) => [k, r3(v)])), lambda: mapValues(lambda, r3) };
}
const mapValues = (o, g) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, g(v)]));

/** The digest's §4.4 pass criteria for one seed. */
function criteria(dual, forward, mle) {
  const after = (it) => dual.checkpoints.filter((c) => c.iteration >= it && c.iteration > 0).map((c) => c.zetaHat);
  const from5k = after(5000);
  const from15k = after(15000);
  const last = forward.checkpoints.at(-1);
  return {
    zetaFrom5kIn095to15: from5k.length > 0 ? from5k.every((z) => z >= 0.95 && z <= 1.5) : null,
    zetaFrom15kIn1to12: from15k.length > 0 ? from15k.every((z) => z >= 1 && z <= 1.2) : null,
    forwardZetaAbove3At30k: last.iteration >= 30000 ? last.zetaHat > 3 : null,
    sdWithin2PctOfMle: Math.abs(dual.final.sd / mle.sd - 1) <= 0.02,
    qNllWithin005OfMixture: Math.abs(dual.final.qTestNll - dual.final.mixtureNll) <= 0.05,
  };
}

async function densityPng(dual, forward, file) {
  const values = [];
  for (let x = -6; x <= 6.0001; x += 0.05) {
    const d = dual.final.density;
    const fw = forward.final.density;
    const p = (m, s) => Math.exp(logNormal(x, m, s));
    const mixture = (1 - d.a) * Math.exp(logPi(x)) + d.a * p(d.mu, d.sd);
    for (const [curve, y] of [
      ['data π', Math.exp(logPi(x))],
      ['dual p_θ', p(d.mu, d.sd)],
      ['forward-KL p_θ', p(fw.mu, fw.sd)],
      ['dual q_ψ (exact ζ)', Math.exp(d.f(x) - d.logZeta)],
      ['mixture prediction q*', mixture],
    ])
      values.push({ x: r3(x), density: y, curve });
  }
  const svg = await renderSvg({
    title: 'seed 0, final densities',
    width: 480,
    height: 240,
    data: { values },
    mark: 'line',
    encoding: {
      x: { field: 'x', type: 'quantitative' },
      y: { field: 'density', type: 'quantitative' },
      color: { field: 'curve', type: 'nominal' },
      strokeDash: { field: 'curve', type: 'nominal' },
    },
  });
  writeFileSync(file, svgToPng(svg, { scale: 1 }));
}

const started = performance.now();
mkdirSync(parsed.out, { recursive: true });
const perSeed = [];
for (let seed = 0; seed < settings.seeds; seed++) {
  const root = new Rng(seed);
  const target = new GaussianMixture([[MODES[0]], [MODES[1]]], [SD, SD]);
  const data = target.sample(800, root.split());
  const testPoints = Array.from(target.sample(10000, root.split()).dataSync());
  const x = Array.from(data.dataSync());
  const mleMean = x.reduce((s, v) => s + v, 0) / x.length;
  const mle = { mean: mleMean, sd: Math.sqrt(x.reduce((s, v) => s + (v - mleMean) ** 2, 0) / x.length) };
  const dual = await runArm('dual', seed, data, testPoints);
  const forward = await runArm('forward', seed, data, testPoints);
  const result = {
    seed,
    mle: mapValues(mle, r3),
    criteria: criteria(dual, forward, mle),
    dual: {
      seconds: r3(dual.seconds),
      lateZeta: dual.lateZeta,
      checkpoints: dual.checkpoints,
      final: summary(dual.final),
    },
    forward: {
      seconds: r3(forward.seconds),
      lateZeta: forward.lateZeta,
      checkpoints: forward.checkpoints,
      final: summary(forward.final),
    },
  };
  perSeed.push(result);
  console.log(
    JSON.stringify({ seed, criteria: result.criteria, dual: result.dual.final, forward: result.forward.final }),
  );
  if (seed === 0) {
    await densityPng(dual, forward, join(parsed.out, 'toy1d-densities.png'));
    const svg = await trainingCurves(dual.curve, { title: 'dual, seed 0', width: 420, height: 90 });
    writeFileSync(join(parsed.out, 'toy1d-dual-curves.png'), svgToPng(svg, { scale: 1 }));
    const fsvg = await trainingCurves(forward.curve, {
      quantities: ['zetaHat', 'sd'],
      title: 'forward (no ζ constraint), seed 0',
      width: 420,
      height: 90,
    });
    writeFileSync(join(parsed.out, 'toy1d-forward-curves.png'), svgToPng(fsvg, { scale: 1 }));
  }
}
const wallSeconds = (performance.now() - started) / 1000;
writeFileSync(
  join(parsed.out, 'toy1d.json'),
  `${JSON.stringify({ settings: { ...settings, arms, curveEvery }, wallSeconds: r3(wallSeconds), perSeed }, null, 2)}\n`,
);

const rows = [
  '| seed | arm | μ | sd (MLE sd) | ζ̂ at each checkpoint | exact ζ | λ_fw / λ_rv / λ_prx | q test NLL (mixture pred.) | KL(π‖p) | KL(p‖π) | J |',
  '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
];
for (const r of perSeed) {
  for (const arm of ['dual', 'forward']) {
    const f = r[arm].final;
    const zetas = r[arm].checkpoints
      .slice(1)
      .map((c) => c.zetaHat.toFixed(2))
      .join(', ');
    const lam = arm === 'dual' ? `${f.lambda.fw} / ${f.lambda.rv} / ${f.lambda.prx}` : '–';
    const pred = arm === 'dual' ? ` (${f.mixtureNll})` : '';
    rows.push(
      `| ${r.seed} | ${arm} | ${f.mu} | ${f.sd} (${r.mle.sd}) | ${zetas} | ${f.zetaExact} | ${lam} | ${f.qTestNll}${pred} | ${f.klForward} | ${f.klReverse} | ${f.jeffreys} |`,
    );
  }
}
const crit = [
  '',
  '| seed | dual ζ̂ ∈ [0.95, 1.5] from 5k | dual ζ̂ ∈ [1, 1.2] from 15k | forward ζ̂ > 3 at 30k | dual sd within 2 % of MLE | q NLL within 0.05 of mixture |',
  '| --- | --- | --- | --- | --- | --- |',
  ...perSeed.map((r) => {
    const c = r.criteria;
    const show = (v) => (v === null ? 'n/a' : v ? 'yes' : 'NO');
    return `| ${r.seed} | ${show(c.zetaFrom5kIn095to15)} | ${show(c.zetaFrom15kIn1to12)} | ${show(c.forwardZetaAbove3At30k)} | ${show(c.sdWithin2PctOfMle)} | ${show(c.qNllWithin005OfMixture)} |`;
  }),
];
writeFileSync(
  join(parsed.out, 'toy1d.md'),
  `${[`Iterations ${settings.iterations}, checkpoints every ${settings.every}, ${settings.seeds} seed(s), wall ${wallSeconds.toFixed(0)} s.`, '', ...rows, ...crit].join('\n')}\n`,
);
console.log(`wrote ${parsed.out} (${wallSeconds.toFixed(0)} s)`);

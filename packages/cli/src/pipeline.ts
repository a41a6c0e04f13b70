import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ConditionalBatch, Estimator } from '@joule/core';
import { ula } from '@joule/mcmc';
import { Rng, randn, type Tensor } from '@joule/tensor';
import { type Progress, readCheckpoint, type TrainResult, train } from '@joule/train';
import { fileStorage } from '@joule/train/node';
import { energyHeatmap, htmlReport, type ReportPlot, scatterPlot, trainingCurves } from '@joule/viz';
import { svgToPng } from '@joule/viz/node';
import type { RunConfig } from './config.js';
import { type DatasetEntry, datasetRegistry } from './datasets.js';
import { type AnyEstimator, estimatorRegistry } from './estimators.js';
import { metricRegistry } from './metrics.js';

/** A built run: its dataset, training data and estimator, all from the configuration's seed. */
export interface BuiltRun {
  config: RunConfig;
  dataset: DatasetEntry;
  data: { x: Tensor; context?: Tensor };
  estimator: AnyEstimator;
  /** The generator of training (`train`'s rng). */
  trainRng: Rng;
}

/** Builds the dataset, the data and the estimator; the same configuration always gives the same run. */
export function buildRun(config: RunConfig): BuiltRun {
  const dataset = datasetRegistry[config.dataset]!;
  const entry = estimatorRegistry[config.estimator]!;
  const root = new Rng(config.seed);
  const dataRng = root.split();
  const initRng = root.split();
  const trainRng = root.split();
  const data = dataset.sample(config.trainSize, dataRng);
  const estimator = entry.build({
    dim: dataset.dim,
    contextDim: dataset.contextDim,
    data: data.x,
    rng: initRng,
    options: config.estimatorOptions,
  });
  return { config, dataset, data, estimator, trainRng };
}

/**
 * `n` samples of the model: the estimator's own sampler when it has one, otherwise ULA on its
 * energy from N(0, 2²) with the configuration's `sampleSteps` and `sampleStepSize`.
 */
export async function drawSamples(run: BuiltRun, n: number, rng: Rng, context?: Tensor): Promise<Tensor> {
  const est = run.estimator as Estimator<Tensor | ConditionalBatch>;
  if (typeof est.sample === 'function') return context === undefined ? est.sample(n, rng) : est.sample(n, rng, context);
  const kernel = ula({ stepSize: run.config.sampleStepSize });
  let state = kernel.init(randn([n, run.dataset.dim], rng, 0, 2), est.energy, context);
  for (let i = 0; i < run.config.sampleSteps; i++) state = kernel.step(rng, state).state;
  return state.x;
}

/** The configured metrics of the model against fresh true samples (per context, plus their mean). */
export async function evaluateRun(run: BuiltRun, rng: Rng): Promise<Record<string, number>> {
  const { config, dataset } = run;
  const n = config.evalSamples;
  const out: Record<string, number> = {};
  if (dataset.evaluationContexts === undefined) {
    const samples = await drawSamples(run, n, rng);
    const truth = dataset.sample(n, rng).x;
    for (const name of config.metrics) out[name] = await metricRegistry[name]!.compute(samples, truth);
    return out;
  }
  const sums: Record<string, number> = {};
  for (const c of dataset.evaluationContexts) {
    const context = c.context(n);
    const samples = await drawSamples(run, n, rng, context);
    const truth = c.sample(n, rng);
    for (const name of config.metrics) {
      const v = await metricRegistry[name]!.compute(samples, truth);
      out[`${name}[${c.label}]`] = v;
      sums[name] = (sums[name] ?? 0) + v;
    }
  }
  for (const name of config.metrics) out[name] = sums[name]! / dataset.evaluationContexts.length;
  return out;
}

/** Where a run's files go inside its output folder. */
export const CHECKPOINT_DIR = 'checkpoints';
/** The checkpoint's file name. */
export const CHECKPOINT_NAME = 'checkpoint.safetensors';

/** Trains a built run, writing checkpoints to `out/checkpoints` (resuming from there when asked). */
export async function trainRun(
  run: BuiltRun,
  out: string,
  options: { resume: boolean; onProgress?: (p: Progress) => void },
): Promise<TrainResult> {
  const { config } = run;
  return train(run.estimator, run.data, {
    steps: config.steps,
    batchSize: Math.min(config.batchSize, config.trainSize),
    rng: run.trainRng,
    ...(config.evalEvery > 0 ? { evalEvery: config.evalEvery } : {}),
    evaluate: (_est, rng) => evaluateRun(run, rng),
    storage: fileStorage(join(out, CHECKPOINT_DIR)),
    checkpointEvery: config.checkpointEvery,
    checkpointName: CHECKPOINT_NAME,
    resume: options.resume,
    ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress }),
  });
}

/** Reads a run's configuration from its output folder (`config.json`), validated by `resolve`. */
export async function readRunConfig(
  out: string,
  resolve: (config: Record<string, unknown>) => RunConfig,
): Promise<RunConfig> {
  return resolve(JSON.parse(await readFile(join(out, 'config.json'), 'utf8')) as Record<string, unknown>);
}

/** Loads a finished (or interrupted) run from its output folder and configuration: its trained state. */
export async function loadRun(out: string, config: RunConfig): Promise<BuiltRun> {
  const run = buildRun(config);
  const checkpoint = readCheckpoint(await readFile(join(out, CHECKPOINT_DIR, CHECKPOINT_NAME)));
  run.estimator.load(checkpoint.estimatorState);
  return run;
}

/** Thins a history to at most `max` entries (every k-th, always the last) so plots stay light. */
function thin<T>(entries: T[], max: number): T[] {
  if (entries.length <= max) return entries;
  const k = Math.ceil(entries.length / max);
  const kept = entries.filter((_, i) => i % k === 0);
  if (kept.at(-1) !== entries.at(-1)) kept.push(entries.at(-1)!);
  return kept;
}

function fileSafe(label: string): string {
  return label.replace(/[^A-Za-z0-9_-]+/g, '-');
}

/** The files a report wrote. */
export interface ReportFiles {
  /** The HTML report. */
  html: string;
  /** The PNG images. */
  pngs: string[];
}

/** Pixel density of the PNG plots (sharp on high-DPI screens, shown at the SVG's size in the report). */
const PNG_SCALE = 2;

/** Writes the plots (PNG files, also embedded in the report as data URIs), `metrics.json` and `report.html`. */
export async function writeReport(
  run: BuiltRun,
  result: TrainResult,
  metrics: Record<string, number>,
  out: string,
  rng: Rng,
): Promise<ReportFiles> {
  const { dataset, config } = run;
  await mkdir(out, { recursive: true });
  const plots: ReportPlot[] = [];
  const pngs: string[] = [];
  const add = async (title: string, file: string, svg: string): Promise<void> => {
    const png = svgToPng(svg, { scale: PNG_SCALE });
    plots.push({ title, png, pixelRatio: PNG_SCALE });
    const path = join(out, `${file}.png`);
    await writeFile(path, png);
    pngs.push(path);
  };
  const contexts = dataset.evaluationContexts;
  const energy = run.estimator.energy;
  await add(
    'model density exp(−E) on the grid',
    'density',
    await energyHeatmap(energy, {
      resolution: 48,
      size: 200,
      ...(contexts === undefined ? {} : { contexts: contexts.map((c) => ({ label: c.label, context: c.context(1) })) }),
    }),
  );
  // 1000 points per set keep the scatter plots readable and quick to render
  const n = Math.min(config.evalSamples, 1000);
  if (contexts === undefined) {
    const samples = await drawSamples(run, n, rng);
    await add(
      'samples (red) over the data (grey)',
      'samples',
      await scatterPlot(samples, { data: dataset.sample(n, rng).x, domain: [-4, 4], size: 260 }),
    );
  } else {
    for (const c of contexts) {
      const samples = await drawSamples(run, n, rng, c.context(n));
      await add(
        `samples (red) over the data (grey), ${c.label}`,
        `samples-${fileSafe(c.label)}`,
        await scatterPlot(samples, { data: c.sample(n, rng), domain: [-4, 4], size: 220 }),
      );
    }
  }
  await add('training', 'training', await trainingCurves(thin(result.history, 400)));
  if (result.evaluations.length > 1) {
    await add(
      'metrics during training',
      'metrics',
      await trainingCurves(result.evaluations, { quantities: config.metrics }),
    );
  }
  await writeFile(join(out, 'metrics.json'), `${JSON.stringify({ step: result.steps, metrics }, null, 2)}\n`);
  const html = join(out, 'report.html');
  await writeFile(
    html,
    htmlReport({
      title: `${config.estimator} on ${config.dataset}`,
      subtitle: `${result.steps} steps, seed ${config.seed}${result.resumedFrom > 0 ? `, resumed from step ${result.resumedFrom}` : ''}`,
      metrics,
      config: config as unknown as Record<string, unknown>,
      plots,
    }),
  );
  return { html, pngs };
}

import type { ConditionalBatch, Distribution, Estimator, Metric } from '@joule/core';
import { JouleError } from '@joule/core';
import { dispose, Rng, type RngState, Tensor, tensor } from '@joule/tensor';
import { decodeState, encodeState } from './state.js';
import type { CheckpointStorage } from './storage.js';

/**
 * The training data: a `[N, d]` tensor, or points with a row-aligned `[N, c]` context.
 *
 * @example
 * ```ts
 * const data: TrainData = { x: points, context: labels };
 * ```
 */
export type TrainData = Tensor | DataWithContext;

/**
 * Training points with an optional row-aligned context.
 *
 * @example
 * ```ts
 * const data: DataWithContext = { x: points, context: labels }; // [N, d], [N, c]
 * ```
 */
export interface DataWithContext {
  /** The points, `[N, d]`. */
  x: Tensor;
  /** The context, `[N, c]`, one row per point. */
  context?: Tensor;
}

/**
 * The generator states saved in a checkpoint.
 *
 * @example
 * ```ts
 * const dataRng = Rng.fromState(checkpoint.rng.data);
 * ```
 */
export interface CheckpointRngStates {
  /** The data-order stream at the start of the current epoch. */
  data: RngState;
  /** The stream handed to `estimator.step`. */
  step: RngState;
  /** The stream used by evaluations. */
  eval: RngState;
}

/**
 * One step's log entry: the step number (1-based, counted from the start of training) and what the
 * estimator's `step` returned.
 *
 * @example
 * ```ts
 * const entry: StepLog = { step: 10, values: { loss: 0.69 } };
 * ```
 */
export interface StepLog {
  /** Steps done when this entry was recorded. */
  step: number;
  /** The estimator's named scalars. */
  values: Record<string, number>;
}

/**
 * What the loop reports after each step.
 *
 * @example
 * ```ts
 * const onProgress = (p: Progress) => console.log(`${p.step}/${p.totalSteps} ${p.stepsPerSecond.toFixed(1)} it/s`);
 * ```
 */
export interface Progress {
  /** Steps done. */
  step: number;
  /** Steps in the whole run. */
  totalSteps: number;
  /** Whole epochs done. */
  epoch: number;
  /** Steps per second in this call of `train` (0 before any time has elapsed). */
  stepsPerSecond: number;
  /** Estimated seconds left at the current speed (`Infinity` while unknown). */
  etaSeconds: number;
  /** What the estimator's last step returned. */
  values: Record<string, number>;
  /** The latest evaluation, when there has been one. */
  metrics?: Record<string, number>;
}

/**
 * A custom evaluation: anything computed from the estimator (a held-out loss, a KL to a known
 * density…), with its own generator.
 *
 * @example
 * ```ts
 * const evaluate: Evaluate = async (est) => ({ meanEnergy: (await est.energy(x).mean().data())[0]! });
 * ```
 */
export type Evaluate = (
  estimator: Estimator<Tensor> | Estimator<ConditionalBatch>,
  rng: Rng,
) => Promise<Record<string, number>>;

/**
 * Options of {@link train}.
 *
 * @example
 * ```ts
 * const options: TrainOptions = { steps: 2000, batchSize: 128, seed: 0, evalEvery: 500 };
 * ```
 */
export interface TrainOptions {
  /** Training steps (one mini-batch each). Give `steps` or `epochs`. */
  steps?: number;
  /** Passes over the data. Give `steps` or `epochs`. */
  epochs?: number;
  /** Rows per mini-batch. */
  batchSize: number;
  /** Skip each epoch's last, smaller batch (default false). */
  dropLast?: boolean;
  /** Seed of the run's generator (default 0); ignored when `rng` is given. */
  seed?: number;
  /** The run's generator; the loop splits its data, step and evaluation streams off it. */
  rng?: Rng;
  /** Evaluate every this many steps, and at the end (default: only at the end, when anything is to evaluate). */
  evalEvery?: number;
  /** Sample-quality metrics, computed on `estimator.sample(evalSamples)` against `reference`. */
  metrics?: Metric[];
  /** The reference for `metrics`: data samples or the true distribution. */
  reference?: Tensor | Distribution;
  /** Samples drawn for `metrics` (default 1000; the rows of `evalContext` when given). */
  evalSamples?: number;
  /** Contexts `[n, c]` to sample at, for a conditional estimator. */
  evalContext?: Tensor;
  /** A custom evaluation, merged with `metrics`. */
  evaluate?: Evaluate;
  /** Called after every step. */
  onProgress?: (progress: Progress) => void;
  /** Where checkpoints go (see `memoryStorage`, and `fileStorage` in `@joule/train/node`). */
  storage?: CheckpointStorage;
  /** Write a checkpoint every this many steps (and always at the end) when `storage` is given. */
  checkpointEvery?: number;
  /** The checkpoint's name in `storage` (default `'checkpoint.safetensors'`). */
  checkpointName?: string;
  /** Continue from the checkpoint in `storage` when there is one. */
  resume?: boolean;
}

/**
 * One evaluation's results.
 *
 * @example
 * ```ts
 * const entry: EvalLog = { step: 500, values: { mmd: 0.01 } };
 * ```
 */
export interface EvalLog {
  /** Steps done when evaluated. */
  step: number;
  /** Metric name → value. */
  values: Record<string, number>;
}

/**
 * What {@link train} resolves to.
 *
 * @example
 * ```ts
 * const { history, evaluations } = await train(est, data, { steps: 100, batchSize: 32 });
 * ```
 */
export interface TrainResult {
  /** Steps done in total (including those before a resume). */
  steps: number;
  /** Whole epochs done. */
  epochs: number;
  /** Every step's values, from the first step of the run (restored from the checkpoint on resume). */
  history: StepLog[];
  /** Every evaluation, from the start of the run. */
  evaluations: EvalLog[];
  /** The step the run resumed from (0 when it started fresh). */
  resumedFrom: number;
}

/**
 * A checkpoint of {@link train} as read back by {@link readCheckpoint}.
 *
 * @example
 * ```ts
 * const ck: TrainCheckpoint = readCheckpoint(bytes);
 * estimator.load(ck.estimatorState);
 * ```
 */
export interface TrainCheckpoint {
  /** The estimator's name. */
  estimator: string;
  /** Steps done. */
  step: number;
  /** Whole epochs done. */
  epoch: number;
  /** Batches done in the current epoch. */
  batchInEpoch: number;
  /** Rows per batch of the run. */
  batchSize: number;
  /** Rows of the training data. */
  rows: number;
  /** Generator states: data order (at the current epoch's start), steps, evaluation. */
  rng: CheckpointRngStates;
  /** What `estimator.state()` returned. */
  estimatorState: Record<string, unknown>;
  /** Every step's values so far. */
  history: StepLog[];
  /** Every evaluation so far. */
  evaluations: EvalLog[];
}

const FORMAT = 'joule-train-checkpoint/1';

/**
 * Reads a checkpoint written by {@link train} (safetensors bytes: the estimator's tensors, the rest
 * as JSON metadata).
 *
 * @example
 * ```ts
 * import { readCheckpoint } from '@joule/train';
 * import { fileStorage } from '@joule/train/node';
 *
 * const bytes = await fileStorage('run').read('checkpoint.safetensors');
 * if (bytes) estimator.load(readCheckpoint(bytes).estimatorState);
 * ```
 */
export function readCheckpoint(bytes: Uint8Array | ArrayBuffer): TrainCheckpoint {
  const tree = decodeState(bytes);
  if (tree.format !== FORMAT)
    throw new JouleError('readCheckpoint', 'bytes', `a checkpoint in format '${FORMAT}'`, String(tree.format));
  return tree.checkpoint as TrainCheckpoint;
}

function positiveInt(arg: string, v: unknown, optional: boolean): void {
  if (v === undefined && optional) return;
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0)
    throw new JouleError('train', arg, 'a positive integer', String(v));
}

/** Fisher–Yates with the data generator (the same order as `permutation` of `@joule/datasets`). */
function permutation(n: number, rng: Rng): Int32Array {
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = i;
  const u = rng.uniform(n);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.min(i, Math.floor(u[i]! * (i + 1)));
    const t = out[i]!;
    out[i] = out[j]!;
    out[j] = t;
  }
  return out;
}

function checkFinite(values: Record<string, number>, step: number, what: string): void {
  for (const [name, v] of Object.entries(values)) {
    if (typeof v !== 'number' || !Number.isFinite(v))
      throw new JouleError('train', name, `a finite ${what}`, `${v} at step ${step}`);
  }
}

/**
 * Trains any {@link Estimator}: seeded shuffled mini-batches (with their context rows when the data
 * has a context — the estimator then receives `{ x, context }`), evaluation every `evalEvery` steps,
 * a progress callback, checkpoints every `checkpointEvery` steps and at the end, and `resume`, which
 * continues exactly where the checkpoint stopped: with the same seed the numbers are bit-identical
 * to an uninterrupted run. A NaN/Inf guard stops the run with a `JouleError` naming the quantity
 * and the step when a step returns a non-finite value or a parameter turns non-finite; the last
 * good checkpoint is never overwritten by a bad one.
 *
 * @example
 * ```ts
 * import { train } from '@joule/train';
 * import { fileStorage } from '@joule/train/node';
 *
 * const result = await train(estimator, data, {
 *   steps: 2000, batchSize: 128, seed: 0,
 *   evalEvery: 500, metrics: [mmd], reference: testData,
 *   storage: fileStorage('run'), checkpointEvery: 500, resume: true,
 *   onProgress: (p) => console.log(p.step, p.values.loss, p.etaSeconds),
 * });
 * ```
 */
export async function train(
  estimator: Estimator<Tensor> | Estimator<ConditionalBatch>,
  data: TrainData,
  options: TrainOptions,
): Promise<TrainResult> {
  if (estimator === null || typeof estimator !== 'object' || typeof estimator.step !== 'function')
    throw new JouleError('train', 'estimator', 'an Estimator', String(estimator));
  const x = data instanceof Tensor ? data : data?.x;
  const context = data instanceof Tensor ? undefined : data?.context;
  if (!(x instanceof Tensor) || x.rank < 1 || x.shape[0] === 0)
    throw new JouleError('train', 'data', 'a non-empty tensor [N, d] or { x, context }', String(x?.shape ?? x));
  const rows = x.shape[0]!;
  if (context !== undefined && (!(context instanceof Tensor) || context.rank < 1 || context.shape[0] !== rows))
    throw new JouleError('train', 'data.context', `a tensor with ${rows} rows`, String(context?.shape));
  if (options === null || typeof options !== 'object')
    throw new JouleError('train', 'options', 'an options object', String(options));
  const { batchSize, dropLast = false } = options;
  positiveInt('batchSize', batchSize, false);
  positiveInt('steps', options.steps, true);
  positiveInt('epochs', options.epochs, true);
  positiveInt('evalEvery', options.evalEvery, true);
  positiveInt('evalSamples', options.evalSamples, true);
  positiveInt('checkpointEvery', options.checkpointEvery, true);
  if ((options.steps === undefined) === (options.epochs === undefined))
    throw new JouleError(
      'train',
      'steps',
      'exactly one of steps or epochs',
      `steps=${options.steps}, epochs=${options.epochs}`,
    );
  const batchesPerEpoch = dropLast ? Math.floor(rows / batchSize) : Math.ceil(rows / batchSize);
  if (batchesPerEpoch === 0)
    throw new JouleError('train', 'batchSize', `at most ${rows} rows with dropLast`, String(batchSize));
  const totalSteps = options.steps ?? options.epochs! * batchesPerEpoch;
  const metrics = options.metrics ?? [];
  if (metrics.length > 0) {
    if (typeof estimator.sample !== 'function')
      throw new JouleError('train', 'metrics', `an estimator with sample() ('${estimator.name}' has none)`, 'metrics');
    if (options.reference === undefined)
      throw new JouleError('train', 'reference', 'a reference (samples or distribution) for the metrics', 'undefined');
  }
  if ((options.resume || options.checkpointEvery !== undefined) && options.storage === undefined)
    throw new JouleError('train', 'storage', 'a CheckpointStorage for resume/checkpointEvery', 'undefined');
  const storage = options.storage;
  const checkpointName = options.checkpointName ?? 'checkpoint.safetensors';
  const evaluating = metrics.length > 0 || options.evaluate !== undefined;

  const base = options.rng ?? new Rng(options.seed ?? 0);
  let dataRng = base.split();
  let stepRng = base.split();
  let evalRng = base.split();
  let step = 0;
  let epoch = 0;
  let batchInEpoch = 0;
  let epochStart: RngState = dataRng.state();
  let order: Int32Array | null = null;
  let history: StepLog[] = [];
  let evaluations: EvalLog[] = [];
  let resumedFrom = 0;

  if (options.resume && storage !== undefined) {
    const bytes = await storage.read(checkpointName);
    if (bytes !== undefined) {
      const ck = readCheckpoint(bytes);
      if (ck.batchSize !== batchSize)
        throw new JouleError('train', 'batchSize', `${ck.batchSize} (the checkpoint's)`, String(batchSize));
      if (ck.rows !== rows) throw new JouleError('train', 'data', `${ck.rows} rows (the checkpoint's)`, String(rows));
      if (ck.estimator !== estimator.name)
        throw new JouleError('train', 'estimator', `'${ck.estimator}' (the checkpoint's)`, `'${estimator.name}'`);
      estimator.load(ck.estimatorState);
      ({ step, epoch, batchInEpoch, history, evaluations } = ck);
      resumedFrom = step;
      dataRng = Rng.fromState(ck.rng.data);
      stepRng = Rng.fromState(ck.rng.step);
      evalRng = Rng.fromState(ck.rng.eval);
      epochStart = ck.rng.data;
      if (batchInEpoch > 0) order = permutation(rows, dataRng);
    }
  }

  const writeCheckpoint = async (): Promise<void> => {
    const checkpoint: TrainCheckpoint = {
      estimator: estimator.name,
      step,
      epoch,
      batchInEpoch,
      batchSize,
      rows,
      rng: { data: order === null ? dataRng.state() : epochStart, step: stepRng.state(), eval: evalRng.state() },
      estimatorState: estimator.state(),
      history,
      evaluations,
    };
    try {
      const bytes = await encodeState(
        { format: FORMAT, checkpoint: checkpoint as unknown as Record<string, unknown> },
        { op: 'train', where: `at step ${step}` },
      );
      await storage!.write(checkpointName, bytes);
    } finally {
      dispose(checkpoint.estimatorState);
    }
  };

  const evaluate = async (): Promise<Record<string, number>> => {
    const values: Record<string, number> = {};
    if (metrics.length > 0) {
      const n = options.evalContext?.shape[0] ?? options.evalSamples ?? 1000;
      const samples = await estimator.sample!(n, evalRng, options.evalContext);
      for (const metric of metrics) values[metric.name] = await metric(samples, options.reference!);
      samples.dispose();
    }
    if (options.evaluate !== undefined) Object.assign(values, await options.evaluate(estimator, evalRng));
    evaluations.push({ step, values });
    return values;
  };

  const started = performance.now();
  const stepsAtStart = step;
  let latestMetrics = evaluations.at(-1)?.values;
  while (step < totalSteps) {
    if (order === null) {
      epochStart = dataRng.state();
      order = permutation(rows, dataRng);
    }
    const indices = order.subarray(batchInEpoch * batchSize, Math.min(rows, (batchInEpoch + 1) * batchSize));
    const idx = tensor(Float32Array.from(indices));
    const bx = x.indexSelect(idx, 0);
    const bc = context?.indexSelect(idx, 0);
    idx.dispose();
    const values =
      bc === undefined
        ? await (estimator as Estimator<Tensor>).step(bx, stepRng)
        : await (estimator as Estimator<ConditionalBatch>).step({ x: bx, context: bc }, stepRng);
    bx.dispose();
    bc?.dispose();
    step++;
    batchInEpoch++;
    if (batchInEpoch === batchesPerEpoch) {
      epoch++;
      batchInEpoch = 0;
      order = null;
    }
    checkFinite(values, step, 'value');
    history.push({ step, values: { ...values } });
    const last = step === totalSteps;
    if (evaluating && (last || (options.evalEvery !== undefined && step % options.evalEvery === 0))) {
      latestMetrics = await evaluate();
    }
    if (
      storage !== undefined &&
      (last || (options.checkpointEvery !== undefined && step % options.checkpointEvery === 0))
    ) {
      await writeCheckpoint();
    } else if (last) {
      // No checkpoint to write: still refuse to end with non-finite parameters.
      const state = estimator.state();
      try {
        await encodeState(state, { op: 'train', where: `at step ${step}` });
      } finally {
        dispose(state);
      }
    }
    if (options.onProgress !== undefined) {
      const seconds = (performance.now() - started) / 1000;
      const stepsPerSecond = seconds > 0 ? (step - stepsAtStart) / seconds : 0;
      options.onProgress({
        step,
        totalSteps,
        epoch,
        stepsPerSecond,
        etaSeconds: stepsPerSecond > 0 ? (totalSteps - step) / stepsPerSecond : Number.POSITIVE_INFINITY,
        values,
        ...(latestMetrics === undefined ? {} : { metrics: latestMetrics }),
      });
    }
  }
  return { steps: step, epochs: epoch, history, evaluations, resumedFrom };
}

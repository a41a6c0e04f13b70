import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JouleError, memory, Rng, randn, type Tensor, tensor } from '@joule/tensor';
import { afterAll, describe, expect, it } from 'vitest';
import { memoryStorage, type Progress, readCheckpoint, train } from '../src/index.js';
import { fileStorage } from '../src/node.js';
import { GaussianMeanEstimator, namedMetric, RecordingEstimator } from './helpers.js';

const dim = 3;
const rows = 50;
const data = randn([rows, dim], new Rng(1), 2, 1);
const batchSize = 8; // 7 batches per epoch, the last one of 2 rows

async function bits(t: Tensor): Promise<number[]> {
  return Array.from(new Uint32Array(Float32Array.from(await t.data()).buffer));
}

describe('train: batching', () => {
  it('visits every row once per epoch, in a seeded order, with the matching context rows', async () => {
    const ids = Float32Array.from({ length: rows }, (_, i) => i);
    const x = tensor(ids, [rows, 1]);
    const context = x.mul(10);
    const est = new RecordingEstimator();
    const result = await train(est, { x, context }, { epochs: 2, batchSize, seed: 3 });
    expect(result.steps).toBe(14);
    expect(result.epochs).toBe(2);
    expect(est.batches.map((b) => b.x.length)).toEqual([8, 8, 8, 8, 8, 8, 2, 8, 8, 8, 8, 8, 8, 2]);
    for (const epoch of [est.batches.slice(0, 7), est.batches.slice(7)]) {
      const seen = epoch.flatMap((b) => Array.from(b.x)).sort((a, b) => a - b);
      expect(seen).toEqual(Array.from(ids));
    }
    for (const b of est.batches) expect(Array.from(b.context)).toEqual(Array.from(b.x, (v) => v * 10));
    const firstEpoch = est.batches.slice(0, 7).flatMap((b) => Array.from(b.x));
    const secondEpoch = est.batches.slice(7).flatMap((b) => Array.from(b.x));
    expect(firstEpoch).not.toEqual(secondEpoch);
    const again = new RecordingEstimator();
    await train(again, { x, context }, { epochs: 2, batchSize, seed: 3 });
    expect(again.batches).toEqual(est.batches);
    const other = new RecordingEstimator();
    await train(other, { x, context }, { epochs: 1, batchSize, seed: 4 });
    expect(other.batches.map((b) => Array.from(b.x))).not.toEqual(est.batches.slice(0, 7).map((b) => Array.from(b.x)));
  });

  it('drops the short last batch with dropLast', async () => {
    const est = new RecordingEstimator();
    const x = tensor(
      Float32Array.from({ length: rows }, (_, i) => i),
      [rows, 1],
    );
    await train(est, { x, context: x }, { epochs: 1, batchSize, dropLast: true });
    expect(est.batches.map((b) => b.x.length)).toEqual([8, 8, 8, 8, 8, 8]);
  });
});

describe('train: learning, evaluation and progress', () => {
  it('moves θ to the data mean, evaluates the metrics every evalEvery steps and reports progress', async () => {
    const est = new GaussianMeanEstimator(dim);
    const meanGap = namedMetric('meanGap', async (samples, reference) => {
      const gap = samples.mean([0]).sub((reference as Tensor).mean([0]));
      return (await gap.square().sum().sqrt().data())[0]!;
    });
    const progress: Progress[] = [];
    const result = await train(est, data, {
      steps: 60,
      batchSize,
      seed: 0,
      evalEvery: 20,
      metrics: [meanGap],
      reference: data,
      evalSamples: 2000,
      evaluate: async (e) => ({ meanEnergy: (await e.energy(data).mean().data())[0]! }),
      onProgress: (p) => progress.push(p),
    });
    expect(result.evaluations.map((e) => e.step)).toEqual([20, 40, 60]);
    // The model is N(θ, I); after training θ ≈ data mean. With 2000 samples the sample mean has a
    // standard error of 1/√2000 ≈ 0.022 per coordinate; SGD noise from batches of 8 adds about
    // lr/√(2·8)·… ≲ 0.1, so 0.4 is far beyond both yet far below the initial gap of ‖(2,2,2)‖ ≈ 3.5.
    const last = result.evaluations.at(-1)!.values;
    expect(last.meanGap).toBeLessThan(0.4);
    expect(result.evaluations[0]!.values.meanEnergy).toBeGreaterThan(0);
    expect(progress).toHaveLength(60);
    expect(progress[59]!.step).toBe(60);
    expect(progress[59]!.totalSteps).toBe(60);
    expect(progress[59]!.etaSeconds).toBe(0);
    expect(progress[59]!.metrics).toEqual(last);
    expect(progress[10]!.metrics).toBeUndefined();
    expect(progress[25]!.metrics).toEqual(result.evaluations[0]!.values);
    expect(progress.every((p) => Number.isFinite(p.values.loss!) && p.stepsPerSecond >= 0)).toBe(true);
    expect(result.history.map((h) => h.step)).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
  });
});

describe('train: checkpoints and resume', () => {
  const options = { steps: 30, batchSize, seed: 7, checkpointEvery: 5, evalEvery: 10 };
  const evaluate = async (_: unknown, rng: Rng) => ({ u: rng.uniform(1)[0]! });

  async function uninterrupted() {
    const est = new GaussianMeanEstimator(dim);
    const result = await train(est, data, { ...options, storage: memoryStorage(), evaluate });
    return { est, result };
  }

  it('continues bit-identically after an interruption mid-epoch', async () => {
    const reference = await uninterrupted();
    const storage = memoryStorage();
    const crash = new Error('simulated crash');
    // Crash at step 13 (mid-epoch: 7 batches per epoch); the last checkpoint is at step 10.
    await expect(
      train(new GaussianMeanEstimator(dim), data, {
        ...options,
        storage,
        evaluate,
        onProgress: (p) => {
          if (p.step === 13) throw crash;
        },
      }),
    ).rejects.toBe(crash);
    expect(readCheckpoint((await storage.read('checkpoint.safetensors'))!).step).toBe(10);
    const est = new GaussianMeanEstimator(dim);
    const resumed = await train(est, data, { ...options, storage, evaluate, resume: true });
    expect(resumed.resumedFrom).toBe(10);
    expect(est.steps).toBe(30);
    expect(await bits(est.theta)).toEqual(await bits(reference.est.theta));
    expect(Array.from(est.momentum)).toEqual(Array.from(reference.est.momentum));
    expect(resumed.history).toEqual(reference.result.history);
    expect(resumed.evaluations).toEqual(reference.result.evaluations);
    expect(resumed.epochs).toBe(reference.result.epochs);
  });

  it('disposes the state snapshots it checkpoints: no tensor outlives the run but the parameters', async () => {
    const est = new GaussianMeanEstimator(dim);
    const before = memory().tensors;
    await train(est, data, { steps: 20, batchSize, seed: 3, checkpointEvery: 1, storage: memoryStorage() });
    await train(est, data, { steps: 20, batchSize, seed: 3 }); // no storage: the final check's snapshot
    expect(memory().tensors).toBe(before);
    expect(est.theta.isDisposed).toBe(false);
  });

  it('resumes at an epoch boundary and from a finished run', async () => {
    const reference = await uninterrupted();
    const storage = memoryStorage();
    await train(new GaussianMeanEstimator(dim), data, { ...options, steps: 14, storage, evaluate });
    const ck = readCheckpoint((await storage.read('checkpoint.safetensors'))!);
    expect([ck.step, ck.epoch, ck.batchInEpoch]).toEqual([14, 2, 0]);
    const est = new GaussianMeanEstimator(dim);
    const resumed = await train(est, data, { ...options, storage, evaluate, resume: true });
    expect(await bits(est.theta)).toEqual(await bits(reference.est.theta));
    expect(resumed.history).toEqual(reference.result.history);
    const done = new GaussianMeanEstimator(dim);
    const again = await train(done, data, { ...options, storage, evaluate, resume: true });
    expect(again.resumedFrom).toBe(30);
    expect(done.steps).toBe(30);
    expect(await bits(done.theta)).toEqual(await bits(reference.est.theta));
  });

  it('starts fresh when resume finds no checkpoint, and refuses a mismatched run', async () => {
    const storage = memoryStorage();
    const fresh = await train(new GaussianMeanEstimator(dim), data, { ...options, steps: 5, storage, resume: true });
    expect(fresh.resumedFrom).toBe(0);
    await expect(
      train(new GaussianMeanEstimator(dim), data, { ...options, batchSize: 4, storage, resume: true }),
    ).rejects.toThrow(/batchSize/);
    await expect(
      train(new GaussianMeanEstimator(dim), data.slice([0, 0], [40, dim]), { ...options, storage, resume: true }),
    ).rejects.toThrow(/50 rows/);
  });

  describe('fileStorage', () => {
    const dirs: string[] = [];
    afterAll(async () => {
      for (const d of dirs) await rm(d, { recursive: true, force: true });
    });

    it('writes checkpoints as files, reads them back, and resumes from them', async () => {
      const root = await mkdtemp(join(tmpdir(), 'joule-train-'));
      dirs.push(root);
      const dir = join(root, 'run', 'nested');
      const storage = fileStorage(dir);
      expect(await storage.read('missing.safetensors')).toBeUndefined();
      await train(new GaussianMeanEstimator(dim), data, { ...options, steps: 12, storage });
      expect(await readdir(dir)).toEqual(['checkpoint.safetensors']);
      const reference = await uninterrupted();
      const est = new GaussianMeanEstimator(dim);
      await train(est, data, { ...options, storage, evaluate, resume: true });
      // Evaluations were not requested in the first part; the training numbers still match.
      expect(await bits(est.theta)).toEqual(await bits(reference.est.theta));
      expect(() => fileStorage('')).toThrow(JouleError);
    });
  });
});

describe('train: NaN/Inf guard', () => {
  it('stops on a non-finite step value, naming it and the step, and keeps the last good checkpoint', async () => {
    const storage = memoryStorage();
    const run = train(new GaussianMeanEstimator(dim, { nanLossAt: 7 }), data, {
      steps: 20,
      batchSize,
      checkpointEvery: 5,
      storage,
    });
    await expect(run).rejects.toThrow(JouleError);
    await expect(run).rejects.toThrow(/'loss'.*NaN at step 7/);
    const ck = readCheckpoint((await storage.read('checkpoint.safetensors'))!);
    expect(ck.step).toBe(5);
    const theta = await (ck.estimatorState as { params: { theta: Tensor } }).params.theta.data();
    expect(Array.from(theta).every(Number.isFinite)).toBe(true);
  });

  it('stops on a non-finite parameter at a checkpoint without overwriting the good one', async () => {
    const storage = memoryStorage();
    // θ turns infinite in step 10 itself, so the step's own values are still finite.
    const run = train(new GaussianMeanEstimator(dim, { infParameterAt: 10 }), data, {
      steps: 20,
      batchSize,
      checkpointEvery: 5,
      storage,
    });
    await expect(run).rejects.toThrow(/theta'.*Infinity at index 0 at step 10/);
    expect(readCheckpoint((await storage.read('checkpoint.safetensors'))!).step).toBe(5);
  });

  it('stops when a real energy blows up: E(x) = exp(a)·|x|²/2 with a rigged to grow by 25 per step', async () => {
    // exp(a) overflows float32 (max ≈ 3.4e38) once a = 100, at step 5: the batch's mean energy,
    // computed with tensor ops, is then +Infinity.
    let a = 0;
    const energy = (x: Tensor): Tensor =>
      x
        .square()
        .sum([1])
        .mul(0.5)
        .mul(tensor(Math.exp(a)));
    const blowUp = {
      name: 'blow-up',
      energy,
      async step(batch: Tensor) {
        const loss = (await energy(batch).mean().data())[0]!;
        a += 25;
        return { loss };
      },
      state: () => ({ params: { a: tensor([a]) } }),
      load(state: Record<string, unknown>) {
        a = (state as { params: { a: Tensor } }).params.a.dataSync()[0]!;
      },
    };
    const storage = memoryStorage();
    const run = train(blowUp, data, { steps: 20, batchSize, checkpointEvery: 2, storage });
    await expect(run).rejects.toThrow(JouleError);
    await expect(run).rejects.toThrow(/'loss'.*Infinity at step 5/);
    const ck = readCheckpoint((await storage.read('checkpoint.safetensors'))!);
    expect(ck.step).toBe(4);
    expect(ck.history.map((h) => Number.isFinite(h.values.loss))).toEqual([true, true, true, true]);
  });

  it('checks the parameters at the end even without storage', async () => {
    const run = train(new GaussianMeanEstimator(dim, { infParameterAt: 4 }), data, { steps: 4, batchSize });
    await expect(run).rejects.toThrow(/theta'.*at step 4/);
  });
});

describe('train: argument checks', () => {
  const est = new GaussianMeanEstimator(dim);
  it.each([
    [{ batchSize }, /exactly one of steps or epochs/],
    [{ batchSize, steps: 3, epochs: 1 }, /exactly one of steps or epochs/],
    [{ batchSize: 0, steps: 3 }, /'batchSize' expected a positive integer, got 0/],
    [{ batchSize: 2.5, steps: 3 }, /'batchSize'/],
    [{ batchSize, steps: -1 }, /'steps'/],
    [{ batchSize: 60, steps: 3, dropLast: true }, /at most 50 rows/],
    [{ batchSize, steps: 3, metrics: [namedMetric('m', async () => 0)] }, /'reference'/],
    [{ batchSize, steps: 3, resume: true }, /'storage'/],
    [{ batchSize, steps: 3, checkpointEvery: 0 }, /'checkpointEvery'/],
  ])('rejects %o', async (options, message) => {
    await expect(train(est, data, options as never)).rejects.toThrow(message);
  });

  it('rejects bad data and a context with the wrong row count', async () => {
    await expect(train(est, null as never, { batchSize, steps: 1 })).rejects.toThrow(/'data'/);
    await expect(
      train(est, { x: data, context: data.slice([0, 0], [10, dim]) }, { batchSize, steps: 1 }),
    ).rejects.toThrow(/'data.context' expected a tensor with 50 rows/);
    await expect(train({} as never, data, { batchSize, steps: 1 })).rejects.toThrow(/'estimator'/);
  });

  it('rejects metrics for an estimator that cannot sample', async () => {
    const rec = new RecordingEstimator();
    const metric = namedMetric('m', async () => 0);
    await expect(
      train(rec, { x: data, context: data }, { batchSize, steps: 1, metrics: [metric], reference: data }),
    ).rejects.toThrow(/sample\(\)/);
  });
});

/**
 * The training worker: runs a {@link Trainer} in short slices off the page's main thread, reports
 * losses after every slice and a fresh picture (energy grid, samples) a few times a second. One
 * worker trains one run; the page stops a run by terminating its worker.
 */
import { activateBackend } from './backends.js';
import type { Command, Report } from './protocol.js';
import { Trainer } from './trainer.js';

/** Milliseconds of training between two progress reports. */
const SLICE_MS = 120;
/** Milliseconds between two pictures. */
const FRAME_MS = 1000;
const GRID_RESOLUTION = 64;
const SAMPLES = 300;
const DATA_SHOWN = 800;

const scope = self as unknown as {
  postMessage(report: Report, transfer?: Transferable[]): void;
  onmessage: ((event: MessageEvent<Command>) => void) | null;
};

function post(report: Report, transfer: Transferable[] = []): void {
  scope.postMessage(report, transfer);
}

async function postFrame(trainer: Trainer): Promise<void> {
  const energies = await trainer.energyGrid(GRID_RESOLUTION);
  const samples = await trainer.samples(SAMPLES);
  const data = Float32Array.from((await trainer.data.data()).subarray(0, 2 * DATA_SHOWN));
  post({ type: 'frame', step: trainer.steps, resolution: GRID_RESOLUTION, energies, samples, data }, [
    energies.buffer,
    samples.buffer,
    data.buffer,
  ]);
}

async function train(command: Command): Promise<void> {
  const backend = await activateBackend(command.backend);
  const { dataset, estimator, seed, width, batchSize } = command;
  const trainer = new Trainer({ dataset, estimator, seed, width, batchSize });
  post({ type: 'started', backend });
  await postFrame(trainer);
  let lastFrame = performance.now();
  let lastReport = performance.now();
  for (;;) {
    const start = performance.now();
    const losses: number[] = [];
    while (performance.now() - start < SLICE_MS) losses.push(await trainer.step());
    // Steps per second of wall time since the last report, drawing included.
    const now = performance.now();
    const stepsPerSecond = (1000 * losses.length) / (now - lastReport);
    lastReport = now;
    post({ type: 'progress', step: trainer.steps, losses, stepsPerSecond });
    if (performance.now() - lastFrame > FRAME_MS) {
      await postFrame(trainer);
      lastFrame = performance.now();
    }
  }
}

scope.onmessage = (event) => {
  scope.onmessage = null;
  train(event.data).catch((error: unknown) => {
    post({ type: 'error', message: error instanceof Error ? error.message : String(error) });
  });
};

/**
 * The page: the controls, the training worker's life cycle, and the drawing of the energy
 * landscape, the samples and the loss curve.
 */
import { type BackendName, probeBackends } from './backends.js';
import { DATASETS, ESTIMATORS, type EstimatorName, EXTENT } from './config.js';
import type { Command, Report } from './protocol.js';
import { densityPixels, toCanvas } from './render.js';

function element<T extends HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (!found) throw new Error(`the page has no #${id}`);
  return found as T;
}

const form = element<HTMLFormElement>('controls');
const datasetSelect = element<HTMLSelectElement>('dataset');
const estimatorSelect = element<HTMLSelectElement>('estimator');
const backendSelect = element<HTMLSelectElement>('backend');
const seedInput = element<HTMLInputElement>('seed');
const widthSelect = element<HTMLSelectElement>('width');
const batchSelect = element<HTMLSelectElement>('batch');
const trainButton = element<HTMLButtonElement>('train');
const stopButton = element<HTMLButtonElement>('stop');
const landscape = element<HTMLCanvasElement>('landscape');
const lossChart = element<HTMLCanvasElement>('loss-chart');

/** What the page shows; also readable from the console (and by the end-to-end test). */
const state = {
  running: false,
  backend: 'none',
  step: 0,
  stepsPerSecond: 0,
  losses: [] as number[],
  frames: 0,
  error: '',
};
(window as unknown as { joulePlayground: typeof state }).joulePlayground = state;

let worker: Worker | undefined;

function addOption(select: HTMLSelectElement, value: string, label: string, disabled = false): void {
  const option = document.createElement('option');
  option.value = value;
  option.textContent = label;
  option.disabled = disabled;
  select.append(option);
}

for (const name of DATASETS) addOption(datasetSelect, name, name);
for (const { name, label } of ESTIMATORS) addOption(estimatorSelect, name, label);
const backends = probeBackends();
for (const b of backends)
  addOption(backendSelect, b.name, b.available ? b.label : `${b.label}: unavailable`, !b.available);
element('backend-notes').textContent = backends
  .filter((b) => !b.available)
  .map((b) => `${b.label} unavailable: ${b.reason}.`)
  .join(' ');

function show(id: string, text: string): void {
  element(id).textContent = text;
}

function setRunning(running: boolean, label: string): void {
  state.running = running;
  trainButton.disabled = running;
  stopButton.disabled = !running;
  for (const select of [datasetSelect, estimatorSelect, backendSelect, widthSelect, batchSelect])
    select.disabled = running;
  show('state', label);
}

function drawLandscape(report: Extract<Report, { type: 'frame' }>): void {
  const ctx = landscape.getContext('2d')!;
  const { resolution } = report;
  const tile = document.createElement('canvas');
  tile.width = resolution;
  tile.height = resolution;
  tile
    .getContext('2d')!
    .putImageData(new ImageData(densityPixels(report.energies, resolution), resolution, resolution), 0, 0);
  ctx.imageSmoothingEnabled = true;
  ctx.drawImage(tile, 0, 0, landscape.width, landscape.height);
  const dots = (points: Float32Array, color: string, radius: number) => {
    ctx.fillStyle = color;
    for (let i = 0; i + 1 < points.length; i += 2) {
      const [px, py] = toCanvas(points[i]!, points[i + 1]!, EXTENT, landscape.width);
      ctx.fillRect(px - radius, py - radius, 2 * radius, 2 * radius);
    }
  };
  dots(report.data, 'rgba(255, 255, 255, 0.55)', 1);
  dots(report.samples, 'rgba(230, 40, 40, 0.85)', 1.5);
}

function drawLossChart(): void {
  const ctx = lossChart.getContext('2d')!;
  const { width, height } = lossChart;
  ctx.clearRect(0, 0, width, height);
  const losses = state.losses;
  if (losses.length < 2) return;
  const lo = Math.min(...losses);
  const hi = Math.max(...losses);
  const span = hi - lo || 1;
  const pad = 24;
  ctx.strokeStyle = '#ccc';
  ctx.strokeRect(pad, 4, width - pad - 4, height - pad - 4);
  ctx.strokeStyle = '#2a62c9';
  ctx.beginPath();
  losses.forEach((loss, i) => {
    const x = pad + (i / (losses.length - 1)) * (width - pad - 4);
    const y = 4 + (1 - (loss - lo) / span) * (height - pad - 4);
    if (i === 0) ctx.moveTo(x, y);
    else ctx.lineTo(x, y);
  });
  ctx.stroke();
  ctx.fillStyle = '#555';
  ctx.font = '11px sans-serif';
  ctx.fillText(hi.toPrecision(3), 0, 12);
  ctx.fillText(lo.toPrecision(3), 0, height - pad);
  ctx.fillText(`step ${losses.length}`, width - 70, height - 6);
}

function onReport(report: Report): void {
  switch (report.type) {
    case 'started':
      state.backend = report.backend;
      show('active-backend', report.backend);
      setRunning(true, 'training');
      break;
    case 'progress':
      state.step = report.step;
      state.stepsPerSecond = report.stepsPerSecond;
      state.losses.push(...report.losses);
      show('step', String(report.step));
      show('rate', report.stepsPerSecond.toFixed(1));
      show('loss', report.losses[report.losses.length - 1]!.toFixed(4));
      drawLossChart();
      break;
    case 'frame':
      state.frames += 1;
      drawLandscape(report);
      break;
    case 'error':
      state.error = report.message;
      stop(`error: ${report.message}`);
      break;
  }
}

function stop(label: string): void {
  worker?.terminate();
  worker = undefined;
  setRunning(false, label);
}

form.addEventListener('submit', (event) => {
  event.preventDefault();
  stop('starting');
  const estimator = estimatorSelect.value as EstimatorName;
  const command: Command = {
    dataset: datasetSelect.value as Command['dataset'],
    estimator,
    backend: backendSelect.value as BackendName,
    seed: Math.max(0, Math.floor(Number(seedInput.value) || 0)),
    width: Number(widthSelect.value),
    batchSize: Number(batchSelect.value),
  };
  Object.assign(state, { step: 0, stepsPerSecond: 0, losses: [], frames: 0, error: '', backend: 'none' });
  show('loss-caption', ESTIMATORS.find((e) => e.name === estimator)!.lossKey);
  setRunning(true, 'starting');
  worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' });
  worker.onmessage = (message: MessageEvent<Report>) => onReport(message.data);
  worker.onerror = (error) => onReport({ type: 'error', message: error.message || 'the worker failed to load' });
  worker.postMessage(command);
});

stopButton.addEventListener('click', () => stop(`stopped at step ${state.step}`));

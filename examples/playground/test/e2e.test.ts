// End-to-end: builds the page if needed, serves dist/ from a local server, drives Debian's Chromium
// (headless, through playwright-core) through a training run on every backend the page offers, and
// checks that the loss falls and the landscape canvas changes. Screenshots go to joule-out/.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BrowserContext, chromium, type JSHandle, type Page } from 'playwright-core';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';

const CHROMIUM = '/usr/bin/chromium';
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
const outDir = join(root, 'joule-out');
/** Steps each run trains before the loss windows are compared. */
const STEPS = 60;
/** A small model, so that a run on WebGL through SwiftShader (the GPU emulated on the CPU) is quick. */
const WIDTH = '16';
const BATCH = '64';
/** Steps averaged at the start and at the end of a run. */
const WINDOW = 10;

const MIME: Record<string, string> = {
  '.html': 'text/html',
  '.js': 'text/javascript',
  '.css': 'text/css',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
};

/** Newest modification time of the files the build reads. */
function newestSource(): number {
  const files = ['index.html', 'vite.config.ts', 'package.json'].map((f) => join(root, f));
  for (const f of readdirSync(join(root, 'src'))) files.push(join(root, 'src', f));
  return Math.max(...files.map((f) => statSync(f).mtimeMs));
}

function serve(dir: string): Promise<Server> {
  const server = createServer(async (req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)).replace(
      /^(\.\.[/\\])+/,
      '',
    );
    const file = join(dir, path.endsWith('/') ? `${path}index.html` : path);
    try {
      const body = await readFile(file);
      res.writeHead(200, { 'content-type': MIME[extname(file)] ?? 'application/octet-stream' });
      res.end(body);
    } catch {
      res.writeHead(404).end('not found');
    }
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

interface PageState {
  running: boolean;
  backend: string;
  step: number;
  stepsPerSecond: number;
  losses: number[];
  frames: number;
  error: string;
}

function pageState(page: Page): Promise<PageState> {
  return page.evaluate(() => (window as unknown as { joulePlayground: PageState }).joulePlayground);
}

/** A copy of the landscape canvas's pixels, kept in the page. */
function canvasPixels(page: Page): Promise<JSHandle<Uint8ClampedArray>> {
  return page.evaluateHandle(() => {
    const canvas = document.getElementById('landscape') as HTMLCanvasElement;
    return canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
  });
}

/** The share of the landscape's pixels whose colour moved by more than 8 levels (red + green) since `before`. */
function changedShare(page: Page, before: JSHandle<Uint8ClampedArray>): Promise<number> {
  return page.evaluate((first) => {
    const canvas = document.getElementById('landscape') as HTMLCanvasElement;
    const now = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
    let changed = 0;
    for (let i = 0; i < now.length; i += 4) {
      if (Math.abs(first[i]! - now[i]!) + Math.abs(first[i + 1]! - now[i + 1]!) > 8) changed += 1;
    }
    return changed / (now.length / 4);
  }, before);
}

function meanAndVariance(values: number[]): { mean: number; variance: number } {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const variance = values.reduce((a, b) => a + (b - mean) ** 2, 0) / (values.length - 1);
  return { mean, variance };
}

let server: Server | undefined;
let context: BrowserContext | undefined;
let userDataDir: string | undefined;
let url = '';

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `${CHROMIUM} is missing: the playground's browser test drives Debian's Chromium. Install it with ` +
        '`bash examples/playground/scripts/ci-deps.sh` (apt-get install chromium).',
    );
  }
  const index = join(dist, 'index.html');
  if (!existsSync(index) || statSync(index).mtimeMs < newestSource()) {
    await build({ root, logLevel: 'warn' });
  }
  server = await serve(dist);
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  userDataDir = mkdtempSync(join(tmpdir(), 'joule-playground-chromium-'));
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
  mkdirSync(outDir, { recursive: true });
});

afterAll(async () => {
  await context?.close();
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
});

describe('playground in Chromium', () => {
  test('lists the datasets, estimators and backends, and says why a backend is unavailable', async () => {
    const page = await context!.newPage();
    await page.goto(url);
    const options = (id: string) =>
      page.$$eval(`#${id} option`, (els) =>
        els.map((e) => ({ value: (e as HTMLOptionElement).value, disabled: (e as HTMLOptionElement).disabled })),
      );
    expect((await options('estimator')).map((o) => o.value)).toEqual(['rnce', 'cd', 'jarzynski']);
    expect((await options('dataset')).map((o) => o.value)).toContain('eightGaussians');
    const backends = await options('backend');
    expect(backends.map((b) => b.value)).toEqual(['cpu', 'webgl2', 'webgpu']);
    expect(backends[0]!.disabled).toBe(false);
    // Chromium without a GPU still gives WebGL2 through SwiftShader; the WebGPU mode is not offered.
    expect(backends[1]!.disabled).toBe(false);
    expect(backends[2]!.disabled).toBe(true);
    for (const b of backends.filter((o) => o.disabled)) {
      expect(await page.textContent('#backend-notes')).toMatch(
        new RegExp(`${b.value === 'webgl2' ? 'WebGL2' : 'WebGPU'}.*unavailable`),
      );
    }
    await page.close();
  });

  test.each(['cd', 'jarzynski'])('starts %s in the page: steps, pictures, no error', async (estimator) => {
    const page = await context!.newPage();
    await page.goto(url);
    await page.selectOption('#estimator', estimator);
    await page.selectOption('#width', WIDTH);
    await page.selectOption('#batch', BATCH);
    await page.click('#train');
    await page.waitForFunction(() => {
      const s = (window as unknown as { joulePlayground: PageState }).joulePlayground;
      return (s.step >= 5 && s.frames >= 2) || s.error !== '';
    });
    await page.click('#stop');
    const state = await pageState(page);
    expect(state.error).toBe('');
    expect(state.losses.every(Number.isFinite)).toBe(true);
    expect(await page.textContent('#state')).toMatch(/^stopped at step \d+$/);
    await page.close();
  });

  // Every backend this Chromium offers (the first test checks that these two are the offered ones).
  test.each(['cpu', 'webgl2'])('trains R-NCE on %s: the loss falls and the landscape changes', async (backend) => {
    const page = await context!.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(url);
    await page.selectOption('#dataset', 'eightGaussians');
    await page.selectOption('#estimator', 'rnce');
    await page.selectOption('#backend', backend);
    await page.selectOption('#width', WIDTH);
    await page.selectOption('#batch', BATCH);
    await page.fill('#seed', '1');
    await page.click('#train');
    await page.waitForFunction(() => (window as unknown as { joulePlayground: PageState }).joulePlayground.frames >= 1);
    const first = await canvasPixels(page);
    await page.waitForFunction(
      (steps) => {
        const s = (window as unknown as { joulePlayground: PageState }).joulePlayground;
        return s.step >= steps || s.error !== '';
      },
      STEPS,
      { timeout: 100_000 },
    );
    const framesBefore = (await pageState(page)).frames;
    await page.waitForFunction(
      (n) => (window as unknown as { joulePlayground: PageState }).joulePlayground.frames > n,
      framesBefore,
    );
    await page.click('#stop');
    const state = await pageState(page);
    expect(state.error).toBe('');
    expect(state.running).toBe(false);
    expect(await page.textContent('#active-backend')).toBe(state.backend);
    expect(state.backend).toBe(backend === 'cpu' ? 'cpu' : `gpu.js-${backend}`);
    expect(Number(await page.textContent('#rate'))).toBeGreaterThan(0);

    // The loss falls: the first and last WINDOW steps differ by more than 5 standard errors, with
    // the variance estimated inside each window (the trend inflates it, so this is conservative).
    const start = meanAndVariance(state.losses.slice(0, WINDOW));
    const end = meanAndVariance(state.losses.slice(-WINDOW));
    const standardError = Math.sqrt(start.variance / WINDOW + end.variance / WINDOW);
    expect(start.mean - end.mean).toBeGreaterThan(5 * standardError);

    // The landscape was redrawn with a different energy: a sizeable share of the pixels changed.
    expect(await changedShare(page, first)).toBeGreaterThan(0.05);
    await first.dispose();
    await page.screenshot({ path: join(outDir, `playground-${backend}.png`), fullPage: true });
    expect(errors).toEqual([]);
    await page.close();
  });
});

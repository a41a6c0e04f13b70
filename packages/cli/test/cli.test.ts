import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ConditionalBatch, Estimator } from '@joule/core';
import { CpuBackend, getBackend, Rng, type Tensor } from '@joule/tensor';
import { readCheckpoint } from '@joule/train';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type CliIO, datasetRegistry, estimatorRegistry, metricRegistry, resolveConfig, runCli } from '../src/index.js';
import { buildRun, drawSamples } from '../src/pipeline.js';
import { withThreads } from '../src/threads.js';
import { decodePng } from './png.js';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'joule-cli-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** Runs the CLI in `cwd`, capturing its output. */
async function joule(args: string[], cwd = root, isTTY = false): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: CliIO = {
    stdout: { write: (s: string) => (out += s), isTTY, columns: 100 },
    stderr: { write: (s: string) => (err += s) },
    cwd,
  };
  const code = await runCli(args, io);
  return { code, out, err };
}

const tiny = ['--batch-size', '32', '--train-size', '256', '--eval-samples', '64'];

async function paramsOf(dir: string): Promise<Float32Array[]> {
  const ck = readCheckpoint(await readFile(join(dir, 'checkpoints', 'checkpoint.safetensors')));
  const leaves: Float32Array[] = [];
  const visit = (v: unknown): void => {
    if (v !== null && typeof v === 'object' && 'dataSync' in v)
      leaves.push(Float32Array.from((v as Tensor).dataSync()));
    else if (v !== null && typeof v === 'object') for (const k of Object.keys(v).sort()) visit((v as never)[k]);
  };
  visit(ck.estimatorState);
  return leaves;
}

describe('joule train, end to end on a tiny run', () => {
  it('trains R-NCE on the conditional pinwheel and writes checkpoint, metrics, PNGs and the report', async () => {
    const out = join(root, 'rnce');
    const {
      code,
      out: stdout,
      err,
    } = await joule([
      'train',
      '--estimator',
      'rnce',
      '--dataset',
      'cond-pinwheel',
      '--steps',
      '6',
      ...tiny,
      '--set',
      'langevinSteps=5',
      '--out',
      out,
    ]);
    expect(err).toBe('');
    expect(code).toBe(0);
    expect(stdout).toMatch(/6\/6 .* it\/s .*loss/);
    expect(stdout).toContain(`written to ${out}`);
    const files = await readdir(out);
    for (const f of ['config.json', 'metrics.json', 'report.html', 'density.png', 'training.png'])
      expect(files).toContain(f);
    expect(files.filter((f) => f.startsWith('samples-spokes-') && f.endsWith('.png'))).toHaveLength(4);
    expect(existsSync(join(out, 'checkpoints', 'checkpoint.safetensors'))).toBe(true);

    const { metrics, step } = JSON.parse(await readFile(join(out, 'metrics.json'), 'utf8'));
    expect(step).toBe(6);
    // one Bhattacharyya coefficient per spoke count and their mean, each in (0, 1]
    for (const spokes of [4, 5, 6, 7]) expect(metrics[`bhattacharyya[spokes=${spokes}]`]).toBeGreaterThan(0);
    expect(metrics.bhattacharyya).toBeGreaterThan(0);
    expect(metrics.bhattacharyya).toBeLessThanOrEqual(1);

    const html = await readFile(join(out, 'report.html'), 'utf8');
    expect(html).not.toMatch(/<script|src="http/);
    // density, 4 sample panels, training: each embedded as the PNG written beside the report
    const images = [...html.matchAll(/<img src="data:image\/png;base64,([A-Za-z0-9+/=]+)"[^>]* alt="([^"]*)">/g)];
    expect(images.length).toBeGreaterThanOrEqual(6);
    expect(html).not.toContain('<svg');
    const embedded = images.map(([, b64]) => Buffer.from(b64!, 'base64'));
    for (const file of ['density.png', 'training.png', 'samples-spokes-4.png']) {
      const png = await readFile(join(out, file));
      expect(embedded.some((b) => b.equals(png))).toBe(true);
    }
    for (const png of embedded) expect(decodePng(new Uint8Array(png)).width).toBeGreaterThan(0);
    expect(images.map(([, , alt]) => alt)).toContain('training');
    expect(html).toContain('<h2>Metrics</h2>');
    expect(html).toContain('bhattacharyya[spokes=4]');
    expect(html).toContain(String(Number(metrics.bhattacharyya.toPrecision(6))));
    expect(html).toContain('<h2>Configuration</h2>');
    expect(html).toContain('cond-pinwheel');
    expect(html).toContain('spokes=7'); // the conditional panel titles
  });

  it('writes PNGs that decode and are not blank', async () => {
    const png = decodePng(new Uint8Array(await readFile(join(root, 'rnce', 'density.png'))));
    expect(png.width).toBeGreaterThan(400); // four 200-pixel panels at scale 2
    const colors = new Set<number>();
    for (let i = 0; i < png.pixels.length; i += png.channels)
      colors.add((png.pixels[i]! << 16) | (png.pixels[i + 1]! << 8) | png.pixels[i + 2]!);
    // a blank image has one color; a density heatmap with a color scale has many
    expect(colors.size).toBeGreaterThan(50);
  });

  it('samples and evaluates a trained unconditional run that has no sampler of its own (ULA fallback)', async () => {
    const out = join(root, 'dsm');
    const trained = await joule(
      ['train', '--estimator', 'dsm', '--dataset', '8gaussians', '--steps', '4', ...tiny, '--sample-steps', '5'].concat(
        ['--metrics', 'bhattacharyya,mmd2', '--out', out],
      ),
    );
    expect(trained.err).toBe('');
    expect(trained.code).toBe(0);
    expect(await readdir(out)).toContain('samples.png');

    const sampled = await joule(['sample', '--run', out, '--n', '50']);
    expect(sampled.code).toBe(0);
    const csv = (await readFile(join(out, 'samples.csv'), 'utf8')).trim().split('\n');
    expect(csv[0]).toBe('x1,x2');
    expect(csv).toHaveLength(51);
    expect(csv.slice(1).every((line) => line.split(',').map(Number).every(Number.isFinite))).toBe(true);

    const evaluated = await joule(['eval', '--run', out, '--metrics', 'mmd2', '--eval-samples', '40']);
    expect(evaluated.code).toBe(0);
    const { metrics } = JSON.parse(await readFile(join(out, 'eval.json'), 'utf8'));
    expect(Object.keys(metrics)).toEqual(['mmd2']);
    expect(evaluated.out).toMatch(/mmd2\s+\S+/);
  });

  it('draws a progress bar on a terminal', async () => {
    const { code, out } = await joule(
      ['train', '--estimator', 'nce', '--dataset', 'moons', '--steps', '3', ...tiny, '--sample-steps', '2'].concat([
        '--metrics',
        'mmd2',
        '--out',
        join(root, 'tty'),
      ]),
      root,
      true,
    );
    expect(code).toBe(0);
    // each redraw clears the line (carriage return, ESC [2K) and draws the bar
    expect(out).toContain('\r\u001b[2K[');
    expect(out).toMatch(/\[#+\] 3\/3 .*ETA/);
  });
});

describe('joule train --resume', () => {
  it('continues an interrupted run to the same parameters and history as an uninterrupted one', async () => {
    const common = ['--estimator', 'cnce', '--dataset', 'rings', ...tiny, '--metrics', 'mmd2', '--sample-steps', '2'];
    const straight = join(root, 'straight');
    const split = join(root, 'split');
    expect((await joule(['train', ...common, '--steps', '10', '--out', straight])).code).toBe(0);
    expect((await joule(['train', ...common, '--steps', '4', '--checkpoint-every', '2', '--out', split])).code).toBe(0);
    // the threads may change on resume (the results do not depend on them)
    const resumed = await joule(['train', ...common, '--steps', '10', '--out', split, '--resume', '--threads', '2']);
    expect(resumed.code).toBe(0);
    expect(resumed.out).toContain('resumed from step 4');
    const a = await paramsOf(straight);
    const b = await paramsOf(split);
    expect(b.length).toBe(a.length);
    expect(b.map((leaf) => Array.from(leaf))).toEqual(a.map((leaf) => Array.from(leaf)));
    const historyOf = async (dir: string) =>
      readCheckpoint(await readFile(join(dir, 'checkpoints', 'checkpoint.safetensors'))).history;
    expect(await historyOf(split)).toEqual(await historyOf(straight));
  });

  it('refuses to resume with a different configuration', async () => {
    const { code, err } = await joule([
      'train',
      '--estimator',
      'cnce',
      '--dataset',
      'rings',
      ...tiny,
      '--seed',
      '3',
      '--steps',
      '12',
      '--out',
      join(root, 'split'),
      '--resume',
    ]);
    expect(code).toBe(2);
    expect(err).toMatch(/configuration differs/);
  });
});

describe('configuration and flag validation', () => {
  async function rejected(args: string[], message: RegExp): Promise<void> {
    const out = join(root, `never-${Math.random().toString(36).slice(2)}`);
    const { code, err } = await joule([...args, '--out', out]);
    expect(err).toMatch(message);
    expect(code).toBe(2);
    expect(existsSync(out)).toBe(false); // nothing started
  }

  async function configFile(content: unknown): Promise<string> {
    const path = join(root, `config-${Math.random().toString(36).slice(2)}.json`);
    await writeFile(path, typeof content === 'string' ? content : JSON.stringify(content));
    return path;
  }

  const base = { estimator: 'rnce', dataset: 'cond-pinwheel' };

  it('names an unknown key, a wrong type and an out-of-range value in a configuration file', async () => {
    await rejected(['train', '--config', await configFile({ ...base, stepz: 10 })], /'.*\.stepz' expected a known key/);
    await rejected(
      ['train', '--config', await configFile({ ...base, steps: 'many' })],
      /'.*\.steps' expected an integer in \[1, 10000000\], got string "many"/,
    );
    await rejected(
      ['train', '--config', await configFile({ ...base, batchSize: 0 })],
      /'.*\.batchSize' expected an integer in \[1, 1000000\], got 0/,
    );
    await rejected(
      ['train', '--config', await configFile({ ...base, estimatorOptions: { k: -1 } })],
      /'.*\.estimatorOptions\.k' expected an integer in \[1, 1024\], got -1/,
    );
    await rejected(
      ['train', '--config', await configFile({ ...base, estimatorOptions: { sigma: 1 } })],
      /estimatorOptions\.sigma' expected a known key \(width, depth, lr, k/,
    );
    await rejected(['train', '--config', await configFile('{ "steps": ')], /not valid JSON/);
    await rejected(['train', '--config', await configFile([1, 2])], /must hold a JSON object/);
    await rejected(['train', '--config', join(root, 'missing.json')], /cannot read the configuration file/);
  });

  it('rejects bad flags before anything runs', async () => {
    await rejected(
      ['train', '--estimator', 'rnce', '--dataset', 'cond-pinwheel', '--stepz', '3'],
      /unknown flag --stepz/,
    );
    await rejected(
      ['train', '--estimator', 'rnce', '--dataset', 'cond-pinwheel', '--steps', '2.5'],
      /'--steps' expected an integer/,
    );
    await rejected(
      ['train', '--estimator', 'rnce', '--dataset', 'cond-pinwheel', '--steps', 'abc'],
      /'--steps' expected an integer/,
    );
    await rejected(
      ['train', '--estimator', 'rnce', '--dataset', 'cond-pinwheel', '--set', 'k=0'],
      /'--set k' expected an integer in \[1, 1024\]/,
    );
    await rejected(
      ['train', '--estimator', 'rnce', '--dataset', 'cond-pinwheel', '--set', 'kk=3'],
      /'--set kk' expected an option of 'rnce'/,
    );
    await rejected(['train', '--estimator', 'magic', '--dataset', 'moons'], /'--estimator' expected one of rnce, ibc/);
    await rejected(
      ['train', '--estimator', 'cnce', '--dataset', 'cond-pinwheel'],
      /a conditional estimator for the conditional dataset 'cond-pinwheel'/,
    );
    await rejected(['train', '--dataset', 'moons'], /missing --estimator/);
    await rejected(
      ['train', '--estimator', 'rnce', '--dataset', 'moons', '--metrics', 'bc'],
      /'--metrics' expected names among bhattacharyya/,
    );
    await rejected(['train', '--estimator', 'rnce', '--dataset', 'moons', '--steps'], /--steps needs a value/);
  });

  it('validates --threads and the threads key like every setting, in train, sample and eval', async () => {
    const flag = ['train', '--estimator', 'rnce', '--dataset', 'cond-pinwheel', '--threads'];
    await rejected([...flag, '0'], /'--threads' expected an integer in \[1, 256\], got 0/);
    await rejected([...flag, '1.5'], /'--threads' expected an integer in \[1, 256\], got number 1\.5/);
    await rejected([...flag, '-1'], /'--threads' expected an integer in \[1, 256\], got -1/);
    await rejected([...flag, 'x'], /'--threads' expected an integer, got "x"/);
    await rejected(
      ['train', '--config', await configFile({ ...base, threads: 0 })],
      /'.*\.threads' expected an integer in \[1, 256\], got 0/,
    );
    await rejected(
      ['train', '--config', await configFile({ ...base, threads: '2' })],
      /'.*\.threads' expected an integer in \[1, 256\], got string "2"/,
    );
    const path = await configFile({ ...base, threads: 3 });
    expect(resolveConfig(JSON.parse(await readFile(path, 'utf8')), path).threads).toBe(3);
    expect(resolveConfig(base).threads).toBe(1);
    for (const command of ['sample', 'eval']) {
      const { code, err } = await joule([command, '--run', join(root, 'nothing-here'), '--threads', '0']);
      expect(err).toMatch(/'--threads' expected an integer in \[1, 256\], got 0/);
      expect(code).toBe(2);
    }
  });

  it('lets flags override the file, and fills in defaults', () => {
    const config = resolveConfig({ ...base, steps: 7, estimatorOptions: { k: 3 } });
    expect(config.steps).toBe(7);
    expect(config.batchSize).toBe(128);
    expect(config.estimatorOptions.k).toBe(3);
    expect(config.estimatorOptions.lr).toBe(3e-3);
  });
});

describe('--threads', () => {
  it('trains, samples and evaluates on 2 threads to exactly the results of 1 thread, and puts the backend back', async () => {
    const before = getBackend();
    const common = [
      'train',
      '--estimator',
      'nce',
      '--dataset',
      'moons',
      '--steps',
      '3',
      ...tiny,
      '--sample-steps',
      '2',
    ];
    const one = join(root, 'threads-1');
    const two = join(root, 'threads-2');
    const a = await joule([...common, '--metrics', 'mmd2', '--threads', '1', '--out', one]);
    const b = await joule([...common, '--metrics', 'mmd2', '--threads', '2', '--out', two]);
    // no stderr line: the backend really got the 2 threads asked for
    expect([a.err, b.err]).toEqual(['', '']);
    expect([a.code, b.code]).toEqual([0, 0]);
    expect(getBackend()).toBe(before);
    expect(JSON.parse(await readFile(join(two, 'config.json'), 'utf8')).threads).toBe(2);
    const metricsOf = async (dir: string) => JSON.parse(await readFile(join(dir, 'metrics.json'), 'utf8'));
    expect(await metricsOf(two)).toEqual(await metricsOf(one));
    const historyOf = async (dir: string) =>
      readCheckpoint(await readFile(join(dir, 'checkpoints', 'checkpoint.safetensors'))).history;
    const losses = await historyOf(one);
    expect(losses).toHaveLength(3);
    expect(await historyOf(two)).toEqual(losses);
    expect((await paramsOf(two)).map((leaf) => Array.from(leaf))).toEqual(
      (await paramsOf(one)).map((leaf) => Array.from(leaf)),
    );

    const results: string[] = [];
    for (const threads of ['1', '2']) {
      const csv = join(root, `threads-samples-${threads}.csv`);
      const sampled = await joule(['sample', '--run', one, '--n', '50', '--threads', threads, '--out', csv]);
      const evaluated = await joule(['eval', '--run', one, '--metrics', 'mmd2', '--threads', threads]);
      expect([sampled.err, evaluated.err]).toEqual(['', '']);
      expect([sampled.code, evaluated.code]).toEqual([0, 0]);
      results.push(`${await readFile(csv, 'utf8')}${await readFile(join(one, 'eval.json'), 'utf8')}`);
      expect(getBackend()).toBe(before);
    }
    expect(results[1]).toBe(results[0]);
  });

  it('puts the backend back when the run fails', async () => {
    const before = getBackend();
    const broken = join(root, 'threads-no-checkpoint');
    await mkdir(broken, { recursive: true });
    await writeFile(join(broken, 'config.json'), await readFile(join(root, 'threads-1', 'config.json'), 'utf8'));
    const { code, err } = await joule(['eval', '--run', broken, '--threads', '2']);
    expect(err).toMatch(/no trained run in .*threads-no-checkpoint/);
    expect(code).toBe(2);
    expect(getBackend()).toBe(before);
  });

  it('runs on a threaded backend, then restores the previous one and stops the workers, also on a throw', async () => {
    const before = getBackend();
    const made: CpuBackend[] = [];
    const make = (threads: number): CpuBackend => {
      const backend = new CpuBackend({ threads });
      vi.spyOn(backend, 'destroy');
      made.push(backend);
      return backend;
    };
    const notes: string[] = [];
    const note = (line: string): void => {
      notes.push(line);
    };
    expect(await withThreads(2, note, async () => getBackend(), make)).toBe(made[0]);
    expect(getBackend()).toBe(before);
    expect(made[0]!.destroy).toHaveBeenCalledOnce();
    const failing = withThreads(
      2,
      note,
      async () => {
        throw new Error('the run failed');
      },
      make,
    );
    await expect(failing).rejects.toThrow('the run failed');
    expect(getBackend()).toBe(before);
    expect(made[1]!.destroy).toHaveBeenCalledOnce();
    // one thread: the current backend, no new one
    expect(await withThreads(1, note, async () => getBackend(), make)).toBe(before);
    expect(made).toHaveLength(2);
    expect(notes).toEqual([]);
  });

  it('says in one line when the backend got fewer threads than asked', async () => {
    const notes: string[] = [];
    const note = (line: string): void => {
      notes.push(line);
    };
    // a backend that ignores the request stands for a runtime without worker_threads
    await withThreads(
      3,
      note,
      async () => 0,
      () => new CpuBackend({ threads: 1 }),
    );
    expect(notes).toHaveLength(1);
    expect(notes[0]).toMatch(
      /^joule: 3 threads asked \(--threads\), 1 available \(no worker_threads here\); running on 1\n$/,
    );
  });
});

describe('joule list, help and usage errors', () => {
  it('lists every estimator, dataset and metric with a description', async () => {
    const { code, out } = await joule(['list']);
    expect(code).toBe(0);
    for (const name of [
      ...Object.keys(estimatorRegistry),
      ...Object.keys(datasetRegistry),
      ...Object.keys(metricRegistry),
    ])
      expect(out).toMatch(new RegExp(`\\n  ${name}\\s+\\S`));
    expect((await joule(['list', 'metrics'])).out).not.toContain('Estimators');
    expect((await joule(['list', 'nothing'])).code).toBe(2);
  });

  it('prints help for every command', async () => {
    for (const command of ['train', 'sample', 'eval', 'list', 'bench']) {
      const { code, out } = await joule([command, '--help']);
      expect(code).toBe(0);
      expect(out).toContain(`Usage: joule ${command}`);
      if (command === 'train' || command === 'sample' || command === 'eval') expect(out).toMatch(/\n {2}--threads /);
    }
    expect((await joule(['--help'])).out).toContain('Commands:');
    const unknown = await joule(['trian']);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toContain("unknown command 'trian'");
  });

  it('says clearly when sample/eval find no trained run', async () => {
    const { code, err } = await joule(['sample', '--run', join(root, 'nothing-here')]);
    expect(code).toBe(2);
    expect(err).toMatch(/no trained run in .*nothing-here/);
  });
});

describe('joule bench', () => {
  it('lists the reproductions with their first-line descriptions and runs one with its flags', async () => {
    const repo = join(root, 'repo');
    await mkdir(join(repo, 'bench', 'papers', 'toy-paper'), { recursive: true });
    await writeFile(join(repo, 'pnpm-workspace.yaml'), 'packages: []\n');
    await writeFile(
      join(repo, 'bench', 'papers', 'toy-paper', 'run.mjs'),
      `// reproduces the toy paper\nimport { writeFileSync } from 'node:fs';\nwriteFileSync(${JSON.stringify(join(repo, 'args.json'))}, JSON.stringify(process.argv.slice(2)));\nprocess.exit(process.argv.includes('--fail') ? 3 : 0);\n`,
    );
    const sub = join(repo, 'bench');
    const listed = await joule(['bench'], sub);
    expect(listed.code).toBe(0);
    expect(listed.out).toMatch(/toy-paper\s+reproduces the toy paper/);
    const ran = await joule(['bench', 'toy-paper', '--quick', '--seeds', '2'], sub);
    expect(ran.code).toBe(0);
    expect(JSON.parse(await readFile(join(repo, 'args.json'), 'utf8'))).toEqual(['--quick', '--seeds', '2']);
    expect((await joule(['bench', 'toy-paper', '--fail'], sub)).code).toBe(3);
    const missing = await joule(['bench', 'nope'], sub);
    expect(missing.code).toBe(2);
    expect(missing.err).toContain("no reproduction named 'nope'");
  });

  it('says so outside the repository', async () => {
    const { code, err } = await joule(['bench'], tmpdir());
    expect(code).toBe(1);
    expect(err).toMatch(/inside a checkout of it/);
  });
});

describe('the estimator registry', () => {
  it('builds every registered estimator for its datasets, trains two steps and samples finite points', async () => {
    for (const entry of Object.values(estimatorRegistry)) {
      const dataset = entry.conditional ? 'cond-spiral' : 'moons';
      const config = resolveConfig({
        estimator: entry.name,
        dataset,
        trainSize: 64,
        batchSize: 16,
        sampleSteps: 2,
        estimatorOptions: { width: 8, depth: 1 },
      });
      const run = buildRun(config);
      expect(run.estimator.name).toBeTypeOf('string');
      const rng = new Rng(0);
      for (let i = 0; i < 2; i++) {
        const x = run.data.x.slice([0, 0], [16, 2]);
        const batch =
          run.data.context === undefined
            ? x
            : { x, context: run.data.context.slice([0, 0], [16, run.dataset.contextDim]) };
        const values = await (run.estimator as Estimator<Tensor | ConditionalBatch>).step(batch, rng);
        expect(Object.values(values).every(Number.isFinite), `${entry.name} step values`).toBe(true);
      }
      const context = run.dataset.evaluationContexts?.[0]?.context(10);
      const samples = await drawSamples(run, 10, rng, context);
      expect(samples.shape, entry.name).toEqual([10, 2]);
      expect(Array.from(await samples.data()).every(Number.isFinite), `${entry.name} samples`).toBe(true);
    }
  });
});

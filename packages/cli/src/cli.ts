import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { JouleError } from '@joule/core';
import { Rng } from '@joule/tensor';
import type { Progress } from '@joule/train';
import { findBenchDir, listBenchScripts, runBenchScript } from './bench.js';
import { type RunConfig, resolveConfig, runSchema } from './config.js';
import { datasetRegistry } from './datasets.js';
import { estimatorRegistry } from './estimators.js';
import { metricRegistry } from './metrics.js';
import {
  type BuiltRun,
  buildRun,
  drawSamples,
  evaluateRun,
  loadRun,
  readRunConfig,
  trainRun,
  writeReport,
} from './pipeline.js';
import { parseFlagValue, type Schema, type SettingValue } from './schema.js';
import { withThreads } from './threads.js';

/**
 * Where the CLI writes and which folder it runs in; `runCli` takes one so tests (and embedding
 * programs) can capture the output.
 *
 * @example
 * ```ts
 * const io: CliIO = { stdout: { write: (s) => out.push(s), isTTY: false }, stderr: { write: (s) => err.push(s) }, cwd: '/tmp' };
 * ```
 */
export interface CliIO {
  /** Normal output; the progress bar is drawn when `isTTY` is true. */
  stdout: {
    /** Writes text as is. */
    write(text: string): unknown;
    /** Whether it is a terminal (progress bar) or not (plain lines). */
    isTTY?: boolean;
    /** The terminal's width in characters. */
    columns?: number;
  };
  /** Errors. */
  stderr: {
    /** Writes text as is. */
    write(text: string): unknown;
  };
  /** The folder relative paths are resolved against. */
  cwd: string;
}

/** A command-line mistake: printed with a pointer to `--help`, exit code 2. */
class UsageError extends Error {}

const kebab = (key: string): string => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

interface ParsedArgs {
  flags: Map<string, string>;
  sets: [string, string][];
  switches: Set<string>;
  positionals: string[];
}

/** Splits `--name value`, `--name=value`, repeated `--set k=v`, bare switches and positionals. */
function parseArgs(args: string[], switches: readonly string[]): ParsedArgs {
  const out: ParsedArgs = { flags: new Map(), sets: [], switches: new Set(), positionals: [] };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '-h' || arg === '--help') {
      out.switches.add('help');
      continue;
    }
    if (!arg.startsWith('--')) {
      out.positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
    if (switches.includes(name)) {
      if (eq >= 0) throw new UsageError(`--${name} takes no value`);
      out.switches.add(name);
      continue;
    }
    let value: string;
    if (eq >= 0) value = arg.slice(eq + 1);
    else {
      const next = args[i + 1];
      if (next === undefined || (next.startsWith('--') && next.length > 2))
        throw new UsageError(`--${name} needs a value`);
      value = next;
      i++;
    }
    if (name === 'set') {
      const at = value.indexOf('=');
      if (at <= 0) throw new UsageError(`--set expects key=value, got '${value}'`);
      out.sets.push([value.slice(0, at), value.slice(at + 1)]);
    } else if (out.flags.has(name)) throw new UsageError(`--${name} given twice`);
    else out.flags.set(name, value);
  }
  return out;
}

function rejectUnknown(parsed: ParsedArgs, known: readonly string[], command: string): void {
  for (const name of parsed.flags.keys()) {
    if (!known.includes(name))
      throw new UsageError(
        `unknown flag --${name} for 'joule ${command}' (known: ${known.map((k) => `--${k}`).join(', ')})`,
      );
  }
}

function settingLines(schema: Schema, flagForm: boolean): string {
  return Object.entries(schema)
    .map(([key, s]) => {
      const name = flagForm ? `--${kebab(key)}` : key;
      const range =
        s.choices !== undefined && s.choices.length <= 12
          ? ` {${s.choices.join('|')}}`
          : s.min !== undefined || s.max !== undefined
            ? ` [${s.min ?? '-∞'}, ${s.max ?? '∞'}]`
            : '';
      const def =
        s.default === undefined ? '' : ` (default ${Array.isArray(s.default) ? s.default.join(',') : s.default})`;
      return `  ${name.padEnd(22)} ${s.type}${range}  ${s.description}${def}`;
    })
    .join('\n');
}

const MAIN_HELP = `joule — train and sample energy-based models

Usage: joule <command> [options]

Commands:
  train    train an estimator on a dataset, write checkpoints, metrics and an HTML report
  sample   draw samples from a trained run
  eval     evaluate a trained run's metrics again
  list     list the estimators, datasets and metrics
  bench    list or run the paper reproductions in bench/papers

Run 'joule <command> --help' for a command's options.`;

function trainHelp(): string {
  return `Usage: joule train --estimator <name> --dataset <name> [--steps N] [--seed N] [--threads N] [--config file.json] [--out dir]

Trains, evaluating the metrics at the end (and every --eval-every steps), with a progress bar on a
terminal and plain lines otherwise. Writes into --out (default joule-out): config.json,
checkpoints/checkpoint.safetensors, metrics.json, report.html and PNG plots.

Options (flags override the configuration file, whose keys are the camelCase names):
  --config <file.json>   a JSON configuration with the keys below and "estimatorOptions": {...}
  --out <dir>            output folder (default joule-out)
  --resume               continue from the checkpoint in --out (same configuration);
                         without it, a run already in --out is replaced
  --set key=value        an estimator option (repeatable; see 'joule list estimators')
${settingLines(runSchema, true)}`;
}

const SAMPLE_HELP = `Usage: joule sample --run <dir> [--n N] [--seed N] [--out file.csv] [--threads N]

Draws N samples (per evaluation context for a conditional dataset) from the run trained into <dir>
and writes them as CSV (columns x1,x2 and the context label when conditional).

Options:
  --run <dir>     the output folder of 'joule train' (default joule-out)
  --n <N>         samples (per context), default 1000
  --seed <N>      the sampling seed, default 0
  --out <file>    the CSV file (default <run>/samples.csv)
  --threads <N>   CPU threads sharing large matrix products, in [1, 256] (default: the run's;
                  pays on idle cores only; the samples are the same)`;

const EVAL_HELP = `Usage: joule eval --run <dir> [--metrics a,b] [--eval-samples N] [--seed N] [--threads N]

Evaluates the run trained into <dir> against fresh true samples, prints the metrics and writes
<run>/eval.json.

Options:
  --run <dir>            the output folder of 'joule train' (default joule-out)
  --metrics <a,b>        metrics (default: the run's); see 'joule list metrics'
  --eval-samples <N>     samples per evaluation (default: the run's)
  --seed <N>             the evaluation seed, default 0
  --threads <N>          CPU threads sharing large matrix products, in [1, 256] (default: the
                         run's; pays on idle cores only; the metrics are the same)`;

const LIST_HELP = `Usage: joule list [estimators|datasets|metrics]

Lists what 'joule train' can use, with one-line descriptions (all three when no section is given).`;

const BENCH_HELP = `Usage: joule bench [name] [flags passed to the script]

Without a name, lists the paper reproductions (bench/papers/<name>/run.mjs of the joule
repository). With a name, runs it with node, passing every further flag through (the scripts take
--quick, --seeds N, --out DIR). Must be run inside a checkout of the joule repository.`;

function formatValue(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (v !== 0 && (Math.abs(v) >= 1e5 || Math.abs(v) < 1e-3)) return v.toExponential(3);
  return Number(v.toPrecision(4)).toString();
}

function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '?';
  if (s < 60) return `${Math.round(s)}s`;
  const m = Math.floor(s / 60);
  return `${m}m${String(Math.round(s - 60 * m)).padStart(2, '0')}s`;
}

function progressLine(p: Progress, width: number | undefined): string {
  const values = Object.entries(p.values)
    .slice(0, 2)
    .map(([k, v]) => `${k} ${formatValue(v)}`);
  const metrics =
    p.metrics === undefined
      ? []
      : Object.entries(p.metrics)
          .filter(([k]) => !k.includes('['))
          .slice(0, 2)
          .map(([k, v]) => `${k} ${formatValue(v)}`);
  const text = `${p.step}/${p.totalSteps}  ${p.stepsPerSecond.toFixed(1)} it/s  ${[...values, ...metrics].join('  ')}  ETA ${formatSeconds(p.etaSeconds)}`;
  if (width === undefined) return text;
  const barWidth = Math.max(10, Math.min(30, width - text.length - 4));
  const filled = Math.round((barWidth * p.step) / p.totalSteps);
  return `[${'#'.repeat(filled)}${'-'.repeat(barWidth - filled)}] ${text}`.slice(0, width - 1);
}

async function readConfigFile(path: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read the configuration file ${path}: ${(e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new UsageError(`the configuration file ${path} is not valid JSON: ${(e as Error).message}`);
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json))
    throw new UsageError(`the configuration file ${path} must hold a JSON object`);
  return json as Record<string, unknown>;
}

/** Validates the configuration file and the flags into a run configuration, before anything runs. */
async function trainConfig(parsed: ParsedArgs, io: CliIO): Promise<RunConfig> {
  const configPath = parsed.flags.get('config');
  const fromFile = configPath === undefined ? {} : await readConfigFile(resolve(io.cwd, configPath));
  const where = configPath ?? 'config';
  // validate the file on its own first, so its errors name it
  if (configPath !== undefined && fromFile.estimator !== undefined && fromFile.dataset !== undefined)
    resolveConfig(fromFile, where);
  const input: Record<string, unknown> = { ...fromFile };
  for (const [key, setting] of Object.entries(runSchema)) {
    const text = parsed.flags.get(kebab(key));
    if (text !== undefined) input[key] = parseFlagValue(`--${kebab(key)}`, setting, text);
  }
  const estimatorName = input.estimator;
  if (estimatorName === undefined) throw new UsageError('missing --estimator (see joule list estimators)');
  if (input.dataset === undefined) throw new UsageError('missing --dataset (see joule list datasets)');
  if (parsed.sets.length > 0) {
    const entry = estimatorRegistry[String(estimatorName)];
    if (entry === undefined) resolveConfig(input, where); // names the unknown estimator
    const options: Record<string, SettingValue> = {
      ...((fromFile.estimatorOptions as Record<string, SettingValue> | undefined) ?? {}),
    };
    for (const [key, text] of parsed.sets) {
      const setting = entry!.options[key];
      if (setting === undefined)
        throw new JouleError(
          'joule',
          `--set ${key}`,
          `an option of '${entry!.name}' (${Object.keys(entry!.options).join(', ')})`,
          'unknown key',
        );
      options[key] = parseFlagValue(`--set ${key}`, setting, text);
    }
    input.estimatorOptions = options;
  }
  return resolveConfig(input, where);
}

async function commandTrain(args: string[], io: CliIO): Promise<number> {
  const parsed = parseArgs(args, ['resume']);
  if (parsed.switches.has('help')) {
    io.stdout.write(`${trainHelp()}\n`);
    return 0;
  }
  rejectUnknown(parsed, ['config', 'out', ...Object.keys(runSchema).map(kebab)], 'train');
  if (parsed.positionals.length > 0) throw new UsageError(`unexpected argument '${parsed.positionals[0]}'`);
  const config = await trainConfig(parsed, io);
  const out = resolve(io.cwd, parsed.flags.get('out') ?? 'joule-out');
  const resume = parsed.switches.has('resume');
  if (resume) {
    const previous = await readFile(join(out, 'config.json'), 'utf8').catch(() => undefined);
    if (previous !== undefined) {
      const before = resolveConfig(JSON.parse(previous) as Record<string, unknown>, join(out, 'config.json'));
      const { steps: _a, evalEvery: _b, checkpointEvery: _c, threads: _d, ...a } = before;
      const { steps: _e, evalEvery: _f, checkpointEvery: _g, threads: _h, ...b } = config;
      if (JSON.stringify(a) !== JSON.stringify(b))
        throw new UsageError(
          `--resume: the configuration differs from the one in ${out}/config.json (only steps, evalEvery, checkpointEvery and threads may change)`,
        );
    }
  }
  await mkdir(out, { recursive: true });
  await writeFile(join(out, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
  return withThreads(
    config.threads,
    (line) => io.stderr.write(line),
    () => trainAndReport(config, out, resume, io),
  );
}

/** The tensor work of `joule train`: builds the run, trains it, prints the metrics, writes the report. */
async function trainAndReport(config: RunConfig, out: string, resume: boolean, io: CliIO): Promise<number> {
  const run = buildRun(config);
  const tty = io.stdout.isTTY === true;
  const every = Math.max(1, Math.round(config.steps / 20));
  io.stdout.write(
    `training ${config.estimator} on ${config.dataset}: ${config.steps} steps, batch ${config.batchSize}, seed ${config.seed}\n`,
  );
  let drawn = false;
  let result: Awaited<ReturnType<typeof trainRun>>;
  try {
    result = await trainRun(run, out, {
      resume,
      onProgress: (p) => {
        if (tty) {
          io.stdout.write(`\r\x1b[2K${progressLine(p, io.stdout.columns ?? 100)}`);
          drawn = true;
        } else if (p.step % every === 0 || p.step === p.totalSteps) io.stdout.write(`${progressLine(p, undefined)}\n`);
      },
    });
  } catch (e) {
    if (drawn) io.stdout.write('\n');
    if (e instanceof JouleError)
      io.stderr.write(`the last good checkpoint (if any) is kept in ${join(out, 'checkpoints')}\n`);
    throw e;
  }
  if (drawn) io.stdout.write('\n');
  if (result.resumedFrom > 0) io.stdout.write(`resumed from step ${result.resumedFrom}\n`);
  const metrics = result.evaluations.at(-1)?.values ?? {};
  io.stdout.write('metrics:\n');
  for (const [k, v] of Object.entries(metrics)) io.stdout.write(`  ${k.padEnd(32)} ${formatValue(v)}\n`);
  const files = await writeReport(run, result, metrics, out, new Rng(config.seed).split());
  io.stdout.write(`report: ${files.html}\nimages: ${files.pngs.join(', ')}\nwritten to ${out}\n`);
  return 0;
}

function runDir(parsed: ParsedArgs, io: CliIO): string {
  return resolve(io.cwd, parsed.flags.get('run') ?? 'joule-out');
}

/** Runs `load`, turning a missing file into the usage error "no trained run in dir". */
async function fromRunDir<T>(dir: string, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT')
      throw new UsageError(`no trained run in ${dir} (expected config.json and checkpoints/; run 'joule train' first)`);
    throw e;
  }
}

/**
 * Loads the run trained into `dir` and runs `work` on it with `threads` threads (default: the
 * run's setting); the backend is put back afterwards.
 */
async function withRun(
  dir: string,
  threads: number | undefined,
  io: CliIO,
  work: (run: BuiltRun) => Promise<number>,
): Promise<number> {
  const config = await fromRunDir(dir, () => readRunConfig(dir, (c) => resolveConfig(c, join(dir, 'config.json'))));
  return withThreads(
    threads ?? config.threads,
    (line) => io.stderr.write(line),
    async () => work(await fromRunDir(dir, () => loadRun(dir, config))),
  );
}

function intFlag(parsed: ParsedArgs, name: string, fallback: number, min: number): number {
  const text = parsed.flags.get(name);
  if (text === undefined) return fallback;
  return parseFlagValue(`--${name}`, { type: 'int', default: fallback, min, description: name }, text) as number;
}

/** The `--threads` flag of `sample` and `eval`, validated; undefined when not given. */
function threadsFlag(parsed: ParsedArgs): number | undefined {
  const text = parsed.flags.get('threads');
  return text === undefined ? undefined : (parseFlagValue('--threads', runSchema.threads!, text) as number);
}

async function commandSample(args: string[], io: CliIO): Promise<number> {
  const parsed = parseArgs(args, []);
  if (parsed.switches.has('help')) {
    io.stdout.write(`${SAMPLE_HELP}\n`);
    return 0;
  }
  rejectUnknown(parsed, ['run', 'n', 'seed', 'out', 'threads'], 'sample');
  const n = intFlag(parsed, 'n', 1000, 1);
  const seed = intFlag(parsed, 'seed', 0, 0);
  const threads = threadsFlag(parsed);
  const dir = runDir(parsed, io);
  return withRun(dir, threads, io, async (run) => {
    const rng = new Rng(seed);
    const lines: string[] = [];
    const contexts = run.dataset.evaluationContexts;
    const rows = async (label: string | undefined): Promise<void> => {
      const context = label === undefined ? undefined : contexts!.find((c) => c.label === label)!.context(n);
      const v = await (await drawSamples(run, n, rng, context)).data();
      for (let i = 0; i < n; i++) lines.push(`${v[2 * i]},${v[2 * i + 1]}${label === undefined ? '' : `,${label}`}`);
    };
    if (contexts === undefined) await rows(undefined);
    else for (const c of contexts) await rows(c.label);
    const file = resolve(io.cwd, parsed.flags.get('out') ?? join(dir, 'samples.csv'));
    await writeFile(file, `x1,x2${contexts === undefined ? '' : ',context'}\n${lines.join('\n')}\n`);
    io.stdout.write(`${lines.length} samples written to ${file}\n`);
    return 0;
  });
}

async function commandEval(args: string[], io: CliIO): Promise<number> {
  const parsed = parseArgs(args, []);
  if (parsed.switches.has('help')) {
    io.stdout.write(`${EVAL_HELP}\n`);
    return 0;
  }
  rejectUnknown(parsed, ['run', 'metrics', 'eval-samples', 'seed', 'threads'], 'eval');
  const seed = intFlag(parsed, 'seed', 0, 0);
  const metricsText = parsed.flags.get('metrics');
  const metrics =
    metricsText === undefined ? undefined : (parseFlagValue('--metrics', runSchema.metrics!, metricsText) as string[]);
  const evalSamplesText = parsed.flags.get('eval-samples');
  const evalSamples =
    evalSamplesText === undefined
      ? undefined
      : (parseFlagValue('--eval-samples', runSchema.evalSamples!, evalSamplesText) as number);
  const threads = threadsFlag(parsed);
  const dir = runDir(parsed, io);
  return withRun(dir, threads, io, async (run) => {
    if (metrics !== undefined) run.config.metrics = metrics;
    if (evalSamples !== undefined) run.config.evalSamples = evalSamples;
    const values = await evaluateRun(run, new Rng(seed));
    for (const [k, v] of Object.entries(values)) io.stdout.write(`${k.padEnd(32)} ${formatValue(v)}\n`);
    const file = join(dir, 'eval.json');
    await writeFile(
      file,
      `${JSON.stringify({ seed, evalSamples: run.config.evalSamples, metrics: values }, null, 2)}\n`,
    );
    io.stdout.write(`written to ${file}\n`);
    return 0;
  });
}

function commandList(args: string[], io: CliIO): number {
  const parsed = parseArgs(args, []);
  if (parsed.switches.has('help')) {
    io.stdout.write(`${LIST_HELP}\n`);
    return 0;
  }
  rejectUnknown(parsed, [], 'list');
  const sections = ['estimators', 'datasets', 'metrics'];
  const wanted = parsed.positionals.length === 0 ? sections : parsed.positionals;
  for (const s of wanted)
    if (!sections.includes(s)) throw new UsageError(`unknown section '${s}' (${sections.join(', ')})`);
  const parts: string[] = [];
  if (wanted.includes('estimators')) {
    const lines = Object.values(estimatorRegistry).map((e) => {
      const opts = Object.entries(e.options)
        .map(([k, s]) => `${k}=${Array.isArray(s.default) ? s.default.join(',') : s.default}`)
        .join(' ');
      return `  ${e.name.padEnd(14)} ${e.description}${e.conditional ? ' [conditional too]' : ''}\n  ${''.padEnd(14)} ${e.packageName}; --set ${opts}`;
    });
    parts.push(`Estimators (joule train --estimator <name>):\n${lines.join('\n')}`);
  }
  if (wanted.includes('datasets')) {
    const lines = Object.values(datasetRegistry).map(
      (d) =>
        `  ${d.name.padEnd(14)} ${d.description}${d.contextDim > 0 ? ` [conditional, ${d.contextDim} context features]` : ''}`,
    );
    parts.push(`Datasets (joule train --dataset <name>):\n${lines.join('\n')}`);
  }
  if (wanted.includes('metrics')) {
    const lines = Object.values(metricRegistry).map((m) => `  ${m.name.padEnd(18)} ${m.description}`);
    parts.push(`Metrics (joule train --metrics a,b):\n${lines.join('\n')}`);
  }
  io.stdout.write(`${parts.join('\n\n')}\n`);
  return 0;
}

async function commandBench(args: string[], io: CliIO): Promise<number> {
  const name = args[0] !== undefined && !args[0].startsWith('-') ? args[0] : undefined;
  if (name === undefined) {
    const parsed = parseArgs(args, []);
    if (parsed.switches.has('help')) {
      io.stdout.write(`${BENCH_HELP}\n`);
      return 0;
    }
    rejectUnknown(parsed, [], 'bench');
  }
  const dir = findBenchDir(io.cwd);
  if (dir === undefined) {
    io.stderr.write(
      `joule bench: no bench/papers folder found from ${io.cwd} upwards. The paper reproductions live in the joule repository; run 'joule bench' inside a checkout of it.\n`,
    );
    return 1;
  }
  const scripts = listBenchScripts(dir);
  if (name === undefined) {
    if (scripts.length === 0) io.stdout.write(`no reproductions in ${dir} yet\n`);
    else {
      io.stdout.write(`Paper reproductions (joule bench <name> [--quick] [--seeds N] [--out DIR]):\n`);
      for (const s of scripts) io.stdout.write(`  ${s.name.padEnd(24)} ${s.description}\n`);
    }
    return 0;
  }
  const script = scripts.find((s) => s.name === name);
  if (script === undefined)
    throw new UsageError(
      `no reproduction named '${name}' in ${dir} (${scripts.map((s) => s.name).join(', ') || 'none'})`,
    );
  return runBenchScript(script, args.slice(1));
}

/**
 * Runs the `joule` command with its arguments (without `node` and the script) and resolves to the
 * exit code: 0 on success, 1 when the run failed (the error is printed), 2 on a usage mistake (a
 * bad flag or configuration, caught before anything long starts).
 *
 * @example
 * ```ts
 * import { runCli } from '@joule/cli';
 *
 * process.exitCode = await runCli(['train', '--estimator', 'rnce', '--dataset', 'cond-pinwheel', '--steps', '500']);
 * ```
 */
export async function runCli(argv: readonly string[], io?: CliIO): Promise<number> {
  const sink: CliIO = io ?? { stdout: process.stdout, stderr: process.stderr, cwd: process.cwd() };
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case undefined:
      case 'help':
      case '-h':
      case '--help':
        sink.stdout.write(`${MAIN_HELP}\n`);
        return command === undefined ? 2 : 0;
      case 'train':
        return await commandTrain(rest, sink);
      case 'sample':
        return await commandSample(rest, sink);
      case 'eval':
        return await commandEval(rest, sink);
      case 'list':
        return commandList(rest, sink);
      case 'bench':
        return await commandBench(rest, sink);
      default:
        throw new UsageError(`unknown command '${command}'`);
    }
  } catch (e) {
    if (e instanceof UsageError) {
      sink.stderr.write(
        `joule: ${e.message}\nRun 'joule ${command === undefined ? '' : `${command} `}--help' for usage.\n`,
      );
      return 2;
    }
    if (e instanceof JouleError && e.op === 'joule') {
      sink.stderr.write(`${e.message}\nRun 'joule ${command} --help' for usage.\n`);
      return 2;
    }
    sink.stderr.write(`joule ${command}: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
}

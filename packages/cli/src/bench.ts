import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

/** A paper reproduction script: `bench/papers/<name>/run.mjs`, first line `// <description>`. */
export interface BenchScript {
  name: string;
  description: string;
  path: string;
}

/** The `bench/papers` folder of the joule repository holding `start` (or its parents), if any. */
export function findBenchDir(start: string): string | undefined {
  let dir = resolve(start);
  for (;;) {
    const candidate = join(dir, 'bench', 'papers');
    if (existsSync(candidate) && existsSync(join(dir, 'pnpm-workspace.yaml'))) return candidate;
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/** The reproduction scripts in a `bench/papers` folder, sorted by name. */
export function listBenchScripts(benchDir: string): BenchScript[] {
  return readdirSync(benchDir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && existsSync(join(benchDir, e.name, 'run.mjs')))
    .map((e) => {
      const path = join(benchDir, e.name, 'run.mjs');
      const first = readFileSync(path, 'utf8').split('\n', 1)[0] ?? '';
      const description = first.startsWith('//') ? first.slice(2).trim() : '(no description line)';
      return { name: e.name, description, path };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** Runs a script with `node`, its flags passed through and its output shown; resolves to its exit code. */
export function runBenchScript(script: BenchScript, args: string[]): Promise<number> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [script.path, ...args], { stdio: 'inherit' });
    child.on('error', fail);
    child.on('close', (code, signal) => done(code ?? (signal === null ? 1 : 128)));
  });
}

#!/usr/bin/env node
// The main job behind `npm start`: builds the `joule` command (and the packages it needs), then
// trains R-NCE on the conditional pinwheel of the R-NCE paper with a setting that takes about two
// minutes on a 2-core machine, prints the Bhattacharyya coefficients (the paper's protocol: KDEs
// on a 256×256 grid on [-4, 4]², one per spoke count) and writes the HTML report and PNGs to
// ./joule-out/. Extra arguments are passed to `joule train` (e.g. `npm start -- --steps 6000`).

import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

function run(command, args) {
  const result = spawnSync(command, args, {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, TURBO_TELEMETRY_DISABLED: '1' },
  });
  if (result.error) throw result.error;
  return result.status ?? 1;
}

console.log('building @joule/cli and the packages it uses…');
const built = run('npx', [
  '--yes',
  'pnpm@10.34.8',
  'exec',
  'turbo',
  'run',
  'build',
  '--filter=@joule/cli...',
  '--output-logs=errors-only',
]);
if (built !== 0) {
  console.error('the build failed; see the errors above');
  process.exit(built);
}

// the defaults, each replaced when the same flag is among the extra arguments
const defaults = { estimator: 'rnce', dataset: 'cond-pinwheel', steps: '3000', 'eval-every': '1000', out: 'joule-out' };
const extra = process.argv.slice(2);
const given = new Set(extra.filter((a) => a.startsWith('--')).map((a) => a.slice(2).split('=')[0]));
const args = [
  join(root, 'packages', 'cli', 'dist', 'bin.js'),
  'train',
  ...Object.entries(defaults)
    .filter(([name]) => !given.has(name))
    .flatMap(([name, value]) => [`--${name}`, value]),
  ...extra,
];
console.log(`\n$ joule ${args.slice(1).join(' ')}\n`);
process.exit(run(process.execPath, args));

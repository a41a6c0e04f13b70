#!/usr/bin/env node
// Adds up the `.vitest-report.json` that every workspace package's `test` script writes and prints,
// as its last line, `N passed, N failed`. Exits 1 when a test failed, a test file could not run, or
// a package with a `test` script left no report (its build or test run failed before reporting).
// Usage: node scripts/test-summary.mjs [repo root]
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = process.argv[2] ?? '.';

/** Workspace package folders, as listed in pnpm-workspace.yaml. */
function packageDirs() {
  const dirs = [];
  for (const group of ['packages', 'examples']) {
    const dir = join(root, group);
    if (!existsSync(dir)) continue;
    for (const name of readdirSync(dir).sort()) dirs.push(join(dir, name));
  }
  dirs.push(join(root, 'bench'));
  return dirs.filter((d) => existsSync(join(d, 'package.json')));
}

let passed = 0;
let failed = 0;
let problems = 0;
for (const dir of packageDirs()) {
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  if (!pkg.scripts?.test) continue;
  const where = relative(root, dir) || '.';
  const file = join(dir, '.vitest-report.json');
  if (!existsSync(file)) {
    console.log(`test-summary: ${pkg.name} (${where}) wrote no .vitest-report.json: its tests did not run`);
    problems++;
    continue;
  }
  const report = JSON.parse(readFileSync(file, 'utf8'));
  // A test file that fails to load has no tests in it but counts as a failed suite.
  const brokenFiles = (report.testResults ?? []).filter(
    (r) => r.status === 'failed' && (r.assertionResults ?? []).length === 0,
  ).length;
  const p = report.numPassedTests ?? 0;
  const f = (report.numFailedTests ?? 0) + brokenFiles;
  passed += p;
  failed += f;
  if (brokenFiles) console.log(`test-summary: ${pkg.name}: ${brokenFiles} test file(s) failed to run`);
  if (p + f === 0) {
    console.log(`test-summary: ${pkg.name} ran no test`);
    problems++;
  }
  console.log(`test-summary: ${pkg.name}: ${p} passed, ${f} failed`);
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 || problems > 0 ? 1 : 0);

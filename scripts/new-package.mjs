#!/usr/bin/env node
// Scaffolds packages/<name> as @joule/<name> from templates/package/.
// Usage: pnpm new:package <name>      e.g. pnpm new:package estimator-foo
import { cpSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const template = join(root, 'templates', 'package');
const placeholder = /\{\{name\}\}/g;

function fail(message) {
  console.error(`new:package: ${message}`);
  process.exit(1);
}

const args = process.argv.slice(2).filter((a) => a !== '--');
if (args.length !== 1 || args[0] === '-h' || args[0] === '--help') {
  fail('usage: pnpm new:package <name>   (a lower-case name such as "mcmc" or "estimator-foo")');
}
const name = args[0].startsWith('@joule/') ? args[0].slice('@joule/'.length) : args[0];
if (!/^[a-z][a-z0-9]*(-[a-z0-9]+)*$/.test(name) || name.length > 50) {
  fail(
    `"${args[0]}" is not a valid package name: use lower-case letters, digits and single hyphens, ` +
      'starting with a letter (e.g. "estimator-foo"); the package becomes @joule/<name>',
  );
}
const target = join(root, 'packages', name);
if (existsSync(target)) fail(`${relative(root, target)} already exists: pick another name or edit that package`);

cpSync(template, target, { recursive: true });

/** Fills the placeholder in every file copied from the template. */
function fill(dir) {
  for (const entry of readdirSync(dir)) {
    const file = join(dir, entry);
    if (statSync(file).isDirectory()) {
      fill(file);
    } else {
      writeFileSync(file, readFileSync(file, 'utf8').replace(placeholder, name));
    }
  }
}
fill(target);

console.log(`new:package: created ${relative(root, target)} (@joule/${name}). Next:
  1. make sure DESIGN.md's package table has a row for "${name}" (estimator-* packages may import
     core, nn, tensor, mcmc, resampling, distributions) and add its @joule dependencies to package.json
     as "workspace:^";
  2. npx pnpm@10.34.8 install
  3. npx pnpm@10.34.8 --filter @joule/${name} test
  4. npx pnpm@10.34.8 changeset   (describe the new package)`);

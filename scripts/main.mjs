#!/usr/bin/env node
// The main job behind `npm start`. Until the `joule` command exists (issue 17) it prints what the
// repository can do today.

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const packagesDir = join(dirname(fileURLToPath(import.meta.url)), '..', 'packages');
const packages = existsSync(packagesDir)
  ? readdirSync(packagesDir)
      .sort()
      .map((name) => join(packagesDir, name, 'package.json'))
      .filter((file) => existsSync(file))
      .map((file) => JSON.parse(readFileSync(file, 'utf8')).name)
  : [];

const help = `joule — TypeScript packages for training and sampling energy-based models

The \`joule\` command line (train an estimator, sample, reproduce the papers' synthetic
experiments) arrives with issue 17. Until then, from the repository root:

  npm test                              install, then lint, typecheck and test every package
  npx pnpm@10.34.8 build                build every package into its dist/
  npx pnpm@10.34.8 docs                 build the API site into site/
  npx pnpm@10.34.8 new:package <name>   scaffold packages/<name> (see CONTRIBUTING.md)
  npx pnpm@10.34.8 --filter @joule/core test   test one package

Packages so far: ${packages.join(', ') || 'none'}. See README.md, CONTRIBUTING.md and docs/.`;

console.log(help);

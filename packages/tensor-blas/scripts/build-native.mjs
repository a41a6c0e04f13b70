#!/usr/bin/env node
// Builds the addon (build/Release/joule_blas.node) with node-gyp: the package manager's own node-gyp
// when it runs this as the install script (npm_config_node_gyp), else the devDependency. Where this
// Node has its own headers beside it (<prefix>/include/node, as Debian's and the official tarballs
// do), node-gyp is pointed at them, so nothing is downloaded.
// `--if-possible` (the install script): a failed build is reported and the install goes on; the
// package then throws a JouleError that says what is missing when it is used.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const optional = process.argv.includes('--if-possible');

function nodeGyp() {
  const own = process.env.npm_config_node_gyp;
  if (own && existsSync(own)) return own;
  try {
    return createRequire(import.meta.url).resolve('node-gyp/bin/node-gyp.js');
  } catch {
    return null;
  }
}

const gyp = nodeGyp();
let status = 1;
if (gyp === null) {
  console.error('@joule/tensor-blas: node-gyp not found, so the native addon was not built');
} else {
  const prefix = dirname(dirname(process.execPath));
  const args = [gyp, 'rebuild'];
  if (existsSync(join(prefix, 'include', 'node', 'node_api.h'))) args.push(`--nodedir=${prefix}`);
  status = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' }).status ?? 1;
  if (status !== 0) console.error('@joule/tensor-blas: node-gyp failed (a C compiler, make and python3 are needed)');
}
if (status !== 0 && optional) {
  console.error('@joule/tensor-blas: installed without its addon; blasMatmul() will say what is missing');
  process.exit(0);
}
process.exit(status);

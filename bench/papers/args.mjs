// The command line every paper reproduction shares: `--quick`, `--seeds N`, `--out DIR` (default: the
// script's own `results/`), plus the script's own options, parsed by Node's `util.parseArgs` (an
// unknown flag is an error).
import { join } from 'node:path';
import { parseArgs } from 'node:util';

/**
 * The parsed flags of a reproduction script in folder `here`; `seeds` is a number or undefined.
 * `options` adds the script's own flags in `util.parseArgs` form.
 */
export function paperArgs(here, options = {}) {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      seeds: { type: 'string' },
      out: { type: 'string', default: join(here, 'results') },
      ...options,
    },
  });
  return { ...values, seeds: values.seeds === undefined ? undefined : Number(values.seeds) };
}

import { JouleError } from '@joule/core';
import { datasetRegistry } from './datasets.js';
import { estimatorRegistry } from './estimators.js';
import { metricRegistry } from './metrics.js';
import { defaults, type Schema, type SettingValue, validateObject } from './schema.js';

/**
 * The settings of `joule train` (keys of a configuration file; flags are their kebab-case forms,
 * `batchSize` ↔ `--batch-size`). The estimator's own options go under `estimatorOptions`.
 *
 * @example
 * ```ts
 * import { runSchema } from '@joule/cli';
 *
 * console.log(runSchema.steps.default); // 2000
 * ```
 */
export const runSchema: Schema = {
  estimator: {
    type: 'string',
    default: undefined,
    choices: Object.keys(estimatorRegistry),
    description: 'the estimator to train (see `joule list`)',
  },
  dataset: {
    type: 'string',
    default: undefined,
    choices: Object.keys(datasetRegistry),
    description: 'the dataset (see `joule list`)',
  },
  steps: { type: 'int', default: 2000, min: 1, max: 10_000_000, description: 'training steps' },
  seed: { type: 'int', default: 0, min: 0, max: 2 ** 31 - 1, description: 'seed of data, weights and training' },
  batchSize: { type: 'int', default: 128, min: 1, max: 1_000_000, description: 'points per mini-batch' },
  trainSize: { type: 'int', default: 8192, min: 1, max: 10_000_000, description: 'training points drawn' },
  evalEvery: {
    type: 'int',
    default: 0,
    min: 0,
    max: 10_000_000,
    description: 'evaluate the metrics every this many steps (0: only at the end)',
  },
  evalSamples: {
    type: 'int',
    default: 2000,
    min: 2,
    max: 1_000_000,
    description: 'model and true samples per evaluation (per context when conditional)',
  },
  metrics: {
    type: 'string[]',
    default: ['bhattacharyya'],
    choices: Object.keys(metricRegistry),
    description: 'metrics to evaluate, comma-separated',
  },
  checkpointEvery: {
    type: 'int',
    default: 500,
    min: 1,
    max: 10_000_000,
    description: 'write a checkpoint every this many steps (and at the end)',
  },
  sampleSteps: {
    type: 'int',
    default: 300,
    min: 1,
    max: 1_000_000,
    description: 'ULA steps for estimators without their own sampler',
  },
  sampleStepSize: {
    type: 'number',
    default: 1e-2,
    min: 1e-8,
    max: 1,
    description: 'ULA step size for estimators without their own sampler',
  },
  threads: {
    type: 'int',
    default: 1,
    min: 1,
    max: 256,
    description: 'CPU threads sharing large matrix products (pays on idle cores; same results)',
  },
};

/**
 * A complete, validated run configuration.
 *
 * @example
 * ```ts
 * const config: RunConfig = resolveConfig({ estimator: 'rnce', dataset: 'cond-pinwheel', steps: 100 });
 * ```
 */
export interface RunConfig {
  /** The estimator's name. */
  estimator: string;
  /** The dataset's name. */
  dataset: string;
  /** Training steps. */
  steps: number;
  /** The run's seed. */
  seed: number;
  /** Points per mini-batch. */
  batchSize: number;
  /** Training points drawn. */
  trainSize: number;
  /** Evaluate every this many steps; 0 for only at the end. */
  evalEvery: number;
  /** Samples per evaluation (per context). */
  evalSamples: number;
  /** Metric names. */
  metrics: string[];
  /** Checkpoint period in steps. */
  checkpointEvery: number;
  /** ULA steps of the fallback sampler. */
  sampleSteps: number;
  /** ULA step size of the fallback sampler. */
  sampleStepSize: number;
  /** CPU threads sharing large matrix products and long SiLU/sigmoid maps (1: no worker threads). */
  threads: number;
  /** The estimator's options, its defaults filled in. */
  estimatorOptions: Record<string, SettingValue>;
}

/**
 * Validates a configuration (a parsed JSON file merged with flags) and fills in the defaults:
 * unknown keys, wrong types and out-of-range values throw a `JouleError` naming the key.
 *
 * @example
 * ```ts
 * import { resolveConfig } from '@joule/cli';
 *
 * const config = resolveConfig({ estimator: 'rnce', dataset: 'cond-pinwheel', estimatorOptions: { k: 31 } });
 * ```
 */
export function resolveConfig(input: Record<string, unknown>, where = 'config'): RunConfig {
  if (input === null || typeof input !== 'object' || Array.isArray(input))
    throw new JouleError('joule', where, 'a JSON object', String(input));
  const { estimatorOptions, ...rest } = input;
  const given = validateObject(where, rest, runSchema);
  const merged = { ...defaults(runSchema), ...given };
  if (merged.estimator === undefined)
    throw new JouleError('joule', `${where}.estimator`, `one of ${Object.keys(estimatorRegistry).join(', ')}`, 'none');
  if (merged.dataset === undefined)
    throw new JouleError('joule', `${where}.dataset`, `one of ${Object.keys(datasetRegistry).join(', ')}`, 'none');
  const entry = estimatorRegistry[merged.estimator as string]!;
  const dataset = datasetRegistry[merged.dataset as string]!;
  if (dataset.contextDim > 0 && !entry.conditional) {
    const conditional = Object.values(estimatorRegistry)
      .filter((e) => e.conditional)
      .map((e) => e.name);
    throw new JouleError(
      'joule',
      `${where}.estimator`,
      `a conditional estimator for the conditional dataset '${dataset.name}' (${conditional.join(', ')})`,
      `'${entry.name}'`,
    );
  }
  const options = estimatorOptions === undefined ? {} : estimatorOptions;
  const estimatorGiven = validateObject(`${where}.estimatorOptions`, options, entry.options);
  return {
    ...(merged as Omit<RunConfig, 'estimatorOptions'>),
    estimatorOptions: { ...defaults(entry.options), ...estimatorGiven },
  };
}

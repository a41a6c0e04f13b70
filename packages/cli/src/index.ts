/**
 * `@joule/cli`: the `joule` command — train any registered estimator on a toy dataset with a
 * progress bar, checkpoints, metrics and an HTML report; sample and evaluate trained runs; list what
 * exists; run the paper reproductions. The registries and `runCli` are exported for programs that
 * embed it.
 *
 * @packageDocumentation
 */
export { type CliIO, runCli } from './cli.js';
export { type RunConfig, resolveConfig, runSchema } from './config.js';
export { type DatasetEntry, datasetRegistry, type EvaluationContext } from './datasets.js';
export { type AnyEstimator, type BuildContext, type EstimatorEntry, estimatorRegistry } from './estimators.js';
export { type MetricEntry, metricRegistry } from './metrics.js';
export type { Schema, Setting, SettingValue } from './schema.js';

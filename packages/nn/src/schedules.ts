import { assertPositiveInt } from '@joule/core';
import { JouleError } from '@joule/tensor';

/**
 * A learning-rate schedule: the factor that multiplies each group's base learning rate at a step
 * (`0` for the first step). Schedules compose: {@link linearWarmup} takes the schedule that follows
 * it, {@link productSchedule} multiplies schedules.
 *
 * @example
 * ```ts
 * const schedule: Schedule = linearWarmup({ steps: 100 }, cosineSchedule({ steps: 900 }));
 * const opt = new Adam(params, { lr: 1e-3, schedule });
 * ```
 */
export type Schedule = (step: number) => number;

function checkFactor(op: string, arg: string, v: number): number {
  if (!(typeof v === 'number' && v >= 0 && Number.isFinite(v)))
    throw new JouleError(op, arg, 'a finite number ≥ 0', String(v));
  return v;
}

/**
 * The same factor at every step (1 by default: the base learning rate).
 *
 * @example
 * ```ts
 * constantSchedule()(1000); // 1
 * ```
 */
export function constantSchedule(factor = 1): Schedule {
  checkFactor('constantSchedule', 'factor', factor);
  return () => factor;
}

/**
 * Multiplies the factor by `gamma` every `every` steps: `gamma^⌊step / every⌋`.
 *
 * @example
 * ```ts
 * const s = stepSchedule({ every: 100, gamma: 0.5 });
 * s(99); // 1
 * s(100); // 0.5
 * ```
 */
export function stepSchedule(options: { every: number; gamma?: number }): Schedule {
  assertPositiveInt('stepSchedule', 'options.every', options?.every);
  const gamma = checkFactor('stepSchedule', 'options.gamma', options.gamma ?? 0.1);
  return (step) => gamma ** Math.floor(step / options.every);
}

/**
 * Cosine annealing from 1 to `minFactor` over `steps` steps, then `minFactor`:
 * `min + (1 − min)(1 + cos(π · step / steps)) / 2`.
 *
 * @example
 * ```ts
 * const s = cosineSchedule({ steps: 1000, minFactor: 0.01 });
 * s(0); // 1
 * s(1000); // 0.01
 * ```
 */
export function cosineSchedule(options: { steps: number; minFactor?: number }): Schedule {
  assertPositiveInt('cosineSchedule', 'options.steps', options?.steps);
  const min = checkFactor('cosineSchedule', 'options.minFactor', options.minFactor ?? 0);
  return (step) => min + ((1 - min) * (1 + Math.cos((Math.PI * Math.min(step, options.steps)) / options.steps))) / 2;
}

/**
 * Linear change from 1 to `endFactor` over `steps` steps, then `endFactor`.
 *
 * @example
 * ```ts
 * linearSchedule({ steps: 100, endFactor: 0 })(50); // 0.5
 * ```
 */
export function linearSchedule(options: { steps: number; endFactor?: number }): Schedule {
  assertPositiveInt('linearSchedule', 'options.steps', options?.steps);
  const end = checkFactor('linearSchedule', 'options.endFactor', options.endFactor ?? 0);
  return (step) => 1 + ((end - 1) * Math.min(step, options.steps)) / options.steps;
}

/**
 * Linear warmup over the first `steps` steps from `startFactor` up to 1 (reached at step
 * `steps − 1`: the factor at step `s` is `start + (1 − start)(s + 1) / steps`), then `after`,
 * counted from the end of the warmup (constant 1 by default).
 *
 * @example
 * ```ts
 * const s = linearWarmup({ steps: 10 }, cosineSchedule({ steps: 90 }));
 * s(0); // 0.1
 * s(9); // 1
 * s(10); // 1 (cosine starts)
 * ```
 */
export function linearWarmup(
  options: { steps: number; startFactor?: number },
  after: Schedule = constantSchedule(),
): Schedule {
  assertPositiveInt('linearWarmup', 'options.steps', options?.steps);
  const start = checkFactor('linearWarmup', 'options.startFactor', options.startFactor ?? 0);
  if (typeof after !== 'function') throw new JouleError('linearWarmup', 'after', 'a Schedule', typeof after);
  const n = options.steps;
  return (step) => (step < n ? start + ((1 - start) * (step + 1)) / n : after(step - n));
}

/**
 * The product of several schedules' factors.
 *
 * @example
 * ```ts
 * const s = productSchedule(stepSchedule({ every: 1000, gamma: 0.5 }), constantSchedule(0.1));
 * ```
 */
export function productSchedule(...schedules: Schedule[]): Schedule {
  schedules.forEach((s, i) => {
    if (typeof s !== 'function') throw new JouleError('productSchedule', `schedules[${i}]`, 'a Schedule', typeof s);
  });
  return (step) => schedules.reduce((f, s) => f * s(step), 1);
}

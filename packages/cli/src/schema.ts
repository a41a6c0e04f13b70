import { JouleError } from '@joule/core';

/**
 * One setting of a run: its type, default, allowed range and a one-line description. The same
 * description validates configuration files and command-line flags, and prints `--help`.
 *
 * @example
 * ```ts
 * const steps: Setting = { type: 'int', default: 2000, min: 1, description: 'training steps' };
 * ```
 */
export interface Setting {
  /** `'int'`, `'number'`, `'string'`, `'boolean'` or `'string[]'`. */
  type: 'int' | 'number' | 'string' | 'boolean' | 'string[]';
  /** The value used when neither the configuration nor a flag gives one. */
  default: number | string | boolean | string[] | undefined;
  /** Smallest allowed number (inclusive). */
  min?: number;
  /** Largest allowed number (inclusive). */
  max?: number;
  /** The only allowed strings (each element for `'string[]'`). */
  choices?: readonly string[];
  /** One line for `--help`. */
  description: string;
}

/**
 * A named set of settings.
 *
 * @example
 * ```ts
 * const schema: Schema = { steps: { type: 'int', default: 100, min: 1, description: 'training steps' } };
 * ```
 */
export type Schema = Record<string, Setting>;

/**
 * A validated value of a setting.
 *
 * @example
 * ```ts
 * const value: SettingValue = ['bhattacharyya', 'mmd2'];
 * ```
 */
export type SettingValue = number | string | boolean | string[];

function describeValue(v: unknown): string {
  if (Array.isArray(v)) return `array ${JSON.stringify(v)}`;
  if (v === null) return 'null';
  return `${typeof v} ${JSON.stringify(v)}`;
}

/**
 * Checks one value against its setting and returns it; `where` names it in the error (e.g.
 * `config.steps` or `--steps`).
 *
 * @example
 * ```ts
 * checkSetting('--steps', { type: 'int', default: 1, min: 1, description: 'steps' }, 10); // 10
 * ```
 */
export function checkSetting(where: string, setting: Setting, value: unknown): SettingValue {
  const op = 'joule';
  const range = (): string => {
    if (setting.min !== undefined && setting.max !== undefined) return ` in [${setting.min}, ${setting.max}]`;
    if (setting.min !== undefined) return ` ≥ ${setting.min}`;
    if (setting.max !== undefined) return ` ≤ ${setting.max}`;
    return '';
  };
  switch (setting.type) {
    case 'int':
    case 'number': {
      const isInt = setting.type === 'int';
      if (typeof value !== 'number' || !Number.isFinite(value) || (isInt && !Number.isInteger(value)))
        throw new JouleError(op, where, `${isInt ? 'an integer' : 'a finite number'}${range()}`, describeValue(value));
      if ((setting.min !== undefined && value < setting.min) || (setting.max !== undefined && value > setting.max))
        throw new JouleError(op, where, `${isInt ? 'an integer' : 'a number'}${range()}`, String(value));
      return value;
    }
    case 'boolean':
      if (typeof value !== 'boolean') throw new JouleError(op, where, 'true or false', describeValue(value));
      return value;
    case 'string':
      if (typeof value !== 'string') throw new JouleError(op, where, 'a string', describeValue(value));
      if (setting.choices !== undefined && !setting.choices.includes(value))
        throw new JouleError(op, where, `one of ${setting.choices.join(', ')}`, JSON.stringify(value));
      return value;
    case 'string[]':
      if (!Array.isArray(value) || !value.every((s) => typeof s === 'string'))
        throw new JouleError(op, where, 'an array of strings', describeValue(value));
      for (const s of value) {
        if (setting.choices !== undefined && !setting.choices.includes(s))
          throw new JouleError(op, where, `names among ${setting.choices.join(', ')}`, JSON.stringify(s));
      }
      return value;
  }
}

/**
 * Validates a whole object against a schema: every key must be known (the error lists the known
 * ones), every value of the right type and range. Returns the values given, defaults not filled in.
 *
 * @example
 * ```ts
 * validateObject('config', { steps: 5 }, schema); // { steps: 5 }
 * ```
 */
export function validateObject(where: string, value: unknown, schema: Schema): Record<string, SettingValue> {
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new JouleError('joule', where, 'a JSON object', describeValue(value));
  const out: Record<string, SettingValue> = {};
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    const setting = schema[key];
    if (setting === undefined)
      throw new JouleError(
        'joule',
        `${where}.${key}`,
        `a known key (${Object.keys(schema).join(', ')})`,
        'unknown key',
      );
    out[key] = checkSetting(`${where}.${key}`, setting, v);
  }
  return out;
}

/**
 * The defaults of a schema, as an object.
 *
 * @example
 * ```ts
 * defaults({ steps: { type: 'int', default: 100, description: 'steps' } }); // { steps: 100 }
 * ```
 */
export function defaults(schema: Schema): Record<string, SettingValue> {
  const out: Record<string, SettingValue> = {};
  for (const [key, s] of Object.entries(schema)) if (s.default !== undefined) out[key] = s.default;
  return out;
}

/**
 * Parses a flag's text as its setting's type (numbers, booleans, comma-separated lists).
 *
 * @example
 * ```ts
 * parseFlagValue('--steps', { type: 'int', default: 1, description: 'steps' }, '200'); // 200
 * ```
 */
export function parseFlagValue(flag: string, setting: Setting, text: string): SettingValue {
  let value: unknown = text;
  if (setting.type === 'int' || setting.type === 'number') value = text.trim() === '' ? Number.NaN : Number(text);
  else if (setting.type === 'boolean') {
    if (text !== 'true' && text !== 'false') throw new JouleError('joule', flag, 'true or false', JSON.stringify(text));
    value = text === 'true';
  } else if (setting.type === 'string[]') value = text === '' ? [] : text.split(',').map((s) => s.trim());
  if (typeof value === 'number' && Number.isNaN(value))
    throw new JouleError('joule', flag, setting.type === 'int' ? 'an integer' : 'a number', JSON.stringify(text));
  return checkSetting(flag, setting, value);
}

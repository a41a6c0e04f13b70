/**
 * The name of this package; a placeholder export until the real API lands.
 *
 * @example
 * ```ts
 * import { packageName } from '@joule/{{name}}';
 *
 * console.log(packageName); // '@joule/{{name}}'
 * ```
 */
export const packageName = '@joule/{{name}}';

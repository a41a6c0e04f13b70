/**
 * The error every joule package throws for bad input or a failed numerical check.
 *
 * The message names the operation, the argument, what was expected and what was given.
 *
 * @example
 * ```ts
 * throw new JouleError('matmul', 'b', 'inner dimension 3', 'shape [4, 2]');
 * // JouleError: matmul: argument 'b' expected inner dimension 3, got shape [4, 2]
 * ```
 */
export class JouleError extends Error {
  /** The operation or function that rejected its input. */
  readonly op: string;
  /** The argument at fault (empty when the failure is not about one argument). */
  readonly arg: string;

  constructor(op: string, arg: string, expected: string, got: string) {
    super(
      arg ? `${op}: argument '${arg}' expected ${expected}, got ${got}` : `${op}: expected ${expected}, got ${got}`,
    );
    this.name = 'JouleError';
    this.op = op;
    this.arg = arg;
  }
}

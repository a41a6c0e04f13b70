import type { Backend, BackendData } from './backend.js';
import { CpuBackend } from './cpu.js';
import { JouleError } from './errors.js';
import type { Tensor } from './tensor.js';

/**
 * Backend storage shared by the tensors that view it (a reshape shares its input's storage) and the
 * gradient records that keep it for a backward pass. Freed when the last holder releases it.
 */
export class Storage {
  refs = 1;
  constructor(
    readonly backend: Backend,
    readonly data: BackendData,
  ) {
    engine.liveStorages++;
  }
  retain(): void {
    this.refs++;
  }
  release(): void {
    if (--this.refs === 0) {
      engine.liveStorages--;
      this.backend.free(this.data);
    }
  }
}

/** A vector–Jacobian product: the cotangent of each input given the output's, `null` where none flows. */
export type Vjp = (g: Tensor, needs: readonly boolean[]) => (Tensor | null)[];

/** How a tensor was computed, kept while a gradient scope that may differentiate through it is open. */
export interface GradNode {
  readonly op: string;
  readonly inputs: readonly Tensor[];
  readonly vjp: Vjp;
}

/** One open `grad`/`vjp` call: the bit that marks the tensors depending on its inputs. */
export interface GradScope {
  readonly bit: number;
  readonly recorded: Tensor[];
  readonly leaves: Set<Tensor>;
}

const MAX_SCOPES = 30;

/** Process-wide state: the active backend, open gradient scopes, `tidy` frames and counters. */
class Engine {
  backend: Backend = new CpuBackend();
  /** Bits of the scopes that record operations now. */
  recording = 0;
  private freeBits = (1 << MAX_SCOPES) - 1;
  private readonly scopes: (GradScope | undefined)[] = new Array(MAX_SCOPES);
  readonly tidyFrames: Tensor[][] = [];
  liveTensors = 0;
  liveStorages = 0;
  debug = false;
  /**
   * Nesting depth of gradient rules being run. Rules may read tensors that a `tidy` or the caller
   * disposed after recording them (their storage is held by the record); elsewhere that is an error.
   */
  inGradRule = 0;

  openScope(op: string): GradScope {
    if (this.freeBits === 0) {
      throw new JouleError(
        op,
        '',
        `at most ${MAX_SCOPES} gradient scopes open at once`,
        'one more (release() your vjp results)',
      );
    }
    const bit = this.freeBits & -this.freeBits;
    this.freeBits &= ~bit;
    const scope: GradScope = { bit, recorded: [], leaves: new Set() };
    this.scopes[31 - Math.clz32(bit)] = scope;
    this.recording |= bit;
    return scope;
  }

  stopRecording(scope: GradScope): void {
    this.recording &= ~scope.bit;
  }

  /** Forgets everything `scope` recorded; storages kept for it are released once no scope needs them. */
  closeScope(scope: GradScope): void {
    this.recording &= ~scope.bit;
    for (const t of scope.recorded) {
      t.mask &= ~scope.bit;
      if (t.mask === 0 && t.node) {
        for (const x of t.node.inputs) x.storage.release();
        t.storage.release();
        t.node = null;
      }
    }
    scope.recorded.length = 0;
    this.scopes[31 - Math.clz32(scope.bit)] = undefined;
    this.freeBits |= scope.bit;
  }

  /** Records `out = op(inputs)` on every recording scope that one of the inputs depends on. */
  record(out: Tensor, op: string, inputs: readonly Tensor[], vjp: Vjp, extraMask = 0): void {
    let mask = extraMask;
    for (let i = 0; i < inputs.length; i++) mask |= inputs[i].mask;
    mask &= this.recording | extraMask;
    if (mask === 0) return;
    out.mask = mask;
    out.node = { op, inputs, vjp };
    for (const x of inputs) x.storage.retain();
    out.storage.retain();
    for (let m = mask; m !== 0; m &= m - 1) {
      const scope = this.scopes[31 - Math.clz32(m & -m)];
      scope?.recorded.push(out);
    }
  }

  track(t: Tensor): void {
    this.liveTensors++;
    const n = this.tidyFrames.length;
    if (n > 0) this.tidyFrames[n - 1].push(t);
  }
}

/** The single engine instance (internal). */
export const engine = new Engine();

/**
 * Makes `backend` the one new tensors are created on. Tensors made before keep their backend.
 *
 * @example
 * ```ts
 * setBackend(new CpuBackend());
 * ```
 */
export function setBackend(backend: Backend): void {
  engine.backend = backend;
}

/**
 * The backend new tensors are created on.
 *
 * @example
 * ```ts
 * getBackend().name; // 'cpu'
 * ```
 */
export function getBackend(): Backend {
  return engine.backend;
}

/**
 * Turns the debug check on or off: when on, every op reads its output back and throws a
 * `JouleError` naming the op that produced a NaN or an infinity (slow; for hunting bugs).
 *
 * @example
 * ```ts
 * setDebug(true);
 * tensor([0]).log(); // throws: log: produced a non-finite value from finite inputs
 * ```
 */
export function setDebug(on: boolean): void {
  engine.debug = on;
}

/** Counts of live tensors and storages, for leak tests. */
export interface MemoryInfo {
  /** Tensors created and not yet disposed. */
  tensors: number;
  /** Backend storages not yet freed (shared by views, kept by gradient records). */
  storages: number;
}

/**
 * How many tensors and storages are alive now.
 *
 * @example
 * ```ts
 * const before = memory().tensors;
 * tidy(() => tensor([1, 2]).exp());
 * memory().tensors === before; // true
 * ```
 */
export function memory(): MemoryInfo {
  return { tensors: engine.liveTensors, storages: engine.liveStorages };
}

/**
 * How many tensors and storages `call` leaves alive per run: it runs `warmup` times first (lazily
 * created state such as optimizer moments appears then), then `repeats` more times, and returns the
 * growth over those (zero for code that frees what it makes; on the GPU backend a leak is device
 * memory).
 *
 * @example
 * ```ts
 * const growth = await memoryGrowth(() => estimator.step(batch, rng));
 * growth.tensors === 0; // true for an estimator that leaks nothing
 * ```
 */
export async function memoryGrowth(
  call: () => unknown,
  options: {
    /** Runs before counting (default 3). */
    warmup?: number;
    /** Runs counted (default 3). */
    repeats?: number;
  } = {},
): Promise<MemoryInfo> {
  const { warmup = 3, repeats = 3 } = options;
  for (let i = 0; i < warmup; i++) await call();
  const before = memory();
  for (let i = 0; i < repeats; i++) await call();
  const after = memory();
  return { tensors: after.tensors - before.tensors, storages: after.storages - before.storages };
}

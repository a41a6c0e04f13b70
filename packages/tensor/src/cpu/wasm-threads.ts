/**
 * Worker threads that run calls of a WebAssembly kernel module on one shared memory, for Node's
 * `worker_threads`. The calling thread publishes a list of *units* (each a short sequence of kernel
 * calls that must run in order), wakes the workers, and then takes units itself until none is left;
 * units are claimed with a compare-and-swap on a word that also holds the job's generation, so a
 * worker that is slow to wake simply finds nothing left to do, and the caller never waits for a
 * worker that has not started. The caller then waits only for units that a worker has claimed.
 * @internal
 */

/** Integers per call: the export's index, then up to {@link MAX_ARGS} i32 arguments. */
const CALL_INTS = 16;
const MAX_ARGS = CALL_INTS - 1;
/** Calls per published job; a longer list is run in several jobs. */
const MAX_CALLS = 4096;
/** Units per published job. */
const MAX_UNITS = 1024;
/** Bits of the claim word that count units; the bits above hold the job's generation. */
const UNIT_BITS = 12;

// control words
const GEN = 0; // generation of the latest job (workers wait on it); −1 tells them to exit
const CLAIM = 1; // (generation << UNIT_BITS) | next unit
const DONE = 2; // units finished in the current job
const UNITS = 3; // units in the current job
const READY = 4; // workers that have started

/** Loads of the job word a thread makes before it sleeps: 20–35 µs here (a load takes 10–17 ns). */
const SPIN_LOADS = 2000;

/** The worker's code: instantiate the modules on the shared memory, then claim and run units. */
const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const { modules, memory, control, calls, starts } = workerData;
const SPIN = ${SPIN_LOADS};
const fns = [];
for (const { module, names } of modules) {
  const exports = new WebAssembly.Instance(module, { env: { mem: memory } }).exports;
  for (const n of names) fns.push(exports[n]);
}
const ctl = new Int32Array(control);
Atomics.add(ctl, ${READY}, 1);
Atomics.notify(ctl, ${READY});
const call = new Int32Array(calls);
const start = new Int32Array(starts);
let seen = 0;
for (;;) {
  // a job often follows soon after the last one: look for it a while before sleeping (waking costs more)
  for (let spin = 0; spin < SPIN && Atomics.load(ctl, ${GEN}) === seen; spin++);
  Atomics.wait(ctl, ${GEN}, seen);
  const gen = Atomics.load(ctl, ${GEN});
  if (gen < 0) break;
  seen = gen;
  const tag = (gen & ${(1 << (31 - UNIT_BITS)) - 1}) << ${UNIT_BITS};
  for (;;) {
    const v = Atomics.load(ctl, ${CLAIM});
    if ((v & ~${(1 << UNIT_BITS) - 1}) !== tag) break;
    const u = v & ${(1 << UNIT_BITS) - 1};
    if (u >= Atomics.load(ctl, ${UNITS})) break;
    if (Atomics.compareExchange(ctl, ${CLAIM}, v, v + 1) !== v) continue;
    for (let c = start[u]; c < start[u + 1]; c++) {
      const o = c * ${CALL_INTS};
      fns[call[o]](call[o + 1], call[o + 2], call[o + 3], call[o + 4], call[o + 5], call[o + 6], call[o + 7],
        call[o + 8], call[o + 9], call[o + 10], call[o + 11], call[o + 12], call[o + 13], call[o + 14], call[o + 15]);
    }
    Atomics.add(ctl, ${DONE}, 1);
    Atomics.notify(ctl, ${DONE});
  }
}
`;

type WorkerLike = { unref(): void; terminate(): unknown };
type WorkerThreads = {
  Worker: new (src: string, opts: { eval: true; workerData: unknown }) => WorkerLike;
};

/** Node's `worker_threads`, or null where it is not available (browsers, Node < 20.16). */
export function workerThreads(): WorkerThreads | null {
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  const wt = proc?.getBuiltinModule?.('node:worker_threads') as WorkerThreads | undefined;
  return wt?.Worker && typeof SharedArrayBuffer === 'function' && typeof Atomics === 'object' ? wt : null;
}

type Fn = (...args: number[]) => void;

/** A kernel module for {@link WasmThreads}: its compiled code and the exports that units may call. @internal */
export interface ThreadedModule {
  readonly module: WebAssembly.Module;
  readonly names: readonly string[];
}

/**
 * A pool of `threads − 1` workers plus the calling thread, all running the exports `names` of each
 * module, instantiated on the shared `memory`; a call names an export by its index in the names of all
 * modules, one module after the other. Build a job with {@link call} / {@link endUnit}, then {@link run} it.
 * Several kernel modules share one pool through {@link part}, so that threads never wait on each other's pools.
 * @internal
 */
export class WasmThreads {
  private readonly ctl = new Int32Array(new SharedArrayBuffer(4 * 5));
  private readonly calls = new Int32Array(new SharedArrayBuffer(4 * CALL_INTS * MAX_CALLS));
  private readonly starts = new Int32Array(new SharedArrayBuffer(4 * (MAX_UNITS + 1)));
  /** Each module's exports, instantiated on this thread. */
  readonly exports: WebAssembly.Exports[];
  /** Index of each module's first export among all. */
  private readonly bases: number[] = [];
  private readonly fns: Fn[] = [];
  private readonly workers: WorkerLike[] = [];
  private nCalls = 0;
  private nUnits = 0;
  /** Units that workers (not the calling thread) have run so far. */
  unitsOnWorkers = 0;
  private gen = 0;

  constructor(
    memory: WebAssembly.Memory,
    modules: readonly ThreadedModule[],
    readonly threads: number,
  ) {
    const wt = workerThreads();
    if (!wt) throw new Error('worker_threads with SharedArrayBuffer is not available');
    this.exports = modules.map(({ module, names }) => {
      const exports = new WebAssembly.Instance(module, { env: { mem: memory } }).exports;
      this.bases.push(this.fns.length);
      for (const n of names) this.fns.push(exports[n] as Fn);
      return exports;
    });
    const workerData = {
      modules: modules.map(({ module, names }) => ({ module, names: [...names] })),
      memory,
      control: this.ctl.buffer,
      calls: this.calls.buffer,
      starts: this.starts.buffer,
    };
    for (let t = 1; t < threads; t++) {
      const w = new wt.Worker(WORKER_SOURCE, { eval: true, workerData });
      w.unref();
      this.workers.push(w);
    }
  }

  /** This pool as seen by module `index`: its exports, and calls that name them by their index in its `names`. */
  part(index: number): ThreadsPart {
    return new ThreadsPart(this, this.bases[index], this.exports[index]);
  }

  /** Appends a call of export `fn` (its index among the exports of all modules) to the current unit. */
  call(fn: number, ...args: number[]): void {
    if (this.nCalls === MAX_CALLS) this.flush();
    const o = this.nCalls * CALL_INTS;
    this.calls[o] = fn;
    for (let i = 0; i < MAX_ARGS; i++) this.calls[o + 1 + i] = i < args.length ? args[i] : 0;
    this.nCalls++;
  }

  /** Ends the current unit: its calls run in order, on one thread, independently of other units. */
  endUnit(): void {
    this.nUnits++;
    this.starts[this.nUnits] = this.nCalls;
    if (this.nUnits === MAX_UNITS || this.nCalls === MAX_CALLS) this.run();
  }

  /** Runs every unit added since the last run, on all threads, and returns when all are done. */
  run(): void {
    const units = this.nUnits;
    if (units === 0) return;
    const ctl = this.ctl;
    if (units === 1 || this.workers.length === 0) {
      for (let u = 0; u < units; u++) this.runUnit(u);
    } else {
      this.gen = (this.gen + 1) & ((1 << (31 - UNIT_BITS)) - 1) || 1;
      const tag = this.gen << UNIT_BITS;
      Atomics.store(ctl, UNITS, units);
      Atomics.store(ctl, DONE, 0);
      Atomics.store(ctl, CLAIM, tag);
      Atomics.store(ctl, GEN, this.gen);
      Atomics.notify(ctl, GEN);
      let mine = 0;
      for (;;) {
        const v = Atomics.load(ctl, CLAIM);
        const u = v - tag;
        if (u >= units) break;
        if (Atomics.compareExchange(ctl, CLAIM, v, v + 1) !== v) continue;
        this.runUnit(u);
        mine++;
      }
      // wait for the units the workers claimed: they usually end within microseconds, so look before sleeping
      for (let spin = 0; ; spin++) {
        const done = Atomics.load(ctl, DONE);
        if (done + mine >= units) break;
        if (spin >= SPIN_LOADS) Atomics.wait(ctl, DONE, done);
      }
      this.unitsOnWorkers += units - mine;
    }
    this.nUnits = 0;
    this.nCalls = 0;
    this.starts[0] = 0;
  }

  /**
   * Waits (blocking, at most `timeoutMs`) until every worker has started; returns whether they all
   * have. Never needed for correctness: units simply run here until a worker joins.
   */
  waitForWorkers(timeoutMs: number): boolean {
    const end = performance.now() + timeoutMs;
    for (;;) {
      const ready = Atomics.load(this.ctl, READY);
      if (ready >= this.workers.length) return true;
      const left = end - performance.now();
      if (left <= 0) return false;
      Atomics.wait(this.ctl, READY, ready, left);
    }
  }

  /** Stops the workers. */
  close(): void {
    Atomics.store(this.ctl, GEN, -1);
    Atomics.notify(this.ctl, GEN);
    this.workers.length = 0;
  }

  private runUnit(u: number): void {
    const call = this.calls;
    for (let c = this.starts[u]; c < this.starts[u + 1]; c++) {
      const o = c * CALL_INTS;
      this.fns[call[o]](
        call[o + 1],
        call[o + 2],
        call[o + 3],
        call[o + 4],
        call[o + 5],
        call[o + 6],
        call[o + 7],
        call[o + 8],
        call[o + 9],
        call[o + 10],
        call[o + 11],
        call[o + 12],
        call[o + 13],
        call[o + 14],
        call[o + 15],
      );
    }
  }

  /** Runs the complete units so far, keeping the calls of the unit under construction. */
  private flush(): void {
    const open = this.starts[this.nUnits];
    if (open === 0) {
      // one unit fills the list: nothing else is queued, so its calls so far run here, in order
      this.starts[1] = this.nCalls;
      this.runUnit(0);
      this.nCalls = 0;
      return;
    }
    const pending = this.calls.slice(open * CALL_INTS, this.nCalls * CALL_INTS);
    this.nCalls = open;
    this.run();
    this.calls.set(pending, 0);
    this.nCalls = pending.length / CALL_INTS;
  }
}

/**
 * One module's share of a {@link WasmThreads} pool: calls name that module's exports by their index in its
 * `names`; jobs, threads and the pool's life are the pool's.
 * @internal
 */
export class ThreadsPart {
  constructor(
    readonly pool: WasmThreads,
    private readonly base: number,
    /** The module's exports, instantiated on this thread. */
    readonly exports: WebAssembly.Exports,
  ) {}

  get threads(): number {
    return this.pool.threads;
  }

  /** Appends a call of the module's export `fn` to the current unit (see {@link WasmThreads.call}). */
  call(fn: number, ...args: number[]): void {
    this.pool.call(this.base + fn, ...args);
  }

  endUnit(): void {
    this.pool.endUnit();
  }

  run(): void {
    this.pool.run();
  }
}

import { CpuBackend, getBackend, setBackend } from '@joule/tensor';

/**
 * Runs `work` on a CPU backend whose large matrix products and long SiLU/sigmoid maps are shared
 * by `threads` threads (results bit-identical to one thread), then puts the previous backend back
 * and stops the worker threads, also when `work` throws. With `threads` = 1 it runs `work` on the
 * current backend, untouched. When the backend got fewer threads than asked (no `worker_threads`),
 * one line saying so goes to `note`. The backend is process-wide: two runs must not overlap.
 * `makeBackend` builds the backend (a `CpuBackend` with that many threads; tests pass their own).
 */
export async function withThreads<T>(
  threads: number,
  note: (line: string) => void,
  work: () => Promise<T>,
  makeBackend: (threads: number) => CpuBackend = (n) => new CpuBackend({ threads: n }),
): Promise<T> {
  if (threads <= 1) return work();
  const backend = makeBackend(threads);
  const previous = getBackend();
  try {
    if (backend.threads < threads)
      note(
        `joule: ${threads} threads asked (--threads), ${backend.threads} available (no worker_threads here); running on ${backend.threads}\n`,
      );
    setBackend(backend);
    return await work();
  } finally {
    setBackend(previous);
    backend.destroy();
  }
}

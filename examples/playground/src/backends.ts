/**
 * The tensor backends the page offers and whether this browser can run them: the CPU backend of
 * `@joule/tensor`, and `@joule/tensor-gpu`'s gpu.js backend in its WebGL2 mode. Training runs in a
 * Web Worker, so WebGL2 is probed on an `OffscreenCanvas`, which is what gpu.js draws on there.
 */
import { CpuBackend, getBackend, setBackend } from '@joule/tensor';

/** A backend the page lists. */
export type BackendName = 'cpu' | 'webgl2' | 'webgpu';

/** One entry of the backend selector. */
export interface BackendOption {
  name: BackendName;
  label: string;
  available: boolean;
  /** Why it cannot be picked, when it cannot. */
  reason?: string;
}

/** Whether a worker of this browser can get a WebGL2 context (on an `OffscreenCanvas`). */
function offscreenWebgl2(): boolean {
  if (typeof OffscreenCanvas === 'undefined') return false;
  try {
    return new OffscreenCanvas(1, 1).getContext('webgl2') !== null;
  } catch {
    return false;
  }
}

/** What this browser offers, probed on the page's main thread. */
export function probeBackends(): BackendOption[] {
  const webgl2 = offscreenWebgl2();
  const webgpu = typeof navigator !== 'undefined' && 'gpu' in navigator;
  return [
    { name: 'cpu', label: 'CPU', available: true },
    webgl2
      ? { name: 'webgl2', label: 'WebGL2 (gpu.js)', available: true }
      : {
          name: 'webgl2',
          label: 'WebGL2 (gpu.js)',
          available: false,
          reason: 'this browser gives workers no WebGL2 context (OffscreenCanvas)',
        },
    {
      name: 'webgpu',
      label: 'WebGPU',
      available: false,
      reason: webgpu
        ? "this browser has WebGPU, but @joule/tensor-gpu does not offer gpu.js's WebGPU mode (its kernels are asynchronous and joule builds ops synchronously)"
        : 'this browser has no WebGPU, and @joule/tensor-gpu does not offer a WebGPU mode',
    },
  ];
}

/** Makes `name` the backend new tensors are created on and returns the name the engine reports. */
export async function activateBackend(name: BackendName): Promise<string> {
  if (name === 'cpu') {
    if (getBackend().name !== 'cpu') setBackend(new CpuBackend());
  } else if (name === 'webgl2') {
    // Loaded on demand, so a CPU run never downloads gpu.js.
    const { GpuBackend } = await import('@joule/tensor-gpu');
    setBackend(await GpuBackend.create({ mode: 'webgl2' }));
  } else {
    throw new Error(`backend "${name}" is not available in this page`);
  }
  return getBackend().name;
}

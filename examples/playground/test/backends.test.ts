import { getBackend } from '@joule/tensor';
import { describe, expect, test } from 'vitest';
import { activateBackend, probeBackends } from '../src/backends.js';

describe('backends', () => {
  test('without OffscreenCanvas (Node) only the CPU is offered, and each other entry says why', () => {
    const options = probeBackends();
    expect(options.map((o) => o.name)).toEqual(['cpu', 'webgl2', 'webgpu']);
    expect(options[0]).toEqual({ name: 'cpu', label: 'CPU', available: true });
    for (const option of options.slice(1)) {
      expect(option.available).toBe(false);
      expect(option.reason).toMatch(/no (WebGL2|WebGPU)/);
    }
  });

  test('activating the CPU backend reports the engine name; WebGPU is refused', async () => {
    expect(await activateBackend('cpu')).toBe('cpu');
    expect(getBackend().name).toBe('cpu');
    await expect(activateBackend('webgpu')).rejects.toThrow(/backend "webgpu" is not available/);
  });
});

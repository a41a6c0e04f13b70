import { memory, type Tensor, tensor } from '@joule/tensor';
import { describe, expect, it } from 'vitest';
import { solveDopri5, solveOde } from '../src/index.js';

const R = tensor([
  [0, 1],
  [-1, 0],
]);
const rotation = (x: Tensor) => x.matmul(R);
const T = 10;

function rotationError(x: Tensor, t: number): number {
  const v = x.dataSync();
  return Math.hypot(v[0] - Math.cos(t), v[1] - Math.sin(t));
}

describe('solveDopri5', () => {
  const tols = [1e-3, 1e-4, 1e-5, 1e-6];
  for (const controller of ['pi', 'standard'] as const) {
    it(`meets the requested tolerance and takes fewer steps when it is looser (${controller} controller)`, () => {
      const runs = tols.map((tol) => {
        const sol = solveDopri5(rotation, tensor([[1, 0]]), { t1: T, rtol: tol, atol: tol, controller });
        return {
          tol,
          err: rotationError(sol.x, T),
          steps: sol.steps,
          evaluations: sol.evaluations,
          rejected: sol.rejected,
        };
      });
      for (const r of runs) {
        // The rotation preserves norms, so the global error is at most the sum of the local errors,
        // each controlled to atol + rtol·|x| ≤ 2·tol (|x| = 1).
        expect(r.err).toBeLessThanOrEqual(r.steps * 2 * r.tol);
        expect(r.evaluations).toBe(2 + 6 * (r.steps + r.rejected));
      }
      for (let i = 1; i < runs.length; i++) expect(runs[i].steps).toBeGreaterThan(runs[i - 1].steps);
      expect(runs[3].err).toBeLessThan(runs[0].err / 10);
    });
  }

  it('reaches t1 exactly, integrates backward, and saves at requested times', () => {
    const saveAt = [0, 1.5, 3, 7];
    const fwd = solveDopri5(rotation, tensor([[1, 0]]), { t1: T, rtol: 1e-6, atol: 1e-7, saveAt });
    expect(fwd.ts).toEqual(saveAt);
    fwd.trajectory?.forEach((x, i) => void expect(rotationError(x, saveAt[i])).toBeLessThan(1e-4));
    const back = solveDopri5(rotation, fwd.x, { t0: T, t1: 0, rtol: 1e-6, atol: 1e-7 });
    expect(rotationError(back.x, 0)).toBeLessThan(2e-4);
  });

  it('solves x′ = −x + sin 3t to the tolerance through solveOde', () => {
    const f = (x: Tensor, t: number) => x.neg().add(Math.sin(3 * t));
    const exact = (t: number) => 2.3 * Math.exp(-t) + 0.1 * Math.sin(3 * t) - 0.3 * Math.cos(3 * t);
    const sol = solveOde(f, tensor([2]), { method: 'dopri5', t1: 4, rtol: 1e-5, atol: 1e-5 });
    // Contractive problem: global error ≤ Σ local errors ≤ steps · (atol + rtol·|x|) with |x| ≤ 2.
    expect(Math.abs(sol.x.dataSync()[0] - exact(4))).toBeLessThan(sol.steps * 3e-5);
  });

  it('raises a clear error after maxSteps and on a non-finite field', () => {
    expect(() => solveDopri5(rotation, tensor([[1, 0]]), { t1: 100, rtol: 1e-6, maxSteps: 5 })).toThrow(
      /maxSteps.*5 steps/,
    );
    expect(() => solveDopri5((x) => x.mul(Number.NaN), tensor([1]), { t1: 1 })).toThrow(/'f'.*NaN/);
    // A field that blows up at t = 0.5: every step across it is rejected until the step underflows.
    const blowUp = (x: Tensor, t: number) => (t > 0.5 ? x.mul(Number.POSITIVE_INFINITY) : x.neg());
    expect(() => solveDopri5(blowUp, tensor([1]), { t1: 1 })).toThrow(/underflow/);
    expect(() => solveDopri5(rotation, tensor([[1, 0]]), { rtol: -1 })).toThrow(/rtol/);
    expect(() => solveDopri5(rotation, tensor([[1, 0]]), { saveAt: [0.5, 0.2] })).toThrow(/saveAt/);
    expect(() => solveDopri5(rotation, tensor([[1, 0]]), { controller: 'p' as 'pi' })).toThrow(/controller/);
  });

  it('leaks no tensors and keeps the caller’s state', () => {
    const x0 = tensor([[1, 0]]);
    const identity = (x: Tensor) => x;
    const before = memory().tensors;
    const sol = solveDopri5(identity, x0, { t1: 1, rtol: 1e-5 });
    expect(memory().tensors).toBe(before + 1);
    expect(x0.isDisposed).toBe(false);
    expect(sol.x.dataSync()[0]).toBeCloseTo(Math.E, 4);
  });
});

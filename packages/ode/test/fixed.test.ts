import { memory, noGrad, type Tensor, tensor } from '@joule/tensor';
import { describe, expect, it } from 'vitest';
import { type FixedMethod, fixedMethods, heunStep, solveFixed, solveOde } from '../src/index.js';
import { fittedOrder } from './helpers.js';

// x' = λx + sin ωt, x(0) = x0: x(t) = (x0 − b) e^{λt} + a sin ωt + b cos ωt
// with a = −λ/(ω²+λ²), b = −ω/(ω²+λ²).
const lambda = -1;
const omega = 3;
const forced = (x: Tensor, t: number) => x.mul(lambda).add(Math.sin(omega * t));
function forcedExact(x0: number, t: number): number {
  const a = -lambda / (omega * omega + lambda * lambda);
  const b = -omega / (omega * omega + lambda * lambda);
  return (x0 - b) * Math.exp(lambda * t) + a * Math.sin(omega * t) + b * Math.cos(omega * t);
}

// 2-D rotation x' = x·R (row vectors): x(t) = (cos t, sin t) from (1, 0).
const R = tensor([
  [0, 1],
  [-1, 0],
]);
const rotation = (x: Tensor) => x.matmul(R);

/** Largest error over the grid (an end-point error alone can cancel by chance). */
function forcedErrors(method: FixedMethod, steps: readonly number[], T: number): number[] {
  return steps.map((n) => {
    const sol = solveFixed(forced, tensor([2]), { method, t1: T, steps: n, saveTrajectory: true });
    const traj = sol.trajectory as Tensor[];
    return Math.max(...traj.map((x, i) => Math.abs(x.dataSync()[0] - forcedExact(2, sol.ts[i]))));
  });
}

function rotationErrors(method: FixedMethod, steps: readonly number[], T: number): number[] {
  return steps.map((n) => {
    const v = solveFixed(rotation, tensor([[1, 0]]), { method, t1: T, steps: n }).x.dataSync();
    return Math.hypot(v[0] - Math.cos(T), v[1] - Math.sin(T));
  });
}

describe('fixed-step convergence orders (within ±0.3 of the theory)', () => {
  // Step counts keep every error between ~5e-6 and ~1e-1: in the asymptotic regime and well above
  // the float32 round-off of a unit-size state over these few steps (~1e-7 per step).
  const cases: [FixedMethod, number, number[], number[]][] = [
    ['euler', 1, [16, 32, 64, 128], [64, 128, 256, 512]],
    ['midpoint', 2, [16, 32, 64, 128], [16, 32, 64, 128]],
    ['heun', 2, [16, 32, 64, 128], [16, 32, 64, 128]],
    ['rk4', 4, [4, 6, 8, 12], [8, 16, 32, 64]],
  ];
  for (const [method, order, forcedSteps, rotationSteps] of cases) {
    it(`${method} has order ${order} on x' = −x + sin 3t`, () => {
      const T = 2;
      const errs = forcedErrors(method, forcedSteps, T);
      for (const e of errs) expect(e).toBeGreaterThan(5e-6);
      expect(
        Math.abs(
          fittedOrder(
            forcedSteps.map((n) => T / n),
            errs,
          ) - order,
        ),
      ).toBeLessThan(0.3);
    });
    it(`${method} has order ${order} on a 2-D rotation`, () => {
      const T = 6;
      const errs = rotationErrors(method, rotationSteps, T);
      for (const e of errs) expect(e).toBeGreaterThan(1e-6);
      expect(
        Math.abs(
          fittedOrder(
            rotationSteps.map((n) => T / n),
            errs,
          ) - order,
        ),
      ).toBeLessThan(0.3);
      expect(fixedMethods[method].order).toBe(order);
    });
  }
});

describe('solveFixed', () => {
  it('integrates backward and on an explicit grid', () => {
    const fwd = solveFixed(rotation, tensor([[1, 0]]), { method: 'rk4', t1: 1, steps: 50 });
    const back = solveFixed(rotation, fwd.x, { method: 'rk4', t0: 1, t1: 0, steps: 50 });
    const v = back.x.dataSync();
    expect(v[0]).toBeCloseTo(1, 5);
    expect(v[1]).toBeCloseTo(0, 5);
    const grid = [0, 0.1, 0.3, 0.6, 1];
    const g = solveFixed(rotation, tensor([[1, 0]]), { method: 'heun', grid, saveTrajectory: true });
    expect(g.ts).toEqual(grid);
    expect(g.trajectory).toHaveLength(grid.length);
    expect(g.evaluations).toBe(8);
  });

  it('agrees with one step of the named stepper', () => {
    const x0 = tensor([[0.3, -0.2]]);
    const a = solveFixed(rotation, x0, { method: 'heun', t1: 0.1, steps: 1 }).x.dataSync();
    const b = heunStep(rotation, x0, 0, 0.1).dataSync();
    expect(Array.from(a)).toEqual(Array.from(b));
  });

  it('evolves a tree state leaf by leaf', () => {
    const f = (s: { a: Tensor; b: Tensor[] }) => ({ a: s.a.neg(), b: [s.b[0].mul(2)] });
    const { x } = solveFixed(f, { a: tensor([1]), b: [tensor([1])] }, { method: 'rk4', t1: 1, steps: 40 });
    expect(x.a.dataSync()[0]).toBeCloseTo(Math.exp(-1), 5);
    expect(x.b[0].dataSync()[0]).toBeCloseTo(Math.exp(2), 3);
  });

  it('gives the same values under noGrad and leaks no tensors', () => {
    const x0 = tensor([[1, 0]]);
    const before = memory().tensors;
    const a = solveFixed(rotation, x0, { method: 'rk4', t1: 1, steps: 20 }).x;
    expect(memory().tensors).toBe(before + 1);
    const b = noGrad(() => solveOde(rotation, x0, { method: 'rk4', t1: 1, steps: 20 }).x);
    expect(Array.from(b.dataSync())).toEqual(Array.from(a.dataSync()));
  });

  it('rejects bad input with a JouleError naming the argument', () => {
    const x0 = tensor([1]);
    expect(() => solveFixed(forced, x0, { steps: 0 })).toThrow(/steps/);
    expect(() => solveFixed(forced, x0, { method: 'rk5' as FixedMethod, steps: 2 })).toThrow(/method/);
    expect(() => solveFixed(forced, x0, { grid: [0, 1, 0.5] })).toThrow(/grid/);
    expect(() => solveFixed(forced, x0, { t0: 1, t1: 1, steps: 2 })).toThrow(/t1/);
    expect(() => solveFixed(() => tensor([1, 2]), x0, { steps: 2 })).toThrow(/shape/);
    expect(() => solveOde(forced, x0, { method: 'bogus' as FixedMethod })).toThrow(/method/);
  });
});

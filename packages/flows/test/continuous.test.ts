import { moons } from '@joule/datasets';
import { full, noGrad, Rng, randn, type Tensor, tensor } from '@joule/tensor';
import { describe, expect, it } from 'vitest';
import { ConcatSquashField, ContinuousFlow, fitFlow } from '../src/index.js';
import { perturb } from './helpers.js';

function gridMass(logProb: (x: Tensor) => Tensor, lo = 6, m = 60): number {
  const cell = (2 * lo) / m;
  const pts = new Float32Array(m * m * 2);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < m; j++) {
      pts[2 * (i * m + j)] = -lo + (i + 0.5) * cell;
      pts[2 * (i * m + j) + 1] = -lo + (j + 0.5) * cell;
    }
  }
  const lp = noGrad(() => logProb(tensor(pts, [m * m, 2]))).dataSync();
  let mass = 0;
  for (const v of lp) mass += Math.exp(v) * cell * cell;
  return mass;
}

describe('ContinuousFlow', () => {
  const rng = new Rng(0);
  const cnf = new ContinuousFlow(perturb(new ConcatSquashField(2, { rng, width: 16, depth: 1 }), rng, 0.5), 2, {
    solver: { method: 'rk4', steps: 12 },
  });

  it('starts as the identity (zero last layer) and gives the base density', () => {
    const plain = new ContinuousFlow(new ConcatSquashField(2, { rng, width: 8 }), 2);
    const x = randn([4, 2], new Rng(1));
    const lp = plain.logProb(x).dataSync();
    const v = x.dataSync();
    for (let i = 0; i < 4; i++)
      expect(lp[i]).toBeCloseTo(-0.5 * (v[2 * i] ** 2 + v[2 * i + 1] ** 2) - Math.log(2 * Math.PI), 5);
  });

  it('gives the same log-density forward (sampling) and backward (evaluation)', () => {
    const { x, logProb } = cnf.sampleAndLogProb(8, new Rng(2));
    const back = cnf.logProb(x).dataSync();
    // Forward and backward RK4 solves differ by the O(h⁴) discretisation error only.
    logProb.dataSync().forEach((v, i) => void expect(Math.abs(v - back[i])).toBeLessThan(1e-3));
  });

  it('has a density that integrates to 1 on a 2-D grid', () => {
    // Midpoint rule on [−6, 6]² with 0.2 cells (smooth density, light tails): tolerance 1e-2.
    expect(Math.abs(gridMass((x) => cnf.logProb(x)) - 1)).toBeLessThan(1e-2);
  });

  it('takes a context through given()', () => {
    const cond = new ContinuousFlow(perturb(new ConcatSquashField(2, { rng, width: 8, contextDim: 1 }), rng, 0.5), 2, {
      contextDim: 1,
    });
    const q = cond.given(tensor([[0.3], [-1]]));
    const { x, logProb } = q.sampleAndLogProb(2, new Rng(3));
    expect(x.shape).toEqual([2, 2, 2]);
    const back = q.logProb(x).dataSync();
    logProb.dataSync().forEach((v, i) => void expect(Math.abs(v - back[i])).toBeLessThan(1e-3));
    const mass = gridMass((pts) => cond.given(full([pts.shape[0], 1], 0.3)).logProb(pts));
    expect(Math.abs(mass - 1)).toBeLessThan(1e-2);
  });

  it('trains by maximum likelihood (second order through the exact divergence): held-out NLL drops', () => {
    const r = new Rng(4);
    const flow = new ContinuousFlow(new ConcatSquashField(2, { rng: r, width: 16, depth: 1 }), 2, {
      solver: { method: 'rk4', steps: 4 },
    });
    const test = moons(500, new Rng(5));
    const before = noGrad(() => flow.logProb(test).mean().dataSync()[0]);
    fitFlow(flow, moons(1000, new Rng(6)), { rng: r, steps: 40, batchSize: 64, lr: 1e-2 });
    const after = noGrad(() => flow.logProb(test).mean().dataSync()[0]);
    expect(after).toBeGreaterThan(before + 0.3);
  });
});

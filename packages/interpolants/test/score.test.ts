import { full, JouleError, Rng, randn, type Tensor, tensor } from '@joule/tensor';
import { describe, expect, it } from 'vitest';
import {
  driftFromScore,
  InterpolantFlow,
  StochasticInterpolant,
  sampleSde,
  scoreFromEnergy,
  sqrtGamma,
  type TimeEnergy,
  velocityFromScore,
} from '../src/index.js';
import { gaussianFields } from './gaussian.js';

const mean = [1, -2];
const std = [0.5, 1.5];

const cases = [
  new StochasticInterpolant({ schedule: 'linear' }),
  new StochasticInterpolant({ schedule: 'trigonometric' }),
  new StochasticInterpolant({ schedule: 'linear', gamma: sqrtGamma(0.5) }),
];

/** The exact energy of ρ_t for x1 ~ N(mean, diag(std²)): ½ Σ_j (x_j − β m_j)² / σ_j²(t), up to a constant. */
function gaussianEnergy(I: StochasticInterpolant): TimeEnergy {
  return (x, t) => {
    const ts = Array.from(t.dataSync());
    const n = ts.length;
    const centre = new Float32Array(n * 2);
    const precision = new Float32Array(n * 2);
    ts.forEach((ti, i) => {
      const k = I.coefficients(ti);
      for (let j = 0; j < 2; j++) {
        centre[i * 2 + j] = k.beta * mean[j];
        precision[i * 2 + j] = 1 / (k.alpha ** 2 + k.beta ** 2 * std[j] ** 2 + k.gamma ** 2);
      }
    });
    return x
      .sub(tensor(centre, [n, 2]))
      .square()
      .mul(tensor(precision, [n, 2]))
      .sum(1)
      .mul(0.5);
  };
}

const rows = (x: Tensor) => x.toArray() as number[][];

function momentsWithin(x: number[][]) {
  const n = x.length;
  for (let j = 0; j < 2; j++) {
    const m = x.reduce((a, r) => a + r[j], 0) / n;
    const v = x.reduce((a, r) => a + (r[j] - m) ** 2, 0) / (n - 1);
    // 5 standard errors: s/√n for the mean, s²√(2/(n−1)) for the variance.
    expect(Math.abs(m - mean[j])).toBeLessThan((5 * std[j]) / Math.sqrt(n));
    expect(Math.abs(v - std[j] ** 2)).toBeLessThan(5 * std[j] ** 2 * Math.sqrt(2 / (n - 1)));
  }
}

describe('score and drift from an energy family', () => {
  it.each(cases.map((I) => [`${I.schedule.name}/${I.gammaSchedule.name}`, I] as const))(
    'scoreFromEnergy is −∇E and velocityFromScore recovers the exact velocity (%s)',
    (_, I) => {
      const { velocity, score } = gaussianFields(I, mean, std);
      const n = 64;
      const x = randn([n, 2], new Rng(3), 0, 2);
      const t = tensor(
        Float32Array.from({ length: n }, (_, i) => 0.05 + (0.95 * i) / (n - 1)),
        [n, 1],
      );
      const s = scoreFromEnergy(gaussianEnergy(I));
      const [got, want] = [s(x, t), score(x, t)].map(rows);
      const b = velocityFromScore(I, s);
      const [gotV, wantV] = [b(x, t), velocity(x, t)].map(rows);
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < 2; j++) {
          // float32 arithmetic on O(10) values.
          expect(Math.abs(got[i][j] - want[i][j])).toBeLessThan(1e-4 * (1 + Math.abs(want[i][j])));
          expect(Math.abs(gotV[i][j] - wantV[i][j])).toBeLessThan(1e-3 * (1 + Math.abs(wantV[i][j])));
        }
      }
    },
  );

  it('the score of an energy matches central finite differences of the energy (float64)', () => {
    // E(x, t) = t·(x₀² x₁ + sin x₁) + x₀⁴ / 4: a non-quadratic energy with a t dependence.
    const energy: TimeEnergy = (x, t) => {
      const [a, b] = [0, 1].map((j) => x.slice([0, j], [x.shape[0], 1]).reshape([x.shape[0]]));
      const tt = t.reshape([t.shape[0]]);
      return a.square().mul(b).add(b.sin()).mul(tt).add(a.square().square().mul(0.25));
    };
    const f64 = (p: number[], t: number) => t * (p[0] ** 2 * p[1] + Math.sin(p[1])) + p[0] ** 4 / 4;
    const pts = [
      [0.3, -1.2],
      [1.1, 0.4],
      [-0.7, 2.0],
    ];
    const ts = [0.2, 0.6, 0.9];
    const s = rows(scoreFromEnergy(energy)(tensor(pts), tensor(ts, [3, 1])));
    const h = 1e-5;
    pts.forEach((p, i) => {
      for (let j = 0; j < 2; j++) {
        const up = [...p];
        const down = [...p];
        up[j] += h;
        down[j] -= h;
        const fd = -(f64(up, ts[i]) - f64(down, ts[i])) / (2 * h);
        expect(Math.abs(s[i][j] - fd)).toBeLessThan(1e-4 * (1 + Math.abs(fd)));
      }
    });
  });

  it('driftFromScore adds ε·s to the velocity and gives √(2ε) diffusion', () => {
    const I = cases[2];
    const { velocity, score } = gaussianFields(I, mean, std);
    const eps = (t: number) => 0.5 * t;
    const { drift, diffusion } = driftFromScore(I, score, { velocity, epsilon: eps });
    const x = randn([8, 2], new Rng(4));
    const t = full([8, 1], 0.4);
    const [got, v, s] = [drift(x, t), velocity(x, t), score(x, t)].map(rows);
    got.forEach((r, i) => {
      for (let j = 0; j < 2; j++) expect(r[j]).toBeCloseTo(v[i][j] + 0.2 * s[i][j], 5);
    });
    expect(diffusion(0.4)).toBeCloseTo(Math.sqrt(0.4), 12);
    expect(() => driftFromScore(I, score, { epsilon: -1 }).diffusion(0.5)).toThrow(/epsilon/);
    expect(() => velocityFromScore(I, score)(x, full([8, 1], 0))).toThrow(JouleError);
    expect(() => scoreFromEnergy((y) => y)(x, t)).toThrow(/energy/);
  });

  it("samples the target by the paper's Algorithm 4 (flow to t = 0.5, then the SDE with the energy's score)", () => {
    const I = cases[1];
    const { velocity } = gaussianFields(I, mean, std);
    const score = scoreFromEnergy(gaussianEnergy(I));
    const n = 3000;
    const rng = new Rng(13);
    const start = new InterpolantFlow(velocity, 2, { steps: 25, t1: 0.5 }).sample(n, rng);
    // Stage 2 with the learned velocity's stand-in v and the energy score, and with the velocity
    // derived from the score alone: both keep the marginals ρ_t, so both end at the target.
    const viaVelocity = sampleSde(velocity, score, 2, n, rng, { t0: 0.5, start, steps: 100, epsilon: 0.3 });
    momentsWithin(rows(viaVelocity));
    const fromScore = velocityFromScore(I, score);
    const viaScore = sampleSde(fromScore, score, 2, n, rng, { t0: 0.5, start, steps: 100, epsilon: 0.3 });
    momentsWithin(rows(viaScore));
    expect(() => sampleSde(velocity, score, 2, n, rng, { t0: 0.5, start: randn([4, 2], rng) })).toThrow(/start/);
  });
});

import { GaussianMixture } from '@joule/distributions';
import { Rng } from '@joule/tensor';
import { describe, expect, it } from 'vitest';
import { GaussianDensity, JeffreysEstimator, type JeffreysOptions, RadialBasisEnergy } from '../src/index.js';

// The paper digest's 1-D end-to-end oracle for Algorithm 3 (/work/shared/specs/002_jeffreys.md §4.3,
// pass criteria §4.4): π = ½N(−2, 0.5²) + ½N(2, 0.5²), N = 800 points, full batch; p_θ = N(μ, σ²)
// from (μ, log σ) = (0.3, 0); −E_ψ(x) = Σ_k ψ_k exp(−(x − c_k)²/(2·0.5²)) + ψ_0 − x²/50 with
// c = linspace(−6, 6, 25) and ψ_0 giving ζ = 1; Adam (0, 0.9), lr θ 1e-3, ψ 1e-4; λ lr 1e-4
// (plain resilient form, the digest's unscaled "Dual" row), ζ-λ lr 1e-3, ε_ζ 0.1, λ₀ 0.01, M = 1000.
//
// The digest's run is 30,000 iterations (~3 ms each here: ~90 s of CPU), too long for the suite, so
// this test runs the first 5000 (~20 s) and asserts the one §4.4 criterion whose window has opened by
// then: ζ̂ ∈ [0.95, 1.5] at every 5k checkpoint from 5k on. The others do not apply at 5k: the
// [1.0, 1.2] window opens at 15k; the no-ζ-constraint drift (ζ > 3) is stated at 30k (§4.3: ζ ≈ 1.1
// at 5k); p's sd and q's NLL are end-of-run criteria, and at 5k ψ (lr 1e-4) is mid-transient: q is
// still broader than the data, and p, pulled toward it by λ_rv KL(p ‖ q), sits ~5 % wider than the
// maximum-likelihood fit. The full 30k setting for seeds 0–2, with every criterion, is
// bench/papers/jeffreys/toy1d.mjs (results in its README); this test is its seed-0 prefix, number
// for number.
const CENTRES = Array.from({ length: 25 }, (_, k) => [-6 + k * 0.5]);
const SETTINGS: JeffreysOptions = {
  method: 'dual',
  isSamples: 1000,
  lrFlow: 1e-3,
  lrEnergy: 1e-4,
  betas: [0, 0.9],
  epsZeta: 0.1,
  baseline: false,
  dual: { lr: 1e-4, lrZeta: 1e-3, init: 0.01, negativeNll: false },
};

describe('JeffreysEstimator on the digest’s 1-D oracle (§4.3)', () => {
  it('keeps ζ̂ in [0.95, 1.5] at the 5k checkpoint (seed 0, first 5000 of the 30,000 iterations)', async () => {
    const seed = 0;
    const root = new Rng(seed);
    const target = new GaussianMixture([[-2], [2]], [0.5, 0.5]);
    const data = target.sample(800, root.split());
    const est = new JeffreysEstimator(
      new GaussianDensity(1, { mean: [0.3], logStd: [0] }),
      new RadialBasisEnergy(CENTRES, { bandwidth: 0.5, confinement: 1 / 50 }),
      SETTINGS,
    );
    const rng = new Rng(100 + seed);
    let stats: Record<string, number> = {};
    for (let t = 1; t <= 5000; t++) stats = await est.step(data, rng);
    expect(est.state().iteration).toBe(5000);
    expect(stats.zeta).toBeGreaterThanOrEqual(0.95);
    expect(stats.zeta).toBeLessThanOrEqual(1.5);
  });
});

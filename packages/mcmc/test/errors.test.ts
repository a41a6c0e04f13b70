import { JouleError } from '@joule/core';
import { Rng, type Tensor, tensor, where } from '@joule/tensor';
import { describe, expect, it } from 'vitest';
import { annealedLangevin, gradientDescent, hmc, mala, nuts, sample, ula, underdampedLangevin } from '../src/index.js';

const quadratic = (x: Tensor) => x.square().sum(1).mul(0.5);

describe('invalid options', () => {
  it.each([0, -0.1, Number.NaN, Number.POSITIVE_INFINITY])('rejects step size %s for every kernel', (stepSize) => {
    const makers = [
      () => ula({ stepSize }),
      () => mala({ stepSize }),
      () => hmc({ stepSize, numSteps: 5 }),
      () => nuts({ stepSize }),
      () => underdampedLangevin({ stepSize, friction: 1 }),
      () => annealedLangevin({ stepSize, levels: [1], stepsPerLevel: 1 }),
      () => gradientDescent({ stepSize }),
    ];
    for (const make of makers) {
      expect(make).toThrow(JouleError);
      expect(make).toThrow(/stepSize/);
    }
  });

  it('rejects other bad parameters with the argument named', () => {
    expect(() => hmc({ stepSize: 0.1, numSteps: 0 })).toThrow(/numSteps/);
    expect(() => nuts({ stepSize: 0.1, maxDepth: 0 })).toThrow(/maxDepth/);
    expect(() => underdampedLangevin({ stepSize: 0.1, friction: -1 })).toThrow(/friction/);
    expect(() => annealedLangevin({ stepSize: 0.1, levels: [2, 0], stepsPerLevel: 3 })).toThrow(/levels\[1\]/);
    expect(() => mala({ stepSize: 0.1, inverseMassDiag: [1, -2] })).toThrow(/inverseMassDiag/);
    expect(() => mala({ stepSize: 0.1, inverseMassDiag: [1, 2, 3] }).init(tensor([[0, 0]]), quadratic)).toThrow(/3/);
  });
});

describe('invalid shapes and energies', () => {
  it('names x when it is not [n, d]', () => {
    expect(() => mala({ stepSize: 0.1 }).init(tensor([1, 2, 3]), quadratic)).toThrow(/'x'.*\[n, d\].*\[3\]/);
  });

  it('names the context when its batch differs from x', () => {
    const x = tensor([[0], [1]]);
    expect(() => ula({ stepSize: 0.1 }).init(x, quadratic, tensor([[1], [2], [3]]))).toThrow(/context.*n = 2/);
  });

  it('names the energy when it returns the wrong shape', () => {
    const bad = (x: Tensor) => x.square();
    expect(() =>
      hmc({ stepSize: 0.1, numSteps: 2 }).init(
        tensor([
          [0, 1],
          [1, 2],
        ]),
        bad,
      ),
    ).toThrow(/energy.*shape \[2\].*\[2, 2\]/);
  });

  it('names the chain whose starting energy is NaN', () => {
    const nanAtThree = (x: Tensor) => quadratic(x).add(tensor([0, 0, 0, Number.NaN, 0]));
    expect(() => mala({ stepSize: 0.1 }).init(tensor(new Float32Array(10), [5, 2]), nanAtThree)).toThrow(
      /NaN for chain 3/,
    );
  });
});

describe('non-finite proposals', () => {
  /** A quadratic energy whose value becomes NaN on chain 3 once x has moved away from 0. */
  const poisonedEnergy = (x: Tensor) => {
    const rows = tensor([0, 0, 0, 1, 0]);
    const moved = x.abs().sum(1).gt(0).mul(rows);
    return where(moved, Number.NaN, quadratic(x));
  };

  it('are rejected by the kernel, flagged, and never propagated', () => {
    for (const kernel of [
      ula({ stepSize: 0.1 }),
      mala({ stepSize: 0.1 }),
      hmc({ stepSize: 0.1, numSteps: 3 }),
      nuts({ stepSize: 0.1, maxDepth: 3 }),
      underdampedLangevin({ stepSize: 0.1, friction: 1 }),
    ]) {
      const x0 = tensor(new Float32Array(10), [5, 2]);
      const state = kernel.init(x0, poisonedEnergy);
      const { state: next, info } = kernel.step(new Rng(0), state as never) as {
        state: { x: Tensor; energy: Tensor };
        info: { nonFinite: Tensor; accepted: Tensor };
      };
      expect(Array.from(info.nonFinite.dataSync())).toEqual([0, 0, 0, 1, 0]);
      expect(info.accepted.dataSync()[3]).toBe(0);
      expect(Array.from(next.x.dataSync().slice(6, 8))).toEqual([0, 0]);
      expect(Array.from(next.energy.dataSync()).every(Number.isFinite)).toBe(true);
    }
  });

  it('stop the sample driver with the chain index and the step', async () => {
    const x0 = tensor(new Float32Array(10), [5, 2]);
    await expect(sample(mala({ stepSize: 0.1 }), poisonedEnergy, x0, { steps: 10, rng: new Rng(0) })).rejects.toThrow(
      /chain 3 .*step 0/,
    );
  });

  it('are counted per chain when the driver is asked to reject them', async () => {
    const x0 = tensor(new Float32Array(10), [5, 2]);
    const result = await sample(ula({ stepSize: 0.1 }), poisonedEnergy, x0, {
      steps: 10,
      rng: new Rng(0),
      onNonFinite: 'reject',
    });
    expect(Array.from(result.nonFiniteCount)).toEqual([0, 0, 0, 10, 0]);
    expect(Array.from(result.chainAcceptanceRate)).toEqual([1, 1, 1, 0, 1]);
  });
});

describe('sample driver', () => {
  it('is reproducible from a seed and differs across seeds', async () => {
    const run = async (seed: number) => {
      const x0 = tensor([
        [0.5, -0.5],
        [1, 1],
        [0, 2],
      ]);
      const { draws } = await sample(nuts({ stepSize: 0.4 }), quadratic, x0, {
        steps: 8,
        burnIn: 2,
        thin: 2,
        rng: new Rng(seed),
      });
      return Array.from(await draws.data());
    };
    const a = await run(7);
    expect(await run(7)).toEqual(a);
    expect(await run(8)).not.toEqual(a);
  });

  it('keeps ⌊steps / thin⌋ draws after burn-in and reports every step', async () => {
    const steps: boolean[] = [];
    const { draws } = await sample(ula({ stepSize: 0.1 }), quadratic, tensor([[0], [1]]), {
      steps: 7,
      burnIn: 3,
      thin: 2,
      rng: new Rng(0),
      onStep: ({ burnIn }) => void steps.push(burnIn),
    });
    expect(draws.shape).toEqual([3, 2, 1]);
    expect(steps).toEqual([true, true, true, false, false, false, false, false, false, false]);
  });

  it('validates its options', async () => {
    const x0 = tensor([[0]]);
    await expect(sample(ula({ stepSize: 0.1 }), quadratic, x0, { steps: 0, rng: new Rng(0) })).rejects.toThrow(/steps/);
    await expect(sample(ula({ stepSize: 0.1 }), quadratic, x0, { steps: 5, thin: 0, rng: new Rng(0) })).rejects.toThrow(
      /thin/,
    );
    await expect(
      sample(ula({ stepSize: 0.1 }), quadratic, x0, { steps: 5, burnIn: -1, rng: new Rng(0) }),
    ).rejects.toThrow(/burnIn/);
  });

  it('continues from a state it does not own', async () => {
    const kernel = mala({ stepSize: 0.2 });
    const state = kernel.init(tensor([[0], [1]]), quadratic);
    await sample(kernel, quadratic, state, { steps: 5, rng: new Rng(0) });
    expect(state.x.isDisposed).toBe(false);
    expect(Array.from(state.x.dataSync())).toEqual([0, 1]);
  });
});

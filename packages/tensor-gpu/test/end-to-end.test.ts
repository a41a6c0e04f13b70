import {
  type Backend,
  CpuBackend,
  concat,
  dispose,
  grad,
  memory,
  Rng,
  rand,
  randn,
  setBackend,
  type Tensor,
  tidy,
  valueAndGrad,
} from '@joule/tensor';
import { afterAll, describe, expect, it } from 'vitest';
import { GpuBackend } from '../src/index.js';

interface Params {
  w1: Tensor;
  b1: Tensor;
  w2: Tensor;
  b2: Tensor;
  w3: Tensor;
  b3: Tensor;
}

/** A 2-16-16-1 SiLU MLP energy: `[n, 2] -> [n]`. */
const energy = (p: Params, x: Tensor): Tensor =>
  x.matmul(p.w1).add(p.b1).silu().matmul(p.w2).add(p.b2).silu().matmul(p.w3).add(p.b3).reshape([-1]);

/** Logistic (binary NCE) loss: data should get low energy, uniform noise high energy. */
const loss = (p: Params, data: Tensor, noise: Tensor): Tensor =>
  energy(p, data).softplus().mean().add(energy(p, noise).neg().softplus().mean());

const STEPS = 200;
const LANGEVIN_STEPS = 100;
const LR = 0.1;
const ETA = 0.01;

/** Trains the energy for STEPS SGD steps, then runs ULA from seeded points: everything on `backend`. */
async function run(backend: Backend): Promise<{ losses: number[]; endpoint: Float32Array }> {
  setBackend(backend);
  const rng = new Rng(42);
  // data on a noisy ring of radius 2, noise uniform on [-3, 3]²
  const data = tidy(() => {
    const angle = rand([128, 1], rng, 0, 2 * Math.PI);
    const radius = randn([128, 1], rng, 2, 0.1);
    return concat([angle.cos().mul(radius), angle.sin().mul(radius)], 1);
  });
  const noise = rand([128, 2], rng, -3, 3);
  let p: Params = {
    w1: randn([2, 16], rng, 0, 0.7),
    b1: randn([16], rng, 0, 0.1),
    w2: randn([16, 16], rng, 0, 0.25),
    b2: randn([16], rng, 0, 0.1),
    w3: randn([16, 1], rng, 0, 0.25),
    b3: randn([1], rng, 0, 0.1),
  };
  const step = valueAndGrad(loss);
  const losses: number[] = [];
  for (let i = 0; i < STEPS; i++) {
    const { value, grad: g } = step(p, data, noise);
    losses.push((await value.data())[0]);
    const next = tidy(() => ({
      w1: p.w1.sub(g.w1.mul(LR)),
      b1: p.b1.sub(g.b1.mul(LR)),
      w2: p.w2.sub(g.w2.mul(LR)),
      b2: p.b2.sub(g.b2.mul(LR)),
      w3: p.w3.sub(g.w3.mul(LR)),
      b3: p.b3.sub(g.b3.mul(LR)),
    }));
    dispose([p, g, value]);
    p = next;
  }
  // unadjusted Langevin: x ← x − η ∇E(x) + √(2η) ξ, the same ξ stream on both backends
  const force = grad((x: Tensor) => energy(p, x).sum());
  let x = randn([64, 2], rng);
  for (let i = 0; i < LANGEVIN_STEPS; i++) {
    const next = tidy(() => {
      const g = force(x);
      return x.sub(g.mul(ETA)).add(randn([64, 2], rng, 0, Math.sqrt(2 * ETA)));
    });
    x.dispose();
    x = next;
  }
  const endpoint = await x.data();
  dispose([p, data, noise, x]);
  return { losses, endpoint };
}

describe('end to end: gpu.js headlessgl against the CPU backend', () => {
  afterAll(() => setBackend(new CpuBackend()));

  it('an MLP energy trained for 200 steps follows the same loss curve, and Langevin ends in the same place', async () => {
    const gpu = await GpuBackend.create({ mode: 'headlessgl' });
    const before = memory();
    const onGpu = await run(gpu);
    // every tensor of the run was released (textures deleted through free)
    expect(memory()).toEqual(before);
    const onCpu = await run(new CpuBackend());
    // Both runs do the same float32 arithmetic up to the order of sums and the last bits of
    // exp/log in the shaders (relative 1e-6 per op); training amplifies that slowly. Tolerances:
    // 1e-3 on losses of order 1 and 1e-3 on Langevin coordinates of order 2 (|x| ≲ 3).
    let worstLoss = 0;
    for (let i = 0; i < STEPS; i++) worstLoss = Math.max(worstLoss, Math.abs(onGpu.losses[i] - onCpu.losses[i]));
    expect(worstLoss).toBeLessThan(1e-3);
    // the curve is a real training curve: the loss fell
    expect(onCpu.losses[STEPS - 1]).toBeLessThan(onCpu.losses[0] - 0.1);
    let worstPoint = 0;
    for (let i = 0; i < onCpu.endpoint.length; i++) {
      worstPoint = Math.max(worstPoint, Math.abs(onGpu.endpoint[i] - onCpu.endpoint[i]));
    }
    expect(worstPoint).toBeLessThan(1e-3);
    console.log(
      `loss ${onCpu.losses[0].toFixed(4)} -> ${onCpu.losses[STEPS - 1].toFixed(4)}; worst |Δloss| ${worstLoss.toExponential(2)}, worst |Δx| ${worstPoint.toExponential(2)}`,
    );
    gpu.destroy();
  }, 600_000);
});

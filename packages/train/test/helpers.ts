import type { ConditionalBatch, Distribution, Estimator, Metric } from '@joule/core';
import { dispose, grad, type Rng, randn, type Tensor, tensor, tidy } from '@joule/tensor';

/** What can go wrong in {@link GaussianMeanEstimator}, to test the NaN/Inf guard. */
export interface Rig {
  /** Report a NaN `loss` at this step. */
  nanLossAt?: number;
  /** Turn the parameter into +Inf at this step (the reported loss stays finite). */
  infParameterAt?: number;
}

/**
 * A small deterministic estimator: E(x) = ½‖x − θ‖², trained by contrastive divergence with exact
 * model samples (x⁻ = θ + ε), and heavy-ball momentum; its state has a tensor, a typed array and
 * plain numbers, so a checkpoint round trip exercises every kind of leaf.
 */
export class GaussianMeanEstimator implements Estimator<Tensor> {
  readonly name = 'gaussian-mean';
  theta: Tensor;
  momentum: Float64Array;
  steps = 0;
  readonly seen: Int32Array[] = [];

  constructor(
    readonly dim: number,
    readonly rig: Rig = {},
    readonly lr = 0.1,
  ) {
    this.theta = tensor(new Float32Array(dim), [dim]);
    this.momentum = new Float64Array(dim);
  }

  readonly energy = (x: Tensor): Tensor => x.sub(this.theta).square().sum([1]).mul(0.5);

  async step(batch: Tensor, rng: Rng): Promise<Record<string, number>> {
    this.steps++;
    const n = batch.shape[0]!;
    const negatives = tidy(() => randn([n, this.dim], rng).add(this.theta));
    const loss = (theta: Tensor) => {
      const e = (x: Tensor) => x.sub(theta).square().sum([1]).mul(0.5).mean();
      return e(batch).sub(e(negatives));
    };
    const [valueT, gradT] = tidy(() => [loss(this.theta), grad(loss)(this.theta)]);
    const value = (await valueT!.data())[0]!;
    const g = await gradT!.data();
    dispose([valueT!, gradT!]);
    const theta = Float32Array.from(await this.theta.data());
    for (let i = 0; i < this.dim; i++) {
      this.momentum[i] = 0.5 * this.momentum[i]! + g[i]!;
      theta[i] = theta[i]! - this.lr * this.momentum[i]!;
    }
    if (this.rig.infParameterAt === this.steps) theta[0] = Number.POSITIVE_INFINITY;
    this.theta.dispose();
    this.theta = tensor(theta, [this.dim]);
    negatives.dispose();
    return { loss: this.rig.nanLossAt === this.steps ? Number.NaN : value, gradNorm: Math.hypot(...g) };
  }

  async sample(n: number, rng: Rng): Promise<Tensor> {
    return randn([n, this.dim], rng).add(this.theta);
  }

  state(): Record<string, unknown> {
    return {
      params: { theta: this.theta.stopGradient() },
      optimizer: { momentum: Float64Array.from(this.momentum), steps: this.steps },
    };
  }

  load(state: Record<string, unknown>): void {
    const s = state as { params: { theta: Tensor }; optimizer: { momentum: Float64Array; steps: number } };
    this.theta.dispose();
    this.theta = s.params.theta;
    this.momentum = Float64Array.from(s.optimizer.momentum);
    this.steps = s.optimizer.steps;
  }
}

/** Records the batches it is given (rows and contexts); its "loss" is the batch mean. */
export class RecordingEstimator implements Estimator<ConditionalBatch> {
  readonly name = 'recording';
  readonly batches: { x: Float32Array; context: Float32Array }[] = [];
  readonly energy = (x: Tensor): Tensor => x.sum([1]);

  async step(batch: ConditionalBatch): Promise<Record<string, number>> {
    const x = await batch.x.data();
    this.batches.push({ x: Float32Array.from(x), context: Float32Array.from(await batch.context.data()) });
    return { mean: x.reduce((a, b) => a + b, 0) / x.length };
  }

  state(): Record<string, unknown> {
    return {};
  }

  load(): void {}
}

/** A {@link Metric} named `name` (a function's `name` is read-only, so it is redefined). */
export function namedMetric(
  name: string,
  fn: (samples: Tensor, reference: Tensor | Distribution) => Promise<number>,
): Metric {
  return Object.defineProperty(fn, 'name', { value: name }) as Metric;
}

import type { ConditionalBatch, Estimator } from '@joule/core';
import { DiagNormal } from '@joule/distributions';
import { ContrastiveDivergence } from '@joule/estimator-cd';
import { CNCE, localNoise, NCE } from '@joule/estimator-cnce';
import { DSM } from '@joule/estimator-dsm';
import { GaussianDiffusion, GCD, linearBetas } from '@joule/estimator-gcd';
import { JarzynskiEstimator } from '@joule/estimator-jarzynski';
import { JeffreysEstimator } from '@joule/estimator-jeffreys';
import { RnceEstimator } from '@joule/estimator-rnce';
import { AffineCoupling, Flow } from '@joule/flows';
import { ula } from '@joule/mcmc';
import { Adam, ConditionalMLP, MLP, type ParamTree } from '@joule/nn';
import { concat, type Rng, randn, type Tensor } from '@joule/tensor';
import type { Schema, SettingValue } from './schema.js';

/** The estimator types the CLI trains: unconditional on `[b, d]` batches or conditional on `{ x, context }`. */
export type AnyEstimator = Estimator<Tensor> | Estimator<ConditionalBatch>;

/**
 * What an estimator factory receives: the dataset's shapes, the training points, a generator for
 * the initial weights and the estimator's validated options (defaults filled in).
 *
 * @example
 * ```ts
 * const est = estimatorRegistry.rnce!.build({ dim: 2, contextDim: 10, data, rng, options: { k: 15 } });
 * ```
 */
export interface BuildContext {
  /** Dimension of the points. */
  dim: number;
  /** Context features; 0 for an unconditional dataset. */
  contextDim: number;
  /** The training points `[N, d]` (for data-fitted noise or samplers). */
  data: Tensor;
  /** The generator for initial weights and walkers. */
  rng: Rng;
  /** The estimator's options, defaults filled in. */
  options: Record<string, SettingValue>;
}

/**
 * One estimator the CLI can build by name.
 *
 * @example
 * ```ts
 * const entry: EstimatorEntry = estimatorRegistry.cnce!;
 * console.log(entry.description, Object.keys(entry.options));
 * ```
 */
export interface EstimatorEntry {
  /** The name on the command line. */
  name: string;
  /** The package that implements it. */
  packageName: string;
  /** One line for `joule list`. */
  description: string;
  /** Whether it trains conditional energies `E(x | context)` too. */
  conditional: boolean;
  /** Its options (the `estimator` object of a configuration file). */
  options: Schema;
  /** Builds it with `context.options`. */
  build(context: BuildContext): AnyEstimator;
}

/** The energy network shared by the factories: `|x|²/(2s²) + MLP(x[, context])`, flattened to `[n]`. */
class EnergyNet {
  private readonly net: MLP | ConditionalMLP;
  private readonly baseScale: number;

  constructor(dim: number, contextDim: number, width: number, depth: number, rng: Rng) {
    const options = { rng, width, depth, zeroInitLast: true };
    this.net = contextDim > 0 ? new ConditionalMLP(dim, contextDim, 1, options) : new MLP(dim, 1, options);
    this.baseScale = 3;
  }

  parameters(): ParamTree {
    return this.net.parameters();
  }

  load(params: ParamTree): void {
    this.net.load(params);
  }

  apply(params: ParamTree, x: Tensor, context?: Tensor): Tensor {
    const out =
      this.net instanceof ConditionalMLP
        ? this.net.apply(params, x, context as Tensor)
        : (this.net as MLP).apply(params, x);
    const base = x
      .square()
      .sum([1])
      .mul(0.5 / this.baseScale ** 2);
    return out.reshape([x.shape[0]!]).add(base);
  }

  /** `log Z` of the initial energy (the MLP's last layer starts at zero): a Gaussian of scale s. */
  initialLogZ(dim: number): number {
    return (dim / 2) * Math.log(2 * Math.PI * this.baseScale ** 2);
  }
}

const network: Schema = {
  width: { type: 'int', default: 64, min: 1, max: 4096, description: 'hidden units per layer of the energy MLP' },
  depth: { type: 'int', default: 3, min: 1, max: 32, description: 'hidden layers of the energy MLP' },
  lr: { type: 'number', default: 1e-3, min: 1e-8, max: 1, description: 'Adam learning rate' },
};

const num = (o: Record<string, SettingValue>, key: string): number => o[key] as number;

function net(c: BuildContext): EnergyNet {
  return new EnergyNet(c.dim, c.contextDim, num(c.options, 'width'), num(c.options, 'depth'), c.rng);
}

/** Mean and per-coordinate standard deviation of the training points. */
function moments(data: Tensor): { mean: number[]; std: number[] } {
  const [n, d] = data.shape as [number, number];
  const v = data.dataSync();
  const mean = new Array<number>(d).fill(0);
  const sq = new Array<number>(d).fill(0);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j]! += v[i * d + j]! / n;
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) sq[j]! += (v[i * d + j]! - mean[j]!) ** 2 / n;
  return { mean, std: sq.map((s) => Math.sqrt(s)) };
}

/**
 * Hides an estimator's `sample` (IBC has none that works; CD's needs start points), so the CLI
 * samples it by ULA on its energy instead.
 */
function withoutSampler(est: AnyEstimator): AnyEstimator {
  const inner = est as Estimator<Tensor | ConditionalBatch>;
  const hidden: Estimator<Tensor | ConditionalBatch> = {
    name: inner.name,
    energy: inner.energy,
    step: (batch, rng) => inner.step(batch, rng),
    state: () => inner.state(),
    load: (state) => inner.load(state),
  };
  return hidden as AnyEstimator;
}

const rnce: EstimatorEntry = {
  name: 'rnce',
  packageName: '@joule/estimator-rnce',
  description: 'ranking NCE against a data-fitted Gaussian negative sampler; samples by Langevin from it',
  conditional: true,
  options: {
    ...network,
    // 3e-3 rather than the package's 1e-3: on the conditional pinwheel it reaches BC 0.97 in 1500 steps
    lr: { ...network.lr!, default: 3e-3 },
    k: { type: 'int', default: 15, min: 1, max: 1024, description: 'negatives per data point' },
    negativeScale: {
      type: 'number',
      default: 1.25,
      min: 0.01,
      max: 100,
      description: 'negative sampler std as a multiple of the data std',
    },
    langevinSteps: { type: 'int', default: 100, min: 0, max: 100000, description: 'ULA steps refining samples' },
    langevinStepSize: { type: 'number', default: 5e-3, min: 1e-8, max: 1, description: 'ULA step size' },
  },
  build(c) {
    const { mean, std } = moments(c.data);
    const scale = num(c.options, 'negativeScale');
    const est = new RnceEstimator(net(c), {
      negatives: new DiagNormal(
        mean,
        std.map((s) => s * scale),
      ),
      k: num(c.options, 'k'),
      lr: num(c.options, 'lr'),
      sampling: { steps: num(c.options, 'langevinSteps'), stepSize: num(c.options, 'langevinStepSize') },
    });
    return est as AnyEstimator;
  },
};

const ibc: EstimatorEntry = {
  name: 'ibc',
  packageName: '@joule/estimator-rnce',
  description: 'implicit behavioral cloning: InfoNCE with uniform negatives on a box (biased baseline)',
  conditional: true,
  options: {
    ...network,
    k: { type: 'int', default: 15, min: 1, max: 1024, description: 'negatives per data point' },
    boxHalfWidth: { type: 'number', default: 4.5, min: 0.01, max: 1000, description: 'negatives on [-w, w]^d' },
  },
  build(c) {
    const w = num(c.options, 'boxHalfWidth');
    const est = new RnceEstimator(net(c), {
      negatives: { low: new Array(c.dim).fill(-w), high: new Array(c.dim).fill(w) },
      k: num(c.options, 'k'),
      lr: num(c.options, 'lr'),
    });
    return withoutSampler(est as AnyEstimator);
  },
};

const cnce: EstimatorEntry = {
  name: 'cnce',
  packageName: '@joule/estimator-cnce',
  description: 'conditional NCE with local Gaussian noise pairs',
  conditional: false,
  options: {
    ...network,
    k: { type: 'int', default: 4, min: 1, max: 1024, description: 'noise pairs per data point' },
    sigma: { type: 'number', default: 0.3, min: 1e-6, max: 100, description: 'std of the local noise' },
  },
  build: (c) =>
    new CNCE(net(c), {
      noise: localNoise(num(c.options, 'sigma')),
      k: num(c.options, 'k'),
      optimizer: { lr: num(c.options, 'lr') },
    }),
};

const nce: EstimatorEntry = {
  name: 'nce',
  packageName: '@joule/estimator-cnce',
  description: 'binary NCE against a data-fitted Gaussian noise',
  conditional: false,
  options: {
    ...network,
    noiseRatio: { type: 'int', default: 4, min: 1, max: 1024, description: 'noise samples per data point' },
    noiseScale: {
      type: 'number',
      default: 1.25,
      min: 0.01,
      max: 100,
      description: 'noise std as a multiple of the data std',
    },
  },
  build(c) {
    const { mean, std } = moments(c.data);
    const scale = num(c.options, 'noiseScale');
    return new NCE(net(c), {
      noise: new DiagNormal(
        mean,
        std.map((s) => s * scale),
      ),
      noiseRatio: num(c.options, 'noiseRatio'),
      optimizer: { lr: num(c.options, 'lr') },
    });
  },
};

const dsm: EstimatorEntry = {
  name: 'dsm',
  packageName: '@joule/estimator-dsm',
  description: 'denoising score matching at one noise level',
  conditional: false,
  options: {
    ...network,
    sigma: { type: 'number', default: 0.1, min: 1e-6, max: 100, description: 'noise std' },
  },
  build: (c) => new DSM(net(c), { sigma: num(c.options, 'sigma'), optimizer: { lr: num(c.options, 'lr') } }),
};

const chainOptions: Schema = {
  mcmcSteps: { type: 'int', default: 20, min: 1, max: 10000, description: 'ULA steps per training step' },
  stepSize: { type: 'number', default: 1e-2, min: 1e-8, max: 1, description: 'ULA step size' },
};

function contrastiveDivergence(mode: 'cd' | 'pcd'): EstimatorEntry {
  return {
    name: mode,
    packageName: '@joule/estimator-cd',
    description:
      mode === 'cd'
        ? 'contrastive divergence: ULA chains started at the batch'
        : 'persistent contrastive divergence: ULA chains carried across steps',
    conditional: false,
    options: {
      ...network,
      ...chainOptions,
      ...(mode === 'pcd'
        ? { numChains: { type: 'int', default: 256, min: 1, max: 100000, description: 'persistent chains' } }
        : {}),
    },
    build(c) {
      const model = net(c);
      const params = model.parameters();
      const est = new ContrastiveDivergence({
        energy: (p: ParamTree, x: Tensor) => model.apply(p, x),
        params,
        optimizer: new Adam(params, { lr: num(c.options, 'lr') }),
        kernel: ula({ stepSize: num(c.options, 'stepSize') }),
        mcmcSteps: num(c.options, 'mcmcSteps'),
        mode,
        ...(mode === 'pcd' ? { numChains: num(c.options, 'numChains') } : {}),
      });
      return mode === 'cd' ? withoutSampler(est) : est;
    },
  };
}

const jarzynski: EstimatorEntry = {
  name: 'jarzynski',
  packageName: '@joule/estimator-jarzynski',
  description: 'Jarzynski-weighted ULA walkers (SMC) for the cross-entropy gradient',
  conditional: false,
  options: {
    ...network,
    walkers: { type: 'int', default: 512, min: 2, max: 100000, description: 'ULA walkers' },
    stepSize: { type: 'number', default: 1e-2, min: 1e-8, max: 1, description: 'ULA step size' },
    essThreshold: { type: 'number', default: 0.5, min: 0, max: 1, description: 'resample when ESS/n falls below' },
  },
  build(c) {
    const model = net(c);
    const params = model.parameters();
    // The MLP's last layer starts at zero, so the initial energy is the Gaussian base: the walkers
    // start as exact draws from it and log Z₀ is known.
    return new JarzynskiEstimator({
      energy: (p: ParamTree, x: Tensor) => model.apply(p, x),
      params,
      optimizer: new Adam(params, { lr: num(c.options, 'lr') }),
      walkers: randn([num(c.options, 'walkers'), c.dim], c.rng, 0, 3),
      logZ0: model.initialLogZ(c.dim),
      stepSize: num(c.options, 'stepSize'),
      essThreshold: num(c.options, 'essThreshold'),
    });
  },
};

const gcd: EstimatorEntry = {
  name: 'gcd',
  packageName: '@joule/estimator-gcd',
  description: 'generalized contrastive divergence: the energy against a few-step diffusion sampler trained by PPO',
  conditional: false,
  options: {
    ...network,
    diffusionSteps: { type: 'int', default: 5, min: 1, max: 1000, description: 'sampler steps T' },
    tau: { type: 'number', default: 1, min: 0, max: 100, description: 'temperature / entropy weight' },
    ppoUpdates: { type: 'int', default: 1, min: 1, max: 100, description: 'PPO updates per iteration' },
  },
  build(c) {
    const T = num(c.options, 'diffusionSteps');
    const width = num(c.options, 'width');
    const depth = num(c.options, 'depth');
    const lr = num(c.options, 'lr');
    const timed = (x: Tensor, t: Tensor) => concat([x, t.mul(1 / T)], 1);
    // policy mean x + MLP(x, t/T), starting at the identity; value MLP(x, t/T)
    const policyNet = new MLP(c.dim + 1, c.dim, { rng: c.rng, width, depth, zeroInitLast: true });
    const valueNet = new MLP(c.dim + 1, 1, { rng: c.rng, width, depth });
    const model = net(c);
    const policyParams = policyNet.parameters();
    const valueParams = valueNet.parameters();
    const energyParams = model.parameters();
    return new GCD({
      diffusion: new GaussianDiffusion(linearBetas(T)),
      policy: (p: ParamTree, x: Tensor, t: Tensor) => x.add(policyNet.apply(p, timed(x, t))),
      policyParams,
      policyOptimizer: new Adam(policyParams, { lr }),
      energy: (p: ParamTree, x: Tensor) => model.apply(p, x),
      energyParams,
      energyOptimizer: new Adam(energyParams, { lr }),
      value: (p: ParamTree, x: Tensor, t: Tensor) => valueNet.apply(p, timed(x, t)).reshape([-1]),
      valueParams,
      valueOptimizer: new Adam(valueParams, { lr }),
      tau: num(c.options, 'tau'),
      ppoUpdates: num(c.options, 'ppoUpdates'),
      dim: c.dim,
    });
  },
};

const jeffreys: EstimatorEntry = {
  name: 'jeffreys',
  packageName: '@joule/estimator-jeffreys',
  description: 'adaptive symmetrization of the KL: a RealNVP flow and the energy trained together, primal–dual',
  conditional: false,
  options: {
    ...network,
    main: {
      type: 'string',
      default: 'ebm',
      choices: ['ebm', 'flow'],
      description: 'the model whose Jeffreys divergence is minimized',
    },
    couplings: { type: 'int', default: 6, min: 1, max: 64, description: 'affine coupling layers of the flow' },
    flowLr: { type: 'number', default: 1e-3, min: 1e-8, max: 1, description: 'Adam learning rate of the flow' },
    isSamples: { type: 'int', default: 128, min: 1, max: 100000, description: 'importance samples for log Z' },
  },
  build(c) {
    const width = num(c.options, 'width');
    const flow = new Flow(
      Array.from(
        { length: num(c.options, 'couplings') },
        (_, i) => new AffineCoupling(c.dim, { rng: c.rng, keep: i % 2 === 0 ? 'first' : 'last', width, depth: 1 }),
      ),
    );
    return new JeffreysEstimator(flow, net(c), {
      main: c.options.main as 'ebm' | 'flow',
      lrFlow: num(c.options, 'flowLr'),
      lrEnergy: num(c.options, 'lr'),
      isSamples: num(c.options, 'isSamples'),
    });
  },
};

/**
 * The estimators `joule train --estimator <name>` knows, by name, each with its options and a
 * factory that builds it with sensible defaults for a dataset's dimension and context.
 *
 * @example
 * ```ts
 * import { estimatorRegistry } from '@joule/cli';
 *
 * for (const e of Object.values(estimatorRegistry)) console.log(e.name, e.packageName, e.description);
 * ```
 */
export const estimatorRegistry: Readonly<Record<string, EstimatorEntry>> = Object.freeze(
  Object.fromEntries(
    [
      rnce,
      ibc,
      cnce,
      nce,
      dsm,
      contrastiveDivergence('cd'),
      contrastiveDivergence('pcd'),
      jarzynski,
      gcd,
      jeffreys,
    ].map((e) => [e.name, e]),
  ),
);

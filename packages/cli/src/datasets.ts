import { type ConditionalToy, conditionalPinwheel, conditionalSpiral, type ToyName, toy2d } from '@joule/datasets';
import type { Rng, Tensor } from '@joule/tensor';

/**
 * A dataset the CLI can train on: 2-D points, with a context for the conditional ones.
 *
 * @example
 * ```ts
 * const ds = datasetRegistry['cond-pinwheel']!;
 * const { x, context } = ds.sample(1000, new Rng(0));
 * ```
 */
export interface DatasetEntry {
  /** The name on the command line. */
  name: string;
  /** One line for `joule list`. */
  description: string;
  /** Dimension of the points (2 for every toy). */
  dim: number;
  /** Context features of a conditional dataset; 0 when unconditional. */
  contextDim: number;
  /** Draws `n` training points (and their contexts). */
  sample(
    n: number,
    rng: Rng,
  ): {
    /** The points, `[n, d]`. */
    x: Tensor;
    /** Their contexts, `[n, c]`, for a conditional dataset. */
    context?: Tensor;
  };
  /** The contexts evaluated and plotted one panel each (conditional datasets only). */
  evaluationContexts?: EvaluationContext[];
}

/**
 * One context value of a conditional dataset: a label, the model's context for `n` rows, and `n`
 * true points drawn at it.
 *
 * @example
 * ```ts
 * const c: EvaluationContext = ds.evaluationContexts![0]!;
 * const truth = c.sample(1000, rng); // [1000, 2]
 * ```
 */
export interface EvaluationContext {
  /** The panel's label, e.g. `'spokes=4'`. */
  label: string;
  /** The model's context repeated `n` times, `[n, c]`. */
  context(n: number): Tensor;
  /** `n` true points at this context, `[n, 2]`. */
  sample(n: number, rng: Rng): Tensor;
}

const TOYS: [string, ToyName, string][] = [
  ['pinwheel', 'pinwheel', 'five-armed pinwheel (FFJORD toy)'],
  ['spirals', 'twoSpirals', 'two interleaved spirals'],
  ['rings', 'rings', 'four concentric rings'],
  ['moons', 'moons', 'two half moons'],
  ['8gaussians', 'eightGaussians', 'eight Gaussians on a circle (exact density)'],
  ['grid25', 'gaussianGrid', '5 × 5 grid of Gaussians (exact density)'],
  ['checkerboard', 'checkerboard', 'uniform on a checkerboard (exact density)'],
  ['swissroll', 'swissRoll', '2-D swiss roll'],
];

function unconditional(name: string, toyName: ToyName, description: string): DatasetEntry {
  const toy = toy2d(toyName);
  return { name, description, dim: 2, contextDim: 0, sample: (n, rng) => ({ x: toy.sample(n, rng) }) };
}

function conditional(name: string, toy: ConditionalToy, description: string, unit: string): DatasetEntry {
  return {
    name,
    description,
    dim: 2,
    contextDim: toy.contextDim,
    sample(n, rng) {
      const { x, context, value } = toy.sample(n, rng);
      value.dispose();
      return { x, context };
    },
    evaluationContexts: toy.evaluationValues.map((v) => ({
      label: `${unit}=${v}`,
      context: (n: number) => toy.context(new Float32Array(n).fill(v)),
      sample: (n: number, rng: Rng) => {
        const drawn = toy.sampleAt(v, n, rng);
        drawn.context.dispose();
        return drawn.x;
      },
    })),
  };
}

/**
 * The datasets `joule train --dataset <name>` knows, by name: the 2-D toys of `@joule/datasets` and
 * the R-NCE paper's conditional pinwheel and spiral.
 *
 * @example
 * ```ts
 * import { datasetRegistry } from '@joule/cli';
 *
 * for (const d of Object.values(datasetRegistry)) console.log(d.name, d.description);
 * ```
 */
export const datasetRegistry: Readonly<Record<string, DatasetEntry>> = Object.freeze(
  Object.fromEntries(
    [
      ...TOYS.map(([name, toyName, description]) => unconditional(name, toyName, description)),
      conditional(
        'cond-pinwheel',
        conditionalPinwheel(),
        'pinwheel with 4–7 spokes given the spoke count (R-NCE paper)',
        'spokes',
      ),
      conditional('cond-spiral', conditionalSpiral(), 'spiral given its curve length 400–800 (R-NCE paper)', 'length'),
    ].map((d) => [d.name, d]),
  ),
);

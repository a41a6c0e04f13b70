import { type Distribution, JouleError } from '@joule/core';
import { GaussianMixture } from '@joule/distributions';
import { type Rng, type Tensor, tensor } from '@joule/tensor';

/** Checks a sample size. */
export function checkCount(op: string, n: number): void {
  if (!Number.isInteger(n) || n <= 0) throw new JouleError(op, 'n', 'a positive integer', String(n));
}

/** Checks an optional positive finite number. */
export function checkPositive(op: string, arg: string, v: number): void {
  if (typeof v !== 'number' || !(v > 0) || !Number.isFinite(v))
    throw new JouleError(op, arg, 'a finite positive number', String(v));
}

/**
 * Options of {@link pinwheel} (the FFJORD / Johnson et al. pinwheel).
 *
 * @example
 * ```ts
 * import type { PinwheelOptions } from '@joule/datasets';
 *
 * const options: PinwheelOptions = { arms: 7 };
 * ```
 */
export interface PinwheelOptions {
  /** The number of arms (spokes), 5 by default. */
  arms?: number;
  /** The radial noise standard deviation, 0.3 by default. */
  radialStd?: number;
  /** The tangential noise standard deviation, 0.1 by default. */
  tangentialStd?: number;
  /** How fast the arms bend, 0.25 by default. */
  rate?: number;
}

/**
 * Draws `n` points of the pinwheel with `arms` spokes (FFJORD's `toy_data.py` "pinwheel", with the
 * arm drawn uniformly per point instead of equal counts): with `k ~ U{0, …, arms−1}`,
 * `f = (1 + radialStd·ε₁, tangentialStd·ε₂)`, `θ = 2πk/arms + rate·exp(f₁)`, the point is
 * `2·(f₁ cos θ + f₂ sin θ, −f₁ sin θ + f₂ cos θ)`. The support lies within radius ≈ 4.
 *
 * @example
 * ```ts
 * import { pinwheel } from '@joule/datasets';
 * import { Rng } from '@joule/tensor';
 *
 * const x = pinwheel(1000, new Rng(0)); // [1000, 2], 5 arms
 * ```
 */
export function pinwheel(n: number, rng: Rng, options: PinwheelOptions = {}): Tensor {
  const op = 'pinwheel';
  checkCount(op, n);
  const arms = options.arms ?? 5;
  if (!Number.isInteger(arms) || arms <= 0) throw new JouleError(op, 'arms', 'a positive integer', String(arms));
  return tensor(pinwheelPoints(op, new Float64Array(n).fill(arms), rng, options), [n, 2]);
}

/** Pinwheel points, one per entry of `arms` (the number of spokes for that point). */
export function pinwheelPoints(
  op: string,
  arms: ArrayLike<number>,
  rng: Rng,
  options: PinwheelOptions = {},
): Float32Array {
  const radialStd = options.radialStd ?? 0.3;
  const tangentialStd = options.tangentialStd ?? 0.1;
  const rate = options.rate ?? 0.25;
  checkPositive(op, 'radialStd', radialStd);
  checkPositive(op, 'tangentialStd', tangentialStd);
  checkPositive(op, 'rate', rate);
  const n = arms.length;
  const u = rng.uniform(n);
  const eps = rng.normal(2 * n);
  const out = new Float32Array(2 * n);
  for (let i = 0; i < n; i++) {
    const m = arms[i]!;
    const k = Math.min(m - 1, Math.floor(u[i]! * m));
    const f1 = 1 + radialStd * eps[2 * i]!;
    const f2 = tangentialStd * eps[2 * i + 1]!;
    const angle = (2 * Math.PI * k) / m + rate * Math.exp(f1);
    const c = Math.cos(angle);
    const s = Math.sin(angle);
    out[2 * i] = 2 * (f1 * c + f2 * s);
    out[2 * i + 1] = 2 * (-f1 * s + f2 * c);
  }
  return out;
}

/**
 * Options of {@link twoSpirals}.
 *
 * @example
 * ```ts
 * import type { SpiralOptions } from '@joule/datasets';
 *
 * const options: SpiralOptions = { degrees: 720, divisor: 4 };
 * ```
 */
export interface SpiralOptions {
  /** The angular extent of each arm in degrees, 540 by default (FFJORD). */
  degrees?: number;
  /** The arms are divided by this before the noise is added, 3 by default (FFJORD). */
  divisor?: number;
  /** The standard deviation of the Gaussian noise added at the end, 0.1 by default. */
  noise?: number;
}

/**
 * Draws `n` points of the two interleaved spirals (FFJORD's "2spirals", each point on either arm
 * with probability ½): with `u ~ U(0, 1)`, `t = √u · degrees · 2π/360`, the arm point is
 * `(−t cos t + ½u₁, t sin t + ½u₂)` (`u₁, u₂ ~ U(0, 1)`), negated for the second arm, divided by
 * `divisor`, plus `N(0, noise²)` noise.
 *
 * @example
 * ```ts
 * import { twoSpirals } from '@joule/datasets';
 * import { Rng } from '@joule/tensor';
 *
 * const x = twoSpirals(1000, new Rng(0)); // [1000, 2]
 * ```
 */
export function twoSpirals(n: number, rng: Rng, options: SpiralOptions = {}): Tensor {
  checkCount('twoSpirals', n);
  return tensor(spiralPoints('twoSpirals', new Float64Array(n).fill(options.degrees ?? 540), rng, options), [n, 2]);
}

/** Spiral points, one per entry of `degrees` (the angular extent for that point). */
export function spiralPoints(
  op: string,
  degrees: ArrayLike<number>,
  rng: Rng,
  options: SpiralOptions = {},
): Float32Array {
  const divisor = options.divisor ?? 3;
  const noise = options.noise ?? 0.1;
  checkPositive(op, 'divisor', divisor);
  checkPositive(op, 'noise', noise);
  const n = degrees.length;
  const u = rng.uniform(4 * n);
  const eps = rng.normal(2 * n);
  const out = new Float32Array(2 * n);
  for (let i = 0; i < n; i++) {
    const deg = degrees[i]!;
    if (!(deg > 0) || !Number.isFinite(deg))
      throw new JouleError(op, 'degrees', 'a finite positive angle', `${deg} at index ${i}`);
    const t = Math.sqrt(u[4 * i]!) * deg * ((2 * Math.PI) / 360);
    const sign = u[4 * i + 3]! < 0.5 ? 1 : -1;
    const ax = -Math.cos(t) * t + 0.5 * u[4 * i + 1]!;
    const ay = Math.sin(t) * t + 0.5 * u[4 * i + 2]!;
    out[2 * i] = (sign * ax) / divisor + noise * eps[2 * i]!;
    out[2 * i + 1] = (sign * ay) / divisor + noise * eps[2 * i + 1]!;
  }
  return out;
}

/**
 * Draws `n` points of four concentric noisy rings (FFJORD's "rings", with i.i.d. ring and angle
 * instead of evenly spaced ones): radius `3 · {1, ¾, ½, ¼}` chosen uniformly, angle uniform, then
 * `N(0, 0.08²)` noise.
 *
 * @example
 * ```ts
 * import { rings } from '@joule/datasets';
 * import { Rng } from '@joule/tensor';
 *
 * const x = rings(1000, new Rng(0)); // [1000, 2]
 * ```
 */
export function rings(n: number, rng: Rng): Tensor {
  checkCount('rings', n);
  const u = rng.uniform(2 * n);
  const eps = rng.normal(2 * n);
  const out = new Float32Array(2 * n);
  for (let i = 0; i < n; i++) {
    const r = 3 * (1 - 0.25 * Math.min(3, Math.floor(4 * u[2 * i]!)));
    const a = 2 * Math.PI * u[2 * i + 1]!;
    out[2 * i] = r * Math.cos(a) + 0.08 * eps[2 * i]!;
    out[2 * i + 1] = r * Math.sin(a) + 0.08 * eps[2 * i + 1]!;
  }
  return tensor(out, [n, 2]);
}

/**
 * Draws `n` points of the two moons (scikit-learn's `make_moons(noise=0.1)` mapped as FFJORD does,
 * `2x + (−1, −0.2)`, with the moon and the position along it drawn i.i.d.): the upper moon is
 * `(cos t, sin t)`, the lower `(1 − cos t, ½ − sin t)` with `t ~ U(0, π)`.
 *
 * @example
 * ```ts
 * import { moons } from '@joule/datasets';
 * import { Rng } from '@joule/tensor';
 *
 * const x = moons(1000, new Rng(0)); // [1000, 2]
 * ```
 */
export function moons(n: number, rng: Rng): Tensor {
  checkCount('moons', n);
  const u = rng.uniform(2 * n);
  const eps = rng.normal(2 * n);
  const out = new Float32Array(2 * n);
  for (let i = 0; i < n; i++) {
    const t = Math.PI * u[2 * i + 1]!;
    const upper = u[2 * i]! < 0.5;
    const x = upper ? Math.cos(t) : 1 - Math.cos(t);
    const y = upper ? Math.sin(t) : 0.5 - Math.sin(t);
    out[2 * i] = 2 * (x + 0.1 * eps[2 * i]!) - 1;
    out[2 * i + 1] = 2 * (y + 0.1 * eps[2 * i + 1]!) - 0.2;
  }
  return tensor(out, [n, 2]);
}

/**
 * Draws `n` points of the swiss roll (scikit-learn's `make_swiss_roll(noise=1)`, the x–z plane,
 * divided by 5 as FFJORD does): `t = 1.5π(1 + 2u)`, `((t cos t + ε₁) / 5, (t sin t + ε₂) / 5)`.
 *
 * @example
 * ```ts
 * import { swissRoll } from '@joule/datasets';
 * import { Rng } from '@joule/tensor';
 *
 * const x = swissRoll(1000, new Rng(0)); // [1000, 2]
 * ```
 */
export function swissRoll(n: number, rng: Rng): Tensor {
  checkCount('swissRoll', n);
  const u = rng.uniform(n);
  const eps = rng.normal(2 * n);
  const out = new Float32Array(2 * n);
  for (let i = 0; i < n; i++) {
    const t = 1.5 * Math.PI * (1 + 2 * u[i]!);
    out[2 * i] = (t * Math.cos(t) + eps[2 * i]!) / 5;
    out[2 * i + 1] = (t * Math.sin(t) + eps[2 * i + 1]!) / 5;
  }
  return tensor(out, [n, 2]);
}

/**
 * The "8 gaussians" toy as an exact {@link GaussianMixture} (FFJORD's constants): equal weights,
 * means `4·(cos(kπ/4), sin(kπ/4)) / 1.414`, standard deviation `0.5 / 1.414`.
 *
 * @example
 * ```ts
 * import { eightGaussians } from '@joule/datasets';
 * import { Rng } from '@joule/tensor';
 *
 * const p = eightGaussians();
 * const x = p.sample(1000, new Rng(0)); // [1000, 2]
 * const lp = p.logProb(x);              // exact
 * ```
 */
export function eightGaussians(): GaussianMixture {
  // biome-ignore lint/suspicious/noApproximativeNumericConstant: FFJORD divides by 1.414, not by √2
  const ffjordSqrt2 = 1.414;
  const means = Array.from({ length: 8 }, (_, k) => [
    (4 * Math.cos((k * Math.PI) / 4)) / ffjordSqrt2,
    (4 * Math.sin((k * Math.PI) / 4)) / ffjordSqrt2,
  ]);
  return new GaussianMixture(means, 0.5 / ffjordSqrt2);
}

/**
 * The 2-D 25-mode grid of the CNCE paper (after Schröder et al. 2023) as an exact
 * {@link GaussianMixture}: means `{−2, −1, 0, 1, 2}²`, standard deviation 0.1, equal weights.
 * Its entropy is `log(2πe·0.01) + log 25 ≈ 1.4516` nats.
 *
 * @example
 * ```ts
 * import { gaussianGrid } from '@joule/datasets';
 * import { Rng } from '@joule/tensor';
 *
 * const p = gaussianGrid();
 * const x = p.sample(1000, new Rng(0)); // [1000, 2]
 * ```
 */
export function gaussianGrid(): GaussianMixture {
  const means: number[][] = [];
  for (let i = -2; i <= 2; i++) for (let j = -2; j <= 2; j++) means.push([i, j]);
  return new GaussianMixture(means, 0.1);
}

/**
 * The checkerboard (FFJORD's): the uniform distribution on the 8 black cells of a 4×4 board of
 * 2×2 cells over `[−4, 4)²` (total area 32, so the density is `1/32` there and 0 elsewhere).
 * The cell `[2i−4, 2i−2) × [2j−4, 2j−2)` is black when `i + j` is even.
 * `logProb` is piecewise constant and carries no gradient (computed on the host).
 *
 * @example
 * ```ts
 * import { Checkerboard } from '@joule/datasets';
 * import { Rng, tensor } from '@joule/tensor';
 *
 * const p = new Checkerboard();
 * const x = p.sample(1000, new Rng(0)); // [1000, 2]
 * p.logProb(tensor([[-3, -3], [-1, -3]])); // [−log 32, −Infinity]
 * ```
 */
export class Checkerboard implements Distribution {
  /** Always 2. */
  readonly dim = 2;

  /**
   * `n` points, uniform on the black cells, `[n, 2]` (FFJORD's construction).
   *
   * @example
   * ```ts
   * const x = new Checkerboard().sample(10, rng);
   * ```
   */
  sample(n: number, rng: Rng): Tensor {
    checkCount('Checkerboard.sample', n);
    const u = rng.uniform(3 * n);
    const out = new Float32Array(2 * n);
    for (let i = 0; i < n; i++) {
      const x1 = 4 * u[3 * i]! - 2;
      const x2 = u[3 * i + 1]! - (u[3 * i + 2]! < 0.5 ? 0 : 2) + mod2(Math.floor(x1));
      out[2 * i] = 2 * x1;
      out[2 * i + 1] = 2 * x2;
    }
    return tensor(out, [n, 2]);
  }

  /**
   * `−log 32` on the black cells, `−Infinity` elsewhere (`[..., n, 2]` → `[..., n]`).
   *
   * @example
   * ```ts
   * const lp = new Checkerboard().logProb(x);
   * ```
   */
  logProb(x: Tensor): Tensor {
    if (x.rank < 1 || x.shape[x.rank - 1] !== 2) {
      throw new JouleError('Checkerboard.logProb', 'x', 'shape [..., n, 2]', `shape [${x.shape.join(', ')}]`);
    }
    const v = x.dataSync();
    const out = new Float32Array(v.length / 2);
    for (let i = 0; i < out.length; i++) {
      out[i] = onBlack(v[2 * i]!, v[2 * i + 1]!) ? -Math.log(32) : Number.NEGATIVE_INFINITY;
    }
    return tensor(out, x.shape.slice(0, -1));
  }
}

function mod2(k: number): number {
  return ((k % 2) + 2) % 2;
}

function onBlack(x: number, y: number): boolean {
  if (!(x >= -4 && x < 4 && y >= -4 && y < 4)) return false;
  const i = Math.floor((x + 4) / 2);
  const j = Math.floor((y + 4) / 2);
  return (i + j) % 2 === 0;
}

/**
 * The names of the 2-D toys in {@link toy2d}.
 *
 * @example
 * ```ts
 * import type { ToyName } from '@joule/datasets';
 *
 * const name: ToyName = 'pinwheel';
 * ```
 */
export type ToyName =
  | 'pinwheel'
  | 'twoSpirals'
  | 'rings'
  | 'moons'
  | 'eightGaussians'
  | 'gaussianGrid'
  | 'checkerboard'
  | 'swissRoll';

/**
 * A 2-D toy: a seeded sampler and, where one exists in closed form, the exact density.
 *
 * @example
 * ```ts
 * import { toy2d } from '@joule/datasets';
 *
 * const toy = toy2d('checkerboard');
 * const x = toy.sample(256, rng);
 * const lp = toy.density?.logProb(x);
 * ```
 */
export interface Toy2d {
  /** The toy's name. */
  readonly name: ToyName;
  /** Draws `n` points, `[n, 2]`. */
  sample(n: number, rng: Rng): Tensor;
  /** The exact density, for `eightGaussians`, `gaussianGrid` and `checkerboard`. */
  readonly density: Distribution | undefined;
}

/**
 * A 2-D toy by name, with its exact density when it has one (`eightGaussians`, `gaussianGrid`,
 * `checkerboard`); the others (pinwheel, spirals, rings, moons, swiss roll) have no closed form.
 *
 * @example
 * ```ts
 * import { toy2d } from '@joule/datasets';
 * import { Rng } from '@joule/tensor';
 *
 * const x = toy2d('moons').sample(500, new Rng(0)); // [500, 2]
 * ```
 */
export function toy2d(name: ToyName): Toy2d {
  const fromFn = (sample: (n: number, rng: Rng) => Tensor): Toy2d => ({ name, sample, density: undefined });
  const fromDensity = (density: Distribution): Toy2d => ({ name, sample: (n, rng) => density.sample(n, rng), density });
  switch (name) {
    case 'pinwheel':
      return fromFn((n, rng) => pinwheel(n, rng));
    case 'twoSpirals':
      return fromFn((n, rng) => twoSpirals(n, rng));
    case 'rings':
      return fromFn(rings);
    case 'moons':
      return fromFn(moons);
    case 'swissRoll':
      return fromFn(swissRoll);
    case 'eightGaussians':
      return fromDensity(eightGaussians());
    case 'gaussianGrid':
      return fromDensity(gaussianGrid());
    case 'checkerboard':
      return fromDensity(new Checkerboard());
    default:
      throw new JouleError(
        'toy2d',
        'name',
        'one of pinwheel, twoSpirals, rings, moons, eightGaussians, gaussianGrid, checkerboard, swissRoll',
        String(name),
      );
  }
}

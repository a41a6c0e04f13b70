/**
 * Pure drawing helpers: energies to RGBA pixels, points to canvas coordinates. No DOM here, so the
 * unit tests run them in Node.
 */

/** Colour stops of the density colormap (dark blue → teal → yellow, like viridis). */
const STOPS: readonly (readonly [number, number, number])[] = [
  [68, 1, 84],
  [59, 82, 139],
  [33, 145, 140],
  [94, 201, 98],
  [253, 231, 37],
];

/** The colormap at `t ∈ [0, 1]` (clamped), as `[r, g, b]`. */
export function colormap(t: number): [number, number, number] {
  const u = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0)) * (STOPS.length - 1);
  const i = Math.min(STOPS.length - 2, Math.floor(u));
  const f = u - i;
  const a = STOPS[i]!;
  const b = STOPS[i + 1]!;
  return [
    Math.round(a[0] + f * (b[0] - a[0])),
    Math.round(a[1] + f * (b[1] - a[1])),
    Math.round(a[2] + f * (b[2] - a[2])),
  ];
}

/**
 * RGBA pixels of the unnormalised density `exp(−E)` on a `resolution²` grid of energies, scaled so
 * the lowest energy is the brightest colour. Non-finite energies are drawn as zero density.
 */
export function densityPixels(energies: ArrayLike<number>, resolution: number): Uint8ClampedArray<ArrayBuffer> {
  const n = resolution * resolution;
  if (energies.length !== n) throw new Error(`expected ${n} energies, got ${energies.length}`);
  let min = Number.POSITIVE_INFINITY;
  for (let i = 0; i < n; i++) {
    const e = energies[i]!;
    if (Number.isFinite(e) && e < min) min = e;
  }
  const pixels = new Uint8ClampedArray(4 * n);
  for (let i = 0; i < n; i++) {
    const e = energies[i]!;
    const density = Number.isFinite(e) ? Math.exp(min - e) : 0;
    const [r, g, b] = colormap(Math.sqrt(density));
    pixels[4 * i] = r;
    pixels[4 * i + 1] = g;
    pixels[4 * i + 2] = b;
    pixels[4 * i + 3] = 255;
  }
  return pixels;
}

/** Maps a point of `[-extent, extent]²` to pixel coordinates of a `size × size` canvas (y up). */
export function toCanvas(x: number, y: number, extent: number, size: number): [number, number] {
  return [((x + extent) / (2 * extent)) * size, ((extent - y) / (2 * extent)) * size];
}

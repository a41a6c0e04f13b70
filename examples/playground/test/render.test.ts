import { describe, expect, test } from 'vitest';
import { colormap, densityPixels, toCanvas } from '../src/render.js';

describe('colormap', () => {
  test('runs from the first stop to the last and clamps outside [0, 1]', () => {
    expect(colormap(0)).toEqual([68, 1, 84]);
    expect(colormap(1)).toEqual([253, 231, 37]);
    expect(colormap(-3)).toEqual(colormap(0));
    expect(colormap(7)).toEqual(colormap(1));
    expect(colormap(Number.NaN)).toEqual(colormap(0));
  });

  test('interpolates linearly between stops', () => {
    // 0.125 is halfway between the first two of the five stops.
    expect(colormap(0.125)).toEqual([
      Math.round(68 + 0.5 * (59 - 68)),
      Math.round(1 + 0.5 * 81),
      Math.round(84 + 0.5 * 55),
    ]);
  });
});

describe('densityPixels', () => {
  test('the lowest energy is the brightest pixel, a non-finite energy the darkest, alpha is opaque', () => {
    const pixels = densityPixels([0, 2, Number.POSITIVE_INFINITY, -1], 2);
    expect(pixels.length).toBe(16);
    expect(Array.from(pixels.subarray(12, 16))).toEqual([...colormap(1), 255]);
    expect(Array.from(pixels.subarray(8, 12))).toEqual([...colormap(0), 255]);
    // exp(−(0 − (−1))) = e⁻¹, drawn at its square root.
    expect(Array.from(pixels.subarray(0, 3))).toEqual(colormap(Math.exp(-0.5)));
    expect(Array.from(pixels.subarray(4, 7))).toEqual(colormap(Math.exp(-1.5)));
  });

  test('only the energy differences matter', () => {
    const energies = [0.3, 1.7, -2, 5];
    expect(
      densityPixels(
        energies.map((e) => e + 100),
        2,
      ),
    ).toEqual(densityPixels(energies, 2));
  });

  test('rejects a grid of the wrong size', () => {
    expect(() => densityPixels([1, 2, 3], 2)).toThrow(/expected 4 energies, got 3/);
  });
});

describe('toCanvas', () => {
  test('maps the corners and the centre of the square, with y pointing up', () => {
    expect(toCanvas(-4, 4, 4, 480)).toEqual([0, 0]);
    expect(toCanvas(4, -4, 4, 480)).toEqual([480, 480]);
    expect(toCanvas(0, 0, 4, 480)).toEqual([240, 240]);
    expect(toCanvas(2, 1, 4, 100)).toEqual([75, 37.5]);
  });
});

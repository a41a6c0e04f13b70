/**
 * Node-only helpers of `@joule/viz`: PNG rendering through resvg (a native renderer). Import them
 * from `@joule/viz/node`, so browser bundles of `@joule/viz` never pull in the native module.
 *
 * @packageDocumentation
 */

import { JouleError } from '@joule/tensor';
import { Resvg } from '@resvg/resvg-js';

/**
 * Options of {@link svgToPng}.
 *
 * @example
 * ```ts
 * const options: PngOptions = { scale: 2, background: 'white' };
 * ```
 */
export interface PngOptions {
  /** Pixel density: 2 gives a PNG twice the SVG's width and height (default 2). */
  scale?: number;
  /** Background color (default `'white'`); `'transparent'` keeps the alpha channel. */
  background?: string;
}

/**
 * Renders an SVG (e.g. from `energyHeatmap`) to PNG bytes with resvg.
 *
 * @example
 * ```ts
 * import { scatterPlot } from '@joule/viz';
 * import { svgToPng } from '@joule/viz/node';
 * import { writeFile } from 'node:fs/promises';
 *
 * await writeFile('samples.png', svgToPng(await scatterPlot(samples, { data })));
 * ```
 */
export function svgToPng(svg: string, options: PngOptions = {}): Uint8Array {
  const { scale = 2, background = 'white' } = options;
  if (typeof svg !== 'string' || !svg.trimStart().startsWith('<svg'))
    throw new JouleError('svgToPng', 'svg', 'an SVG string', String(svg).slice(0, 40));
  if (!(scale > 0 && scale <= 16)) throw new JouleError('svgToPng', 'scale', 'a number in (0, 16]', String(scale));
  const resvg = new Resvg(svg, {
    fitTo: { mode: 'zoom', value: scale },
    font: { loadSystemFonts: true, defaultFontFamily: 'sans-serif' },
    ...(background === 'transparent' ? {} : { background }),
  });
  const png = resvg.render().asPng();
  return new Uint8Array(png.buffer, png.byteOffset, png.byteLength);
}

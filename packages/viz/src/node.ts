/**
 * Node-only helpers of `@joule/viz`: PNG rendering through resvg (a native renderer). Import them
 * from `@joule/viz/node`, so browser bundles of `@joule/viz` never pull in the native module.
 *
 * @packageDocumentation
 */

import { deflateSync, inflateSync } from 'node:zlib';
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
  return recompress(new Uint8Array(png.buffer, png.byteOffset, png.byteLength));
}

const CRC_TABLE = Uint32Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

/** CRC-32 of a PNG chunk's type and data, as the PNG format stores it. */
function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/**
 * The same image with its pixel data deflated at the highest zlib level, in one IDAT chunk: resvg
 * compresses for speed, and plots (flat colors, many repeated rows) shrink by a quarter this way,
 * which matters for reports that embed them.
 */
function recompress(png: Uint8Array): Uint8Array {
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  const before: Uint8Array[] = [];
  const after: Uint8Array[] = [];
  const idat: Uint8Array[] = [];
  for (let offset = 8; offset + 12 <= png.length; ) {
    const length = view.getUint32(offset);
    const chunk = png.subarray(offset, offset + 12 + length);
    const type = String.fromCharCode(...chunk.subarray(4, 8));
    if (type === 'IDAT') idat.push(chunk.subarray(8, 8 + length));
    else (idat.length === 0 ? before : after).push(chunk);
    offset += 12 + length;
  }
  const data = deflateSync(inflateSync(Buffer.concat(idat)), { level: 9 });
  const chunk = new Uint8Array(12 + data.length);
  const chunkView = new DataView(chunk.buffer);
  chunkView.setUint32(0, data.length);
  chunk.set([0x49, 0x44, 0x41, 0x54], 4); // 'IDAT'
  chunk.set(data, 8);
  chunkView.setUint32(8 + data.length, crc32(chunk.subarray(4, 8 + data.length)));
  return new Uint8Array(Buffer.concat([png.subarray(0, 8), ...before, chunk, ...after]));
}

import { JouleError } from '@joule/tensor';
import { parse, View } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

/**
 * Renders a Vega-Lite specification to an SVG string (headless: no DOM or canvas needed, so it
 * runs the same in Node and the browser). Every plot of this package goes through it; use it for
 * your own specifications too.
 *
 * @example
 * ```ts
 * import { renderSvg } from '@joule/viz';
 *
 * const svg = await renderSvg({
 *   data: { values: [{ a: 1, b: 2 }, { a: 2, b: 3 }] },
 *   mark: 'point',
 *   encoding: { x: { field: 'a', type: 'quantitative' }, y: { field: 'b', type: 'quantitative' } },
 * });
 * ```
 */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  if (spec === null || typeof spec !== 'object')
    throw new JouleError('renderSvg', 'spec', 'a Vega-Lite specification object', String(spec));
  const view = new View(parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

export type { TopLevelSpec } from 'vega-lite';

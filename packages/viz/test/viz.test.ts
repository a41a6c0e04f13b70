import { crc32 } from 'node:zlib';
import { JouleError, Rng, randn, type Tensor, tensor } from '@joule/tensor';
import { Resvg } from '@resvg/resvg-js';
import { describe, expect, it } from 'vitest';
import { energyHeatmap, histogram2d, htmlReport, renderSvg, scatterPlot, trainingCurves } from '../src/index.js';
import { svgToPng } from '../src/node.js';
import { attr, decodePng, findAll, markGroups, parseXml } from './svg.js';

const gaussian = (x: Tensor) =>
  x
    .sub(tensor([1, -1]))
    .square()
    .sum([1])
    .mul(0.5);

describe('energyHeatmap', () => {
  it('draws one rect per grid cell, colored by density', async () => {
    const svg = parseXml(await energyHeatmap(gaussian, { resolution: 16, domain: [-4, 4], title: 'N((1,-1), I)' }));
    expect(svg.name).toBe('svg');
    const [group, ...more] = markGroups(svg, 'rect');
    expect(more).toHaveLength(0);
    const cells = group!.children.filter((c) => c.name === 'path');
    expect(cells).toHaveLength(16 * 16);
    const fills = new Set(cells.map((c) => attr(c, 'fill')));
    expect(fills.size).toBeGreaterThan(10);
    const text = findAll(svg, (e) => e.name === 'text');
    expect(text.length).toBeGreaterThan(0);
  });

  it('draws one panel per context for a conditional energy', async () => {
    const shifted = (x: Tensor, context?: Tensor) => x.sub(context!).square().sum([1]).mul(0.5);
    const svg = parseXml(
      await energyHeatmap(shifted, {
        resolution: 8,
        show: 'energy',
        contexts: [
          { label: 'left', context: tensor([[-2, 0]]) },
          { label: 'right', context: tensor([2, 0]) },
        ],
      }),
    );
    const groups = markGroups(svg, 'rect');
    expect(groups).toHaveLength(2);
    for (const g of groups) expect(g.children.filter((c) => c.name === 'path')).toHaveLength(64);
    // The panels differ: the two contexts move the minimum.
    const fills = groups.map((g) => g.children.map((c) => attr(c, 'fill')).join());
    expect(fills[0]).not.toBe(fills[1]);
  });

  it('rejects bad arguments', async () => {
    await expect(energyHeatmap(gaussian, { domain: [1, -1] })).rejects.toThrow(/'domain'/);
    await expect(energyHeatmap(gaussian, { resolution: 0 })).rejects.toThrow(/'resolution'/);
    await expect(energyHeatmap('nope' as never)).rejects.toThrow(/'energy'/);
    await expect(energyHeatmap((x) => x, { resolution: 4 })).rejects.toThrow(/\[16\] energies/);
  });
});

describe('scatterPlot and histogram2d', () => {
  const data = randn([300, 2], new Rng(0));
  const samples = randn([200, 2], new Rng(1), 1, 0.5);

  it('draws the samples over the data, capped at maxPoints per set', async () => {
    const svg = parseXml(await scatterPlot(samples, { data, maxPoints: 250, title: 'samples vs data' }));
    // The plot's own mark group: 250 data points (capped) + 200 samples; the legend's two
    // symbols are in a separate `role-legend-symbol` group.
    const plotted = markGroups(svg, 'symbol').flatMap((g) => g.children.filter((c) => c.name === 'path'));
    expect(plotted).toHaveLength(450);
    expect(findAll(svg, (e) => /role-legend-symbol/.test(e.attrs)).length).toBeGreaterThan(0);
    const fills = new Set(plotted.map((c) => attr(c, 'fill')));
    expect(fills).toEqual(new Set(['#9e9e9e', '#d62728']));
  });

  it('bins the points into a 2-D histogram that counts every point inside the domain', async () => {
    const points = tensor([
      [0.1, 0.1],
      [0.2, 0.3],
      [-0.9, 0.9],
      [9, 9],
    ]);
    const svg = parseXml(await histogram2d(points, { bins: 2, domain: [-1, 1] }));
    const [group] = markGroups(svg, 'rect');
    // Two non-empty cells: (0.1,0.1) and (0.2,0.3) together, (−0.9,0.9) alone; (9,9) is outside.
    expect(group!.children.filter((c) => c.name === 'path')).toHaveLength(2);
    await expect(histogram2d(tensor([1, 2]))).rejects.toThrow(/'points' expected a tensor \[n, 2\]/);
  });
});

describe('trainingCurves', () => {
  const history = Array.from({ length: 40 }, (_, i) => ({
    step: i + 1,
    values: { loss: 1 / (i + 1), acceptance: 0.5 + 0.01 * i },
  }));

  it('draws one line panel per quantity', async () => {
    const svg = parseXml(await trainingCurves(history, { title: 'training' }));
    expect(markGroups(svg, 'line')).toHaveLength(2);
    const only = parseXml(await trainingCurves(history, { quantities: ['loss'] }));
    expect(markGroups(only, 'line')).toHaveLength(1);
  });

  it('rejects empty input and absent quantities', async () => {
    await expect(trainingCurves([])).rejects.toThrow(/'history'/);
    await expect(trainingCurves(history, { quantities: ['nope'] })).rejects.toThrow(/'quantities'/);
  });
});

describe('svgToPng', () => {
  it('renders a PNG of the SVG size times the scale, with more than one color', async () => {
    const svgText = await energyHeatmap(gaussian, { resolution: 12 });
    const root = parseXml(svgText);
    const width = Number(attr(root, 'width'));
    const height = Number(attr(root, 'height'));
    const png = decodePng(svgToPng(svgText, { scale: 1 }));
    expect([png.width, png.height]).toEqual([width, height]);
    const colors = new Set<number>();
    for (let i = 0; i < png.pixels.length; i += png.channels) {
      colors.add((png.pixels[i]! << 16) | (png.pixels[i + 1]! << 8) | png.pixels[i + 2]!);
    }
    expect(colors.size).toBeGreaterThan(20);
    const double = decodePng(svgToPng(svgText));
    expect([double.width, double.height]).toEqual([2 * width, 2 * height]);
    expect(() => svgToPng('not svg')).toThrow(/'svg'/);
  });
  it('stores the same pixels as resvg renders, recompressed into valid chunks no larger than resvg writes', async () => {
    const svgText = await scatterPlot(randn([500, 2], new Rng(3)), { size: 160 });
    const direct = new Resvg(svgText, {
      fitTo: { mode: 'zoom', value: 2 },
      font: { loadSystemFonts: true, defaultFontFamily: 'sans-serif' },
      background: 'white',
    })
      .render()
      .asPng();
    const png = svgToPng(svgText);
    expect(decodePng(png)).toEqual(decodePng(new Uint8Array(direct)));
    expect(png.length).toBeLessThanOrEqual(direct.length);
    // every chunk's stored CRC-32 matches zlib's, and the pixel data sits in a single IDAT
    const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
    const types: string[] = [];
    for (let offset = 8; offset < png.length; ) {
      const length = view.getUint32(offset);
      types.push(String.fromCharCode(...png.subarray(offset + 4, offset + 8)));
      expect(view.getUint32(offset + 8 + length)).toBe(crc32(png.subarray(offset + 4, offset + 8 + length)));
      offset += 12 + length;
    }
    expect(types[0]).toBe('IHDR');
    expect(types.at(-1)).toBe('IEND');
    expect(types.filter((t) => t === 'IDAT')).toHaveLength(1);
  });
});

describe('htmlReport', () => {
  it('is one self-contained page with the metrics, the configuration and the inline plots', async () => {
    const svg = await renderSvg({
      data: { values: [{ a: 1, b: 2 }] },
      mark: 'point',
      encoding: { x: { field: 'a', type: 'quantitative' }, y: { field: 'b', type: 'quantitative' } },
    });
    const html = htmlReport({
      title: 'R-NCE <pinwheel>',
      subtitle: 'seed 0',
      metrics: { mmd: 0.0123456, nll: 2.5 },
      config: { steps: 200, estimator: 'rnce', hidden: [64, 64] },
      plots: [
        { title: 'samples', svg },
        { title: 'curves', svg: await trainingCurves([{ step: 1, values: { loss: 1 } }]) },
      ],
    });
    expect(html.startsWith('<!DOCTYPE html>')).toBe(true);
    expect(html).toContain('<title>R-NCE &lt;pinwheel&gt;</title>');
    expect(html).toMatch(/<th>mmd<\/th><td>0\.0123456<\/td>/);
    expect(html).toMatch(/<th>hidden<\/th><td>\[64,64\]<\/td>/);
    expect(html.match(/<svg /g)).toHaveLength(2);
    expect(html).not.toMatch(/<script|<link|src="http/);
    const body = html.slice(html.indexOf('<html'));
    const page = parseXml(body.replace('<meta charset="utf-8">', '<meta charset="utf-8"/>'));
    expect(findAll(page, (e) => e.name === 'figure')).toHaveLength(2);
    expect(() => htmlReport({ title: 't', plots: [{ title: 'x', svg: 'oops' }] })).toThrow(/'content.plots\[0\].svg'/);
    expect(() => htmlReport({ title: 't', metrics: { m: 'x' as never } })).toThrow(/'content.metrics.m'/);
  });
  it('embeds PNG plots as base64 data URIs that decode back to the same image', async () => {
    const svg = await trainingCurves([
      { step: 1, values: { loss: 1 } },
      { step: 2, values: { loss: 0.5 } },
    ]);
    const png = svgToPng(svg);
    const html = htmlReport({
      title: 'report',
      plots: [
        { title: 'curves <png>', png, pixelRatio: 2 },
        { title: 'vector', svg },
      ],
    });
    const images = [
      ...html.matchAll(/<img src="data:image\/png;base64,([A-Za-z0-9+/=]+)" width="(\d+)" alt="([^"]*)">/g),
    ];
    expect(images).toHaveLength(1);
    const [, encoded, width, alt] = images[0]!;
    const decoded = new Uint8Array(Buffer.from(encoded!, 'base64'));
    expect(decoded).toEqual(png);
    const image = decodePng(decoded);
    expect(Number(width)).toBe(image.width / 2);
    expect(alt).toBe('curves &lt;png&gt;');
    expect(html.match(/<svg /g)).toHaveLength(1); // the SVG plot stays vector
    // base64 of every remainder length (0, 1, 2 bytes past a multiple of 3) matches Node's encoder
    for (const extra of [0, 1, 2]) {
      const bytes = new Uint8Array([...png.subarray(0, 30), ...[250, 251].slice(0, extra)]);
      const page = htmlReport({ title: 't', plots: [{ title: 'p', png: bytes }] });
      expect(page).toContain(`src="data:image/png;base64,${Buffer.from(bytes).toString('base64')}" alt="p"`);
    }
  });

  it('rejects bytes that are not a PNG, naming the plot', () => {
    const notPng = new TextEncoder().encode('<svg xmlns="http://www.w3.org/2000/svg"></svg>');
    expect(() => htmlReport({ title: 't', plots: [{ title: 'x', png: notPng }] })).toThrow(JouleError);
    expect(() => htmlReport({ title: 't', plots: [{ title: 'x', png: notPng }] })).toThrow(/'content.plots\[0\].png'/);
    const truncated = new Uint8Array([0x89, 0x50, 0x4e, 0x47]);
    const plots = [
      { title: 'ok', svg: '<svg></svg>' },
      { title: 'x', png: truncated },
    ];
    expect(() => htmlReport({ title: 't', plots })).toThrow(/'content.plots\[1\].png'/);
    expect(() => htmlReport({ title: 't', plots: [{ title: 'x', png: 'abc' as never }] })).toThrow(JouleError);
    const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0]);
    expect(() => htmlReport({ title: 't', plots: [{ title: 'x', png, pixelRatio: 0 }] })).toThrow(
      /'content.plots\[0\].pixelRatio'/,
    );
  });
});

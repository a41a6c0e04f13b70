import { inflateSync } from 'node:zlib';

/** An element of a parsed SVG: its tag name, its raw attribute text and its child elements. */
export interface Element {
  name: string;
  attrs: string;
  children: Element[];
}

/**
 * A strict little XML well-formedness check and parser: every tag closed in order, one root, no
 * stray `<` in text, no unescaped `&`. Throws on the first violation.
 */
export function parseXml(xml: string): Element {
  const root: Element = { name: '#document', attrs: '', children: [] };
  const stack: Element[] = [root];
  const tag = /<(\/?)([A-Za-z][\w:.-]*)((?:\s+[\w:.-]+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*(\/?)>/y;
  let i = 0;
  while (i < xml.length) {
    const lt = xml.indexOf('<', i);
    const text = xml.slice(i, lt === -1 ? xml.length : lt);
    if (/&(?!(?:amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);)/.test(text))
      throw new Error(`unescaped & in text near ${i}`);
    if (lt === -1) break;
    if (xml.startsWith('<?', lt)) {
      i = xml.indexOf('?>', lt) + 2;
      continue;
    }
    tag.lastIndex = lt;
    const m = tag.exec(xml);
    if (m === null) throw new Error(`malformed tag at ${lt}: ${xml.slice(lt, lt + 40)}`);
    const [, closing, name, attrs, selfClosing] = m;
    if (closing) {
      const open = stack.pop();
      if (open?.name !== name) throw new Error(`</${name}> closes <${open?.name}> at ${lt}`);
    } else {
      const el: Element = { name: name!, attrs: attrs!, children: [] };
      stack.at(-1)!.children.push(el);
      if (!selfClosing) stack.push(el);
    }
    i = tag.lastIndex;
  }
  if (stack.length !== 1) throw new Error(`unclosed <${stack.at(-1)!.name}>`);
  if (root.children.length !== 1) throw new Error(`${root.children.length} root elements`);
  return root.children[0]!;
}

/** Every element below `el` (depth first) that satisfies `keep`. */
export function findAll(el: Element, keep: (e: Element) => boolean): Element[] {
  const out: Element[] = [];
  const visit = (e: Element) => {
    if (keep(e)) out.push(e);
    for (const c of e.children) visit(c);
  };
  visit(el);
  return out;
}

/** The mark groups of a Vega SVG of a given mark type (`rect`, `symbol`, `line`…). */
export function markGroups(svg: Element, mark: string): Element[] {
  return findAll(svg, (e) => e.name === 'g' && new RegExp(`class="mark-${mark} role-mark`).test(e.attrs));
}

/** The value of attribute `name` of an element, if present. */
export function attr(el: Element, name: string): string | undefined {
  return new RegExp(`\\s${name}="([^"]*)"`).exec(el.attrs)?.[1];
}

/** A decoded 8-bit RGBA or RGB PNG: size and raw pixels (after undoing the scanline filters). */
export function decodePng(png: Uint8Array): { width: number; height: number; channels: number; pixels: Uint8Array } {
  const signature = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  if (!signature.every((b, i) => png[i] === b)) throw new Error('not a PNG signature');
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  let offset = 8;
  let width = 0;
  let height = 0;
  let channels = 0;
  const idat: Uint8Array[] = [];
  let first = true;
  while (offset < png.length) {
    const length = view.getUint32(offset);
    const type = String.fromCharCode(...png.subarray(offset + 4, offset + 8));
    const body = png.subarray(offset + 8, offset + 8 + length);
    if (first && type !== 'IHDR') throw new Error('first chunk is not IHDR');
    first = false;
    if (type === 'IHDR') {
      width = view.getUint32(offset + 8);
      height = view.getUint32(offset + 12);
      const bitDepth = body[8]!;
      const colorType = body[9]!;
      if (bitDepth !== 8 || (colorType !== 6 && colorType !== 2))
        throw new Error(`unsupported ${bitDepth}/${colorType}`);
      channels = colorType === 6 ? 4 : 3;
    } else if (type === 'IDAT') idat.push(body);
    else if (type === 'IEND') break;
    offset += 12 + length;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const pixels = new Uint8Array(stride * height);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]!;
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let x = 0; x < stride; x++) {
      const a = x >= channels ? pixels[y * stride + x - channels]! : 0;
      const b = y > 0 ? pixels[(y - 1) * stride + x]! : 0;
      const c = x >= channels && y > 0 ? pixels[(y - 1) * stride + x - channels]! : 0;
      let v = line[x]!;
      if (filter === 1) v += a;
      else if (filter === 2) v += b;
      else if (filter === 3) v += (a + b) >> 1;
      else if (filter === 4) {
        const p = a + b - c;
        const pa = Math.abs(p - a);
        const pb = Math.abs(p - b);
        const pc = Math.abs(p - c);
        v += pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      } else if (filter !== 0) throw new Error(`bad filter ${filter}`);
      pixels[y * stride + x] = v & 0xff;
    }
  }
  return { width, height, channels, pixels };
}

// TextEncoder / TextDecoder for the Photoshop bundle only, injected by plugins/build.mjs in place of the
// globals of those names. UXP documents neither among its globals (developer.adobe.com/photoshop/uxp/2022/
// uxp-api/reference-js/Global Members/), yet fast-png and iobuffer create both at module load
// (`new TextDecoder('latin1')` for PNG tEXt chunks, `new TextEncoder()` for UTF-8 writes): without these the
// panel dies before its first line runs. The core stays host-free; only this bundle carries the codec.

type Label = 'utf-8' | 'latin1';

const LABELS: Record<string, Label> = { 'utf-8': 'utf-8', utf8: 'utf-8', 'unicode-1-1-utf-8': 'utf-8', latin1: 'latin1', 'iso-8859-1': 'latin1', 'us-ascii': 'latin1', ascii: 'latin1' };

function bytesOf(input: ArrayBuffer | ArrayBufferView | undefined): Uint8Array {
  if (input === undefined) return new Uint8Array(0);
  return ArrayBuffer.isView(input) ? new Uint8Array(input.buffer, input.byteOffset, input.byteLength) : new Uint8Array(input);
}

export class TextDecoder {
  readonly encoding: Label;
  readonly fatal = false;
  readonly ignoreBOM = false;

  constructor(label = 'utf-8') {
    const encoding = LABELS[label.trim().toLowerCase()];
    // A PNG's tEXt is ISO 8859-1 (PNG spec §11.3.4.3): byte n is code point n, which is what fast-png's
    // encoder writes; utf-8 covers everything else the bundle reads.
    if (!encoding) throw new RangeError(`the Kirie panel decodes utf-8 and latin1 only, not "${label}"`);
    this.encoding = encoding;
  }

  decode(input?: ArrayBuffer | ArrayBufferView): string {
    const bytes = bytesOf(input);
    return this.encoding === 'latin1' ? latin1(bytes) : utf8(bytes);
  }
}

export class TextEncoder {
  readonly encoding = 'utf-8';

  encode(text = ''): Uint8Array {
    const out: number[] = [];
    for (const char of text) {
      let c = char.codePointAt(0)!;
      if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd; // a lone surrogate, as the Encoding Standard replaces it
      if (c < 0x80) out.push(c);
      else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 63));
      else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
      else out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
    }
    return Uint8Array.from(out);
  }
}

function latin1(bytes: Uint8Array): string {
  let text = '';
  for (let i = 0; i < bytes.length; i += 8192) text += String.fromCharCode(...bytes.subarray(i, i + 8192));
  return text;
}

/** The Encoding Standard's UTF-8 decoder: U+FFFD for each maximal malformed subpart, never a throw. */
function utf8(bytes: Uint8Array): string {
  const points: number[] = [];
  let [needed, seen, point, lower, upper] = [0, 0, 0, 0x80, 0xbf];
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (needed === 0) {
      if (b <= 0x7f) points.push(b);
      else if (b >= 0xc2 && b <= 0xdf) [needed, point] = [1, b & 0x1f];
      else if (b >= 0xe0 && b <= 0xef) {
        [needed, point] = [2, b & 0xf];
        if (b === 0xe0) lower = 0xa0;
        if (b === 0xed) upper = 0x9f;
      } else if (b >= 0xf0 && b <= 0xf4) {
        [needed, point] = [3, b & 0x7];
        if (b === 0xf0) lower = 0x90;
        if (b === 0xf4) upper = 0x8f;
      } else points.push(0xfffd);
      continue;
    }
    if (b < lower || b > upper) {
      // The sequence so far is one error; the byte that broke it starts afresh.
      [needed, seen, point, lower, upper] = [0, 0, 0, 0x80, 0xbf];
      points.push(0xfffd);
      i--;
      continue;
    }
    [lower, upper] = [0x80, 0xbf];
    point = (point << 6) | (b & 0x3f);
    if (++seen === needed) {
      points.push(point);
      [needed, seen, point] = [0, 0, 0];
    }
  }
  if (needed > 0) points.push(0xfffd);
  let text = '';
  for (let k = 0; k < points.length; k += 8192) text += String.fromCodePoint(...points.slice(k, k + 8192));
  return text;
}

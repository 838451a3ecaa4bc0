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

/** UTF-8 with U+FFFD for each malformed sequence (the Encoding Standard's replacement mode). */
function utf8(bytes: Uint8Array): string {
  const points: number[] = [];
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i]!;
    const need = b < 0x80 ? 0 : b >= 0xc2 && b <= 0xdf ? 1 : b >= 0xe0 && b <= 0xef ? 2 : b >= 0xf0 && b <= 0xf4 ? 3 : -1;
    if (need < 0) {
      points.push(0xfffd);
      i++;
      continue;
    }
    let c = need === 0 ? b : b & (0x3f >> need);
    let ok = true;
    for (let k = 1; k <= need; k++) {
      const next = bytes[i + k];
      if (next === undefined || (next & 0xc0) !== 0x80) {
        ok = false;
        break;
      }
      c = (c << 6) | (next & 63);
    }
    const overlong = (need === 2 && c < 0x800) || (need === 3 && (c < 0x10000 || c > 0x10ffff));
    if (!ok || overlong || (c >= 0xd800 && c <= 0xdfff)) {
      points.push(0xfffd);
      i++;
      continue;
    }
    points.push(c);
    i += need + 1;
  }
  let text = '';
  for (let k = 0; k < points.length; k += 8192) text += String.fromCodePoint(...points.slice(k, k + 8192));
  return text;
}

// The bundle's own TextEncoder/TextDecoder (text-codec.ts) against the Encoding Standard as Node
// implements it, and through fast-png's tEXt chunks, the reason the bundle needs them.
import { decode, encode } from 'fast-png';
import { describe, expect, it } from 'vitest';
import { TextDecoder as KirieDecoder, TextEncoder as KirieEncoder } from '../src/text-codec.js';

const SAMPLES = ['', 'plain ascii', 'café – “quotes” ✓', '𝄞 clef and 😀 emoji', 'null\u0000inside', '\u07ff\u0800\uffff\u{10000}\u{10ffff}'];

describe('text codec for the UXP bundle', () => {
  it.each(SAMPLES)('UTF-8 encodes and decodes %j as the Encoding Standard does', (text) => {
    const bytes = new KirieEncoder().encode(text);
    expect([...bytes]).toEqual([...new TextEncoder().encode(text)]);
    expect(new KirieDecoder().decode(bytes)).toBe(text);
  });

  it.each([
    ['a lone continuation byte', [0x61, 0x80, 0x62]],
    ['a truncated sequence', [0xe2, 0x82]],
    ['an overlong encoding', [0xc0, 0xaf]],
    ['a surrogate code point', [0xed, 0xa0, 0x80]],
    ['past U+10FFFF', [0xf4, 0x90, 0x80, 0x80]],
  ])('%s decodes to U+FFFD like Node does', (_name, bytes) => {
    expect(new KirieDecoder('utf-8').decode(Uint8Array.from(bytes))).toBe(new TextDecoder('utf-8').decode(Uint8Array.from(bytes)));
  });

  it('latin1 is ISO 8859-1: byte n is U+00nn', () => {
    const all = Uint8Array.from({ length: 256 }, (_, i) => i);
    expect(new KirieDecoder('latin1').decode(all)).toBe(String.fromCharCode(...all));
  });

  it('refuses an encoding it does not implement instead of guessing', () => {
    expect(() => new KirieDecoder('shift_jis')).toThrow(/utf-8 and latin1 only, not "shift_jis"/);
  });

  it('a PNG tEXt chunk written by fast-png reads back through the latin1 decoder', () => {
    const png = encode({ width: 1, height: 1, channels: 3, depth: 8, data: new Uint8Array(3), text: { Comment: 'façade ±1' } });
    // fast-png decodes tEXt with `new TextDecoder('latin1')`; here, the same bytes through ours.
    const at = Buffer.from(png).indexOf('Comment\u0000', 0, 'latin1') + 'Comment\u0000'.length;
    const chunkLength = Buffer.from(png).readUInt32BE(at - 'Comment\u0000'.length - 8);
    const value = png.subarray(at, at + chunkLength - 'Comment\u0000'.length);
    expect(new KirieDecoder('latin1').decode(value)).toBe('façade ±1');
    expect(decode(png).text).toEqual({ Comment: 'façade ±1' });
  });
});

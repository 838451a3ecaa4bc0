// Upload validation against the codec the pipeline decodes with: whatever checkPng accepts, decodePng
// reads; whatever it refuses gets a 4xx naming the body.
import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { decodePng, encodePng } from '@kirie/core/image/png';
import { KirieApiError } from '@kirie/core/client/protocol';
import { checkPng } from '../../src/server/png-check.js';

function png(width = 16, height = 8, channels: 1 | 2 | 3 | 4 = 3): Uint8Array {
  const data = Uint8Array.from({ length: width * height * channels }, (_, i) => (i * 37) % 256);
  return encodePng({ width, height, channels, data });
}

/** Rewrites IHDR bytes (offsets inside its data) and fixes the CRC, so only the field is wrong. */
function withIhdr(bytes: Uint8Array, patch: Record<number, number>): Uint8Array {
  const out = bytes.slice();
  for (const [offset, value] of Object.entries(patch)) out[16 + Number(offset)] = value;
  new DataView(out.buffer).setUint32(29, crc32(out.subarray(12, 29)));
  return out;
}

async function refusal(bytes: Uint8Array): Promise<KirieApiError> {
  const err = await checkPng(bytes, 4096 * 4096).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(KirieApiError);
  return err as KirieApiError;
}

describe('checkPng', () => {
  it.each([1, 2, 3, 4] as const)('accepts an 8-bit PNG with %i channel(s)', async (channels) => {
    expect(await checkPng(png(33, 7, channels), 1000)).toEqual({ width: 33, height: 7 });
  });

  it.each([
    ['16-bit samples', withIhdr(png(), { 8: 16 }), /16-bit samples/],
    ['an unknown colour type', withIhdr(png(), { 9: 5 }), /colour type 5/],
    ['a palette without PLTE', withIhdr(png(), { 9: 3 }), /no PLTE/],
    ['a wrong declared width', withIhdr(png(16, 8), { 3: 17 }), /holds \d+ bytes; 17x8 needs/],
    ['a bad CRC', (() => { const b = png(); b[40] ^= 0xff; return b; })(), /fails its CRC/],
    ['no IEND', png().subarray(0, png().length - 12), /no IEND/],
    ['a cut chunk', png().subarray(0, 50), /truncated/],
  ])('refuses %s', async (_name, bytes, message) => {
    const err = await refusal(bytes);
    expect(err.status).toBe(400);
    expect(err.field).toBe('body');
    expect(err.message).toMatch(message);
  });

  it('refuses an image bomb by its header alone', async () => {
    const err = await refusal(withIhdr(png(), { 0: 0, 1: 1, 2: 0, 3: 0, 4: 0, 5: 1, 6: 0, 7: 0 }));
    expect(err).toMatchObject({ status: 413, code: 'image_too_large' });
  });

  it('agrees with the pipeline’s decoder on 600 seeded mutations', async () => {
    let seed = 12345;
    const next = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    let accepted = 0;
    for (let i = 0; i < 600; i++) {
      const bytes = png(1 + Math.floor(next() * 40), 1 + Math.floor(next() * 40), (1 + Math.floor(next() * 4)) as 1 | 2 | 3 | 4).slice();
      const flips = Math.floor(next() * 3);
      for (let k = 0; k < flips; k++) bytes[Math.floor(next() * bytes.length)] = Math.floor(next() * 256);
      const cut = next() < 0.3 ? bytes.subarray(0, Math.floor(next() * bytes.length)) : bytes;
      const verdict = await checkPng(cut, 4096 * 4096).then(
        (h) => h,
        (e: unknown) => e,
      );
      if (verdict instanceof KirieApiError) continue;
      expect(verdict).not.toBeInstanceOf(Error);
      const image = decodePng(cut);
      expect([image.width, image.height]).toEqual([(verdict as { width: number }).width, (verdict as { height: number }).height]);
      accepted++;
    }
    expect(accepted).toBeGreaterThan(100);
  });
});

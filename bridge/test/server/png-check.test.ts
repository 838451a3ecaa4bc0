// Upload validation against the codec the pipeline decodes with: whatever checkPng accepts, decodePng
// reads; whatever it refuses gets a 4xx naming the body.
import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { decodePng, encodePng } from '@kirie/core/image/png';
import { KirieApiError } from '@kirie/core/client/protocol';
import { CheckGate, checkPng } from '../../src/server/png-check.js';
import { palettePng, pngChunk, rows } from './png-build.js';

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
    // Its rows no longer line up: the second row's filter byte is a sample.
    ['a wrong declared width', withIhdr(png(16, 8), { 3: 17 }), /row 1 has filter type/],
    ['a short declared height', withIhdr(png(16, 8), { 7: 7 }), /more bytes than its declared size/],
    ['a tall declared height', withIhdr(png(16, 8), { 7: 9 }), /shorter than its declared size/],
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

const GREYS = [[0, 0, 0], [128, 128, 128], [255, 255, 255]];

/** What the pipeline's decoder says of `bytes`: null if it decodes, else its error. */
function decoderVerdict(bytes: Uint8Array): string | null {
  try {
    decodePng(bytes);
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}

describe('checkPng on palette images', () => {
  const refused: [string, Uint8Array, RegExp][] = [
    ['an index one past the palette', palettePng({ width: 3, height: 2, palette: GREYS, scanlines: rows(3, [0, 1, 2, 2, 3, 0]) }), /pixel 1 of row 1 uses palette index 3, but the palette has 3 colours/],
    ['an index 255 of a 1-colour palette', palettePng({ width: 1, height: 1, palette: [[9, 9, 9]], scanlines: [0, 255] }), /index 255/],
    // Sub filter: the raw bytes 1,1 are indexes 1 and 2.
    ['an index reached only after unfiltering (Sub)', palettePng({ width: 2, height: 1, palette: GREYS.slice(0, 2), scanlines: [1, 1, 1] }), /pixel 1 of row 0 uses palette index 2/],
    ['an index reached only after unfiltering (Up)', palettePng({ width: 1, height: 2, palette: GREYS.slice(0, 2), scanlines: [0, 1, 2, 1] }), /pixel 0 of row 1 uses palette index 2/],
    ['an index reached only after unfiltering (Paeth)', palettePng({ width: 2, height: 2, palette: GREYS, scanlines: [0, 1, 2, 4, 0, 1] }), /row 1 uses palette index 3/],
    ['a 2-bit index past a 3-colour palette', palettePng({ width: 4, height: 1, depth: 2, palette: GREYS, scanlines: [0, 0b00011011] }), /pixel 3 of row 0 uses palette index 3/],
    ['an interlaced index past the palette', palettePng({ width: 3, height: 3, palette: GREYS, interlaced: true, scanlines: [0, 0, 0, 1, 0, 2, 0, 0, 0, 0, 3, 0, 0, 0, 0] }), /pixel 0 of row 1 uses palette index 3/],
    ['a PLTE of 4 bytes', palettePng({ width: 1, height: 1, palette: [], paletteBytes: [1, 2, 3, 4], scanlines: [0, 0] }), /palette is 4 bytes/],
    ['an empty PLTE', palettePng({ width: 1, height: 1, palette: [], scanlines: [0, 0] }), /palette is 0 bytes/],
    ['tRNS longer than the palette', palettePng({ width: 1, height: 1, palette: GREYS, scanlines: [0, 0], extra: [pngChunk('tRNS', Uint8Array.from([1, 2, 3, 4]))] }), /4 entries for a palette of 3/],
  ];
  it('refuses an interlaced image one byte short (fast-png would fill the gap with zeros)', async () => {
    const bytes = palettePng({ width: 3, height: 3, palette: GREYS, interlaced: true, scanlines: [0, 0, 0, 1, 0, 2, 0, 0, 0, 0, 1, 0, 0, 0] });
    expect((await refusal(bytes)).message).toMatch(/shorter than its declared size/);
  });

  it.each(refused)('refuses %s, which the decoder also refuses', async (_name, bytes, message) => {
    const err = await refusal(bytes);
    expect(err).toMatchObject({ status: 400, code: 'invalid_image', field: 'body' });
    expect(err.message).toMatch(message);
    expect(decoderVerdict(bytes)).not.toBeNull();
  });

  const fine: [string, Uint8Array][] = [
    ['every index of a 3-colour palette', palettePng({ width: 3, height: 1, palette: GREYS, scanlines: rows(3, [0, 1, 2]) })],
    ['a full 1-bit palette', palettePng({ width: 9, height: 1, depth: 1, palette: GREYS.slice(0, 2), scanlines: [0, 0xff, 0x80] })],
    // Bits past the row's last pixel are padding, not pixels: fast-png stops at the width too.
    ['padding bits that would be out of range', palettePng({ width: 3, height: 1, depth: 2, palette: GREYS, scanlines: [0, 0b00011011] })],
    ['an interlaced 3×3 image (seven Adam7 passes, two empty)', palettePng({ width: 3, height: 3, palette: GREYS, interlaced: true, scanlines: [0, 0, 0, 1, 0, 2, 0, 0, 0, 0, 1, 0, 0, 1, 2] }).slice()],
    ['tRNS as long as the palette', palettePng({ width: 1, height: 1, palette: GREYS, scanlines: [0, 2], extra: [pngChunk('tRNS', Uint8Array.from([1, 2, 3]))] })],
  ];
  it.each(fine)('accepts %s, and the decoder reads it', async (_name, bytes) => {
    expect(decoderVerdict(bytes)).toBeNull();
    await expect(checkPng(bytes, 1000)).resolves.toMatchObject({ width: expect.any(Number) });
  });

  it('agrees with the decoder on 400 seeded palette images with random indexes and filters', async () => {
    let seed = 777;
    const next = (n: number) => Math.floor(((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32) * n);
    const verdicts = { accepted: 0, refused: 0 };
    for (let i = 0; i < 400; i++) {
      const width = 1 + next(9);
      const height = 1 + next(5);
      const depth = ([1, 2, 4, 8] as const)[next(4)]!;
      const palette = Array.from({ length: 1 + next(Math.min(2 ** depth, 6)) }, () => [next(256), next(256), next(256)]);
      const stride = Math.ceil((width * depth) / 8);
      const scanlines: number[] = [];
      for (let y = 0; y < height; y++) {
        scanlines.push(next(5));
        for (let x = 0; x < stride; x++) scanlines.push(next(4) === 0 ? next(256) : next(2));
      }
      const bytes = palettePng({ width, height, depth, palette, scanlines });
      const ours = await checkPng(bytes, 4096).then(
        () => null,
        (e: unknown) => (e as Error).message,
      );
      expect(ours === null, `check: ${ours}; decoder: ${decoderVerdict(bytes)}`).toBe(decoderVerdict(bytes) === null);
      verdicts[ours === null ? 'accepted' : 'refused']++;
    }
    expect(verdicts.accepted).toBeGreaterThan(40);
    expect(verdicts.refused).toBeGreaterThan(40);
  });
});

describe('CheckGate', () => {
  it('runs at most `running` tasks, queues `waiting` more and refuses the rest with 429', async () => {
    const gate = new CheckGate(2, 3);
    let active = 0;
    let most = 0;
    const releases: (() => void)[] = [];
    const task = () =>
      gate.run(async () => {
        most = Math.max(most, ++active);
        await new Promise<void>((resolve) => releases.push(resolve));
        active--;
        return 'done';
      });
    const runs = Array.from({ length: 5 }, task);
    const refused = await task().catch((e: unknown) => e);
    expect(refused).toMatchObject({ status: 429, code: 'busy' });
    while (releases.length < 5) {
      await new Promise((r) => setTimeout(r, 1));
      releases.splice(0).forEach((release) => release());
      if (releases.length === 0 && (await Promise.race([Promise.all(runs).then(() => true), new Promise((r) => setTimeout(() => r(false), 5))]))) break;
    }
    await expect(Promise.all(runs)).resolves.toEqual(new Array(5).fill('done'));
    expect(most).toBe(2);
    // Every slot came back: a full set runs again.
    const again = Array.from({ length: 5 }, () => gate.run(async () => 1));
    await expect(Promise.all(again)).resolves.toHaveLength(5);
  });

  it('frees the slot when a task throws', async () => {
    const gate = new CheckGate(1, 0);
    await expect(gate.run(async () => Promise.reject(new Error('bad png')))).rejects.toThrow('bad png');
    await expect(gate.run(async () => 'next')).resolves.toBe('next');
  });
});

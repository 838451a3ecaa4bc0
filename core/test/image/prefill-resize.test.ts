import { describe, expect, it } from 'vitest';
import { prefill, resolvePrefill } from '@kirie/core/image/prefill';
import type { RasterImage } from '@kirie/core/image/png';
import { resizeImage } from '@kirie/core/image/resize';

/** 8×6 RGB image: left half red-ish, right half blue-ish, a 2×2 hole in the middle. */
function scene(channels: 3 | 4 = 3): { image: RasterImage; hole: Uint8Array } {
  const width = 8;
  const height = 6;
  const data = new Uint8Array(width * height * channels);
  for (let i = 0; i < width * height; i++) {
    const left = i % width < 4;
    data.set(left ? [200, 40, 40] : [30, 60, 220], i * channels);
    if (channels === 4) data[i * channels + 3] = 255;
  }
  const hole = new Uint8Array(width * height);
  for (const [x, y] of [[3, 2], [4, 2], [3, 3], [4, 3]]) hole[y * width + x] = 1;
  return { image: { width, height, channels, data }, hole };
}

const pixel = (img: RasterImage, x: number, y: number) => [...img.data.subarray((y * img.width + x) * img.channels, (y * img.width + x) * img.channels + 3)];

describe('prefill', () => {
  it.each([
    ['auto', 1, 0, false, 'blur'],
    ['auto', 0.99, 0, false, 'none'],
    ['auto', 1, 0.8, false, 'border'],
    ['auto', 1, 0, true, 'border'],
    ['neutral', 0.5, 0, false, 'neutral'],
  ] as const)('resolvePrefill(%s, strength %f, transparency %f, spans %s) = %s', (mode, strength, transparency, spans, expected) => {
    expect(resolvePrefill(mode, strength, transparency, spans)).toBe(expected);
  });

  it('keeps every pixel outside the hole, in every mode', () => {
    const { image, hole } = scene(4);
    for (const mode of ['none', 'neutral', 'border', 'blur'] as const) {
      const out = prefill(image, hole, mode);
      expect(out.channels).toBe(3);
      for (let i = 0; i < hole.length; i++) if (!hole[i]) expect([...out.data.subarray(i * 3, i * 3 + 3)]).toEqual([...image.data.subarray(i * 4, i * 4 + 3)]);
    }
  });

  it('fills by mode: none keeps, neutral is grey, border copies the nearest known pixel, blur averages around', () => {
    const { image, hole } = scene();
    expect(pixel(prefill(image, hole, 'none'), 3, 2)).toEqual([200, 40, 40]);
    expect(pixel(prefill(image, hole, 'neutral'), 4, 3)).toEqual([128, 128, 128]);
    const border = prefill(image, hole, 'border');
    expect(pixel(border, 3, 2)).toEqual([200, 40, 40]);
    expect(pixel(border, 4, 3)).toEqual([30, 60, 220]);
    const blurred = prefill(image, hole, 'blur');
    for (const [x, y] of [[3, 2], [4, 3]]) {
      const [r, g, b] = pixel(blurred, x, y);
      // A mix of both halves: strictly between the two colours in every channel.
      expect(r > 30 && r < 200 && g > 40 && g < 60 && b > 40 && b < 220).toBe(true);
    }
  });

  it('treats transparent pixels as unknown and falls back to grey when nothing is known', () => {
    const { image, hole } = scene(4);
    for (let i = 0; i < 48; i++) if (i % 8 < 4) image.data[i * 4 + 3] = 0; // left half transparent
    const border = prefill(image, hole, 'border');
    expect(pixel(border, 3, 2)).toEqual([30, 60, 220]);
    const all = new Uint8Array(48).fill(1);
    expect(pixel(prefill(image, all, 'blur'), 0, 0)).toEqual([128, 128, 128]);
  });

  it('rejects grey images and mismatched holes', () => {
    const { image, hole } = scene();
    expect(() => prefill({ ...image, channels: 1, data: new Uint8Array(48) }, hole, 'blur')).toThrow(/RGB or RGBA/);
    expect(() => prefill(image, new Uint8Array(3), 'blur')).toThrow(/hole mask has 3 values/);
  });
});

describe('resizeImage (pica, pure JS)', () => {
  const flat = (w: number, h: number, channels: 1 | 2 | 3 | 4, value: number[]): RasterImage => {
    const data = new Uint8Array(w * h * channels);
    for (let i = 0; i < w * h; i++) data.set(value, i * channels);
    return { width: w, height: h, channels, data };
  };

  it.each([
    [1, [77]],
    [2, [77, 255]],
    [3, [10, 120, 250]],
    [4, [10, 120, 250, 255]],
  ] as const)('keeps a flat %i-channel image flat, up and down', async (channels, value) => {
    for (const [w, h] of [[37, 23], [5, 3], [301, 7]]) {
      const out = await resizeImage(flat(17, 11, channels, [...value]), { width: w, height: h });
      expect([out.width, out.height, out.channels]).toEqual([w, h, channels]);
      for (let i = 0; i < out.data.length; i++) expect(out.data[i]).toBe(value[i % channels]);
    }
  });

  it('copies at the same size and rejects bad sizes', async () => {
    const img = flat(4, 4, 3, [1, 2, 3]);
    const same = await resizeImage(img, { width: 4, height: 4 });
    expect(same.data).toEqual(img.data);
    expect(same.data).not.toBe(img.data);
    await expect(resizeImage(img, { width: 0, height: 4 })).rejects.toThrow(/cannot resize to 0×4/);
    await expect(resizeImage({ ...img, data: new Uint8Array(5) }, { width: 2, height: 2 })).rejects.toThrow(/needs 48/);
  });

  it('does not bleed the colour of transparent pixels into opaque ones', async () => {
    const img = flat(16, 16, 4, [0, 0, 255, 255]);
    for (let i = 0; i < 256; i++) if (i % 16 < 8) img.data.set([255, 0, 0, 0], i * 4);
    const out = await resizeImage(img, { width: 11, height: 11 });
    for (let i = 0; i < 121; i++) if (out.data[i * 4 + 3] > 128) expect(out.data[i * 4]).toBeLessThanOrEqual(3);
  });

  it('maps pixel centres: a 2× upscale of a step keeps the step centred', async () => {
    const img = flat(8, 1, 1, [0]);
    for (let x = 4; x < 8; x++) img.data[x] = 255;
    const out = await resizeImage(img, { width: 16, height: 1 }, 'hamming');
    for (let x = 0; x < 8; x++) expect(out.data[x] + out.data[15 - x]).toBeGreaterThanOrEqual(254);
    for (let x = 0; x < 8; x++) expect(out.data[x] + out.data[15 - x]).toBeLessThanOrEqual(256);
  });
});

import { describe, expect, it } from 'vitest';
import { canny } from '../../src/control/canny.js';
import { invert, scribbleFromImage, scribbleFromStrokes, threshold, toGray, toRgb } from '../../src/control/preprocess.js';
import type { RasterImage } from '../../src/image/png.js';

const img = (channels: 1 | 2 | 3 | 4, values: number[]): RasterImage => ({ width: values.length / channels, height: 1, channels, data: Uint8Array.from(values) });

describe('toRgb (ControlNet HWC3)', () => {
  it.each([
    [img(1, [0, 7, 255]), [0, 0, 0, 7, 7, 7, 255, 255, 255]],
    [img(3, [1, 2, 3]), [1, 2, 3]],
    // alpha composited over white in float32, truncated
    [img(4, [10, 20, 30, 255, 10, 20, 30, 0, 100, 100, 100, 128]), [10, 20, 30, 255, 255, 255, 177, 177, 177]],
    [img(2, [0, 51]), [204, 204, 204]],
  ])('%#', (input, expected) => {
    expect(Array.from(toRgb(input).data)).toEqual(expected);
  });

  it('rejects data of the wrong length', () => {
    expect(() => toRgb({ width: 2, height: 2, channels: 3, data: new Uint8Array(5) })).toThrow(/expected 2×2×3/);
  });
});

describe('gray, invert, threshold, scribble', () => {
  it.each([
    [[255, 0, 0], 76],
    [[0, 255, 0], 150],
    [[0, 0, 255], 29],
    [[255, 255, 255], 255],
  ])('toGray %j → %d (OpenCV fixed point)', (rgb, gray) => {
    expect(toGray(img(3, rgb)).data[0]).toBe(gray);
  });

  it('inverts every channel', () => {
    expect(Array.from(invert(img(3, [0, 100, 255])).data)).toEqual([255, 155, 0]);
  });

  it.each([
    [127, [0, 0, 255]],
    [126, [0, 255, 255]],
  ])('threshold at %d is strictly-above', (t, expected) => {
    expect(Array.from(threshold(img(1, [0, 127, 128]), t).data)).toEqual(expected);
  });

  it('rejects a non-finite threshold', () => {
    expect(() => threshold(img(1, [1]), Number.NaN)).toThrow(/finite/);
  });

  it('scribble: dark strokes (any channel < 127) become white', () => {
    expect(Array.from(scribbleFromImage(img(3, [255, 255, 255, 126, 255, 255, 127, 127, 127])).data)).toEqual([0, 255, 0]);
  });
});

describe('canny input checks and thresholds', () => {
  const square = (): RasterImage => {
    const data = new Uint8Array(16 * 16);
    for (let y = 4; y < 12; y++) for (let x = 4; x < 12; x++) data[y * 16 + x] = 200;
    return { width: 16, height: 16, channels: 1, data };
  };

  it('finds the outline of a bright square and nothing else', () => {
    const edges = canny(square(), { low: 100, high: 200 });
    const on = [...edges.data.keys()].filter((i) => edges.data[i] === 255).map((i) => [i % 16, Math.floor(i / 16)]);
    expect(on.length).toBeGreaterThan(20);
    for (const [x, y] of on) expect(x! >= 3 && x! <= 12 && y! >= 3 && y! <= 12 && !(x! > 4 && x! < 11 && y! > 4 && y! < 11)).toBe(true);
  });

  it('swaps thresholds given in the wrong order', () => {
    expect(canny(square(), { low: 200, high: 100 }).data).toEqual(canny(square(), { low: 100, high: 200 }).data);
  });

  it('finds nothing when the high threshold is above every gradient', () => {
    expect(canny(square(), { low: 100, high: 5000 }).data.every((v) => v === 0)).toBe(true);
  });

  it.each([
    [img(4, [1, 2, 3, 4]), /flatten alpha/],
    [{ width: 3, height: 3, channels: 1, data: new Uint8Array(4) } as RasterImage, /expected 3×3×1/],
  ])('rejects bad input %#', (input, message) => {
    expect(() => canny(input, { low: 1, high: 2 })).toThrow(message);
  });

  it('rejects non-finite thresholds', () => {
    expect(() => canny(square(), { low: Number.NaN, high: 2 })).toThrow(/finite/);
  });
});

describe('scribbleFromStrokes', () => {
  it('draws white polylines on black, as thick cv2 lines', () => {
    const img = scribbleFromStrokes([{ points: [{ x: 2, y: 5 }, { x: 12, y: 5 }], width: 1 }, { points: [{ x: 7.4, y: 1 }, { x: 7.4, y: 9 }], width: 1 }], 16, 12);
    const on = (x: number, y: number): number => img.data[y * 16 + x]!;
    for (let x = 2; x <= 12; x++) expect(on(x, 5)).toBe(255);
    for (let y = 1; y <= 9; y++) expect(on(7, y)).toBe(255);
    expect(img.data.reduce((n, v) => n + (v === 255 ? 1 : 0), 0)).toBe(11 + 9 - 1);
    expect(img.data.every((v) => v === 0 || v === 255)).toBe(true);
  });

  it('a one-point stroke is a round dot (OpenCV cap radius: width 5 → 3 px)', () => {
    const img = scribbleFromStrokes([{ points: [{ x: 8, y: 8 }], width: 5 }], 16, 16);
    expect(img.data[8 * 16 + 8]).toBe(255);
    expect(img.data[8 * 16 + 11]).toBe(255);
    expect(img.data[8 * 16 + 12]).toBe(0);
    expect(img.data[12 * 16 + 8]).toBe(0);
  });

  it.each([
    [[{ points: [{ x: 1, y: 1 }], width: 0 }], /width must be an integer/],
    [[{ points: [{ x: Number.NaN, y: 1 }] }], /point 0: coordinates must be finite/],
  ])('rejects bad strokes %#', (strokes, message) => {
    expect(() => scribbleFromStrokes(strokes, 8, 8)).toThrow(message);
  });

  it('rejects a bad canvas', () => {
    expect(() => scribbleFromStrokes([], 0, 8)).toThrow(/positive integers/);
  });
});

import { describe, expect, it } from 'vitest';
import { bounds, clampInto, contains, expand, extent, intersect, pad, roundUpTo } from '@kirie/core/image/bounds';
import { contextBounds, fitToModel, toCanvas, toModel } from '@kirie/core/image/context';
import { SD15_RESOLUTION } from '@kirie/core/image/options';

const B = (x: number, y: number, w: number, h: number) => bounds(x, y, w, h);
const plain = (b: object) => ({ ...b });

describe('Bounds values', () => {
  it('are frozen and reject non-integers and negative sizes', () => {
    expect(Object.isFrozen(B(1, 2, 3, 4))).toBe(true);
    expect(() => bounds(0.5, 0, 1, 1)).toThrow(/x must be an integer/);
    expect(() => extent(-1, 3)).toThrow(/must not be negative/);
  });

  it.each([
    [B(0, 0, 10, 10), B(5, 5, 10, 10), B(5, 5, 5, 5)],
    [B(0, 0, 10, 10), B(10, 0, 5, 5), B(10, 0, 0, 0)],
    [B(-4, -4, 8, 8), B(0, 0, 100, 100), B(0, 0, 4, 4)],
    [B(3, 3, 0, 0), B(1, 1, 2, 2), B(3, 3, 0, 0)],
  ])('intersect %#', (a, b, inter) => {
    expect(plain(intersect(a, b))).toEqual(plain(inter));
    expect(plain(intersect(b, a))).toEqual(plain(inter));
  });

  it.each([
    [0, 8, 0], [1, 8, 8], [8, 8, 8], [9, 8, 16], [511, 16, 512], [513, 16, 528],
  ])('roundUpTo(%i, %i) = %i', (v, m, r) => expect(roundUpTo(v, m)).toBe(r));

  it('expand', () => {
    expect(plain(expand(B(10, 10, 4, 6), 3))).toEqual(plain(B(7, 7, 10, 12)));
    expect(plain(expand(B(10, 10, 4, 6), -3))).toEqual(plain(B(13, 13, 0, 0)));
  });
});

describe('pad', () => {
  it.each([
    // bounds, padding, options, expected
    [B(100, 100, 50, 50), 10, {}, B(90, 90, 70, 70)],
    [B(100, 100, 50, 50), 10, { multiple: 8 }, B(89, 89, 72, 72)],
    [B(100, 100, 50, 50), 0, { minSize: 512, multiple: 8 }, B(-131, -131, 512, 512)],
    [B(0, 0, 200, 40), 50, { square: true }, B(0, -50, 200, 140)],
    [B(0, 0, 40, 200), 50, { square: true }, B(-50, 0, 140, 200)],
    [B(0, 0, 120, 100), 50, { square: true }, B(-40, -50, 200, 200)],
    [B(7, 9, 1, 1), 0, { multiple: 8 }, B(4, 6, 8, 8)],
    [B(5, 5, 33, 17), 3, { minSize: 30, multiple: 16 }, B(-2, -2, 48, 32)],
  ])('pad %#', (b, p, opts, expected) => expect(plain(pad(b, p, opts))).toEqual(plain(expected)));

  it('always contains the input', () => {
    for (let i = 0; i < 500; i++) {
      const b = B((i * 37) % 300, (i * 53) % 300, 1 + ((i * 11) % 97), 1 + ((i * 29) % 113));
      const p = pad(b, (i * 7) % 40, { minSize: (i * 13) % 200, multiple: [1, 8, 16][i % 3], square: i % 2 === 0 });
      expect(contains(p, b)).toBe(true);
      expect(p.width % [1, 8, 16][i % 3]).toBe(0);
    }
  });
});

describe('clampInto', () => {
  it.each([
    [B(-10, 5, 50, 50), extent(100, 100), B(0, 5, 50, 50)],
    [B(80, 90, 50, 50), extent(100, 100), B(50, 50, 50, 50)],
    [B(-10, -10, 200, 50), extent(100, 100), B(0, 0, 100, 50)],
    [B(20, 20, 30, 30), extent(100, 100), B(20, 20, 30, 30)],
    [B(-100, -100, 512, 512), extent(300, 1000), B(0, 0, 300, 512)],
  ])('%#', (b, e, expected) => expect(plain(clampInto(b, e))).toEqual(plain(expected)));
});

describe('contextBounds', () => {
  it.each([
    // canvas, mask bounds, strength, expected context
    // small mask in a big canvas: padding = max(2000/16, mean/2) = 125, then min 512, centred
    [extent(2000, 1500), B(900, 700, 60, 40), 1, B(674, 464, 512, 512)],
    // large mask: padding = mean side / 2 = 300, the long side padded 100 less: square
    [extent(3000, 3000), B(1000, 1000, 700, 500), 1, B(798, 698, 1104, 1104)],
    // mask at the corner: moved inside, size kept
    [extent(1024, 768), B(0, 0, 100, 100), 1, B(0, 0, 512, 512)],
    [extent(1024, 768), B(950, 700, 74, 68), 1, B(512, 256, 512, 512)],
    // canvas smaller than the model's minimum: the whole canvas
    [extent(300, 200), B(100, 50, 50, 50), 1, B(0, 0, 300, 200)],
    // odd canvas, mask on the right edge
    [extent(777, 555), B(700, 10, 77, 30), 1, B(265, 0, 512, 512)],
    // refinement: the mask bounds alone, rounded up to multiples of 8 around their centre
    [extent(2000, 1500), B(900, 700, 60, 40), 0.5, B(898, 700, 64, 40)],
    [extent(2000, 1500), B(0, 1495, 13, 5), 0.3, B(0, 1492, 16, 8)],
  ])('%#', (canvas, mask, strength, expected) => {
    const c = contextBounds(canvas, mask, strength, SD15_RESOLUTION);
    expect(plain(c)).toEqual(plain(expected));
    expect(contains(c, mask)).toBe(true);
    expect(contains(B(0, 0, canvas.width, canvas.height), c)).toBe(true);
  });

  it('contains the mask and stays on the canvas for many shapes', () => {
    for (let i = 0; i < 400; i++) {
      const canvas = extent(50 + ((i * 97) % 2500), 50 + ((i * 61) % 1900));
      const w = 1 + ((i * 13) % canvas.width);
      const h = 1 + ((i * 17) % canvas.height);
      const mask = B((i * 31) % (canvas.width - w + 1), (i * 43) % (canvas.height - h + 1), w, h);
      const strength = i % 3 === 0 ? 0.6 : 1;
      const c = contextBounds(canvas, mask, strength, SD15_RESOLUTION);
      expect(contains(c, mask)).toBe(true);
      expect(contains(B(0, 0, canvas.width, canvas.height), c)).toBe(true);
      if (strength === 1) expect(Math.min(c.width, c.height)).toBeGreaterThanOrEqual(Math.min(512, canvas.width, canvas.height));
    }
  });
});

describe('fitToModel', () => {
  it.each([
    // context, expected model extent
    [B(0, 0, 512, 512), extent(512, 512)], // in range, multiples of 8: identity
    [B(0, 0, 600, 704), extent(600, 704)],
    [B(0, 0, 1304, 1200), extent(768, 704)], // down: 1200·768/1304 = 706.7 → 704
    [B(0, 0, 300, 200), extent(768, 512)], // up: short side to 512
    [B(0, 0, 64, 40), extent(768, 480)], // up, capped by the long side: 40·12 = 480
    [B(0, 0, 1000, 100), extent(768, 80)], // very elongated: long side wins, short stays small
    [B(0, 0, 601, 555), extent(608, 560)], // in range but not multiples of 8: rounded, 16 preferred
    [B(0, 0, 4000, 3000), extent(768, 576)],
    [B(0, 0, 13, 5), extent(768, 296)], // 5·(768/13) = 295.4 → 296 (16 would be 288, 2.5 % off)
  ])('%#', (context, expected) => {
    const t = fitToModel(context, SD15_RESOLUTION);
    expect(plain(t.model)).toEqual(plain(expected));
    expect(t.model.width % 8).toBe(0);
    expect(t.model.height % 8).toBe(0);
    expect(t.scaleX).toBeCloseTo(expected.width / context.width, 12);
  });

  it('maps model pixel centres back to canvas pixel centres exactly', () => {
    const t = fitToModel(B(37, 91, 301, 203), SD15_RESOLUTION);
    for (const [x, y] of [[37, 91], [100.25, 150.5], [337, 293]] as const) {
      const [mx, my] = toModel(t, x, y);
      const [cx, cy] = toCanvas(t, mx, my);
      expect(cx).toBeCloseTo(x, 9);
      expect(cy).toBeCloseTo(y, 9);
    }
    // The canvas crop's outer edges map to the model image's outer edges.
    expect(toModel(t, 37 - 0.5, 91 - 0.5)).toEqual([0, 0].map((v) => v - 0.5));
    const [ex, ey] = toModel(t, 37 + 301 - 0.5, 91 + 203 - 0.5);
    expect(ex).toBeCloseTo(t.model.width - 0.5, 9);
    expect(ey).toBeCloseTo(t.model.height - 0.5, 9);
  });

  it('rejects an empty context', () => expect(() => fitToModel(B(0, 0, 0, 10), SD15_RESOLUTION)).toThrow(/empty context/));
});

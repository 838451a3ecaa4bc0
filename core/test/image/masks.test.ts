import { describe, expect, it } from 'vitest';
import { bounds, contains, extent } from '@kirie/core/image/bounds';
import { buildMasks, type CanvasMask, maskFromImage, nonZeroBounds } from '@kirie/core/image/masks';
import { DEFAULT_INPAINT_OPTIONS, InpaintOptions } from '@kirie/core/image/options';
import { distanceTransform } from '@kirie/core/image/plane';
import { ellipseSelection } from '@kirie/core/image/quality';

const rect = (x: number, y: number, w: number, h: number, value = 255): CanvasMask => ({ bounds: bounds(x, y, w, h), data: new Uint8Array(w * h).fill(value) });

describe('buildMasks', () => {
  const cases: [string, CanvasMask, [number, number], number][] = [
    ['small square, middle', rect(200, 150, 40, 40), [640, 480], 1],
    ['odd rectangle', rect(101, 57, 77, 13), [333, 211], 1],
    ['touching the left/top edge', rect(0, 0, 60, 90), [300, 300], 1],
    ['past the right/bottom edge', rect(250, 250, 100, 100), [301, 277], 1],
    ['ellipse, refinement', ellipseSelection(bounds(300, 100, 151, 97)), [800, 600], 0.5],
    ['one pixel', rect(10, 10, 1, 1), [64, 48], 1],
    ['whole canvas', rect(0, 0, 120, 80), [120, 80], 1],
  ];

  it.each(cases)('%s: nesting, levels and margins', (_, sel, [w, h], strength) => {
    const m = buildMasks(sel, extent(w, h), strength, DEFAULT_INPAINT_OPTIONS);
    const { area } = m;
    expect(contains(bounds(0, 0, w, h), area)).toBe(true);
    expect(contains(area, m.maskBounds)).toBe(true);
    expect(m.feather).toBeCloseTo(Math.max(32, 0.1 * Math.hypot(m.selection.width, m.selection.height)) * strength, 9);
    // Distances from the selection for checking the margins.
    const seed = new Uint8Array(area.width * area.height);
    for (let y = 0; y < area.height; y++) {
      for (let x = 0; x < area.width; x++) {
        const sx = area.x + x - sel.bounds.x;
        const sy = area.y + y - sel.bounds.y;
        if (sx >= 0 && sy >= 0 && sx < sel.bounds.width && sy < sel.bounds.height && sel.data[sy * sel.bounds.width + sx] >= 128) seed[y * area.width + x] = 1;
      }
    }
    const { distance } = distanceTransform(seed, area.width, area.height);
    const grow = DEFAULT_INPAINT_OPTIONS.grow;
    // Counting violations (rather than asserting per pixel) keeps the failure message short and the test fast.
    const bad = { blendAboveDenoise: 0, selectionNotFullyBlended: 0, holeNotFullyDenoised: 0, holeNotGrownSelection: 0, ringInHole: 0, denoisePastRamp: 0, blendWhereDenoiseLow: 0 };
    for (let i = 0; i < seed.length; i++) {
      if (m.blend[i] > m.denoise[i]) bad.blendAboveDenoise++;
      if (seed[i] && m.blend[i] !== 255) bad.selectionNotFullyBlended++;
      if (m.hole[i] && m.denoise[i] !== 255) bad.holeNotFullyDenoised++;
      if (m.hole[i] !== (distance[i] <= grow ? 1 : 0)) bad.holeNotGrownSelection++;
      if (m.ring[i] && m.hole[i]) bad.ringInHole++;
      if (distance[i] > grow + m.feather + 1 && m.denoise[i] !== 0) bad.denoisePastRamp++;
      // The blend ends where the denoise mask is one half.
      if (m.blend[i] > 0 && m.denoise[i] < 128) bad.blendWhereDenoiseLow++;
    }
    expect(bad).toEqual({ blendAboveDenoise: 0, selectionNotFullyBlended: 0, holeNotFullyDenoised: 0, holeNotGrownSelection: 0, ringInHole: 0, denoisePastRamp: 0, blendWhereDenoiseLow: 0 });
  });

  it('narrows the feather with strength and follows the options', () => {
    const sel = rect(500, 500, 400, 300);
    const canvas = extent(1600, 1200);
    expect(buildMasks(sel, canvas, 1, DEFAULT_INPAINT_OPTIONS).feather).toBeCloseTo(50, 9); // 10 % of the 500 px diagonal
    expect(buildMasks(sel, canvas, 0.4, DEFAULT_INPAINT_OPTIONS).feather).toBeCloseTo(20, 9);
    const narrow = InpaintOptions.parse({ featherFraction: 0, featherMin: 0, blendBlur: 0, grow: 0 });
    const m = buildMasks(sel, canvas, 1, narrow);
    expect(m.feather).toBe(0);
    // No feather, no grow: every mask is the selection itself.
    expect(m.denoise.filter((v) => v === 255).length).toBe(400 * 300);
    expect(m.denoise.filter((v) => v > 0 && v < 255).length).toBe(0);
    expect([...m.blend]).toEqual([...m.denoise]);
  });

  it('caps the blend radius so the selection is fully replaced', () => {
    const m = buildMasks(rect(100, 100, 20, 20), extent(400, 400), 1, DEFAULT_INPAINT_OPTIONS);
    // grow 4 + half feather 16 = 20 → radius at most 10 (the default 25 would start the ramp inside).
    expect(m.blendRadius).toBe(10);
    const big = buildMasks(rect(100, 100, 1500, 1000), extent(2000, 2000), 1, DEFAULT_INPAINT_OPTIONS);
    expect(big.blendRadius).toBe(25);
  });

  it('keeps a soft selection: denoise and blend are at least its coverage', () => {
    const sel = rect(50, 50, 30, 30, 255);
    for (let i = 0; i < 30; i++) sel.data[i] = 60; // a faint top row
    const m = buildMasks(sel, extent(200, 200), 1, DEFAULT_INPAINT_OPTIONS);
    const at = (x: number, y: number) => (y - m.area.y) * m.area.width + (x - m.area.x);
    expect(m.denoise[at(60, 50)]).toBeGreaterThanOrEqual(60);
    expect(m.blend[at(60, 50)]).toBeGreaterThanOrEqual(60);
    const faint = buildMasks(rect(50, 50, 10, 10, 40), extent(200, 200), 1, DEFAULT_INPAINT_OPTIONS);
    expect(faint.hole.includes(1)).toBe(true); // all < 50 %: falls back to any coverage
  });

  it.each([
    [rect(500, 500, 10, 10), 'no selected pixel lies on the canvas'],
    [rect(10, 10, 10, 10, 0), 'no selected pixel lies on the canvas'],
    [{ bounds: bounds(0, 0, 4, 4), data: new Uint8Array(3) }, 'selection has 3 values'],
  ])('rejects bad selections (%#)', (sel, message) => {
    expect(() => buildMasks(sel, extent(100, 100), 1, DEFAULT_INPAINT_OPTIONS)).toThrow(message);
  });

  it('rejects a strength outside (0, 1]', () => {
    expect(() => buildMasks(rect(1, 1, 2, 2), extent(10, 10), 0, DEFAULT_INPAINT_OPTIONS)).toThrow(/strength must be in \(0, 1\]/);
  });
});

describe('maskFromImage and nonZeroBounds', () => {
  it('takes L or the alpha of LA/RGBA', () => {
    expect([...maskFromImage({ width: 2, height: 1, channels: 1, data: Uint8Array.from([3, 4]) }).data]).toEqual([3, 4]);
    expect([...maskFromImage({ width: 2, height: 1, channels: 4, data: Uint8Array.from([1, 2, 3, 9, 5, 6, 7, 8]) }, 5, 6).data]).toEqual([9, 8]);
    expect(maskFromImage({ width: 2, height: 1, channels: 2, data: Uint8Array.from([1, 2, 3, 4]) }, 5, 6).bounds).toMatchObject({ x: 5, y: 6 });
    expect(() => maskFromImage({ width: 2, height: 2, channels: 1, data: new Uint8Array(3) })).toThrow(/needs 4/);
  });

  it('finds the tight bounds of non-zero pixels', () => {
    const data = new Uint8Array(5 * 4);
    data[1 * 5 + 2] = 1;
    data[3 * 5 + 3] = 7;
    expect({ ...nonZeroBounds(data, bounds(10, 20, 5, 4)) }).toEqual({ x: 12, y: 21, width: 2, height: 3 });
    expect(nonZeroBounds(new Uint8Array(4), bounds(0, 0, 2, 2)).width).toBe(0);
  });
});

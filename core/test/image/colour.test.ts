import { describe, expect, it } from 'vitest';
import { labStats, labToRgb, rgbToLab, transferLab } from '@kirie/core/image/lab';

describe('Lab conversion', () => {
  it.each([
    // sRGB, reference L*a*b* (D65, from the CIE formulas with the sRGB matrices)
    [[255, 255, 255], [100, 0, 0]],
    [[0, 0, 0], [0, 0, 0]],
    [[255, 0, 0], [53.2408, 80.0925, 67.2032]],
    [[0, 255, 0], [87.7347, -86.1827, 83.1793]],
    [[0, 0, 255], [32.2970, 79.1875, -107.8602]],
    [[128, 128, 128], [53.5850, 0, 0]],
  ])('rgbToLab(%j) ≈ %j', (rgb, lab) => {
    const out = rgbToLab(rgb[0], rgb[1], rgb[2]);
    for (let c = 0; c < 3; c++) expect(out[c]).toBeCloseTo(lab[c], 2);
  });

  it('round-trips 8-bit sRGB exactly', () => {
    for (let r = 0; r < 256; r += 5) {
      for (let g = 0; g < 256; g += 3) {
        for (let b = 0; b < 256; b += 7) {
          const lab = rgbToLab(r, g, b);
          expect([...labToRgb(lab[0], lab[1], lab[2])]).toEqual([r, g, b]);
        }
      }
    }
  });
});

describe('labStats and transferLab', () => {
  const image = (pixels: number[][], channels = 3) => Uint8Array.from(pixels.flatMap((p) => (channels === 4 ? [...p, 255] : p)));

  it('measures only the selected pixels', () => {
    const data = image([[255, 255, 255], [0, 0, 0], [255, 255, 255]]);
    const s = labStats(data, 3, Uint8Array.from([1, 0, 1]));
    expect(s.count).toBe(2);
    expect(s.mean[0]).toBeCloseTo(100, 4);
    expect(s.std[0]).toBeCloseTo(0, 4);
    expect(labStats(data, 3, new Uint8Array(3)).count).toBe(0);
  });

  it("moves one image's statistics onto another's", () => {
    const pixels = Array.from({ length: 200 }, (_, i) => [100 + (i % 40), 90 + ((i * 3) % 30), 80 + ((i * 7) % 20)]);
    const cast = pixels.map(([r, g, b]) => [Math.min(255, r + 30), g, Math.max(0, b - 20)]);
    const all = new Uint8Array(200).fill(1);
    const target = labStats(image(pixels, 4), 4, all);
    const from = labStats(image(cast, 4), 4, all);
    const fixed = transferLab(image(cast, 4), 4, from, target);
    const after = labStats(fixed, 4, all);
    for (let c = 0; c < 3; c++) {
      expect(Math.abs(after.mean[c] - target.mean[c])).toBeLessThan(0.3);
      expect(Math.abs(after.mean[c] - target.mean[c])).toBeLessThan(Math.abs(from.mean[c] - target.mean[c]) + 1e-9);
    }
    for (let i = 3; i < fixed.length; i += 4) expect(fixed[i]).toBe(255);
  });

  it('leaves identical statistics (nearly) unchanged and clamps extreme contrast changes', () => {
    const data = image([[10, 200, 30], [40, 50, 60], [200, 100, 0]]);
    const all = new Uint8Array(3).fill(1);
    const s = labStats(data, 3, all);
    const same = transferLab(data, 3, s, s);
    for (let i = 0; i < data.length; i++) expect(Math.abs(same[i] - data[i])).toBeLessThanOrEqual(1);
    const flat = { mean: s.mean, std: [s.std[0] * 10, s.std[1], s.std[2]] as const, count: 3 };
    const boosted = labStats(transferLab(data, 3, s, flat), 3, all);
    expect(boosted.std[0]).toBeLessThanOrEqual(s.std[0] * 2 + 1);
  });
});

describe('transferLab restricted to some pixels', () => {
  it('copies the pixels outside `where` untouched', () => {
    const data = Uint8Array.from([10, 20, 30, 200, 100, 50]);
    const all = Uint8Array.from([1, 1]);
    const s = labStats(data, 3, all);
    const shifted = { ...s, mean: [s.mean[0] + 10, s.mean[1], s.mean[2]] as const };
    const out = transferLab(data, 3, s, shifted, Uint8Array.from([0, 1]));
    expect([...out.subarray(0, 3)]).toEqual([10, 20, 30]);
    expect([...out.subarray(3)]).not.toEqual([200, 100, 50]);
  });
});

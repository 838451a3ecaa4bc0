import { describe, expect, it } from 'vitest';
import { blur, distanceTransform, plane } from '@kirie/core/image/plane';

/** Deterministic pseudo-random generator (xorshift32) so failures reproduce. */
function rng(seed: number) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 2 ** 32;
  };
}

function bruteDistance(seed: Uint8Array, w: number, h: number): Float64Array {
  const pts: [number, number][] = [];
  for (let i = 0; i < seed.length; i++) if (seed[i]) pts.push([i % w, Math.floor(i / w)]);
  return Float64Array.from({ length: w * h }, (_, i) => {
    const x = i % w;
    const y = Math.floor(i / w);
    let best = Infinity;
    for (const [px, py] of pts) best = Math.min(best, Math.hypot(px - x, py - y));
    return best;
  });
}

describe('distanceTransform', () => {
  it.each([
    [1, 1, 0.5], [7, 5, 0.1], [13, 9, 0.02], [20, 3, 0.3], [31, 17, 0.005], [16, 16, 0.9],
  ])('matches brute force on %i×%i (density %f)', (w, h, density) => {
    const r = rng(w * 1000 + h);
    const seed = Uint8Array.from({ length: w * h }, () => (r() < density ? 1 : 0));
    if (!seed.includes(1)) seed[Math.floor(seed.length / 2)] = 1;
    const { distance, nearest } = distanceTransform(seed, w, h, true);
    const expected = bruteDistance(seed, w, h);
    for (let i = 0; i < seed.length; i++) {
      expect(distance[i]).toBeCloseTo(expected[i], 5);
      const n = nearest![i];
      expect(seed[n]).toBe(1);
      expect(Math.hypot((n % w) - (i % w), Math.floor(n / w) - Math.floor(i / w))).toBeCloseTo(expected[i], 5);
    }
  });

  it('is Infinity with nearest -1 when there is no seed', () => {
    const { distance, nearest } = distanceTransform(new Uint8Array(12), 4, 3, true);
    expect([...distance].every((d) => d === Infinity)).toBe(true);
    expect([...nearest!].every((n) => n === -1)).toBe(true);
  });
});

describe('blur', () => {
  it('keeps constants, spreads a step over exactly ±radius, and is symmetric', () => {
    const w = 64;
    for (const radius of [1, 2, 3, 5, 10, 25]) {
      const step = plane(w, 1, Float32Array.from({ length: w }, (_, x) => (x < 32 ? 1 : 0)));
      const out = blur(step, radius).data;
      for (let x = 0; x < w; x++) {
        if (x < 32 - radius) expect(out[x]).toBeCloseTo(1, 6);
        else if (x > 31 + radius) expect(out[x]).toBeCloseTo(0, 6);
        else expect(out[x] > 0 && out[x] < 1).toBe(true);
        // Step at 31.5: value at 31.5 − k mirrors 1 − value at 31.5 + k.
        if (x < 32) expect(out[x] + out[63 - x]).toBeCloseTo(1, 5);
      }
      const flat = blur(plane(9, 7, new Float32Array(63).fill(0.3)), radius).data;
      for (const v of flat) expect(v).toBeCloseTo(0.3, 6);
    }
  });

  it('preserves the sum away from edges and replicates edges', () => {
    const p = plane(40, 40);
    p.data[20 * 40 + 20] = 1;
    const out = blur(p, 6).data;
    expect(out.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    const edge = plane(5, 1, Float32Array.from([1, 0, 0, 0, 0]));
    expect(blur(edge, 3).data[0]).toBeGreaterThan(0.4);
  });

  it('radius 0 copies', () => {
    const p = plane(2, 2, Float32Array.from([1, 2, 3, 4]));
    const out = blur(p, 0);
    expect([...out.data]).toEqual([1, 2, 3, 4]);
    expect(out.data).not.toBe(p.data);
  });
});

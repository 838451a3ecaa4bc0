import { describe, expect, it } from 'vitest';
import { latentMask, stepMask } from '@kirie/core/image/softmask';

describe('stepMask', () => {
  it.each([
    // value, steps, expected per-step masks
    [1, 4, [1, 1, 1, 1]],
    [0, 4, [0, 0, 0, 0]],
    [0.5, 4, [0, 0, 1, 1]],
    [0.25, 4, [0, 0, 0, 1]],
    [0.26, 4, [0, 0, 1, 1]],
    [0.75, 4, [0, 1, 1, 1]],
    [0.01, 10, [0, 0, 0, 0, 0, 0, 0, 0, 0, 1]],
    [0.99, 10, [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]],
    [0.5, 1, [1]],
    [1, 1, [1]],
    [0, 1, [0]],
  ])('value %f over %i steps', (v, steps, expected) => {
    const soft = Float32Array.from([v]);
    expect(expected.map((_, i) => stepMask(soft, i, steps)[0])).toEqual(expected);
  });

  it('frees a pixel of value v for the last ⌈v·steps⌉ steps, and only once (never re-frozen)', () => {
    const values = Float32Array.from({ length: 101 }, (_, i) => i / 100);
    for (const steps of [1, 3, 7, 20, 50]) {
      const masks = Array.from({ length: steps }, (_, i) => stepMask(values, i, steps));
      values.forEach((v, p) => {
        const free = masks.map((m) => m[p]);
        const count = free.reduce((a, b) => a + b, 0);
        expect(Math.abs(count - Math.ceil(v * steps))).toBeLessThanOrEqual(v * steps === Math.round(v * steps) ? 1 : 0);
        const first = free.indexOf(1);
        if (first >= 0) expect(free.slice(first).every((f) => f === 1)).toBe(true);
      });
    }
  });

  it('is the binary mask itself at every step for a hard mask (diffusers behaviour)', () => {
    const hard = Float32Array.from([0, 1, 1, 0, 1]);
    for (let i = 0; i < 10; i++) expect([...stepMask(hard, i, 10)]).toEqual([...hard]);
  });

  it('reuses the output buffer and rejects bad arguments', () => {
    const out = new Float32Array(2);
    expect(stepMask(Float32Array.from([1, 0]), 0, 2, out)).toBe(out);
    expect(() => stepMask(new Float32Array(2), 2, 2)).toThrow(/step must be an integer in \[0, 1\]/);
    expect(() => stepMask(new Float32Array(2), 0, 0)).toThrow(/steps must be a positive integer/);
    expect(() => stepMask(new Float32Array(2), 0, 2, new Float32Array(3))).toThrow(/output has 3 values/);
  });
});

describe('latentMask', () => {
  it('averages factor×factor blocks, partial blocks at ragged edges', () => {
    const width = 10;
    const height = 9;
    const data = new Uint8Array(width * height);
    for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) data[y * width + x] = x < 4 ? 255 : 0;
    for (let y = 0; y < height; y++) for (let x = 8; x < 10; x++) data[y * width + x] = 255;
    const m = latentMask({ width, height, channels: 1, data }, 8);
    expect([m.width, m.height]).toEqual([2, 2]);
    expect(m.data[0]).toBeCloseTo(0.5, 6);
    expect(m.data[1]).toBeCloseTo(1, 6);
    expect(m.data[2]).toBeCloseTo(0, 6);
    expect(m.data[3]).toBeCloseTo(1, 6);
  });

  it('rejects a multi-channel mask', () => {
    expect(() => latentMask({ width: 8, height: 8, channels: 3, data: new Uint8Array(192) })).toThrow(/1 channel/);
  });
});

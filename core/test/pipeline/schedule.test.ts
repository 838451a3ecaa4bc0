import { describe, expect, it } from 'vitest';
import { controlActive } from '../../src/pipeline/schedule.js';
import { decodedToImages, prepareMask } from '../../src/pipeline/images.js';

describe('ControlNet window (diffusers controlnet_keep)', () => {
  it.each([
    [0, 1, [1, 1, 1, 1]],
    [0, 0.5, [1, 1, 0, 0]],
    [0.5, 1, [0, 0, 1, 1]],
    [0.3, 0.8, [0, 0, 1, 0]], // 1/4 < 0.3: still off
    [0.25, 0.75, [0, 1, 1, 0]],
  ])('start %f end %f over 4 steps', (start, end, keep) => {
    expect([0, 1, 2, 3].map((i) => Number(controlActive(i, 4, start, end)))).toEqual(keep);
  });
});

describe('pixels in and out', () => {
  it('binarises masks at 128 and samples latents at floor(i·8)', () => {
    const data = new Uint8Array(16 * 16);
    for (let y = 0; y < 16; y++) for (let x = 0; x < 16; x++) data[y * 16 + x] = x === 0 ? 128 : x === 8 ? 127 : 255 * Number(y >= 8);
    const m = prepareMask({ width: 16, height: 16, channels: 1, data }, 16, 16);
    expect(m.pixels[0]).toBe(1);
    expect(m.pixels[8]).toBe(0);
    expect(m.pixels[1]).toBe(0);
    expect(Array.from(m.latent)).toEqual([1, 0, 1, 0]);
  });

  it('takes the luma of an RGB mask', () => {
    const m = prepareMask({ width: 8, height: 8, channels: 3, data: new Uint8Array(8 * 8 * 3).fill(200) }, 8, 8);
    expect(m.latent[0]).toBe(1);
  });

  it('decodes clamp(x/2 + 0.5) and rounds half to even', () => {
    // raw 0 → 0.5 → 127.5 → 128 (even); raw 3 → clamp 1 → 255; raw −3 → 0
    const raw = new Float32Array([0, 3, -3, 0, 3, -3, 0, 3, -3]);
    const { images, float } = decodedToImages(raw, 1, 3, 1);
    expect(Array.from(images[0].data)).toEqual([128, 128, 128, 255, 255, 255, 0, 0, 0]);
    expect(Array.from(float[0])).toEqual([0.5, 0.5, 0.5, 1, 1, 1, 0, 0, 0]);
  });
});

// Control images as clients upload them: canny runs on the picture a user sees, alpha flattened over white.
import { beforeEach, describe, expect, it } from 'vitest';
import { canny } from '../../src/control/canny.js';
import { toRgb } from '../../src/control/preprocess.js';
import type { RasterImage } from '../../src/image/png.js';
import { generateFromRequest } from '../../src/pipeline/request.js';
import { parseGenerateRequest } from '../../src/request/parse.js';
import { fakeControlNet, fakeDeps, live } from './fakes.js';

const id = 'c'.repeat(64);
const minimal = { model: 'fake', prompt: 'a house', width: 64, height: 64, steps: 2, scheduler: 'ddim', seed: 1 };

/** A 64x64 RGBA image: an opaque dark square on a transparent background, half-transparent stripe. */
function rgbaScene(): RasterImage {
  const data = new Uint8Array(64 * 64 * 4);
  for (let y = 0; y < 64; y++) {
    for (let x = 0; x < 64; x++) {
      const at = (y * 64 + x) * 4;
      const square = x >= 16 && x < 48 && y >= 16 && y < 48;
      data.set(square ? [20, 30, 40, 255] : y < 8 ? [0, 0, 0, 128] : [0, 0, 0, 0], at);
    }
  }
  return { width: 64, height: 64, channels: 4, data };
}

beforeEach(() => live.clear());

async function hintFor(scene: RasterImage, preprocessor: Record<string, unknown>): Promise<number[]> {
  const net = fakeControlNet([8, 8]);
  const request = parseGenerateRequest({ ...minimal, control: [{ model: 'cn', image: id, preprocessor }] });
  await generateFromRequest(request, fakeDeps(new Map([[id, scene]]), { controlNet: async () => net }));
  const hint = net.session.calls[0]!.controlnet_cond!;
  return Array.from(hint.data as Float32Array, (v) => Math.round(v * 255));
}

describe('control image used as is', () => {
  it('is flattened over white: a transparent pixel is a white hint, not black', async () => {
    const seen = await hintFor(rgbaScene(), { type: 'none' });
    const plane = 64 * 64;
    const rgb = toRgb(rgbaScene());
    for (let c = 0; c < 3; c++) {
      expect(seen.slice(c * plane, (c + 1) * plane)).toEqual(Array.from({ length: plane }, (_, i) => rgb.data[i * 3 + c]));
    }
    expect(seen[32 * 64 + 4]).toBe(255);
  });
});

describe('canny control unit', () => {
  it('accepts an RGBA image and finds the edges of the flattened picture', async () => {
    const scene = rgbaScene();
    const seen = await hintFor(scene, { type: 'canny', low: 100, high: 200 });
    const expected = canny(toRgb(scene), { low: 100, high: 200 });
    expect(seen.slice(0, 64 * 64)).toEqual(Array.from(expected.data));
    // The square's outline and the stripe's lower edge are there; a transparent area counts as white, not black.
    expect(expected.data.reduce((n, v) => n + (v > 0 ? 1 : 0), 0)).toBeGreaterThan(100);
    expect(expected.data[32 * 64 + 4]).toBe(0);
  });
});

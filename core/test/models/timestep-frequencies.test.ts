// The UNet's sinusoidal embedding constants against torch's own output: the SDXL golden records
// diffusers' time_embeds (cos ‖ sin of t·freq, dim 8) for time ids up to 1344, where one ulp of a
// frequency moves the argument by ~1e-4.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseNpy } from '../../src/io/npy.js';
import { timestepFrequencies } from '../../src/models/unet.js';

const DIR = join(import.meta.dirname, '../../../tests/golden/sdxl/components');
const f = Math.fround;

interface TimeIdsItem {
  add_time_ids: number[];
  time_embeds: string;
}
const items = (JSON.parse(readFileSync(join(DIR, 'case.json'), 'utf8')) as { cases: { time_ids: { items: TimeIdsItem[] } } }).cases.time_ids.items;

/** Largest |embedding − torch's| in float32 ulps of torch's value, cos/sin themselves correctly rounded. */
function maxUlps(freqs: number[]): number {
  const half = freqs.length;
  let worst = 0;
  for (const item of items) {
    const golden = parseNpy(new Uint8Array(readFileSync(join(DIR, item.time_embeds)))).data as Float32Array;
    item.add_time_ids.forEach((t, j) => {
      freqs.forEach((freq, i) => {
        const arg = f(t * freq);
        for (const [ours, theirs] of [[f(Math.cos(arg)), golden[j * 2 * half + i]!], [f(Math.sin(arg)), golden[j * 2 * half + half + i]!]]) {
          const ulp = 2 ** (Math.floor(Math.log2(Math.max(Math.abs(theirs), 2 ** -126))) - 23);
          worst = Math.max(worst, Math.abs(ours! - theirs) / ulp);
        }
      });
    });
  }
  return worst;
}

describe('timestep embedding frequencies', () => {
  it("are torch's float32 ones: the recorded SDXL time embeddings come out within cos/sin's own last ulp", () => {
    expect(items.length).toBeGreaterThanOrEqual(4);
    expect(maxUlps(timestepFrequencies(4))).toBeLessThanOrEqual(1);
  });

  it('correctly rounded frequencies miss them by about 2000 ulps (what the golden check can tell apart)', () => {
    const correctlyRounded = Array.from({ length: 4 }, (_, i) => f(Math.exp((-Math.log(10000) * i) / 4)));
    expect(maxUlps(correctlyRounded)).toBeGreaterThan(1000);
  });

  it('differ from correctly rounded exp where torch rounds -ln(10000)·i/half in float32 first', () => {
    // exp(-ln(10000)·4/16) = 0.1: torch gets the float32 just below it; the tiny SD1.5 model's dim is 32.
    expect(timestepFrequencies(16)[4]).toBe(f(0.1) - 2 ** -27);
    expect(timestepFrequencies(16)[0]).toBe(1);
  });
});

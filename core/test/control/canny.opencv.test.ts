import { beforeAll, describe, expect, it } from 'vitest';
import { canny } from '../../src/control/canny.js';
import { toGray } from '../../src/control/preprocess.js';
import { lcg, loadOpenCv, type Cv } from './opencv.js';

let cv: Cv;
beforeAll(async () => {
  ({ cv } = await loadOpenCv());
});

/** Blocky noise with smooth ramps: plenty of ties, diagonals and weak edges for the corner cases. */
function randomImage(rnd: () => number, w: number, h: number, cn: 1 | 3): Uint8Array {
  const data = new Uint8Array(w * h * cn);
  const block = 1 + Math.floor(rnd() * 4);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let c = 0; c < cn; c++) {
        const bx = Math.floor(x / block), by = Math.floor(y / block);
        const v = ((bx * 37 + by * 91 + c * 13) * (1 + Math.floor(rnd() * 2))) % 256;
        data[(y * w + x) * cn + c] = rnd() < 0.3 ? Math.floor(rnd() * 256) : v;
      }
    }
  }
  return data;
}

describe('canny and toGray against opencv.js on random images', () => {
  it.each([1, 3] as const)('canny, %d channel(s)', (cn) => {
    const rnd = lcg(10 + cn);
    for (let k = 0; k < 40; k++) {
      const w = 3 + Math.floor(rnd() * 40);
      const h = 3 + Math.floor(rnd() * 40);
      const data = randomImage(rnd, w, h, cn);
      const low = Math.floor(rnd() * 300);
      const high = low + Math.floor(rnd() * 400);
      const src = cv.matFromArray(h, w, cn === 1 ? cv.CV_8UC1 : cv.CV_8UC3, Array.from(data));
      const dst = new cv.Mat();
      cv.Canny(src, dst, low, high, 3, false);
      const theirs = Uint8Array.from(dst.data as Uint8Array);
      src.delete();
      dst.delete();
      const ours = canny({ width: w, height: h, channels: cn, data }, { low, high }).data;
      expect(ours, `case ${k}: ${w}×${h} ${low}/${high}`).toEqual(theirs);
    }
  });

  it('toGray matches cvtColor(RGB2GRAY)', () => {
    const data = Uint8Array.from({ length: 3 * 4096 }, (_, i) => (i * 2654435761) >>> 24);
    const src = cv.matFromArray(64, 64, cv.CV_8UC3, Array.from(data));
    const dst = new cv.Mat();
    cv.cvtColor(src, dst, cv.COLOR_RGB2GRAY);
    const theirs = Uint8Array.from(dst.data as Uint8Array);
    src.delete();
    dst.delete();
    expect(toGray({ width: 64, height: 64, channels: 3, data }).data).toEqual(theirs);
  });
});

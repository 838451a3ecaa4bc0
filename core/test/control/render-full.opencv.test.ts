// The "full" OpenPose image (hands + face) has no golden file: it is checked against util.py's
// draw_handpose/draw_facepose replayed with opencv.js on top of the (golden-verified) body render.
import { beforeAll, describe, expect, it } from 'vitest';
import { renderPose } from '../../src/control/render.js';
import type { Keypoint, PoseDocument } from '../../src/control/openpose.js';
import { lcg, loadOpenCv, type Cv } from './opencv.js';

// matplotlib.colors.hsv_to_rgb([i / 20, 1, 1]) * 255, rounded half-to-even (evaluated in Python).
const HAND_COLORS = [
  [255, 0, 0], [255, 77, 0], [255, 153, 0], [255, 229, 0], [204, 255, 0], [128, 255, 0], [51, 255, 0], [0, 255, 25],
  [0, 255, 102], [0, 255, 179], [0, 255, 255], [0, 178, 255], [0, 102, 255], [0, 25, 255], [51, 0, 255], [128, 0, 255],
  [204, 0, 255], [255, 0, 230], [255, 0, 153], [255, 0, 77],
];
const HAND_EDGES = [
  [0, 1], [1, 2], [2, 3], [3, 4], [0, 5], [5, 6], [6, 7], [7, 8], [0, 9], [9, 10], [10, 11], [11, 12],
  [0, 13], [13, 14], [14, 15], [15, 16], [0, 17], [17, 18], [18, 19], [19, 20],
];

let cv: Cv;
beforeAll(async () => {
  ({ cv } = await loadOpenCv());
});

function randomPoints(rnd: () => number, n: number, W: number, H: number): (Keypoint | null)[] {
  return Array.from({ length: n }, (_, i) => {
    if (rnd() < 0.1) return null;
    // a few on the left/top edge: int(x * W) == 0 must be skipped like util.py's `x > eps`
    const x = i % 7 === 3 ? 0.2 / W : 0.1 + rnd() * 0.8;
    const y = i % 7 === 5 ? 0.2 / H : 0.1 + rnd() * 0.8;
    return { x, y, confidence: 1 };
  });
}

describe('renderPose full (hands + face) matches util.py replayed with opencv.js', () => {
  it.each([1, 2, 3])('random people, seed %d', (seed) => {
    const rnd = lcg(seed);
    const W = 200 + Math.floor(rnd() * 200);
    const H = 200 + Math.floor(rnd() * 200);
    const doc: PoseDocument = {
      width: W,
      height: H,
      people: [0, 1].map(() => ({
        body: randomPoints(rnd, 18, W, H),
        leftHand: randomPoints(rnd, 21, W, H),
        rightHand: randomPoints(rnd, 21, W, H),
        face: randomPoints(rnd, 70, W, H),
      })),
    };
    const ours = renderPose(doc, { hands: true, face: true });

    const bodyOnly = renderPose(doc).data;
    const mat = cv.matFromArray(H, W, cv.CV_8UC3, bodyOnly);
    const px = (k: Keypoint | null): [number, number] | null => {
      if (!k) return null;
      const [x, y] = [Math.trunc(k.x * W), Math.trunc(k.y * H)];
      return x > 0.01 && y > 0.01 ? [x, y] : null;
    };
    for (const hand of doc.people.flatMap((p) => [p.leftHand!, p.rightHand!])) {
      HAND_EDGES.forEach(([a, b], i) => {
        const [p, q] = [px(hand[a!]!), px(hand[b!]!)];
        if (p && q) cv.line(mat, new cv.Point(...p), new cv.Point(...q), new cv.Scalar(...HAND_COLORS[i]!), 2);
      });
      for (const k of hand) {
        const p = px(k);
        if (p) cv.circle(mat, new cv.Point(...p), 4, new cv.Scalar(0, 0, 255), -1);
      }
    }
    for (const k of doc.people.flatMap((p) => p.face!)) {
      const p = px(k);
      if (p) cv.circle(mat, new cv.Point(...p), 3, new cv.Scalar(255, 255, 255), -1);
    }
    const expected = Uint8Array.from(mat.data as Uint8Array);
    mat.delete();
    let differing = 0;
    for (let i = 0; i < expected.length; i++) if (ours.data[i] !== expected[i]) differing++;
    expect(differing).toBe(0);
    expect(ours.data.some((v, i) => v !== bodyOnly[i])).toBe(true);
  });
});

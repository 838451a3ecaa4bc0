import { beforeAll, describe, expect, it } from 'vitest';
import { drawLine, ellipse2Poly, fillCircle, fillConvexPoly, type Canvas } from '../../src/control/raster.js';
import { lcg, loadOpenCv, type Cv } from './opencv.js';

const W = 61;
const H = 47;
let cv: Cv;
beforeAll(async () => {
  ({ cv } = await loadOpenCv());
});

function blank(): Canvas {
  return { width: W, height: H, channels: 3, data: new Uint8Array(W * H * 3) };
}

function withMat(draw: (mat: unknown) => void): Uint8Array {
  const mat = cv.Mat.zeros(H, W, cv.CV_8UC3);
  try {
    draw(mat);
    return Uint8Array.from(mat.data as Uint8Array);
  } finally {
    mat.delete();
  }
}

function differing(a: Uint8Array, b: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) n++;
  return n;
}

describe('OpenCV drawing primitives, against opencv.js on random shapes (on and off the canvas)', () => {
  it('ellipse2Poly returns the same vertices', () => {
    const rnd = lcg(1);
    for (let k = 0; k < 300; k++) {
      const center = { x: Math.floor(rnd() * 200 - 50), y: Math.floor(rnd() * 200 - 50) };
      const axes = { width: Math.floor(rnd() * 80), height: Math.floor(rnd() * 10) };
      const angle = Math.floor(rnd() * 720 - 360);
      const delta = 1 + Math.floor(rnd() * 3);
      const ours = ellipse2Poly(center, axes, angle, 0, 360, delta);
      const vec = new cv.PointVector();
      cv.ellipse2Poly(new cv.Point(center.x, center.y), new cv.Size(axes.width, axes.height), angle, 0, 360, delta, vec);
      const theirs: number[] = [];
      for (let i = 0; i < vec.size(); i++) theirs.push(vec.get(i).x, vec.get(i).y);
      vec.delete();
      expect(ours.flatMap((p) => [p.x, p.y]), `case ${k}`).toEqual(theirs);
    }
  });

  it('fillConvexPoly of limb ellipses paints the same pixels', () => {
    const rnd = lcg(2);
    for (let k = 0; k < 300; k++) {
      const center = { x: Math.floor(rnd() * 90 - 15), y: Math.floor(rnd() * 70 - 12) };
      const poly = ellipse2Poly(center, { width: Math.floor(rnd() * 40), height: 1 + Math.floor(rnd() * 6) }, Math.floor(rnd() * 360 - 180), 0, 360, 1);
      const color = [Math.floor(rnd() * 256), 255, 17];
      const ours = blank();
      fillConvexPoly(ours, poly, color);
      const theirs = withMat((mat) => {
        const pts = cv.matFromArray(poly.length, 1, cv.CV_32SC2, poly.flatMap((p) => [p.x, p.y]));
        cv.fillConvexPoly(mat, pts, new cv.Scalar(...color), cv.LINE_8, 0);
        pts.delete();
      });
      expect(differing(ours.data, theirs), `case ${k}`).toBe(0);
    }
  });

  it('fillConvexPoly of long limbs reaching in from far above the canvas paints the same pixels', () => {
    const rnd = lcg(5);
    let reached = 0;
    for (let k = 0; k < 60; k++) {
      const center = { x: Math.floor(rnd() * 61), y: -Math.floor(500 + rnd() * 3000) };
      const poly = ellipse2Poly(center, { width: Math.floor(-center.y + 5 + rnd() * 40), height: 1 + Math.floor(rnd() * 30) }, 89 + Math.floor(rnd() * 3), 0, 360, 1);
      const ours = blank();
      fillConvexPoly(ours, poly, [9, 8, 7]);
      if (ours.data.some((v) => v > 0)) reached++;
      const theirs = withMat((mat) => {
        const pts = cv.matFromArray(poly.length, 1, cv.CV_32SC2, poly.flatMap((p) => [p.x, p.y]));
        cv.fillConvexPoly(mat, pts, new cv.Scalar(9, 8, 7), cv.LINE_8, 0);
        pts.delete();
      });
      expect(differing(ours.data, theirs), `case ${k}`).toBe(0);
    }
    expect(reached).toBeGreaterThan(10);
  });

  it('filled circles match', () => {
    const rnd = lcg(3);
    for (let k = 0; k < 200; k++) {
      const center = { x: Math.floor(rnd() * 80 - 10), y: Math.floor(rnd() * 66 - 10) };
      const r = Math.floor(rnd() * 12);
      const ours = blank();
      fillCircle(ours, center, r, [1, 2, 3]);
      const theirs = withMat((mat) => cv.circle(mat, new cv.Point(center.x, center.y), r, new cv.Scalar(1, 2, 3), -1, cv.LINE_8, 0));
      expect(differing(ours.data, theirs), `case ${k}`).toBe(0);
    }
  });

  it('lines of thickness 1 to 3 match', () => {
    const rnd = lcg(4);
    for (let k = 0; k < 300; k++) {
      const a = { x: Math.floor(rnd() * 90 - 15), y: Math.floor(rnd() * 70 - 12) };
      const b = { x: Math.floor(rnd() * 90 - 15), y: Math.floor(rnd() * 70 - 12) };
      const t = 1 + (k % 3);
      const ours = blank();
      drawLine(ours, a, b, [200, 100, 50], t);
      const theirs = withMat((mat) => cv.line(mat, new cv.Point(a.x, a.y), new cv.Point(b.x, b.y), new cv.Scalar(200, 100, 50), t, cv.LINE_8, 0));
      expect(differing(ours.data, theirs), `case ${k}: ${JSON.stringify([a, b, t])}`).toBe(0);
    }
  });
});

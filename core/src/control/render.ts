// The OpenPose control image exactly as ControlNet 1.1's annotator draws it (annotator/openpose/util.py
// draw_bodypose, draw_handpose, draw_facepose): same limb order, colours, 60 % dimming, truncations and
// OpenCV rasterisation. Python's int() truncates toward zero, hence Math.trunc throughout.
import type { RgbImage } from './preprocess.js';
import type { Keypoint, PoseDocument } from './openpose.js';
import { cvRound, drawLine, ellipse2Poly, fillCircle, fillConvexPoly, type Canvas } from './raster.js';

// 1-based pairs, as in util.py; only the first 17 are drawn (the ear–shoulder pairs are not).
export const LIMBS = [
  [2, 3], [2, 6], [3, 4], [4, 5], [6, 7], [7, 8], [2, 9], [9, 10], [10, 11], [2, 12], [12, 13], [13, 14],
  [2, 1], [1, 15], [15, 17], [1, 16], [16, 18],
] as const;

/** Limb i and keypoint i (COCO-18 order) are drawn in COLORS[i]. */
export const COLORS = [
  [255, 0, 0], [255, 85, 0], [255, 170, 0], [255, 255, 0], [170, 255, 0], [85, 255, 0], [0, 255, 0],
  [0, 255, 85], [0, 255, 170], [0, 255, 255], [0, 170, 255], [0, 85, 255], [0, 0, 255], [85, 0, 255],
  [170, 0, 255], [255, 0, 255], [255, 0, 170], [255, 0, 85],
] as const;

export const HAND_EDGES = [
  [0, 1], [1, 2], [2, 3], [3, 4], [0, 5], [5, 6], [6, 7], [7, 8], [0, 9], [9, 10], [10, 11], [11, 12],
  [0, 13], [13, 14], [14, 15], [15, 16], [0, 17], [17, 18], [18, 19], [19, 20],
] as const;

/** Hand keypoints are drawn blue. */
export const HAND_POINT_COLOR = [0, 0, 255] as const;
const STICK_WIDTH = 4;
const EPS = 0.01;

// (canvas * 0.6).astype(uint8), evaluated in float64 like NumPy.
const DIM = Uint8Array.from({ length: 256 }, (_, v) => Math.floor(v * 0.6));

/** matplotlib.colors.hsv_to_rgb([h, 1, 1]) * 255, converted the way cv2 turns a float colour into bytes. */
function hsvColor(h: number): number[] {
  const i = Math.trunc(h * 6.0);
  const f = h * 6.0 - i;
  const p = 0;
  const q = 1.0 - f;
  const t = 1.0 - (1.0 - f);
  const rgb = [[1, t, p], [q, 1, p], [p, 1, t], [p, q, 1], [t, p, 1], [1, p, q]][i % 6]!;
  return rgb.map((c) => cvRound(c * 255));
}

export const HAND_COLORS = HAND_EDGES.map((_, i) => hsvColor(i / HAND_EDGES.length));

export interface RenderPoseOptions {
  /** Draw the body skeleton (default true). */
  body?: boolean;
  /** Draw hands and face: the "openpose_full" control image (default false). */
  hands?: boolean;
  face?: boolean;
}

function drawBody(canvas: Canvas, doc: PoseDocument): void {
  const W = doc.width;
  const H = doc.height;
  let top = H;
  let bottom = -1;
  let left = W;
  let right = -1;
  LIMBS.forEach(([a, b], i) => {
    for (const person of doc.people) {
      const p = person.body[a - 1];
      const q = person.body[b - 1];
      if (!p || !q) continue;
      const Y0 = p.x * W, Y1 = q.x * W;
      const X0 = p.y * H, X1 = q.y * H;
      const mX = (X0 + X1) / 2;
      const mY = (Y0 + Y1) / 2;
      const length = Math.sqrt((X0 - X1) ** 2 + (Y0 - Y1) ** 2);
      const angle = Math.atan2(X0 - X1, Y0 - Y1) * (180 / Math.PI);
      const polygon = ellipse2Poly({ x: Math.trunc(mY), y: Math.trunc(mX) }, { width: Math.trunc(length / 2), height: STICK_WIDTH }, Math.trunc(angle), 0, 360, 1);
      fillConvexPoly(canvas, polygon, COLORS[i]!);
      for (const p of polygon) {
        top = Math.min(top, p.y);
        bottom = Math.max(bottom, p.y);
        left = Math.min(left, p.x);
        right = Math.max(right, p.x);
      }
    }
  });
  // Only pixels inside the limb polygons' bounding box can be non-black; dimming just those gives the same canvas.
  const x0 = Math.max(left, 0) * 3;
  const x1 = (Math.min(right, W - 1) + 1) * 3;
  for (let y = Math.max(top, 0); y <= Math.min(bottom, H - 1); y++) {
    for (let i = y * W * 3 + x0, end = y * W * 3 + x1; i < end; i++) canvas.data[i] = DIM[canvas.data[i]!]!;
  }
  COLORS.forEach((color, i) => {
    for (const person of doc.people) {
      const p = person.body[i];
      if (p) fillCircle(canvas, { x: Math.trunc(p.x * W), y: Math.trunc(p.y * H) }, 4, color);
    }
  });
}

function pixel(p: Keypoint | null, W: number, H: number): { x: number; y: number } | null {
  if (!p) return null;
  const x = Math.trunc(p.x * W);
  const y = Math.trunc(p.y * H);
  return x > EPS && y > EPS ? { x, y } : null;
}

function drawHand(canvas: Canvas, hand: (Keypoint | null)[], W: number, H: number): void {
  HAND_EDGES.forEach(([a, b], i) => {
    const p = pixel(hand[a] ?? null, W, H);
    const q = pixel(hand[b] ?? null, W, H);
    if (p && q) drawLine(canvas, p, q, HAND_COLORS[i]!, 2);
  });
  for (const k of hand) {
    const p = pixel(k, W, H);
    if (p) fillCircle(canvas, p, 4, [0, 0, 255]);
  }
}

/** The control image for a pose: a black RGB canvas of the pose's size. */
export function renderPose(doc: PoseDocument, options: RenderPoseOptions = {}): RgbImage {
  const { width: W, height: H } = doc;
  if (!(Number.isInteger(W) && W > 0 && Number.isInteger(H) && H > 0)) throw new Error(`renderPose: canvas size must be positive integers, got ${W}×${H}`);
  const canvas: Canvas = { width: W, height: H, channels: 3, data: new Uint8Array(W * H * 3) };
  if (options.body ?? true) drawBody(canvas, doc);
  if (options.hands) {
    for (const person of doc.people) {
      if (person.leftHand) drawHand(canvas, person.leftHand, W, H);
      if (person.rightHand) drawHand(canvas, person.rightHand, W, H);
    }
  }
  if (options.face) {
    for (const person of doc.people) {
      for (const k of person.face ?? []) {
        const p = pixel(k, W, H);
        if (p) fillCircle(canvas, p, 3, [255, 255, 255]);
      }
    }
  }
  return { width: W, height: H, channels: 3, data: canvas.data };
}

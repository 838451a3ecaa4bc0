// Canny edges exactly as OpenCV 4.6.0's cv::Canny(src, low, high) with aperture 3 and the L1 gradient,
// the way ControlNet calls it on an RGB image. The control models were trained on these exact edges, so
// every rounding and tie-break below follows OpenCV's integer code, not the textbook algorithm.
import type { RasterImage } from '../image/png.js';

export interface CannyOptions {
  low: number;
  high: number;
}

export interface GrayImage {
  width: number;
  height: number;
  channels: 1;
  data: Uint8Array;
}

// tan(22.5°) in OpenCV's 15-bit fixed point.
const CANNY_SHIFT = 15;
const TG22 = Math.trunc(0.4142135623730950488016887242097 * (1 << CANNY_SHIFT) + 0.5);

/**
 * Per pixel: 3×3 Sobel (BORDER_REPLICATE) on every channel, the channel with the largest |dx|+|dy| wins
 * (first channel on ties), as cv::Canny does for multi-channel input.
 */
function gradients(image: RasterImage, mag: Int32Array, gx: Int16Array, gy: Int16Array): void {
  const { width: w, height: h, channels: cn, data } = image;
  const stride = w * cn;
  for (let y = 0; y < h; y++) {
    const rm = Math.max(y - 1, 0) * stride;
    const r0 = y * stride;
    const rp = Math.min(y + 1, h - 1) * stride;
    for (let x = 0; x < w; x++) {
      const xm = Math.max(x - 1, 0) * cn;
      const x0 = x * cn;
      const xp = Math.min(x + 1, w - 1) * cn;
      let best = -1;
      let bdx = 0;
      let bdy = 0;
      for (let c = 0; c < cn; c++) {
        const a = data[rm + xm + c]!, b = data[rm + x0 + c]!, d = data[rm + xp + c]!;
        const e = data[r0 + xm + c]!, f = data[r0 + xp + c]!;
        const g = data[rp + xm + c]!, k = data[rp + x0 + c]!, l = data[rp + xp + c]!;
        const dx = d - a + 2 * (f - e) + l - g;
        const dy = g - a + 2 * (k - b) + l - d;
        const n = Math.abs(dx) + Math.abs(dy);
        if (n > best) {
          best = n;
          bdx = dx;
          bdy = dy;
        }
      }
      const i = y * w + x;
      mag[i] = best;
      gx[i] = bdx;
      gy[i] = bdy;
    }
  }
}

/** Edges as a single-channel 0/255 image (cv2.Canny's output). Thresholds are swapped if low > high. */
export function canny(image: RasterImage, options: CannyOptions): GrayImage {
  const { width: w, height: h, channels } = image;
  if (channels !== 1 && channels !== 3) {
    throw new Error(`canny: expected a gray or RGB image, got ${channels} channels (flatten alpha first, e.g. with toRgb)`);
  }
  if (!Number.isFinite(options.low) || !Number.isFinite(options.high)) {
    throw new Error(`canny: thresholds must be finite numbers, got low=${options.low} high=${options.high}`);
  }
  if (image.data.length !== w * h * channels) {
    throw new Error(`canny: pixel data has ${image.data.length} bytes, expected ${w}×${h}×${channels}`);
  }
  const low = Math.floor(Math.min(options.low, options.high));
  const high = Math.floor(Math.max(options.low, options.high));

  const mag = new Int32Array(w * h);
  const gx = new Int16Array(w * h);
  const gy = new Int16Array(w * h);
  gradients(image, mag, gx, gy);

  // map has a one-pixel frame of 1 ("cannot be an edge") so hysteresis never leaves the image.
  // 0 = candidate, 1 = not an edge, 2 = edge.
  const ms = w + 2;
  const map = new Uint8Array(ms * (h + 2)).fill(1);
  let stack: Int32Array = new Int32Array(Math.max(1024, (w * h) >> 3));
  let top = 0;
  const magAt = (y: number, x: number): number => (y < 0 || y >= h || x < 0 || x >= w ? 0 : mag[y * w + x]!);

  for (let y = 0; y < h; y++) {
    let prevFlag = false;
    const mrow = (y + 1) * ms + 1;
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      const m = mag[i]!;
      let isMax = false;
      if (m > low) {
        const xs = gx[i]!;
        const ys = gy[i]!;
        const ax = Math.abs(xs);
        const ay = Math.abs(ys) * (1 << CANNY_SHIFT);
        const tg22x = ax * TG22;
        if (ay < tg22x) {
          isMax = m > magAt(y, x - 1) && m >= magAt(y, x + 1);
        } else {
          const tg67x = tg22x + ax * (1 << (CANNY_SHIFT + 1));
          if (ay > tg67x) {
            isMax = m > magAt(y - 1, x) && m >= magAt(y + 1, x);
          } else {
            const s = (xs ^ ys) < 0 ? -1 : 1;
            isMax = m > magAt(y - 1, x - s) && m > magAt(y + 1, x + s);
          }
        }
      }
      const p = mrow + x;
      if (!isMax) {
        prevFlag = false;
        map[p] = 1;
      } else if (!prevFlag && m > high && map[p - ms] !== 2) {
        map[p] = 2;
        if (top === stack.length) stack = grow(stack);
        stack[top++] = p;
        prevFlag = true;
      } else {
        map[p] = 0;
      }
    }
  }

  // Hysteresis: every candidate 8-connected to a strong pixel becomes an edge. The set reached does not
  // depend on the visiting order, so a plain stack gives OpenCV's result.
  const offsets = [-1, 1, -ms - 1, -ms, -ms + 1, ms - 1, ms, ms + 1];
  while (top > 0) {
    const p = stack[--top]!;
    for (const o of offsets) {
      const q = p + o;
      if (map[q] === 0) {
        map[q] = 2;
        if (top === stack.length) stack = grow(stack);
        stack[top++] = q;
      }
    }
  }

  const out = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) {
    const mrow = (y + 1) * ms + 1;
    for (let x = 0; x < w; x++) out[y * w + x] = map[mrow + x] === 2 ? 255 : 0;
  }
  return { width: w, height: h, channels: 1, data: out };
}

function grow(stack: Int32Array): Int32Array {
  const next = new Int32Array(stack.length * 2);
  next.set(stack);
  return next;
}

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
 * (first channel on ties), as cv::Canny does for multi-channel input. `mag` has a zero frame one pixel
 * wide (stride w + 2), which is what OpenCV's non-maximum suppression sees outside the image.
 */
function gradients(image: RasterImage, mag: Int32Array, gx: Int16Array, gy: Int16Array): void {
  const { width: w, height: h, channels: cn, data } = image;
  const stride = w * cn;
  const ms = w + 2;
  for (let y = 0; y < h; y++) {
    const rm = Math.max(y - 1, 0) * stride;
    const r0 = y * stride;
    const rp = Math.min(y + 1, h - 1) * stride;
    let o = y * w;
    let m = (y + 1) * ms + 1;
    for (let x = 0; x < w; x++, o++, m++) {
      const xm = (x > 0 ? x - 1 : 0) * cn;
      const x0 = x * cn;
      const xp = (x < w - 1 ? x + 1 : w - 1) * cn;
      let best = -1;
      let bdx = 0;
      let bdy = 0;
      if (cn === 3) {
        // The same sums as the general loop below, unrolled for RGB (the common case, 2× faster).
        const a0 = rm + xm, d0 = rm + xp, e0 = r0 + xm, f0 = r0 + xp, g0 = rp + xm, l0 = rp + xp, b0 = rm + x0, k0 = rp + x0;
        const dx0 = data[d0]! - data[a0]! + 2 * (data[f0]! - data[e0]!) + data[l0]! - data[g0]!;
        const dy0 = data[g0]! - data[a0]! + 2 * (data[k0]! - data[b0]!) + data[l0]! - data[d0]!;
        const dx1 = data[d0 + 1]! - data[a0 + 1]! + 2 * (data[f0 + 1]! - data[e0 + 1]!) + data[l0 + 1]! - data[g0 + 1]!;
        const dy1 = data[g0 + 1]! - data[a0 + 1]! + 2 * (data[k0 + 1]! - data[b0 + 1]!) + data[l0 + 1]! - data[d0 + 1]!;
        const dx2 = data[d0 + 2]! - data[a0 + 2]! + 2 * (data[f0 + 2]! - data[e0 + 2]!) + data[l0 + 2]! - data[g0 + 2]!;
        const dy2 = data[g0 + 2]! - data[a0 + 2]! + 2 * (data[k0 + 2]! - data[b0 + 2]!) + data[l0 + 2]! - data[d0 + 2]!;
        const n0 = Math.abs(dx0) + Math.abs(dy0);
        const n1 = Math.abs(dx1) + Math.abs(dy1);
        const n2 = Math.abs(dx2) + Math.abs(dy2);
        best = n0;
        bdx = dx0;
        bdy = dy0;
        if (n1 > best) {
          best = n1;
          bdx = dx1;
          bdy = dy1;
        }
        if (n2 > best) {
          best = n2;
          bdx = dx2;
          bdy = dy2;
        }
        mag[m] = best;
        gx[o] = bdx;
        gy[o] = bdy;
        continue;
      }
      for (let c = 0; c < cn; c++) {
        const a = data[rm + xm + c]!, d = data[rm + xp + c]!;
        const g = data[rp + xm + c]!, l = data[rp + xp + c]!;
        const dx = d - a + 2 * (data[r0 + xp + c]! - data[r0 + xm + c]!) + l - g;
        const dy = g - a + 2 * (data[rp + x0 + c]! - data[rm + x0 + c]!) + l - d;
        const n = (dx < 0 ? -dx : dx) + (dy < 0 ? -dy : dy);
        if (n > best) {
          best = n;
          bdx = dx;
          bdy = dy;
        }
      }
      mag[m] = best;
      gx[o] = bdx;
      gy[o] = bdy;
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

  const ms = w + 2;
  const mag = new Int32Array(ms * (h + 2));
  const gx = new Int16Array(w * h);
  const gy = new Int16Array(w * h);
  gradients(image, mag, gx, gy);

  // map shares mag's layout, with a frame of 1 ("cannot be an edge") so hysteresis never leaves the
  // image. 0 = candidate, 1 = not an edge, 2 = edge.
  const map = new Uint8Array(ms * (h + 2)).fill(1);
  let stack: Int32Array = new Int32Array(Math.max(1024, (w * h) >> 3));
  let top = 0;

  for (let y = 0; y < h; y++) {
    let prevFlag = false;
    const mrow = (y + 1) * ms + 1;
    for (let x = 0; x < w; x++) {
      const i = y * w + x;
      const p = mrow + x;
      const m = mag[p]!;
      let isMax = false;
      if (m > low) {
        const xs = gx[i]!;
        const ys = gy[i]!;
        const ax = Math.abs(xs);
        const ay = Math.abs(ys) * (1 << CANNY_SHIFT);
        const tg22x = ax * TG22;
        if (ay < tg22x) {
          isMax = m > mag[p - 1]! && m >= mag[p + 1]!;
        } else {
          const tg67x = tg22x + ax * (1 << (CANNY_SHIFT + 1));
          if (ay > tg67x) {
            isMax = m > mag[p - ms]! && m >= mag[p + ms]!;
          } else {
            const s = (xs ^ ys) < 0 ? -1 : 1;
            isMax = m > mag[p - ms - s]! && m > mag[p + ms + s]!;
          }
        }
      }
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
  while (top > 0) {
    const p = stack[--top]!;
    if (top + 8 > stack.length) stack = grow(stack);
    if (map[p - 1] === 0) map[(stack[top++] = p - 1)] = 2;
    if (map[p + 1] === 0) map[(stack[top++] = p + 1)] = 2;
    if (map[p - ms - 1] === 0) map[(stack[top++] = p - ms - 1)] = 2;
    if (map[p - ms] === 0) map[(stack[top++] = p - ms)] = 2;
    if (map[p - ms + 1] === 0) map[(stack[top++] = p - ms + 1)] = 2;
    if (map[p + ms - 1] === 0) map[(stack[top++] = p + ms - 1)] = 2;
    if (map[p + ms] === 0) map[(stack[top++] = p + ms)] = 2;
    if (map[p + ms + 1] === 0) map[(stack[top++] = p + ms + 1)] = 2;
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

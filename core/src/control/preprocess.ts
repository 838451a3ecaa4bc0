// Model-free control images besides canny: the small conversions ControlNet's annotators and UIs apply.
import type { RasterImage } from '../image/png.js';
import type { GrayImage } from './canny.js';
import { drawLine, type Canvas } from './raster.js';

export interface RgbImage {
  width: number;
  height: number;
  channels: 3;
  data: Uint8Array;
}

function checkSize(image: RasterImage, what: string): void {
  if (!(image.width > 0 && image.height > 0) || image.data.length !== image.width * image.height * image.channels) {
    throw new Error(`${what}: pixel data has ${image.data.length} bytes, expected ${image.width}×${image.height}×${image.channels}`);
  }
}

/**
 * ControlNet's HWC3: gray is replicated, alpha is composited over white in float32 and truncated, so a
 * transparent layer from a host app becomes the same RGB the annotators saw.
 */
export function toRgb(image: RasterImage): RgbImage {
  checkSize(image, 'toRgb');
  const { width, height, channels, data } = image;
  const n = width * height;
  if (channels === 3) return { width, height, channels: 3, data };
  const out = new Uint8Array(n * 3);
  const f = Math.fround;
  for (let i = 0; i < n; i++) {
    const hasAlpha = channels === 2 || channels === 4;
    const colour = channels >= 3 ? 3 : 1;
    const base = i * channels;
    const alpha = hasAlpha ? f(data[base + channels - 1]! / 255) : 1;
    for (let c = 0; c < 3; c++) {
      const v = data[base + (colour === 3 ? c : 0)]!;
      out[i * 3 + c] = hasAlpha ? Math.min(255, Math.max(0, Math.trunc(f(f(v * alpha) + f(255 * f(1 - alpha)))))) : v;
    }
  }
  return { width, height, channels: 3, data: out };
}

/** cv2.cvtColor(RGB2GRAY) for 8-bit images: OpenCV's 14-bit fixed-point BT.601 weights. */
export function toGray(image: RasterImage): GrayImage {
  checkSize(image, 'toGray');
  if (image.channels === 1) return { width: image.width, height: image.height, channels: 1, data: image.data };
  const rgb = toRgb(image).data;
  const out = new Uint8Array(image.width * image.height);
  for (let i = 0; i < out.length; i++) {
    out[i] = (rgb[i * 3]! * 4899 + rgb[i * 3 + 1]! * 9617 + rgb[i * 3 + 2]! * 1868 + 8192) >> 14;
  }
  return { width: image.width, height: image.height, channels: 1, data: out };
}

/** 255 − v on every channel (white-on-black line art ⇄ black-on-white). */
export function invert<T extends RasterImage>(image: T): T {
  checkSize(image, 'invert');
  const data = new Uint8Array(image.data.length);
  for (let i = 0; i < data.length; i++) data[i] = 255 - image.data[i]!;
  return { ...image, data };
}

/** cv2.threshold(gray, t, 255, THRESH_BINARY): strictly above `t` becomes 255, the rest 0. */
export function threshold(image: RasterImage, t: number): GrayImage {
  if (!Number.isFinite(t)) throw new Error(`threshold: level must be a finite number, got ${t}`);
  const gray = toGray(image);
  const data = new Uint8Array(gray.data.length);
  for (let i = 0; i < data.length; i++) data[i] = gray.data[i]! > t ? 255 : 0;
  return { ...gray, data };
}

/**
 * A scribble control image from a picture of dark strokes on a light background, as ControlNet's
 * scribble demo does: white wherever the darkest channel is below 127, black elsewhere.
 */
export function scribbleFromImage(image: RasterImage): GrayImage {
  const rgb = toRgb(image).data;
  const data = new Uint8Array(image.width * image.height);
  for (let i = 0; i < data.length; i++) {
    data[i] = Math.min(rgb[i * 3]!, rgb[i * 3 + 1]!, rgb[i * 3 + 2]!) < 127 ? 255 : 0;
  }
  return { width: image.width, height: image.height, channels: 1, data };
}


export interface Stroke {
  /** Polyline in pixels; a single point draws a dot. */
  points: { x: number; y: number }[];
  /** Line width in pixels (default 3). */
  width?: number;
}

/**
 * A scribble control image from a user's strokes: white lines on black, drawn as cv2.line (LINE_8, round
 * caps) draws them, the way scribble UIs rasterise a freehand path. Points are rounded to whole pixels.
 */
export function scribbleFromStrokes(strokes: Stroke[], width: number, height: number): GrayImage {
  if (!(Number.isInteger(width) && width > 0 && Number.isInteger(height) && height > 0)) {
    throw new Error(`scribbleFromStrokes: canvas size must be positive integers, got ${width}×${height}`);
  }
  const canvas: Canvas = { width, height, channels: 1, data: new Uint8Array(width * height) };
  strokes.forEach((stroke, s) => {
    const w = stroke.width ?? 3;
    if (!(Number.isInteger(w) && w >= 1 && w <= 255)) throw new Error(`stroke ${s}: width must be an integer in 1..255, got ${w}`);
    const pts = stroke.points.map((p, i) => {
      if (!Number.isFinite(p.x) || !Number.isFinite(p.y)) throw new Error(`stroke ${s}, point ${i}: coordinates must be finite numbers`);
      return { x: Math.round(p.x), y: Math.round(p.y) };
    });
    if (pts.length === 1) drawLine(canvas, pts[0]!, pts[0]!, [255], w);
    for (let i = 1; i < pts.length; i++) drawLine(canvas, pts[i - 1]!, pts[i]!, [255], w);
  });
  return { width, height, channels: 1, data: canvas.data };
}

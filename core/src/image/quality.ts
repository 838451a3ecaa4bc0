// Measures of how visible an inpainting is, and the synthetic scenes they are checked on when no model
// is needed: an analytic "generator" that repaints like a diffusion model would (new texture in the
// hole, a colour cast everywhere, as a VAE round trip and sampling drift give).
import { bounds, type Bounds } from './bounds.js';
import { toCanvas } from './context.js';
import type { InpaintPatch, InpaintPlan } from './inpaint.js';
import { labStats } from './lab.js';
import type { CanvasMask } from './masks.js';
import { distanceTransform } from './plane.js';
import type { RasterImage } from './png.js';
import { cropImage } from './raster.js';
import { resizeImage } from './resize.js';

/**
 * Seam energy: mean squared gradient (forward differences, RGB summed) of the change an inpainting made
 * (result − original) over `band`, laid over the whole image. Taking the change leaves the scene's own
 * texture out; a hard paste puts the whole colour jump into one pixel step at the boundary, a blend
 * spreads it, so its energy is lower.
 */
export function seamEnergy(result: RasterImage, original: RasterImage, band: Uint8Array): number {
  const { width, height, channels } = result;
  if (original.width !== width || original.height !== height || original.channels !== channels) throw new Error('seamEnergy compares two images of the same size and channels');
  const change = (i: number, c: number) => result.data[i * channels + c] - original.data[i * channels + c];
  let sum = 0;
  let count = 0;
  for (let y = 0; y < height - 1; y++) {
    for (let x = 0; x < width - 1; x++) {
      const i = y * width + x;
      if (!band[i]) continue;
      for (let c = 0; c < 3; c++) {
        const v = change(i, c);
        const dx = change(i + 1, c) - v;
        const dy = change(i + width, c) - v;
        sum += dx * dx + dy * dy;
      }
      count++;
    }
  }
  return count ? sum / count : 0;
}

/** Euclidean distance (ΔE76) between the Lab means of two same-size images over `where`. */
export function labMeanDifference(a: RasterImage, b: RasterImage, where: Uint8Array): number {
  const sa = labStats(a.data, a.channels, where);
  const sb = labStats(b.data, b.channels, where);
  return Math.hypot(sa.mean[0] - sb.mean[0], sa.mean[1] - sb.mean[1], sa.mean[2] - sb.mean[2]);
}

/** Pixels within `width` of the selection's edge (≥ 50 % coverage) on either side, over the whole canvas. */
export function boundaryBand(selection: CanvasMask, canvasWidth: number, canvasHeight: number, width: number): Uint8Array {
  const inside = new Uint8Array(canvasWidth * canvasHeight);
  const { bounds: b, data } = selection;
  for (let y = 0; y < b.height; y++) {
    for (let x = 0; x < b.width; x++) {
      const cx = b.x + x;
      const cy = b.y + y;
      if (cx >= 0 && cy >= 0 && cx < canvasWidth && cy < canvasHeight && data[y * b.width + x] >= 128) inside[cy * canvasWidth + cx] = 1;
    }
  }
  const outside = inside.map((v) => 1 - v);
  const dIn = distanceTransform(inside, canvasWidth, canvasHeight).distance;
  const dOut = distanceTransform(outside, canvasWidth, canvasHeight).distance;
  const band = new Uint8Array(inside.length);
  for (let i = 0; i < band.length; i++) band[i] = Math.max(dIn[i], dOut[i]) <= width ? 1 : 0;
  return band;
}

/** The naive baseline: the generated crop pasted over the original wherever the selection is ≥ 50 %. */
export async function hardPaste(plan: InpaintPlan, original: RasterImage, generated: RasterImage, selection: CanvasMask): Promise<InpaintPatch> {
  const { context } = plan.transform;
  const back = await resizeImage(generated, context);
  const crop = cropImage(original, context);
  const out = new Uint8Array(context.width * context.height * 4);
  for (let y = 0; y < context.height; y++) {
    for (let x = 0; x < context.width; x++) {
      const i = y * context.width + x;
      const sx = context.x + x - selection.bounds.x;
      const sy = context.y + y - selection.bounds.y;
      const on = sx >= 0 && sy >= 0 && sx < selection.bounds.width && sy < selection.bounds.height && selection.data[sy * selection.bounds.width + sx] >= 128;
      const [src, ch] = on ? [back.data, back.channels] : [crop.data, crop.channels];
      for (let c = 0; c < 3; c++) out[i * 4 + c] = src[i * ch + c];
      out[i * 4 + 3] = on ? 255 : 0;
    }
  }
  return { bounds: bounds(context.x, context.y, context.width, context.height), image: { width: context.width, height: context.height, channels: 4, data: out } };
}

/** A smooth colour field with fine texture: the "photo" of a synthetic scene at canvas point (x, y). */
export function sceneColour(x: number, y: number, width: number, height: number): [number, number, number] {
  const u = x / width;
  const v = y / height;
  const t = 10 * Math.sin(x * 0.31) * Math.cos(y * 0.27);
  return [60 + 120 * u + t, 80 + 100 * v + t, 150 - 60 * u * v + t];
}

export function sceneImage(width: number, height: number, channels: 3 | 4 = 3): RasterImage {
  const data = new Uint8Array(width * height * channels);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const [r, g, b] = sceneColour(x, y, width, height);
      const o = (y * width + x) * channels;
      data[o] = Math.round(r);
      data[o + 1] = Math.round(g);
      data[o + 2] = Math.round(b);
      if (channels === 4) data[o + 3] = 255;
    }
  }
  return { width, height, channels, data };
}

/** An elliptical selection with an anti-aliased edge (coverage sampled 4×4 per pixel). */
export function ellipseSelection(area: Bounds): CanvasMask {
  const { width, height } = area;
  const data = new Uint8Array(width * height);
  const rx = width / 2;
  const ry = height / 2;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let hits = 0;
      for (let sy = 0; sy < 4; sy++) {
        for (let sx = 0; sx < 4; sx++) {
          const dx = (x + (sx + 0.5) / 4 - rx) / rx;
          const dy = (y + (sy + 0.5) / 4 - ry) / ry;
          if (dx * dx + dy * dy <= 1) hits++;
        }
      }
      data[y * width + x] = Math.round((hits * 255) / 16);
    }
  }
  return { bounds: area, data };
}

export interface AnalyticGenerator {
  /** Colour cast every generated pixel gets (RGB levels). */
  readonly cast: readonly [number, number, number];
  /** Amplitude of the new texture the "model" invents where its denoise mask is high. */
  readonly texture: number;
}

/**
 * What a model would return for a plan on a synthetic scene: the scene rendered at the model's pixel
 * grid (through the plan's transform, so misplacement shows), a new texture blended in by the denoise
 * mask, and a global colour cast.
 */
export function analyticGenerate(plan: InpaintPlan, canvasWidth: number, canvasHeight: number, gen: AnalyticGenerator): RasterImage {
  const { model } = plan.transform;
  const data = new Uint8Array(model.width * model.height * 3);
  for (let y = 0; y < model.height; y++) {
    for (let x = 0; x < model.width; x++) {
      const [cx, cy] = toCanvas(plan.transform, x, y);
      const scene = sceneColour(cx, cy, canvasWidth, canvasHeight);
      const m = plan.mask.data[y * model.width + x] / 255;
      const invented = gen.texture * Math.sin(cx * 0.13 + cy * 0.07) * m;
      for (let c = 0; c < 3; c++) data[(y * model.width + x) * 3 + c] = Math.min(255, Math.max(0, Math.round(scene[c] + invented + gen.cast[c])));
    }
  }
  return { width: model.width, height: model.height, channels: 3, data };
}

// From the host's soft selection to the masks inpainting runs on. Distances are measured from the
// selection (its ≥ 50 % coverage) with an exact Euclidean distance transform, so growing is a distance
// threshold and feathering a smooth falloff with distance: every margin is round and the same in every
// direction, and the masks nest exactly:
//
//   hole     grown selection (distance ≤ grow): regenerated from scratch, pre-filled at strength 1
//   denoise  1 on the hole, a smooth ramp to 0 over `feather` px outside it; grey = partial denoising
//   blend    1 well inside, ramping to 0 where the denoise mask is one half: the seam of the composite
//            lies in pixels the model repainted, never at the edge of what it touched. blend ≤ denoise.
//   ring     outside the hole, within the denoise ramp: where the original and the generated pixels
//            are compared for colour matching.
import { bounds, type Bounds, diagonal, type Extent, expand, intersect, isEmpty } from './bounds.js';
import type { InpaintOptions } from './options.js';
import { distanceTransform } from './plane.js';
import type { RasterImage } from './png.js';

/** 8-bit coverage (255 = fully selected) over `bounds` in canvas pixels; zero everywhere else. */
export interface CanvasMask {
  readonly bounds: Bounds;
  readonly data: Uint8Array;
}

/** A selection from an image placed at (x, y): L or RGB use the first channel, LA or RGBA their alpha. */
export function maskFromImage(image: RasterImage, x = 0, y = 0): CanvasMask {
  const { width, height, channels, data } = image;
  if (data.length !== width * height * channels) throw new Error(`mask image has ${data.length} bytes, ${width}×${height}×${channels} needs ${width * height * channels}`);
  const pick = channels === 2 || channels === 4 ? channels - 1 : 0;
  const out = new Uint8Array(width * height);
  for (let i = 0; i < out.length; i++) out[i] = data[i * channels + pick];
  return { bounds: bounds(x, y, width, height), data: out };
}

/** Tight bounds of the non-zero pixels of a mask laid over `area`; empty bounds when there are none. */
export function nonZeroBounds(data: Uint8Array, area: Bounds): Bounds {
  let x0 = area.width;
  let y0 = area.height;
  let x1 = -1;
  let y1 = -1;
  for (let y = 0; y < area.height; y++) {
    const row = y * area.width;
    for (let x = 0; x < area.width; x++) {
      if (!data[row + x]) continue;
      if (x < x0) x0 = x;
      if (x > x1) x1 = x;
      if (y < y0) y0 = y;
      y1 = y;
    }
  }
  return x1 < 0 ? bounds(area.x, area.y, 0, 0) : bounds(area.x + x0, area.y + y0, x1 - x0 + 1, y1 - y0 + 1);
}

export interface InpaintMasks {
  /** Where the masks below live, in canvas pixels: the selection plus every margin, cut to the canvas. */
  readonly area: Bounds;
  /** Tight bounds of the selected pixels. */
  readonly selection: Bounds;
  /** Tight bounds of the denoise mask's non-zero pixels: what any context crop must contain. */
  readonly maskBounds: Bounds;
  readonly hole: Uint8Array;
  readonly denoise: Uint8Array;
  readonly blend: Uint8Array;
  readonly ring: Uint8Array;
  /** Width in pixels of the denoise ramp and half-width of the blend ramp actually used. */
  readonly feather: number;
  readonly blendRadius: number;
}

/** Copies a mask's coverage into the pixels of `area` (zeros where the mask has none). */
function coverageOver(mask: CanvasMask, area: Bounds): Uint8Array {
  const out = new Uint8Array(area.width * area.height);
  const common = intersect(mask.bounds, area);
  for (let y = common.y; y < common.y + common.height; y++) {
    const src = (y - mask.bounds.y) * mask.bounds.width + (common.x - mask.bounds.x);
    out.set(mask.data.subarray(src, src + common.width), (y - area.y) * area.width + (common.x - area.x));
  }
  return out;
}

const to8 = (v: number) => Math.round(Math.min(1, Math.max(0, v)) * 255);

/**
 * 1 up to distance `start`, then a smoothstep down to 0 at `start + width`: the profile of a blurred
 * edge, but exact and round around corners and thin strokes (which a blur would also fade).
 */
function falloff(d: number, start: number, width: number): number {
  if (d <= start) return 1;
  if (d >= start + width) return 0;
  const t = (d - start) / width;
  return 1 - t * t * (3 - 2 * t);
}

export function buildMasks(selection: CanvasMask, canvas: Extent, strength: number, options: InpaintOptions): InpaintMasks {
  const { bounds: sb, data } = selection;
  if (data.length !== sb.width * sb.height) throw new Error(`selection has ${data.length} values, its bounds ${sb.width}×${sb.height} need ${sb.width * sb.height}`);
  if (!(strength > 0 && strength <= 1)) throw new Error(`strength must be in (0, 1], got ${strength}`);
  const canvasBounds = bounds(0, 0, canvas.width, canvas.height);
  const inCanvas = intersect(sb, canvasBounds);
  const covered = isEmpty(inCanvas) ? inCanvas : nonZeroBounds(coverageOver(selection, inCanvas), inCanvas);
  if (isEmpty(covered)) throw new Error('the selection is empty: no selected pixel lies on the canvas');

  const feather = Math.max(options.featherMin, options.featherFraction * diagonal(covered)) * strength;
  const grow = options.grow;
  const edge = grow + feather / 2;
  // The blend ramp spans [edge − 2r, edge]; capping r keeps every selected pixel fully replaced.
  const blendRadius = Math.max(0, Math.min(options.blendBlur, edge / 2));
  const ringWidth = Math.max(feather, 8);
  const area = intersect(expand(covered, Math.ceil(grow + feather + ringWidth) + 2), canvasBounds);

  const cover = coverageOver(selection, area);
  let seed = cover.map((v) => (v >= 128 ? 1 : 0));
  if (!seed.includes(1)) seed = cover.map((v) => (v > 0 ? 1 : 0));
  const { distance } = distanceTransform(seed, area.width, area.height);

  const n = distance.length;
  const hole = new Uint8Array(n);
  const ring = new Uint8Array(n);
  const denoise = new Uint8Array(n);
  const blend = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const d = distance[i];
    const s = cover[i] / 255;
    hole[i] = d <= grow ? 1 : 0;
    ring[i] = d > grow && d <= grow + ringWidth ? 1 : 0;
    denoise[i] = to8(Math.max(s, falloff(d, grow, feather)));
    blend[i] = Math.min(denoise[i], to8(Math.max(s, falloff(d, edge - 2 * blendRadius, 2 * blendRadius))));
  }
  return { area, selection: covered, maskBounds: nonZeroBounds(denoise, area), hole, denoise, blend, ring, feather, blendRadius };
}

// What the hole holds when it is encoded at strength 1. The model repaints it anyway, but its colours
// steer the composition: a blur of the surroundings for a fill, flat grey when adding something new,
// the nearest edge pixel when the canvas was expanded (the new area is empty or transparent).
import type { PrefillMode } from './options.js';
import { blur, distanceTransform, plane } from './plane.js';
import type { RasterImage } from './png.js';

export type ResolvedPrefill = Exclude<PrefillMode, 'auto'>;

/** Mid grey: 0 in the VAE's [-1, 1] input range. */
const NEUTRAL = 128;

/**
 * `auto`: none below strength 1 (the original is refined); border when most of the hole is transparent
 * or the hole spans the whole width or height of the canvas (an expanded canvas); blur otherwise.
 */
export function resolvePrefill(mode: PrefillMode, strength: number, holeTransparency: number, spansCanvas: boolean): ResolvedPrefill {
  if (mode !== 'auto') return mode;
  if (strength < 1) return 'none';
  return holeTransparency > 0.5 || spansCanvas ? 'border' : 'blur';
}

/** Weight of a pixel as a known sample: outside the hole, times its opacity. */
function knownWeights(image: RasterImage, hole: Uint8Array): Float32Array {
  const w = new Float32Array(hole.length);
  for (let i = 0; i < hole.length; i++) w[i] = hole[i] ? 0 : image.channels === 4 || image.channels === 2 ? image.data[i * image.channels + image.channels - 1] / 255 : 1;
  return w;
}

/**
 * Returns an RGB image: outside the hole the input's colours, inside it the chosen fill. A hole with no
 * known pixel around it at all (the whole crop selected) falls back to neutral grey.
 */
export function prefill(image: RasterImage, hole: Uint8Array, mode: ResolvedPrefill): RasterImage {
  const { width, height, channels, data } = image;
  if (channels < 3) throw new Error(`prefill needs an RGB or RGBA image, got ${channels} channel(s)`);
  if (hole.length !== width * height) throw new Error(`hole mask has ${hole.length} values, the image ${width * height}`);
  const out = new Uint8Array(width * height * 3);
  for (let i = 0; i < hole.length; i++) for (let c = 0; c < 3; c++) out[i * 3 + c] = data[i * channels + c];
  if (mode === 'none' || !hole.includes(1)) return { width, height, channels: 3, data: out };
  const weights = knownWeights(image, hole);
  const known = new Uint8Array(weights.length);
  for (let i = 0; i < known.length; i++) known[i] = weights[i] > 0 ? 1 : 0;
  if (mode === 'neutral' || !known.includes(1)) {
    for (let i = 0; i < hole.length; i++) if (hole[i]) out.fill(NEUTRAL, i * 3, i * 3 + 3);
    return { width, height, channels: 3, data: out };
  }
  const { distance, nearest } = distanceTransform(known, width, height, mode === 'border');
  if (mode === 'border' && nearest) {
    for (let i = 0; i < hole.length; i++) if (hole[i]) out.copyWithin(i * 3, nearest[i] * 3, nearest[i] * 3 + 3);
    return { width, height, channels: 3, data: out };
  }
  // Normalised blur: blur(colour·weight) / blur(weight). A radius past the farthest hole pixel's distance
  // to a known one guarantees every hole pixel sees some known pixel (the box support is ±radius).
  let far = 0;
  for (let i = 0; i < hole.length; i++) if (hole[i] && distance[i] > far) far = distance[i];
  const radius = Math.ceil(far) + 2;
  const den = blur(plane(width, height, weights), radius).data;
  for (let c = 0; c < 3; c++) {
    const num = plane(width, height, weights.map((w, i) => w * data[i * channels + c]));
    const blurred = blur(num, radius).data;
    for (let i = 0; i < hole.length; i++) if (hole[i]) out[i * 3 + c] = den[i] > 0 ? Math.round(blurred[i] / den[i]) : NEUTRAL;
  }
  return { width, height, channels: 3, data: out };
}

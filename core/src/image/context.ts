// Where on the canvas the model looks (the context crop) and at what size it works (the model extent).
import { type Bounds, clampInto, contains, type Extent, extent, longestSide, meanSide, pad, shortestSide } from './bounds.js';
import type { ModelResolution } from './options.js';

/**
 * The crop of the canvas handed to the model. At strength 1 the model must invent content, so it gets
 * surroundings: the mask bounds padded by max(canvas longest side / 16, half the mask's mean side), the
 * long side padded less so the crop tends to a square, grown to the model's minimum side, then moved
 * (not cut) inside the canvas. At strength < 1 it refines what is there: the mask bounds alone.
 * Both are rounded up to multiples of 8 so a crop already in the model's range needs no resampling.
 */
export function contextBounds(canvas: Extent, maskBounds: Bounds, strength: number, model: ModelResolution): Bounds {
  const padding = strength < 1 ? 0 : Math.max(Math.floor(longestSide(canvas) / 16), Math.floor(meanSide(maskBounds) / 2));
  const minSize = strength < 1 ? 0 : model.minSide;
  const padded = pad(maskBounds, padding, { minSize, multiple: 8, square: strength >= 1 });
  const context = clampInto(padded, canvas);
  // Rounding up can only grow the crop, and clamping keeps its size unless the canvas is smaller: the
  // mask therefore always stays inside. A failure here is a bug, not a user error.
  if (!contains(context, maskBounds)) throw new Error(`context ${JSON.stringify(context)} does not contain the mask ${JSON.stringify(maskBounds)}`);
  return context;
}

/** How the context crop maps to the model's input. Pixel centres map linearly (see `toModel`). */
export interface ModelTransform {
  readonly context: Bounds;
  readonly model: Extent;
  /** model.width / context.width and model.height / context.height. */
  readonly scaleX: number;
  readonly scaleY: number;
}

/** Per-axis error we accept to get multiples of 16 (friendlier to the UNet's down/up-sampling) over 8. */
const PREFER_16_TOLERANCE = 0.02;

function roundSide(ideal: number, model: ModelResolution): number {
  const maxSide = Math.floor(model.maxSide / model.multiple) * model.multiple;
  const to = (m: number) => Math.min(maxSide, Math.max(m, Math.round(ideal / m) * m));
  const by16 = to(Math.max(16, model.multiple));
  return Math.abs(by16 - ideal) / ideal <= PREFER_16_TOLERANCE ? by16 : to(model.multiple);
}

/**
 * Scales the context into the model's native range: down so the longest side is at most maxSide, or up
 * so the shortest is at least minSide (never pushing the longest past maxSide), then rounds each side to
 * a multiple (16 when within 2 %, else the model's multiple). A crop already in range with sides that
 * are multiples of the model's multiple is used as is: no resampling at all.
 */
export function fitToModel(context: Bounds, model: ModelResolution): ModelTransform {
  const { width, height } = context;
  if (width < 1 || height < 1) throw new Error(`cannot fit an empty context (${width}×${height}) to the model`);
  const long = longestSide(context);
  const short = shortestSide(context);
  let scale = 1;
  if (long > model.maxSide) scale = model.maxSide / long;
  else if (short < model.minSide) scale = Math.min(model.minSide / short, model.maxSide / long);
  const exact = scale === 1 && width % model.multiple === 0 && height % model.multiple === 0;
  const out = exact ? extent(width, height) : extent(roundSide(width * scale, model), roundSide(height * scale, model));
  return Object.freeze({ context, model: out, scaleX: out.width / width, scaleY: out.height / height });
}

/** Model-pixel coordinate of a canvas coordinate (continuous, pixel centres at +0.5). */
export function toModel(t: ModelTransform, x: number, y: number): [number, number] {
  return [(x - t.context.x + 0.5) * t.scaleX - 0.5, (y - t.context.y + 0.5) * t.scaleY - 0.5];
}

/** Canvas coordinate of a model-pixel coordinate; the inverse of `toModel`. */
export function toCanvas(t: ModelTransform, x: number, y: number): [number, number] {
  return [(x + 0.5) / t.scaleX - 0.5 + t.context.x, (y + 0.5) / t.scaleY - 0.5 + t.context.y];
}

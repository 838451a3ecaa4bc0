// The one entry point hosts and the pipeline use for inpainting: plan (crop, masks, pre-fill, model-size
// inputs) before generation, composite (colour match, blend patch) after it. No host does its own crop
// or mask math.
import { bounds, type Bounds, type Extent } from './bounds.js';
import { contextBounds, fitToModel, type ModelTransform } from './context.js';
import { labStats, transferLab } from './lab.js';
import { buildMasks, type CanvasMask } from './masks.js';
import { InpaintOptions, type InpaintOptionsInput, type ModelResolution, SD15_RESOLUTION } from './options.js';
import type { RasterImage } from './png.js';
import { prefill, type ResolvedPrefill, resolvePrefill } from './prefill.js';
import { checkRaster, cropImage, cropPlane } from './raster.js';
import { resizeImage } from './resize.js';

export interface InpaintPlan {
  readonly canvas: Extent;
  readonly strength: number;
  readonly options: InpaintOptions;
  /** Context crop in canvas pixels, the model's input size, and the mapping between them. */
  readonly transform: ModelTransform;
  readonly prefill: ResolvedPrefill;
  /** Width of the denoise mask's ramp and half-width of the blend ramp, in canvas pixels. */
  readonly feather: number;
  readonly blendRadius: number;
  /** Masks over the context crop (L, context size): soft denoise mask and the composite's alpha. */
  readonly denoiseMask: RasterImage;
  readonly blendMask: RasterImage;
  /** 0/1 over the context crop: where colour statistics are compared. */
  readonly ring: Uint8Array;
  /** The model's input image at model size: RGB, the hole pre-filled (at strength 1). */
  readonly image: RasterImage;
  /**
   * The soft denoise mask at model size (L, 255 = repaint). A pipeline either binarises it (≥ 128, as
   * diffusers does) or, for soft denoising, takes latentMask(mask) and blends with stepMask per step:
   * GenerateRequest.maskMode 'soft', which the plugins and the bridge's `inpaint` path ask for.
   */
  readonly mask: RasterImage;
}

function parseOptions(options: InpaintOptionsInput): InpaintOptions {
  const parsed = InpaintOptions.safeParse(options);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((i) => `${i.path.join('.') || 'options'}: ${i.message}`).join('; ');
  throw new Error(`invalid inpaint options: ${issues}`);
}

/**
 * Plans an inpainting job on a whole-canvas RGB(A) image and the host's soft selection.
 * Defaults (see InpaintOptions): selection grown 4 px; denoise ramp max(32, 10 % of the selection's
 * diagonal)·strength wide; blend ramp up to 25 px each side, ending where the denoise mask is 0.5;
 * context padded by max(canvas longest side/16, mask mean side/2) at strength 1, the mask alone below;
 * model size within the model's [minSide, maxSide] (SD1.5: 512–768), multiples of 8 (16 preferred).
 */
export async function planInpaint(
  image: RasterImage,
  selection: CanvasMask,
  strength: number,
  options: InpaintOptionsInput = {},
  model: ModelResolution = SD15_RESOLUTION,
): Promise<InpaintPlan> {
  checkRaster('the image', image);
  if (image.channels < 3) throw new Error(`the image must be RGB or RGBA, got ${image.channels} channel(s)`);
  const opts = parseOptions(options);
  const canvas = { width: image.width, height: image.height };
  const masks = buildMasks(selection, canvas, strength, opts);
  const context = contextBounds(canvas, masks.maskBounds, strength, model);
  const transform = fitToModel(context, model);
  const lay = (data: Uint8Array) => cropPlane(data, masks.area, context);
  const hole = lay(masks.hole);

  const crop = cropImage(image, context);
  let holePixels = 0;
  let transparent = 0;
  for (let i = 0; i < hole.length; i++) {
    if (!hole[i]) continue;
    holePixels++;
    if (crop.channels === 4 && crop.data[i * 4 + 3] < 128) transparent++;
  }
  const spans = masks.selection.width >= canvas.width || masks.selection.height >= canvas.height;
  const mode = resolvePrefill(opts.prefill, strength, holePixels ? transparent / holePixels : 0, spans);

  const denoiseMask: RasterImage = { width: context.width, height: context.height, channels: 1, data: lay(masks.denoise) };
  // Both masks travel in one resize (denoise in R, hole in G): half the work of two.
  const packed = new Uint8Array(hole.length * 3);
  for (let i = 0; i < hole.length; i++) {
    packed[i * 3] = denoiseMask.data[i];
    packed[i * 3 + 1] = hole[i] * 255;
  }
  const [scaled, masksAtModel] = await Promise.all([
    resizeImage(crop, transform.model),
    resizeImage({ width: context.width, height: context.height, channels: 3, data: packed }, transform.model, 'hamming'),
  ]);
  const modelPixels = transform.model.width * transform.model.height;
  const mask: RasterImage = { ...transform.model, channels: 1, data: new Uint8Array(modelPixels) };
  const modelHole = new Uint8Array(modelPixels);
  for (let i = 0; i < modelPixels; i++) {
    mask.data[i] = masksAtModel.data[i * 3];
    modelHole[i] = masksAtModel.data[i * 3 + 1] >= 128 ? 1 : 0;
  }
  const blendMask: RasterImage = { width: context.width, height: context.height, channels: 1, data: lay(masks.blend) };
  return Object.freeze({
    canvas,
    strength,
    options: opts,
    transform,
    prefill: mode,
    feather: masks.feather,
    blendRadius: masks.blendRadius,
    denoiseMask,
    blendMask,
    ring: lay(masks.ring),
    image: prefill(scaled, modelHole, mode),
    mask,
  });
}

export interface InpaintPatch {
  /** Where the patch goes on the canvas (the context crop). */
  readonly bounds: Bounds;
  /** RGBA at bounds' size; alpha is the blend mask, colour the (matched) generated pixels. */
  readonly image: RasterImage;
}

/** Rings smaller than this give statistics too noisy to correct colours with. */
const MIN_RING_PIXELS = 16;

/**
 * Turns the model's output (model size, RGB or RGBA) into an RGBA patch for the context crop. Where
 * the denoise mask is 0 the patch holds the original's pixels (never a VAE round trip) and alpha 0;
 * laid over the original (see `applyPatch`) those pixels come out bit-identical.
 */
export async function compositeInpaint(plan: InpaintPlan, original: RasterImage, generated: RasterImage): Promise<InpaintPatch> {
  checkRaster('the original', original);
  checkRaster('the generated image', generated);
  const { context, model } = plan.transform;
  if (original.width !== plan.canvas.width || original.height !== plan.canvas.height) {
    throw new Error(`the original is ${original.width}×${original.height}, the plan was made for ${plan.canvas.width}×${plan.canvas.height}`);
  }
  if (original.channels < 3) throw new Error(`the original must be RGB or RGBA, got ${original.channels} channel(s)`);
  if (generated.width !== model.width || generated.height !== model.height || generated.channels < 3) {
    throw new Error(`the generated image must be RGB(A) at the model size ${model.width}×${model.height}, got ${generated.width}×${generated.height}×${generated.channels}`);
  }
  const crop = cropImage(original, context);
  const back = await resizeImage(generated, context);
  let colours = back.data;
  if (plan.options.colorMatch) {
    // Only opaque original pixels are a colour reference (an expanded canvas is transparent).
    const ring = crop.channels === 4 ? plan.ring.map((v, i) => (v && crop.data[i * 4 + 3] >= 128 ? 1 : 0)) : plan.ring;
    const target = labStats(crop.data, crop.channels, ring);
    if (target.count >= MIN_RING_PIXELS) colours = transferLab(back.data, back.channels, labStats(back.data, back.channels, ring), target, plan.denoiseMask.data);
  }
  const n = context.width * context.height;
  const out = new Uint8Array(n * 4);
  const denoise = plan.denoiseMask.data;
  for (let i = 0; i < n; i++) {
    const fromModel = denoise[i] !== 0;
    const src = fromModel ? colours : crop.data;
    const at = i * (fromModel ? back.channels : crop.channels);
    out[i * 4] = src[at];
    out[i * 4 + 1] = src[at + 1];
    out[i * 4 + 2] = src[at + 2];
    out[i * 4 + 3] = plan.blendMask.data[i];
  }
  return { bounds: bounds(context.x, context.y, context.width, context.height), image: { width: context.width, height: context.height, channels: 4, data: out } };
}

/**
 * The original with the patch laid over it ("source over"), same size and channels as the original.
 * Pixels where the patch's alpha is 0 are copied untouched.
 */
export function applyPatch(original: RasterImage, patch: InpaintPatch): RasterImage {
  checkRaster('the original', original);
  if (original.channels < 3) throw new Error(`the original must be RGB or RGBA, got ${original.channels} channel(s)`);
  const { bounds: b, image: p } = patch;
  if (p.channels !== 4 || p.width !== b.width || p.height !== b.height) throw new Error('a patch is an RGBA image the size of its bounds');
  if (b.x < 0 || b.y < 0 || b.x + b.width > original.width || b.y + b.height > original.height) throw new Error('the patch lies outside the original');
  const ch = original.channels;
  const out = original.data.slice();
  for (let y = 0; y < b.height; y++) {
    for (let x = 0; x < b.width; x++) {
      const pi = (y * b.width + x) * 4;
      const a = p.data[pi + 3];
      if (a === 0) continue;
      const oi = ((b.y + y) * original.width + b.x + x) * ch;
      // Porter-Duff over in 0..255 alpha units; for an opaque original it is a plain lerp by a.
      const under = ch === 4 ? ((255 - a) * out[oi + 3]) / 255 : 255 - a;
      const total = a + under;
      for (let c = 0; c < 3; c++) out[oi + c] = Math.round((p.data[pi + c] * a + out[oi + c] * under) / total);
      if (ch === 4) out[oi + 3] = Math.round(total);
    }
  }
  return { width: original.width, height: original.height, channels: original.channels, data: out };
}

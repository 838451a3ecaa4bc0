// Pixels in and out of the pipeline, with diffusers' preprocessing: init images to [-1,1], control
// images to [0,1], masks binarised at 0.5 and taken to latent size by nearest neighbour, and decoded
// images back to 8-bit with NumPy's round-half-even. Images arrive at model resolution (cropping and
// resizing happen before, in core/src/image).
import type { RasterImage } from '../image/png.js';
import { roundHalfEven } from '../schedulers/numpy.js';

const f = Math.fround;

function checkSize(image: RasterImage, width: number, height: number, what: string): void {
  if (image.width !== width || image.height !== height)
    throw new Error(`${what} is ${image.width}x${image.height}, but the generation is ${width}x${height}: crop or resize it first`);
}

/** PIL's convert('L') luma (ITU-R 601-2, fixed point) for RGB; the grey channel for L/LA. */
function luma(image: RasterImage, i: number): number {
  const d = image.data;
  const p = i * image.channels;
  if (image.channels <= 2) return d[p];
  return (d[p] * 19595 + d[p + 1] * 38470 + d[p + 2] * 7471 + 0x8000) >> 16;
}

/** [1,3,H,W] float32 from 8-bit pixels (alpha dropped, grey replicated), mapped by `map`. */
function toNchw(image: RasterImage, map: (v: number) => number): Float32Array {
  const plane = image.width * image.height;
  const out = new Float32Array(3 * plane);
  const { channels, data } = image;
  for (let i = 0; i < plane; i++) {
    for (let c = 0; c < 3; c++) out[c * plane + i] = map(data[i * channels + (channels >= 3 ? c : 0)]);
  }
  return out;
}

/** Init image → [1,3,H,W] in [-1,1] (x/255·2 − 1 in float32, as VaeImageProcessor). */
export function initImageTensor(image: RasterImage, width: number, height: number): Float32Array {
  checkSize(image, width, height, 'init image');
  return toNchw(image, (v) => f(2 * f(v / 255) - 1));
}

/** Control image → [1,3,H,W] in [0,1], no normalisation (ControlNet's hint). */
export function controlImageTensor(image: RasterImage, width: number, height: number): Float32Array {
  checkSize(image, width, height, 'control image');
  return toNchw(image, (v) => f(v / 255));
}

export interface PreparedMask {
  /** [1,1,H,W] of 0/1: 1 = repaint. */
  pixels: Float32Array;
  /** [1,1,H/8,W/8], nearest neighbour (source index floor(i·8)). */
  latent: Float32Array;
}

/** Mask (white = repaint) binarised as diffusers does: x/255 ≥ 0.5 ⇔ 8-bit value ≥ 128. */
export function prepareMask(mask: RasterImage, width: number, height: number, scale = 8): PreparedMask {
  checkSize(mask, width, height, 'mask');
  const pixels = new Float32Array(width * height);
  for (let i = 0; i < pixels.length; i++) pixels[i] = luma(mask, i) >= 128 ? 1 : 0;
  const h = height / scale;
  const w = width / scale;
  const latent = new Float32Array(h * w);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) latent[y * w + x] = pixels[y * scale * width + x * scale];
  return { pixels, latent };
}

/** The mask's grey levels (luma as above) as an L image: what soft denoising reads, unbinarised. */
export function greyMask(mask: RasterImage, width: number, height: number): RasterImage {
  checkSize(mask, width, height, 'mask');
  if (mask.channels === 1) return mask;
  return { width, height, channels: 1, data: Uint8Array.from({ length: width * height }, (_, i) => luma(mask, i)) };
}

/** The init image with the repaint area set to 0 (mid grey): what the 9-channel UNet sees of the original. */
export function maskedImage(image: Float32Array, maskPixels: Float32Array): Float32Array {
  const plane = maskPixels.length;
  const out = new Float32Array(image.length);
  for (let i = 0; i < image.length; i++) out[i] = maskPixels[i % plane] < 0.5 ? image[i] : 0;
  return out;
}

/** Decoder output [B,3,H,W] → B RGB images: clamp(x/2 + 0.5, 0, 1), then round(x·255) half-even. */
export function decodedToImages(raw: Float32Array, batch: number, width: number, height: number): { images: RasterImage[]; float: Float32Array[] } {
  const plane = width * height;
  const images: RasterImage[] = [];
  const float: Float32Array[] = [];
  for (let n = 0; n < batch; n++) {
    const hwc = new Float32Array(3 * plane);
    const data = new Uint8Array(3 * plane);
    for (let c = 0; c < 3; c++) {
      const src = (n * 3 + c) * plane;
      for (let i = 0; i < plane; i++) {
        const v = Math.min(1, Math.max(0, f(f(raw[src + i] / 2) + 0.5)));
        hwc[i * 3 + c] = v;
        data[i * 3 + c] = roundHalfEven(f(v * 255));
      }
    }
    images.push({ width, height, channels: 3, data });
    float.push(hwc);
  }
  return { images, float };
}

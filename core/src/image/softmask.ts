// Soft denoising for the 4-channel inpaint loop, in the manner of Differential Diffusion: a grey level of
// the denoise mask is the fraction of the run's steps in which that latent pixel is free to change.
import type { RasterImage } from './png.js';

export interface LatentMask {
  readonly width: number;
  readonly height: number;
  /** Values in [0, 1], row-major: 1 = repaint for every step, 0 = keep the original. */
  readonly data: Float32Array;
}

/**
 * The model-resolution denoise mask (8-bit L) at latent resolution: each latent pixel is the mean of its
 * factor×factor block (a partial block at a ragged edge averages what it covers).
 */
export function latentMask(mask: RasterImage, factor = 8): LatentMask {
  if (mask.channels !== 1) throw new Error(`a denoise mask has 1 channel, got ${mask.channels}`);
  if (!Number.isInteger(factor) || factor < 1) throw new Error(`latent factor must be a positive integer, got ${factor}`);
  const width = Math.ceil(mask.width / factor);
  const height = Math.ceil(mask.height / factor);
  const data = new Float32Array(width * height);
  for (let ly = 0; ly < height; ly++) {
    for (let lx = 0; lx < width; lx++) {
      let sum = 0;
      let count = 0;
      for (let y = ly * factor; y < Math.min(mask.height, (ly + 1) * factor); y++) {
        for (let x = lx * factor; x < Math.min(mask.width, (lx + 1) * factor); x++) {
          sum += mask.data[y * mask.width + x];
          count++;
        }
      }
      data[ly * width + lx] = sum / (count * 255);
    }
  }
  return { width, height, data };
}

/**
 * The binary mask for step `step` (0-based) of the `steps` denoising steps the loop actually runs.
 *
 * Contract for the 4-channel inpaint loop: after scheduler step `step` produced `latents`, blend
 *   m = stepMask(soft, step, steps)
 *   latents = (1 − m)·init + m·latents,  init = add_noise(image_latents, noise, t[step + 1])
 * (last step: init = image_latents) — exactly diffusers' inpaint blend, with `m` changing per step.
 * A pixel of value v is free (m = 1) when v > 1 − (step + 1)/steps, i.e. for the last ⌈v·steps⌉ steps
 * (up to float rounding at exact fractions): v = 1 is free at every step, v = 0 never, and a hard 0/1
 * mask gives diffusers' binary behaviour at every step. Pixels that become free start from the
 * re-noised original, so a low grey level changes the image only at low noise levels: slightly.
 * `soft` holds values in [0, 1] (see `latentMask`); `out` may be passed to reuse a buffer.
 */
export function stepMask(soft: Float32Array, step: number, steps: number, out = new Float32Array(soft.length)): Float32Array {
  if (!Number.isInteger(steps) || steps < 1) throw new Error(`steps must be a positive integer, got ${steps}`);
  if (!Number.isInteger(step) || step < 0 || step >= steps) throw new Error(`step must be an integer in [0, ${steps - 1}], got ${step}`);
  if (out.length !== soft.length) throw new Error(`output has ${out.length} values, the mask ${soft.length}`);
  const threshold = 1 - (step + 1) / steps;
  for (let i = 0; i < soft.length; i++) out[i] = soft[i] > threshold ? 1 : 0;
  return out;
}

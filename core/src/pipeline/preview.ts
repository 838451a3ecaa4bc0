// A cheap preview of latents without the VAE: each latent pixel's 4 channels map linearly to RGB
// (the SD1.5 factors AUTOMATIC1111's "Approx cheap" and ComfyUI's latent preview use), at latent
// resolution (1/8 of the image), so a progress event costs microseconds.
import type { RasterImage } from '../image/png.js';

const SD15_LATENT_RGB = [
  [0.3512, 0.2297, 0.3227],
  [0.325, 0.4974, 0.235],
  [-0.2829, 0.1762, 0.2721],
  [-0.212, -0.2616, -0.7177],
];

/** RGB preview of batch item 0 of [B,4,h,w] latents. */
export function latentPreview(latents: Float32Array, width: number, height: number): RasterImage {
  const plane = width * height;
  const data = new Uint8Array(3 * plane);
  for (let i = 0; i < plane; i++) {
    for (let c = 0; c < 3; c++) {
      let v = 0;
      for (let k = 0; k < 4; k++) v += latents[k * plane + i] * SD15_LATENT_RGB[k][c];
      data[i * 3 + c] = Math.round(Math.min(1, Math.max(0, (v + 1) / 2)) * 255);
    }
  }
  return { width, height, channels: 3, data };
}

// Resampling on pica's pure-JS path (no canvas, no workers, no WebAssembly): the same code and results in
// Node and in a browser. Coordinates map pixel centres, source x_s = (x_d + 0.5)·(w_s / w_d) − 0.5 (as
// Pillow does), so an image resized to the model's size and back lands on exactly the same pixel grid.
import createPica from 'pica';
import type { Extent } from './bounds.js';
import type { RasterImage } from './png.js';

export type ResizeFilter = 'box' | 'hamming' | 'lanczos2' | 'lanczos3';

let pica: ReturnType<typeof createPica> | undefined;
const resizer = () => (pica ??= createPica({ features: ['js'] }));

function toRgba(image: RasterImage): Uint8Array {
  const { width, height, channels, data } = image;
  if (channels === 4) return data;
  const out = new Uint8Array(width * height * 4);
  for (let i = 0, o = 0; o < out.length; i += channels, o += 4) {
    const grey = channels <= 2;
    out[o] = data[i];
    out[o + 1] = grey ? data[i] : data[i + 1];
    out[o + 2] = grey ? data[i] : data[i + 2];
    out[o + 3] = channels === 2 ? data[i + 1] : 255;
  }
  return out;
}

function fromRgba(rgba: Uint8Array, width: number, height: number, channels: RasterImage['channels']): RasterImage {
  if (channels === 4) return { width, height, channels, data: rgba };
  const data = new Uint8Array(width * height * channels);
  for (let i = 0, o = 0; i < rgba.length; i += 4, o += channels) {
    data[o] = rgba[i];
    if (channels === 2) data[o + 1] = rgba[i + 3];
    if (channels === 3) {
      data[o + 1] = rgba[i + 1];
      data[o + 2] = rgba[i + 2];
    }
  }
  return { width, height, channels, data };
}

/**
 * Resizes any 8-bit image to `to`, keeping its channel count. Lanczos3 for pictures; masks use `hamming`
 * (a kernel without negative lobes, so a 0/255 edge does not ring into the unmasked side). Alpha, when
 * present, is premultiplied by pica so transparent pixels do not bleed their colour.
 */
export async function resizeImage(image: RasterImage, to: Extent, filter: ResizeFilter = 'lanczos3'): Promise<RasterImage> {
  const { width, height, channels } = image;
  if (image.data.length !== width * height * channels) throw new Error(`image data has ${image.data.length} bytes, ${width}×${height}×${channels} needs ${width * height * channels}`);
  if (to.width < 1 || to.height < 1) throw new Error(`cannot resize to ${to.width}×${to.height}`);
  if (to.width === width && to.height === height) return { width, height, channels, data: image.data.slice() };
  const out = await resizer().resizeBuffer({ src: toRgba(image), width, height, toWidth: to.width, toHeight: to.height, filter });
  return fromRgba(out, to.width, to.height, channels);
}

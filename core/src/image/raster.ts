// Cropping and placing 8-bit rasters between canvas coordinates and crops.
import { type Bounds, intersect } from './bounds.js';
import type { RasterImage } from './png.js';

export function checkRaster(what: string, image: RasterImage): void {
  const { width, height, channels, data } = image;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) throw new Error(`${what} has an invalid size ${width}×${height}`);
  if (![1, 2, 3, 4].includes(channels)) throw new Error(`${what} has ${channels} channels; 1 to 4 are supported`);
  if (data.length !== width * height * channels) throw new Error(`${what} has ${data.length} bytes, ${width}×${height}×${channels} needs ${width * height * channels}`);
}

/**
 * The pixels of `plane` (laid over `area`, `channels` values per pixel) inside `crop`; parts of `crop`
 * outside `area` read as zero.
 */
export function cropPlane(planeData: Uint8Array, area: Bounds, crop: Bounds, channels = 1): Uint8Array {
  const out = new Uint8Array(crop.width * crop.height * channels);
  const common = intersect(area, crop);
  for (let y = common.y; y < common.y + common.height; y++) {
    const src = ((y - area.y) * area.width + (common.x - area.x)) * channels;
    out.set(planeData.subarray(src, src + common.width * channels), ((y - crop.y) * crop.width + (common.x - crop.x)) * channels);
  }
  return out;
}

/** The part of a whole-canvas image inside `crop`, which must lie on the image. */
export function cropImage(image: RasterImage, crop: Bounds): RasterImage {
  if (crop.x < 0 || crop.y < 0 || crop.x + crop.width > image.width || crop.y + crop.height > image.height) {
    throw new Error(`crop ${crop.width}×${crop.height}+${crop.x}+${crop.y} leaves the ${image.width}×${image.height} image`);
  }
  const area = { x: 0, y: 0, width: image.width, height: image.height };
  return { width: crop.width, height: crop.height, channels: image.channels, data: cropPlane(image.data, area, crop, image.channels) };
}

// Image files as users have them: PNG from design tools, JPEG from cameras and phones. Decoded to an 8-bit
// RasterImage, with a JPEG's EXIF orientation applied (phones store portraits sideways and say so in EXIF;
// a pose detector given the sideways pixels finds nobody).
import { decode as decodeJpegData } from 'jpeg-js';
import { decodePng, type RasterImage } from './png.js';

const MAX_MEGAPIXELS = 100;

export function decodeImage(bytes: Uint8Array): RasterImage {
  if (bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47) return decodePng(bytes);
  if (bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return decodeJpeg(bytes);
  throw new Error('unsupported image format: PNG or JPEG expected');
}

function decodeJpeg(bytes: Uint8Array): RasterImage {
  const jpeg = decodeJpegData(bytes, { useTArray: true, formatAsRGBA: false, tolerantDecoding: false, maxResolutionInMP: MAX_MEGAPIXELS });
  const image: RasterImage = { width: jpeg.width, height: jpeg.height, channels: 3, data: jpeg.data };
  // jpeg-js hands over the APP1 payload after "Exif\0", so the header's second NUL may lead.
  const exif = (jpeg as { exifBuffer?: Uint8Array }).exifBuffer;
  return orient(image, exif ? exifOrientation(exif[0] === 0 ? exif.subarray(1) : exif) : 1);
}

/** The EXIF Orientation tag (0x0112) of an APP1 payload after its "Exif\0\0" header; 1 when absent. */
export function exifOrientation(tiff: Uint8Array): number {
  if (tiff.length < 8) return 1;
  const little = tiff[0] === 0x49 && tiff[1] === 0x49; // "II"
  if (!little && !(tiff[0] === 0x4d && tiff[1] === 0x4d)) return 1; // neither "II" nor "MM"
  const view = new DataView(tiff.buffer, tiff.byteOffset, tiff.byteLength);
  const ifd = view.getUint32(4, little);
  if (ifd + 2 > tiff.length) return 1;
  const entries = view.getUint16(ifd, little);
  for (let i = 0; i < entries; i++) {
    const at = ifd + 2 + i * 12;
    if (at + 12 > tiff.length) return 1;
    if (view.getUint16(at, little) === 0x0112) {
      const value = view.getUint16(at + 8, little);
      return value >= 1 && value <= 8 ? value : 1;
    }
  }
  return 1;
}

/**
 * The upright image for an EXIF orientation (1-8): where stored pixel (x, y) lands. Orientations 5-8 swap
 * width and height.
 */
export function orient(image: RasterImage, orientation: number): RasterImage {
  if (orientation === 1) return image;
  const { width: w, height: h, channels: c, data } = image;
  const swap = orientation >= 5;
  const ow = swap ? h : w;
  const oh = swap ? w : h;
  const out = new Uint8Array(ow * oh * c);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const [ox, oy] = placement(orientation, x, y, w, h);
      const from = (y * w + x) * c;
      const to = (oy * ow + ox) * c;
      for (let k = 0; k < c; k++) out[to + k] = data[from + k];
    }
  }
  return { width: ow, height: oh, channels: c, data: out };
}

function placement(orientation: number, x: number, y: number, w: number, h: number): [number, number] {
  switch (orientation) {
    case 2: return [w - 1 - x, y]; // mirrored
    case 3: return [w - 1 - x, h - 1 - y]; // rotated 180°
    case 4: return [x, h - 1 - y]; // flipped vertically
    case 5: return [y, x]; // transposed
    case 6: return [h - 1 - y, x]; // rotated 90° clockwise to display
    case 7: return [h - 1 - y, w - 1 - x]; // transversed
    case 8: return [y, w - 1 - x]; // rotated 90° counter-clockwise to display
    default: throw new Error(`EXIF orientation must be 1-8, got ${orientation}`);
  }
}

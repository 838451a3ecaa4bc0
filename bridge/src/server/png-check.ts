// Upload validation. The declared size in IHDR is checked before anything is inflated, so a tiny file
// claiming 100000×100000 pixels (an image bomb) is refused without allocating a byte for its pixels.
import { decodePng } from '@kirie/core/image/png';
import { ApiError } from './errors.js';

const SIGNATURE = [137, 80, 78, 71, 13, 10, 26, 10];

export interface PngHeader {
  width: number;
  height: number;
}

export function readPngHeader(bytes: Uint8Array): PngHeader {
  if (bytes.length < 33 || SIGNATURE.some((b, i) => bytes[i] !== b)) {
    throw new ApiError(400, 'invalid_image', 'the body is not a PNG (bad signature or shorter than a PNG header)', 'body');
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const type = String.fromCharCode(...bytes.subarray(12, 16));
  if (view.getUint32(8) !== 13 || type !== 'IHDR') throw new ApiError(400, 'invalid_image', 'the PNG does not start with an IHDR chunk', 'body');
  return { width: view.getUint32(16), height: view.getUint32(20) };
}

/** Throws an ApiError naming the problem unless `bytes` is a complete PNG within `maxPixels`. */
export function checkPng(bytes: Uint8Array, maxPixels: number): PngHeader {
  const header = readPngHeader(bytes);
  const { width, height } = header;
  if (width === 0 || height === 0) throw new ApiError(400, 'invalid_image', `the PNG declares an empty image (${width}x${height})`, 'body');
  if (width * height > maxPixels) {
    throw new ApiError(413, 'image_too_large', `the PNG declares ${width}x${height} = ${width * height} pixels; the limit is ${maxPixels}`, 'body');
  }
  try {
    decodePng(bytes);
  } catch (err) {
    throw new ApiError(400, 'invalid_image', `the PNG cannot be decoded (truncated or corrupt): ${err instanceof Error ? err.message : String(err)}`, 'body');
  }
  return header;
}

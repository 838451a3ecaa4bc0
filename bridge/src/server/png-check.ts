// Upload validation, off the event loop. The declared size in IHDR is checked before anything is
// inflated, so a tiny file claiming 100000×100000 pixels (an image bomb) is refused without allocating
// its pixels; then every chunk's CRC, and the image data inflates (in zlib's thread pool, capped at the
// declared size) to exactly one filtered scanline per row. What passes decodes in the pipeline's codec.
import { promisify } from 'node:util';
import { inflate } from 'node:zlib';
import { KirieApiError } from '@kirie/core/client/protocol';
import { PngFormatError, pngChunks } from '../generate/png-chunks.js';

const inflateAsync = promisify(inflate);
const SIGNATURE = [137, 80, 78, 71, 13, 10, 26, 10];
/** Samples per pixel of each PNG colour type. */
const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

export interface PngHeader {
  width: number;
  height: number;
}

const invalid = (message: string) => new KirieApiError(400, 'invalid_image', message, 'body');

/** Bytes of the filtered image data: one filter byte + packed samples per row, per Adam7 pass if interlaced. */
function filteredSize(width: number, height: number, bitsPerPixel: number, interlaced: boolean): number {
  const rows = (w: number, h: number) => (w === 0 || h === 0 ? 0 : h * (1 + Math.ceil((w * bitsPerPixel) / 8)));
  if (!interlaced) return rows(width, height);
  const passes = [
    [0, 0, 8, 8],
    [4, 0, 8, 8],
    [0, 4, 4, 8],
    [2, 0, 4, 4],
    [0, 2, 2, 4],
    [1, 0, 2, 2],
    [0, 1, 1, 2],
  ];
  return passes.reduce((sum, [x0, y0, dx, dy]) => sum + rows(Math.ceil((width - x0!) / dx!), Math.ceil((height - y0!) / dy!)), 0);
}

/** Throws a KirieApiError naming the problem unless `bytes` is a complete 8-bit PNG within `maxPixels`. */
export async function checkPng(bytes: Uint8Array, maxPixels: number): Promise<PngHeader> {
  if (bytes.length < 45 || SIGNATURE.some((b, i) => bytes[i] !== b)) throw invalid('the body is not a PNG (bad signature or shorter than a PNG)');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const type = (at: number) => String.fromCharCode(bytes[at]!, bytes[at + 1]!, bytes[at + 2]!, bytes[at + 3]!);
  if (view.getUint32(8) !== 13 || type(12) !== 'IHDR') throw invalid('the PNG does not start with an IHDR chunk');
  const width = view.getUint32(16);
  const height = view.getUint32(20);
  const [depth, colorType, compression, filter, interlace] = [bytes[24]!, bytes[25]!, bytes[26]!, bytes[27]!, bytes[28]!];
  if (width === 0 || height === 0) throw invalid(`the PNG declares an empty image (${width}x${height})`);
  if (width * height > maxPixels) throw new KirieApiError(413, 'image_too_large', `the PNG declares ${width}x${height} = ${width * height} pixels; the limit is ${maxPixels}`, 'body');
  const channels = CHANNELS[colorType];
  if (channels === undefined || compression !== 0 || filter !== 0 || interlace > 1) throw invalid(`the PNG header is invalid (colour type ${colorType}, compression ${compression}, filter ${filter}, interlace ${interlace})`);
  if (colorType === 3 ? ![1, 2, 4, 8].includes(depth) : depth !== 8) throw invalid(`the PNG has ${depth}-bit samples; only 8-bit images (or palettes) are accepted`);

  const idat: Uint8Array[] = [];
  let ended = false;
  let palette = false;
  try {
    for (const { type: name, data } of pngChunks(bytes, { verifyCrc: true })) {
      if (name === 'IDAT') idat.push(data);
      else if (name === 'PLTE') palette = true;
      else if (name === 'IEND') ended = true;
    }
  } catch (err) {
    if (err instanceof PngFormatError) throw invalid(err.message);
    throw err;
  }
  if (!ended) throw invalid('the PNG is truncated (no IEND chunk)');
  if (idat.length === 0) throw invalid('the PNG has no image data (no IDAT chunk)');
  if (colorType === 3 && !palette) throw invalid('the PNG is palette-based but has no PLTE chunk');

  const expected = filteredSize(width, height, depth * channels, interlace === 1);
  let raw: Buffer;
  try {
    raw = await inflateAsync(Buffer.concat(idat), { maxOutputLength: expected + 1 });
  } catch (err) {
    throw invalid(`the PNG's image data does not inflate (${err instanceof Error ? err.message : String(err)})`);
  }
  if (raw.length !== expected) throw invalid(`the PNG's image data holds ${raw.length} bytes; ${width}x${height} needs ${expected} (truncated or corrupt)`);
  if (interlace === 0) {
    const stride = 1 + Math.ceil((width * depth * channels) / 8);
    for (let row = 0; row < height; row++) if (raw[row * stride]! > 4) throw invalid(`the PNG is corrupt (row ${row} has filter type ${raw[row * stride]})`);
  }
  return { width, height };
}

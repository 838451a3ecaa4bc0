// PNG codec for the core (browser and Node alike), on fast-png. Images are 8-bit, interleaved.
import { convertIndexedToRgb, decode, encode } from 'fast-png';

export interface RasterImage {
  width: number;
  height: number;
  /** 1 (L), 2 (LA), 3 (RGB) or 4 (RGBA) */
  channels: 1 | 2 | 3 | 4;
  data: Uint8Array;
}

export interface PngText {
  [keyword: string]: string;
}

export function decodePng(bytes: Uint8Array): RasterImage & { text: PngText } {
  const png = decode(bytes);
  if (png.palette) {
    const rgb = convertIndexedToRgb(png);
    return { width: png.width, height: png.height, channels: (rgb.length / (png.width * png.height)) as 3 | 4, data: rgb, text: png.text ?? {} };
  }
  if (png.depth !== 8) throw new Error(`unsupported PNG bit depth ${png.depth}: only 8-bit images are accepted`);
  const data = png.data as Uint8Array;
  const channels = png.channels as 1 | 2 | 3 | 4;
  return { width: png.width, height: png.height, channels, data, text: png.text ?? {} };
}

export function encodePng(image: RasterImage, text?: PngText): Uint8Array {
  return encode({
    width: image.width,
    height: image.height,
    channels: image.channels,
    depth: 8,
    data: image.data,
    ...(text ? { text } : {}),
  });
}

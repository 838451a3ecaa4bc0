import { encode as encodeJpeg } from 'jpeg-js';
import { describe, expect, it } from 'vitest';
import { decodeImage, exifOrientation, orient } from '../../src/image/decode.js';
import { encodePng, type RasterImage } from '../../src/image/png.js';

// A 3x2 single-channel image whose pixel values name their stored position: row-major 1..6.
const stored: RasterImage = { width: 3, height: 2, channels: 1, data: new Uint8Array([1, 2, 3, 4, 5, 6]) };

describe('orient (EXIF orientation → upright)', () => {
  it.each([
    [1, 3, 2, [1, 2, 3, 4, 5, 6]],
    [2, 3, 2, [3, 2, 1, 6, 5, 4]],
    [3, 3, 2, [6, 5, 4, 3, 2, 1]],
    [4, 3, 2, [4, 5, 6, 1, 2, 3]],
    [5, 2, 3, [1, 4, 2, 5, 3, 6]],
    [6, 2, 3, [4, 1, 5, 2, 6, 3]],
    [7, 2, 3, [6, 3, 5, 2, 4, 1]],
    [8, 2, 3, [3, 6, 2, 5, 1, 4]],
  ])('orientation %i gives %ix%i %j', (orientation, width, height, pixels) => {
    const upright = orient(stored, orientation);
    expect([upright.width, upright.height]).toEqual([width, height]);
    expect(Array.from(upright.data)).toEqual(pixels);
  });

  it('rejects an orientation outside 1-8', () => {
    expect(() => orient(stored, 9)).toThrow(/1-8/);
  });
});

function tiffWithOrientation(value: number, little: boolean): Uint8Array {
  const tiff = new Uint8Array(26);
  const view = new DataView(tiff.buffer);
  tiff.set(little ? [0x49, 0x49] : [0x4d, 0x4d]);
  view.setUint16(2, 42, little);
  view.setUint32(4, 8, little);
  view.setUint16(8, 1, little); // one IFD entry
  view.setUint16(10, 0x0112, little);
  view.setUint16(12, 3, little); // SHORT
  view.setUint32(14, 1, little);
  view.setUint16(18, value, little);
  return tiff;
}

describe('exifOrientation', () => {
  it.each([
    [6, true],
    [8, false],
    [3, true],
  ])('reads %i (little-endian %s)', (value, little) => {
    expect(exifOrientation(tiffWithOrientation(value, little))).toBe(value);
  });
  it.each([
    ['empty', new Uint8Array(0)],
    ['not TIFF', new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])],
    ['out-of-range value', tiffWithOrientation(42, true)],
  ])('falls back to 1 for %s', (_name, bytes) => {
    expect(exifOrientation(bytes)).toBe(1);
  });
});

/** A JPEG with an APP1 EXIF segment (orientation) spliced in after SOI, as cameras write it. */
function jpegWithOrientation(rgba: Uint8Array, width: number, height: number, orientation: number): Uint8Array {
  const plain = new Uint8Array(encodeJpeg({ width, height, data: rgba }, 95).data);
  const payload = new Uint8Array([0x45, 0x78, 0x69, 0x66, 0, 0, ...tiffWithOrientation(orientation, false)]);
  const app1 = new Uint8Array([0xff, 0xe1, (payload.length + 2) >> 8, (payload.length + 2) & 0xff, ...payload]);
  return new Uint8Array([...plain.subarray(0, 2), ...app1, ...plain.subarray(2)]);
}

describe('decodeImage', () => {
  const width = 32;
  const height = 16;
  // Left half white, right half black: which side ends up where tells the rotation.
  const rgba = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const at = (y * width + x) * 4;
      rgba.fill(x < width / 2 ? 255 : 0, at, at + 3);
      rgba[at + 3] = 255;
    }
  }

  it('decodes a PNG unchanged', () => {
    const png = encodePng({ width: 2, height: 1, channels: 3, data: new Uint8Array([1, 2, 3, 4, 5, 6]) });
    expect(Array.from(decodeImage(png).data)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('decodes a JPEG to RGB', () => {
    const image = decodeImage(jpegWithOrientation(rgba, width, height, 1));
    expect([image.width, image.height, image.channels]).toEqual([width, height, 3]);
    expect(image.data[0]).toBeGreaterThan(240); // top-left white
    expect(image.data[(width - 1) * 3]).toBeLessThan(15); // top-right black
  });

  it('turns a JPEG upright by its EXIF orientation (6: rotate 90° clockwise)', () => {
    const image = decodeImage(jpegWithOrientation(rgba, width, height, 6));
    expect([image.width, image.height]).toEqual([height, width]);
    // The stored left (white) half is now the top half.
    expect(image.data[0]).toBeGreaterThan(240);
    expect(image.data[(height - 1) * width * 3]).toBeLessThan(15);
  });

  it('names the problem for other formats', () => {
    expect(() => decodeImage(new Uint8Array([0x47, 0x49, 0x46, 0x38, 0x39, 0x61]))).toThrow(/PNG or JPEG expected/);
  });
});

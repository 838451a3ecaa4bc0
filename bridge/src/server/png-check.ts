// Upload validation, off the event loop and in bounded memory. The declared size in IHDR is checked
// before anything is inflated, so a tiny file claiming 100000×100000 pixels (an image bomb) is refused
// without allocating its pixels; then every chunk's CRC and the palette's shape; then the image data is
// inflated as a stream (in zlib's thread pool) and read scanline by scanline: each row's filter type,
// the exact byte count, and for a palette image every pixel's index (unfiltered with only the row above
// kept). What passes decodes in the pipeline's codec (fast-png). A gate bounds how many checks run and
// wait at once, so a burst of uploads can neither hold gigabytes nor starve the event loop.
import { createInflate } from 'node:zlib';
import { KirieApiError } from '@kirie/core/client/protocol';
import { PngFormatError, pngChunks } from '../generate/png-chunks.js';

const SIGNATURE = [137, 80, 78, 71, 13, 10, 26, 10];
/** Samples per pixel of each PNG colour type. */
const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };
/** Adam7 passes: first column, first row, column step, row step. */
const ADAM7 = [
  [0, 0, 8, 8],
  [4, 0, 8, 8],
  [0, 4, 4, 8],
  [2, 0, 4, 4],
  [0, 2, 2, 4],
  [1, 0, 2, 2],
  [0, 1, 1, 2],
] as const;

export interface PngHeader {
  width: number;
  height: number;
}

const invalid = (message: string) => new KirieApiError(400, 'invalid_image', message, 'body');

/** Rows of one pass of the filtered image data: `rows` scanlines of `width` pixels. */
interface Pass {
  width: number;
  rows: number;
}

function passes(width: number, height: number, interlaced: boolean): Pass[] {
  if (!interlaced) return [{ width, rows: height }];
  return ADAM7.map(([x0, y0, dx, dy]) => ({ width: Math.max(0, Math.ceil((width - x0) / dx)), rows: Math.max(0, Math.ceil((height - y0) / dy)) })).filter(
    (p) => p.width > 0 && p.rows > 0,
  );
}

const paeth = (a: number, b: number, c: number) => {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
};

/**
 * Reads the inflated scanlines as they stream in: checks each filter type, counts the bytes, and when
 * `paletteSize` is set, unfilters each row (PNG spec §9.2; one byte per pixel step for palettes) to check
 * every index against the palette, as fast-png's convertIndexedToRgb would reject it.
 */
class ScanlineReader {
  private passIndex = 0;
  private row = 0;
  private column = -1;
  private current: Uint8Array;
  private previous: Uint8Array;
  private filter = 0;
  private readonly layout: Pass[];
  done = false;

  constructor(
    width: number,
    height: number,
    interlaced: boolean,
    private readonly depth: number,
    private readonly channels: number,
    private readonly paletteSize: number | null,
  ) {
    this.layout = passes(width, height, interlaced);
    const widest = Math.max(...this.layout.map((p) => this.stride(p)));
    this.current = new Uint8Array(paletteSize === null ? 0 : widest);
    this.previous = new Uint8Array(paletteSize === null ? 0 : widest);
  }

  private stride(pass: Pass): number {
    return Math.ceil((pass.width * this.depth * this.channels) / 8);
  }

  /** Throws an `invalid_image` refusal at the first wrong byte; extra bytes past the last row too. */
  push(chunk: Uint8Array): void {
    for (let i = 0; i < chunk.length; ) {
      if (this.done) throw invalid("the PNG's image data holds more bytes than its declared size needs (corrupt)");
      const pass = this.layout[this.passIndex]!;
      const stride = this.stride(pass);
      if (this.column === -1) {
        const type = chunk[i++]!;
        if (type > 4) throw invalid(`the PNG is corrupt (row ${this.row} has filter type ${type})`);
        this.filter = type;
        this.column = 0;
      } else if (this.paletteSize !== null) {
        this.current[this.column] = this.unfilter(chunk[i++]!, this.column);
        this.column++;
      } else {
        // Without a palette to check, a row's samples are only counted.
        const take = Math.min(stride - this.column, chunk.length - i);
        this.column += take;
        i += take;
      }
      if (this.column === stride) this.endRow(pass);
    }
  }

  private unfilter(byte: number, x: number): number {
    const left = x > 0 ? this.current[x - 1]! : 0;
    const up = this.row > 0 ? this.previous[x]! : 0;
    const upLeft = x > 0 && this.row > 0 ? this.previous[x - 1]! : 0;
    switch (this.filter) {
      case 1:
        return (byte + left) & 0xff;
      case 2:
        return (byte + up) & 0xff;
      case 3:
        return (byte + ((left + up) >> 1)) & 0xff;
      case 4:
        return (byte + paeth(left, up, upLeft)) & 0xff;
      default:
        return byte;
    }
  }

  private endRow(pass: Pass): void {
    if (this.paletteSize !== null) {
      this.checkIndexes(pass.width);
      [this.previous, this.current] = [this.current, this.previous];
    }
    this.column = -1;
    this.row++;
    if (this.row < pass.rows) return;
    this.row = 0;
    this.passIndex++;
    if (this.passIndex === this.layout.length) this.done = true;
  }

  private checkIndexes(width: number): void {
    const perByte = 8 / this.depth;
    const mask = (1 << this.depth) - 1;
    for (let x = 0; x < width; x++) {
      const index = (this.current[Math.floor(x / perByte)]! >> (8 - this.depth * ((x % perByte) + 1))) & mask;
      if (index >= this.paletteSize!) throw invalid(`the PNG's pixel ${x} of row ${this.row} uses palette index ${index}, but the palette has ${this.paletteSize} colours`);
    }
  }
}

/** Inflates `compressed` through `reader`, stopping at the first refusal (zlib's own errors become one). */
function inflateInto(compressed: Uint8Array[], reader: ScanlineReader): Promise<void> {
  return new Promise((resolve, reject) => {
    // 64 KB output chunks: a quarter of the events of zlib's 16 KB default, still nothing held.
    const inflate = createInflate({ chunkSize: 64 * 1024 });
    let failed = false;
    const fail = (err: unknown) => {
      if (failed) return;
      failed = true;
      inflate.destroy();
      reject(err instanceof KirieApiError ? err : invalid(`the PNG's image data does not inflate (${err instanceof Error ? err.message : String(err)})`));
    };
    inflate.on('data', (chunk: Buffer) => {
      try {
        reader.push(chunk);
      } catch (err) {
        fail(err);
      }
    });
    inflate.on('error', fail);
    inflate.on('end', () => {
      if (failed) return;
      if (!reader.done) fail(invalid('the PNG\'s image data is shorter than its declared size needs (truncated or corrupt)'));
      else resolve();
    });
    for (const part of compressed) inflate.write(part);
    inflate.end();
  });
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
  let paletteSize: number | null = null;
  try {
    for (const { type: name, data } of pngChunks(bytes, { verifyCrc: true })) {
      if (name === 'IDAT') idat.push(data);
      else if (name === 'IEND') ended = true;
      else if (name === 'PLTE') {
        if (data.length === 0 || data.length % 3 !== 0) throw invalid(`the PNG's palette is ${data.length} bytes; it must be a positive multiple of 3`);
        paletteSize = data.length / 3;
      } else if (name === 'tRNS' && colorType === 3 && (paletteSize === null || data.length > paletteSize)) {
        throw invalid(`the PNG's transparency chunk has ${data.length} entries for a palette of ${paletteSize ?? 0} colours (or comes before it)`);
      }
    }
  } catch (err) {
    if (err instanceof PngFormatError) throw invalid(err.message);
    throw err;
  }
  if (!ended) throw invalid('the PNG is truncated (no IEND chunk)');
  if (idat.length === 0) throw invalid('the PNG has no image data (no IDAT chunk)');
  if (colorType === 3 && paletteSize === null) throw invalid('the PNG is palette-based but has no PLTE chunk');
  // Indexes need checking only when the palette is shorter than the bit depth can address.
  const checkIndexes = colorType === 3 && paletteSize! < 2 ** depth ? paletteSize : null;
  await inflateInto(idat, new ScanlineReader(width, height, interlace === 1, depth, channels, checkIndexes));
  return { width, height };
}

/**
 * At most `running` tasks at once and `waiting` queued; beyond that the caller gets a 429 at once, so a
 * flood of uploads costs neither memory nor the event loop's attention.
 */
export class CheckGate {
  private active = 0;
  private readonly queue: (() => void)[] = [];

  constructor(
    private readonly running: number,
    private readonly waiting: number,
  ) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.active >= this.running) {
      if (this.queue.length >= this.waiting) throw new KirieApiError(429, 'busy', `${this.active} image checks are running and ${this.queue.length} waiting; retry in a moment`, 'body');
      await new Promise<void>((resolve) => this.queue.push(resolve));
    } else this.active++;
    try {
      return await task();
    } finally {
      // The slot passes straight to the next waiter, so `active` never undercounts.
      const next = this.queue.shift();
      if (next) next();
      else this.active--;
    }
  }
}

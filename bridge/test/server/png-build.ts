// PNGs built chunk by chunk, for what no encoder writes on purpose: palettes with indexes past their
// end, short palettes, interlaced scanlines. Each chunk carries a correct CRC, so only the named flaw is wrong.
import { crc32, deflateSync } from 'node:zlib';

export function pngChunk(type: string, data: Uint8Array): Uint8Array {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'latin1');
  Buffer.from(data).copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

export interface PalettePngOptions {
  width: number;
  height: number;
  depth?: 1 | 2 | 4 | 8;
  /** RGB triples. */
  palette: number[][];
  /** Filtered scanlines exactly as they go into IDAT (filter byte first). */
  scanlines: number[];
  interlaced?: boolean;
  /** Chunks placed between PLTE and IDAT (e.g. tRNS). */
  extra?: Uint8Array[];
  /** Raw PLTE bytes instead of `palette`. */
  paletteBytes?: number[];
}

export function palettePng(o: PalettePngOptions): Uint8Array {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(o.width, 0);
  ihdr.writeUInt32BE(o.height, 4);
  ihdr[8] = o.depth ?? 8;
  ihdr[9] = 3;
  ihdr[12] = o.interlaced ? 1 : 0;
  return Buffer.concat([
    Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]),
    pngChunk('IHDR', ihdr),
    pngChunk('PLTE', Uint8Array.from(o.paletteBytes ?? o.palette.flat())),
    ...(o.extra ?? []),
    pngChunk('IDAT', deflateSync(Uint8Array.from(o.scanlines))),
    pngChunk('IEND', new Uint8Array(0)),
  ]);
}

/** 8-bit unfiltered scanlines of `indexes` (row-major, `width` per row). */
export function rows(width: number, indexes: number[]): number[] {
  const out: number[] = [];
  for (let y = 0; y * width < indexes.length; y++) out.push(0, ...indexes.slice(y * width, (y + 1) * width));
  return out;
}

/**
 * A "bomb": a few KB of deflate that inflates to a full `side`² RGBA image of zeros — what a 65 KB upload
 * declaring 4096×4096 becomes in memory (64 MB) if the check holds it all at once.
 */
export function bombPng(side: number): Uint8Array {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(side, 0);
  ihdr.writeUInt32BE(side, 4);
  ihdr[8] = 8;
  ihdr[9] = 6;
  return Buffer.concat([
    Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]),
    pngChunk('IHDR', ihdr),
    pngChunk('IDAT', deflateSync(Buffer.alloc(side * (1 + side * 4)), { level: 9 })),
    pngChunk('IEND', new Uint8Array(0)),
  ]);
}

// Walking a PNG's chunks, for what fast-png does not do: validating uploads chunk by chunk and splicing
// or reading text chunks. Stops after IEND, as decoders do, so bytes trailing the image are ignored.
import { crc32 } from 'node:zlib';

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
/** The PNG spec's largest chunk length (2^31 - 1). */
const MAX_LENGTH = 0x7fffffff;

export interface PngChunk {
  type: string;
  data: Uint8Array;
  /** Offset of the chunk's length field. */
  start: number;
}

export class PngFormatError extends Error {
  override readonly name = 'PngFormatError';
}

/** Messages read "the PNG is …", naming the byte where it goes wrong. */
export function* pngChunks(png: Uint8Array, options: { verifyCrc?: boolean } = {}): Generator<PngChunk> {
  if (png.length < 8 || SIGNATURE.some((b, i) => png[i] !== b)) throw new PngFormatError('the file is not a PNG (bad signature)');
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  for (let at = 8; at < png.length; ) {
    if (at + 12 > png.length) throw new PngFormatError(`the PNG is truncated (a chunk header at byte ${at} is cut off)`);
    const length = view.getUint32(at);
    const type = String.fromCharCode(png[at + 4]!, png[at + 5]!, png[at + 6]!, png[at + 7]!);
    const end = at + 12 + length;
    if (length > MAX_LENGTH || end > png.length) throw new PngFormatError(`the PNG is truncated (chunk ${JSON.stringify(type)} at byte ${at} needs ${length} bytes)`);
    if (options.verifyCrc && crc32(png.subarray(at + 4, at + 8 + length)) !== view.getUint32(at + 8 + length)) {
      throw new PngFormatError(`the PNG is corrupt (chunk ${JSON.stringify(type)} at byte ${at} fails its CRC)`);
    }
    yield { type, data: png.subarray(at + 8, at + 8 + length), start: at };
    if (type === 'IEND') return;
    at = end;
  }
}

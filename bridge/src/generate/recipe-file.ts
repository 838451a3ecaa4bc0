// A recipe from a file: a PNG's text chunks (Kirie, AUTOMATIC1111 "parameters", ComfyUI "prompt"), a JPEG's
// or WebP's EXIF UserComment (where A1111 puts "parameters": piexif's UserComment.dump, "UNICODE\0" and
// UTF-16 big-endian), or a text file holding pasted parameters or a ComfyUI API-format graph.
// EXIF is walked here (one tag through two IFDs): `kirie generate` prepares its request synchronously and
// the EXIF libraries on npm (exifr) are promise-only.
import { readFileSync } from 'node:fs';
import { readRecipe, readRecipeText, type ReadRecipe } from '@kirie/core/recipe/recipe';
import { readText } from './png-text.js';

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47];

const startsWith = (bytes: Uint8Array, prefix: readonly number[]) => prefix.every((b, i) => bytes[i] === b);
const ascii = (bytes: Uint8Array, from: number, to: number) => String.fromCharCode(...bytes.subarray(from, to));

/** The TIFF bytes of a WebP's RIFF "EXIF" chunk (WebP container spec: 4CC, little-endian size, data padded to even). */
function webpExif(bytes: Uint8Array): Uint8Array | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let at = 12; at + 8 <= bytes.length; ) {
    const size = view.getUint32(at + 4, true);
    if (ascii(bytes, at, at + 4) === 'EXIF') {
      const data = bytes.subarray(at + 8, at + 8 + size);
      // Some writers keep JPEG's "Exif\0\0" header in the chunk.
      return ascii(data, 0, 6) === 'Exif\0\0' ? data.subarray(6) : data;
    }
    at += 8 + size + (size % 2);
  }
  return undefined;
}

/** EXIF UserComment text: an 8-byte character code, then the text (EXIF 2.3 §4.6.5). */
export function decodeUserComment(raw: Uint8Array): string {
  const code = ascii(raw, 0, 8);
  const body = raw.subarray(8);
  if (code.startsWith('UNICODE')) {
    // piexif (A1111) writes big-endian; a little-endian writer shows as zeros in the odd bytes of ASCII text.
    let evenZeros = 0;
    let oddZeros = 0;
    body.forEach((b, i) => b === 0 && (i % 2 === 0 ? evenZeros++ : oddZeros++));
    return new TextDecoder(oddZeros > evenZeros ? 'utf-16le' : 'utf-16be').decode(body).replace(/\0+$/, '');
  }
  return new TextDecoder(code.startsWith('ASCII') ? 'latin1' : 'utf-8').decode(body).replace(/\0+$/, '');
}

/** The TIFF bytes of a JPEG's APP1 "Exif" segment (segments up to the scan's start). */
function jpegExif(bytes: Uint8Array): Uint8Array | undefined {
  for (let at = 2; at + 4 <= bytes.length && bytes[at] === 0xff; ) {
    const marker = bytes[at + 1]!;
    if (marker === 0xda) break;
    const length = (bytes[at + 2]! << 8) | bytes[at + 3]!;
    if (marker === 0xe1 && ascii(bytes, at + 4, at + 10) === 'Exif\0\0') return bytes.subarray(at + 10, at + 2 + length);
    at += 2 + length;
  }
  return undefined;
}

const EXIF_IFD_POINTER = 0x8769;
const USER_COMMENT = 0x9286;

/** One tag's entry of a TIFF IFD: where its value lies and its byte count (TIFF 6.0 §2; UNDEFINED/LONG only, as used here). */
function ifdEntry(tiff: DataView, little: boolean, ifd: number, tag: number): { offset: number; count: number } | undefined {
  const n = tiff.getUint16(ifd, little);
  for (let i = 0; i < n; i++) {
    const at = ifd + 2 + i * 12;
    if (tiff.getUint16(at, little) !== tag) continue;
    const size = tiff.getUint16(at + 2, little) === 4 ? 4 : 1;
    const count = tiff.getUint32(at + 4, little) * size;
    return { offset: count <= 4 ? at + 8 : tiff.getUint32(at + 8, little), count };
  }
  return undefined;
}

/** The raw UserComment of a TIFF/EXIF block, if it has one. */
export function userCommentOf(tiffBytes: Uint8Array): Uint8Array | undefined {
  const tiff = new DataView(tiffBytes.buffer, tiffBytes.byteOffset, tiffBytes.byteLength);
  const order = ascii(tiffBytes, 0, 2);
  if (order !== 'II' && order !== 'MM') return undefined;
  const little = order === 'II';
  try {
    const pointer = ifdEntry(tiff, little, tiff.getUint32(4, little), EXIF_IFD_POINTER);
    const comment = pointer && ifdEntry(tiff, little, tiff.getUint32(pointer.offset, little), USER_COMMENT);
    return comment && tiffBytes.subarray(comment.offset, comment.offset + comment.count);
  } catch (err) {
    if (err instanceof RangeError) return undefined; // offsets past the block: a damaged EXIF
    throw err;
  }
}

function exifComment(bytes: Uint8Array, isWebp: boolean, label: string): string {
  const tiff = isWebp ? webpExif(bytes) : jpegExif(bytes);
  const comment = tiff && userCommentOf(tiff);
  if (!comment) throw new Error(`no recipe: ${label} has no EXIF UserComment (where A1111 writes its parameters in JPEG and WebP)`);
  return decodeUserComment(comment);
}

/** The recipe a file carries, whatever the file. */
export function readRecipeFile(path: string): ReadRecipe {
  const bytes = new Uint8Array(readFileSync(path));
  if (startsWith(bytes, PNG_SIGNATURE)) return readRecipe(readText(bytes));
  const isJpeg = startsWith(bytes, [0xff, 0xd8]);
  const isWebp = ascii(bytes, 0, 4) === 'RIFF' && ascii(bytes, 8, 12) === 'WEBP';
  if (isJpeg || isWebp) return readRecipeText(exifComment(bytes, isWebp, path));
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new Error(`no recipe: ${path} is neither a PNG, JPEG or WebP image nor UTF-8 text`);
  }
  return readRecipeText(text);
}

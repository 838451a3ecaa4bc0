// PNG text chunks the way AUTOMATIC1111 (PIL) writes them: tEXt when the text is Latin-1, iTXt (UTF-8)
// otherwise, so prompts in any script survive. fast-png only does Latin-1 tEXt, so chunks are spliced in
// and read out here, with zlib for CRCs and compressed text.
import { crc32, inflateSync } from 'node:zlib';
import { pngChunks } from './png-chunks.js';

const latin1 = new TextDecoder('latin1');
const utf8 = new TextDecoder('utf-8', { fatal: true });

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

function textChunk(keyword: string, text: string): Uint8Array {
  if (!/^[\x20-\x7e]{1,79}$/.test(keyword)) throw new Error(`PNG text keyword must be 1-79 printable ASCII characters: ${JSON.stringify(keyword)}`);
  const key = Buffer.from(keyword, 'latin1');
  if (/^[\u0000-\u00ff]*$/.test(text)) return chunk('tEXt', Buffer.concat([key, Buffer.from([0]), Buffer.from(text, 'latin1')]));
  // iTXt: keyword, 0, compression flag 0, method 0, empty language tag, 0, empty translated keyword, 0, UTF-8 text.
  return chunk('iTXt', Buffer.concat([key, Buffer.from([0, 0, 0, 0, 0]), Buffer.from(text, 'utf8')]));
}

/** The PNG with these text entries inserted before IEND. */
export function withText(png: Uint8Array, text: Record<string, string>): Uint8Array {
  const end = [...pngChunks(png)].find((c) => c.type === 'IEND');
  if (!end) throw new Error('PNG has no IEND chunk');
  const added = Object.entries(text).map(([k, v]) => textChunk(k, v));
  return Buffer.concat([png.subarray(0, end.start), ...added, png.subarray(end.start)]);
}

function nul(data: Uint8Array, from: number, what: string): number {
  const i = data.indexOf(0, from);
  if (i < 0) throw new Error(`malformed PNG ${what} chunk`);
  return i;
}

/** Every tEXt, zTXt and iTXt entry of a PNG (a later entry with the same keyword wins). */
export function readText(png: Uint8Array): Record<string, string> {
  const out: Record<string, string> = {};
  for (const { type, data } of pngChunks(png)) {
    if (type === 'tEXt') {
      const k = nul(data, 0, type);
      out[latin1.decode(data.subarray(0, k))] = latin1.decode(data.subarray(k + 1));
    } else if (type === 'zTXt') {
      const k = nul(data, 0, type);
      out[latin1.decode(data.subarray(0, k))] = latin1.decode(inflateSync(data.subarray(k + 2)));
    } else if (type === 'iTXt') {
      const k = nul(data, 0, type);
      const compressed = data[k + 1] === 1;
      const lang = nul(data, k + 3, type);
      const translated = nul(data, lang + 1, type);
      const body = data.subarray(translated + 1);
      out[latin1.decode(data.subarray(0, k))] = utf8.decode(compressed ? inflateSync(body) : body);
    }
  }
  return out;
}

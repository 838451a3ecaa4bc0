// GPT-2's reversible byte → printable character map, shared by every byte-level BPE vocabulary
// (CLIP's included): printable Latin-1 bytes map to themselves, the other 68 bytes to U+0100…U+0143
// in byte order. Its iteration order is also the order of the first 256 ids in CLIP's vocabulary.

function build(): { order: number[]; chars: string[] } {
  const printable: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) printable.push(b);
  for (let b = 0xa1; b <= 0xac; b++) printable.push(b);
  for (let b = 0xae; b <= 0xff; b++) printable.push(b);
  const chars: string[] = new Array<string>(256);
  for (const b of printable) chars[b] = String.fromCharCode(b);
  const order = [...printable];
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (chars[b] === undefined) {
      chars[b] = String.fromCharCode(256 + n++);
      order.push(b);
    }
  }
  return { order, chars };
}

const table = build();

/** BYTE_CHARS[b] = the character byte b stands for. */
export const BYTE_CHARS: readonly string[] = table.chars;

/** The 256 byte characters in GPT-2's dictionary order (printable bytes first). */
export const BYTE_CHARS_IN_VOCAB_ORDER: readonly string[] = table.order.map((b) => table.chars[b]!);

const utf8 = new TextEncoder();

/** The UTF-8 bytes of a piece of text, each written as its byte character. */
export function toByteChars(text: string): string {
  let out = '';
  for (const b of utf8.encode(text)) out += BYTE_CHARS[b];
  return out;
}

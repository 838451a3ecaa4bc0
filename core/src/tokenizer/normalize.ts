// The text cleanup transformers' CLIPTokenizer applies when ftfy is not installed (the reference
// setup, and the one SD front ends reproduce): BasicTokenizer(strip_accents=False,
// do_split_on_punc=False).tokenize(text) joined with single spaces. HTML entities stay as typed.

// Python's _is_control: any category C character except \t \n \r; also U+0000 and U+FFFD.
const DROPPED = /[\0\uFFFD]|(?![\t\n\r])\p{C}/gu;
// Python's _is_whitespace: \t \n \r, space and category Zs.
const TO_SPACE = /[\t\n\r\p{Zs}]/gu;
// BasicTokenizer's "Chinese character" blocks: CJK ideographs only, not kana, hangul or CJK punctuation.
const CJK = /[\u{4E00}-\u{9FFF}\u{3400}-\u{4DBF}\u{20000}-\u{2A6DF}\u{2A700}-\u{2B73F}\u{2B740}-\u{2B81F}\u{2B820}-\u{2CEAF}\u{F900}-\u{FAFF}\u{2F800}-\u{2FA1F}]/gu;
// Python's str.split() whitespace; after the steps above only ' ', U+2028 and U+2029 can remain.
const WHITESPACE = /\s+/u;

// Printable ASCII has nothing to drop, map, space out or compose: only splitting and lowercasing apply.
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

export function normalizeClipText(text: string): string {
  if (PRINTABLE_ASCII.test(text)) return text.toLowerCase().split(' ').filter((word) => word.length > 0).join(' ');
  const spaced = text.replace(DROPPED, '').replace(TO_SPACE, ' ').replace(CJK, ' $& ');
  return spaced
    .normalize('NFC')
    .split(WHITESPACE)
    .filter((word) => word.length > 0)
    .map((word) => word.toLowerCase())
    .join(' ');
}

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { BYTE_CHARS, BYTE_CHARS_IN_VOCAB_ORDER, toByteChars } from '../../src/tokenizer/byte-encoder.js';
import { ClipTokenizer } from '../../src/tokenizer/clip.js';
import { normalizeClipText } from '../../src/tokenizer/normalize.js';

const GOLDEN = join(import.meta.dirname, '../../../tests/golden/tokenizer');

interface TokenizerCase {
  id: string;
  text: string;
  ids_padded_77: number[];
  ids_unpadded: number[];
  bpe_tokens: string[];
  normalized_text: string;
}

const golden = JSON.parse(readFileSync(join(GOLDEN, 'cases.json'), 'utf8')) as { cases: TokenizerCase[] };
const forms = {
  'HF vocab.json + merges.txt': ClipTokenizer.fromVocabAndMerges(JSON.parse(readFileSync(join(GOLDEN, 'vocab.json'), 'utf8')) as Record<string, number>, readFileSync(join(GOLDEN, 'merges.txt'), 'utf8')),
  'CLIP bpe_simple_vocab_16e6.txt.gz': ClipTokenizer.fromClipBpe(gunzipSync(readFileSync(join(GOLDEN, 'bpe_simple_vocab_16e6.txt.gz'))).toString('utf8')),
};

describe.each(Object.entries(forms))('golden cases, %s', (_, tokenizer) => {
  it.each(golden.cases)('$id', (c) => {
    expect(tokenizer.bpeTokens(c.text)).toEqual(c.bpe_tokens);
    expect(tokenizer.encode(c.text)).toEqual(c.ids_unpadded);
    expect([...tokenizer.encodePadded(c.text)]).toEqual(c.ids_padded_77);
  });
});

describe('normalizeClipText', () => {
  it.each(golden.cases.map((c) => [c.id, c.text, c.normalized_text]))('golden %s', (_, text, expected) => {
    expect(normalizeClipText(text)).toBe(expected);
  });
  it.each([
    ['drops zero-width and format chars', 'a\u200bb\u200dc\ufeffd\u2060e', 'abcde'],
    ['drops NUL, U+FFFD, C0/C1 controls and private use', 'a\u0000b\ufffdc\u0007d\u0085e\ue000f', 'abcdef'],
    ['maps tabs, newlines and Zs to spaces', 'a\tb\nc\rd\u00a0e\u3000f\u2003g', 'a b c d e f g'],
    ['splits on line/paragraph separators like str.split', 'a\u2028b\u2029c', 'a b c'],
    ['spaces CJK ideographs, not kana or hangul', '猫ねこ한글𠀀', '猫 ねこ한글 𠀀'],
    ['composes to NFC', 'cafe\u0301', 'café'],
    ['lowercases with full Unicode mappings', 'İSTANBUL ΟΔΟΣ', 'i̇stanbul οδος'],
    ['keeps HTML entities as typed', 'rock &amp; roll', 'rock &amp; roll'],
    ['collapses and trims whitespace', '  a   b  ', 'a b'],
    ['empty stays empty', '', ''],
  ])('%s', (_, text, expected) => {
    expect(normalizeClipText(text)).toBe(expected);
  });
});

describe('byte encoder', () => {
  it('is a bijection onto 256 distinct characters, printable bytes mapping to themselves', () => {
    expect(new Set(BYTE_CHARS).size).toBe(256);
    expect(new Set(BYTE_CHARS_IN_VOCAB_ORDER)).toEqual(new Set(BYTE_CHARS));
    expect(BYTE_CHARS[0x41]).toBe('A');
    expect(BYTE_CHARS[0x20]).toBe('\u0120');
    expect(BYTE_CHARS_IN_VOCAB_ORDER[0]).toBe('!');
  });
  it('encodes UTF-8', () => {
    expect(toByteChars('é')).toBe(BYTE_CHARS[0xc3]! + BYTE_CHARS[0xa9]!);
  });
});

// A hand-made vocabulary small enough to reason about every merge.
function tiny(merges: string[], extra: string[] = []): ClipTokenizer {
  const tokens = ['a', 'b', 'c', 'a</w>', 'b</w>', 'c</w>', ...merges.map((m) => m.replace(' ', '')), ...extra, '<|startoftext|>', '<|endoftext|>'];
  return ClipTokenizer.fromVocabAndMerges(Object.fromEntries(tokens.map((t, i) => [t, i])), ['#version: 0.2', ...merges].join('\n'));
}

describe('BPE', () => {
  it.each([
    [['a a'], 'aaa', ['aa', 'a</w>']],
    [['a a', 'aa a</w>'], 'aaa', ['aaa</w>']],
    [['a b', 'b c</w>'], 'abc', ['ab', 'c</w>']],
    [['b c</w>', 'a b'], 'abc', ['a', 'bc</w>']],
    [[], 'abc', ['a', 'b', 'c</w>']],
    [['a a'], 'aaaa', ['aa', 'a', 'a</w>']],
  ])('merges %j turn %s into %j', (merges, text, expected) => {
    expect(tiny(merges).bpeTokens(text)).toEqual(expected);
  });
  it('maps tokens missing from the vocabulary to the unknown id (eos)', () => {
    const vocab = { a: 0, 'b</w>': 1, '<|startoftext|>': 2, '<|endoftext|>': 3 };
    const t = ClipTokenizer.fromVocabAndMerges(vocab, '#version: 0.2\na b</w>\n');
    expect(t.bpeTokens('ab ba')).toEqual(['ab</w>', 'b', 'a</w>']);
    expect(t.encode('ab ba')).toEqual([2, 3, 3, 3, 3]);
  });
  it('memoises words without changing results', () => {
    const t = forms['HF vocab.json + merges.txt'];
    const first = t.encode('a photograph of an astronaut riding a horse');
    expect(t.encode('a photograph of an astronaut riding a horse')).toEqual(first);
  });
});

describe('special tokens and lengths', () => {
  const t = forms['HF vocab.json + merges.txt'];
  it('turns literal specials into their ids, also when formed only after cleanup', () => {
    expect(t.encode('<|endoftext|>')).toEqual([49406, 49407, 49407]);
    expect(t.encode('<|endo\u200bftext|>')).toEqual([49406, 49407, 49407]);
    expect(t.encode('<|StartOfText|>')).toEqual([49406, 49406, 49407]);
  });
  it.each([2, 3, 10, 77, 100])('truncates to [bos] + first n−2 + [eos] and pads to %i', (length) => {
    const prompt = Array.from({ length: 120 }, (_, i) => `word${i}`).join(' ');
    const all = t.encode(prompt);
    const padded = [...t.encodePadded(prompt, length)];
    expect(padded).toHaveLength(length);
    const body = all.slice(1, -1).slice(0, length - 2);
    expect(padded).toEqual([49406, ...body, 49407, ...new Array<number>(length - 2 - body.length).fill(49407)]);
  });
  it.each([1, 0, 2.5])('rejects padded length %s', (length) => {
    expect(() => t.encodePadded('a', length)).toThrow(/integer ≥ 2/);
  });
});

describe('loading errors', () => {
  it('rejects a vocabulary without specials', () => {
    expect(() => ClipTokenizer.fromVocabAndMerges({ a: 0 }, '#version: 0.2\n')).toThrow(/lacks <\|startoftext\|>/);
  });
  it('rejects non-integer ids', () => {
    expect(() => ClipTokenizer.fromVocabAndMerges({ a: 'x' } as unknown as Record<string, number>, '#\n')).toThrow(/id of "a"/);
  });
  it('names the bad merges line', () => {
    expect(() => tiny(['a b c'])).toThrow(/merges.txt line 2: expected two/);
  });
  it('requires the full CLIP merge list', () => {
    expect(() => ClipTokenizer.fromClipBpe('header\na b\n')).toThrow(/has 1 merges, expected 48894/);
  });
});

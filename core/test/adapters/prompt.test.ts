// A1111's LoRA tags and textual-inversion tokens as the prompt carries them, and both in recipes.
import { describe, expect, it } from 'vitest';
import { EmbeddingTokenizer, type BpeIds } from '../../src/adapters/embedding.js';
import { embeddingsCalled, extractLoraTags, loraTag, withPromptWord } from '../../src/adapters/prompt.js';
import { formatA1111, parseA1111 } from '../../src/recipe/a1111.js';
import { parseGenerateRequest, validateGenerateRequest } from '../../src/request/parse.js';
import { applyStyle, loraStyle } from '../../src/styles/presets.js';

describe('extractLoraTags (A1111 extra_networks syntax)', () => {
  it.each([
    ['a fox <lora:paper-cut:0.6>', 'a fox ', [{ name: 'paper-cut', weight: 0.6 }]],
    ['<lora:paper-cut> a fox', ' a fox', [{ name: 'paper-cut', weight: 1 }]],
    ['<lora:a:0.5:1> x', ' x', [{ name: 'a', weight: 1, textEncoderWeight: 0.5 }]],
    ['<lora:a:te=0.2:unet=0.7>', '', [{ name: 'a', weight: 0.7, textEncoderWeight: 0.2 }]],
    ['<lora:a:unet=0.3>', '', [{ name: 'a', weight: 0.3, textEncoderWeight: 1 }]],
    ['<lyco:old-style:-0.4>', '', [{ name: 'old-style', weight: -0.4 }]],
    ['<lora:a:1> and <lora:b:0.5>', ' and ', [{ name: 'a', weight: 1 }, { name: 'b', weight: 0.5 }]],
    ['<hypernet:h:1> stays, <tiny-neg> too', '<hypernet:h:1> stays, <tiny-neg> too', []],
  ])('%s', (prompt, text, loras) => {
    expect(extractLoraTags(prompt)).toEqual({ prompt: text, loras });
  });

  it.each([
    ['<lora:a:strong>', /"strong" is not a number/],
    ['<lora: :1>', /must not be empty/],
    ['<lora:../x:1>', /no path separators/],
  ])('refuses %s', (prompt, message) => {
    expect(() => extractLoraTags(prompt)).toThrow(message);
  });

  it('writes back the tag that asks for the same thing', () => {
    for (const use of [{ name: 'a', weight: 0.6 }, { name: 'a', weight: 1, textEncoderWeight: 0.5 }]) expect(extractLoraTags(loraTag(use)).loras).toEqual([use]);
  });

  it('finds embeddings by exact name in either prompt', () => {
    expect(embeddingsCalled(['a <kirie-style> cat', 'blurry, bad-hands'], ['bad-hands', '<kirie-style>', 'unused'])).toEqual(['bad-hands', '<kirie-style>']);
  });
});

describe('EmbeddingTokenizer', () => {
  // A stand-in BPE: one id per word (the real CLIP tokenizer is checked against the golden ids in verify).
  const words = new Map<string, number>();
  const bpe: BpeIds = { bosId: 1, eosId: 2, padId: 2, vocabSize: 100, bpeIds: (t) => t.split(/\s+/).filter(Boolean).map((w) => words.get(w) ?? words.set(w, 10 + words.size).get(w)!) };
  const three = { token: '<s>', vectors: new Float32Array(3 * 4), count: 3 };
  const one = { token: '<s>_x', vectors: new Float32Array(4), count: 1 };

  it('spells out a multi-vector token and numbers added tokens after the vocabulary, in load order', () => {
    const tok = new EmbeddingTokenizer(bpe, [three, one]);
    expect(tok.convert('a <s> b')).toBe('a <s> <s>_1 <s>_2 b');
    const ids = Array.from(tok.encodePadded('a <s> b <s>_x', 10));
    const a = words.get('a')!;
    const b = words.get('b')!;
    // <s>_x is matched whole (longest first), not as <s> followed by "_x".
    expect(ids).toEqual([1, a, 100, 101, 102, b, 103, 2, 2, 2]);
    expect(EmbeddingTokenizer.table([three, one], 4).length).toBe(16);
  });
});

describe('LoRAs in requests and recipes', () => {
  it('bounds the loras field and names the offending entry', () => {
    expect(parseGenerateRequest({ prompt: 'x', loras: [{ name: 'a' }] }).loras).toEqual([{ name: 'a', weight: 1 }]);
    const bad = validateGenerateRequest({ prompt: 'x', loras: [{ name: 'a/b', weight: 9 }, { name: 'c', extra: 1 }] });
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.errors.map((e) => e.field).sort()).toEqual(['loras.0.name', 'loras.0.weight', 'loras.1.extra']);
  });

  it('A1111 text: request LoRAs become prompt tags, "Lora hashes" names the files; reading it back keeps the tags in the prompt', () => {
    const request = parseGenerateRequest({ prompt: 'a fox', loras: [{ name: 'paper-cut', weight: 0.8 }, { name: 'mosaic', weight: 1, textEncoderWeight: 0.5 }], seed: 3 });
    const text = formatA1111(request, { seed: 3, modelName: 'sd15', loraHashes: { 'paper-cut': 'a1b2c3d4e5f6', mosaic: '0123456789ab' } });
    expect(text.split('\n')[0]).toBe('a fox <lora:paper-cut:0.8> <lora:mosaic:0.5:1>');
    expect(text).toContain('Lora hashes: "paper-cut: a1b2c3d4e5f6, mosaic: 0123456789ab"');
    const parsed = parseA1111(text);
    expect(parsed.request.prompt).toBe('a fox <lora:paper-cut:0.8> <lora:mosaic:0.5:1>');
    expect(parsed.ignored).not.toHaveProperty('Lora hashes');
    expect(extractLoraTags(parsed.request.prompt).loras).toEqual(request.loras);
  });
});

describe('LoRA styles', () => {
  it('a LoRA becomes a style: its trigger words after the prompt, its preferred weight (0.8 when none)', () => {
    const style = loraStyle({ name: 'paper-cut', triggerWords: ['papercut', 'layered paper'], preferredWeight: 0.6, family: 'sd1' });
    expect(applyStyle(style, 'a fox')).toMatchObject({ prompt: 'a fox, papercut, layered paper', loras: [{ name: 'paper-cut', weight: 0.6 }] });
    expect(loraStyle({ name: 'x', triggerWords: [], family: 'unknown' })).toMatchObject({ id: 'lora:x', promptTemplate: '{prompt}', loras: [{ name: 'x', weight: 0.8 }] });
    // The style's request part passes the request schema as it is.
    expect(parseGenerateRequest({ ...applyStyle(style, 'a fox') }).loras).toEqual([{ name: 'paper-cut', weight: 0.6 }]);
  });
});

describe('withPromptWord (an embedding clicked in a panel)', () => {
  it.each([
    ['', 'tiny-neg', 'tiny-neg'],
    ['  ', 'tiny-neg', 'tiny-neg'],
    ['blurry', 'tiny-neg', 'blurry, tiny-neg'],
    ['a fox, \n', '<kirie-style>', 'a fox, <kirie-style>'],
  ])('%j + %s → %j', (text, word, out) => {
    expect(withPromptWord(text, word)).toBe(out);
  });
});

// A1111's and ComfyUI's chunking of the golden conditioning prompts (tests/golden/prompts/conditioning).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { a1111Chunks, comfyChunks } from '../../src/prompt/chunks.js';
import { stripExtraNetworks } from '../../src/prompt/extra-networks.js';
import { ClipTokenizer } from '../../src/tokenizer/clip.js';

const GOLDEN = join(import.meta.dirname, '../../../tests/golden');
const tokenizer = ClipTokenizer.fromVocabAndMerges(JSON.parse(readFileSync(join(GOLDEN, 'tokenizer/vocab.json'), 'utf8')) as Record<string, number>, readFileSync(join(GOLDEN, 'tokenizer/merges.txt'), 'utf8'));

interface Tokenization {
  token_count: number;
  target_token_count: number;
  chunks: { tokens: number[]; multipliers: number[] }[];
}
interface ConditioningCase {
  id: string;
  prompt: string;
  a1111: { stripped_prompt: string; tokenization: Record<string, Tokenization> } & Record<string, { tokenization_emphasis_None?: Record<string, Tokenization> }>;
  comfyui: { token_weight_chunks: [number, number][][] };
}
const { cases } = JSON.parse(readFileSync(join(GOLDEN, 'prompts/conditioning/cases.json'), 'utf8')) as { cases: ConditioningCase[] };

function expectTokenization(got: ReturnType<typeof a1111Chunks>, want: Tokenization): void {
  expect(got.chunks.map((c) => c.tokens)).toEqual(want.chunks.map((c) => c.tokens));
  expect(got.chunks.map((c) => c.weights)).toEqual(want.chunks.map((c) => c.multipliers));
  expect(got.tokenCount).toBe(want.token_count);
}

describe('A1111 tokenize_line on the golden conditioning prompts', () => {
  it('has all 17 cases', () => expect(cases).toHaveLength(17));
  it.each(cases)('$id', (c) => {
    expect(stripExtraNetworks(c.prompt).prompt).toBe(c.a1111.stripped_prompt);
    for (const [text, want] of Object.entries(c.a1111.tokenization)) expectTokenization(a1111Chunks(text, tokenizer), want);
    const none = c.a1111['emphasis=None,clip_skip=1']?.tokenization_emphasis_None ?? {};
    for (const [text, want] of Object.entries(none)) expectTokenization(a1111Chunks(text, tokenizer, 'None'), want);
  });
});

describe('ComfyUI tokenize_with_weights on the same prompts', () => {
  it.each(cases)('$id', (c) => {
    const chunks = comfyChunks(c.prompt, tokenizer);
    expect(chunks.map((ch) => ch.tokens.map((id, i) => [id, ch.weights[i]]))).toEqual(c.comfyui.token_weight_chunks);
  });
});

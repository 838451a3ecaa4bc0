// Tokenizer speed: loading each on-disk form, and encoding long SD prompts (≥ 75 tokens, truncated to
// 77) the first time (cold BPE cache) and again (memoised words). Prompts come from the golden cases.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ClipTokenizer } from '@kirie/core/tokenizer/clip';
import { findClipTokenizerSources, loadClipTokenizerFrom } from '../models/tokenizer-files.js';
import type { BenchSuite } from './types.js';

const GOLDEN_TOKENIZER = fileURLToPath(new URL('../../tests/golden/tokenizer/', import.meta.url));
const ROUNDS = 5;
const WARM_REPEATS = 200;

function longPrompts(): string[] {
  const { cases } = JSON.parse(readFileSync(`${GOLDEN_TOKENIZER}cases.json`, 'utf8')) as { cases: { text: string; ids_unpadded: number[] }[] };
  const prompts = cases.filter((c) => c.ids_unpadded.length >= 40).map((c) => c.text);
  if (prompts.length === 0) throw new Error(`${GOLDEN_TOKENIZER}cases.json has no long prompts to time`);
  return prompts;
}

function timePerPrompt(tokenizer: ClipTokenizer, prompts: string[], repeats: number): number {
  const start = performance.now();
  for (let r = 0; r < repeats; r++) for (const p of prompts) tokenizer.encodePadded(p);
  return (performance.now() - start) / (repeats * prompts.length);
}

export const tokenizerSuite: BenchSuite = {
  name: 'tokenizer',
  description: 'CLIP tokenizer: load time per form, encodePadded per long prompt cold vs memoised',
  async run(report) {
    const sources = findClipTokenizerSources(GOLDEN_TOKENIZER);
    const prompts = longPrompts();
    let hfLoad: number | undefined;
    let cold = 0;
    let warm = 0;
    for (const source of sources) {
      const start = performance.now();
      await loadClipTokenizerFrom(source);
      const ms = performance.now() - start;
      report({ name: `load (${source.form})`, value: ms, unit: 'ms', ...(hfLoad !== undefined ? { baseline: { name: 'load (hf)', value: hfLoad } } : {}) });
      if (source.form === 'hf') hfLoad = ms;
    }
    // Fresh tokenizers each round so "cold" really starts from an empty word cache.
    for (let round = 0; round < ROUNDS; round++) {
      const tokenizer = await loadClipTokenizerFrom(sources[0]!);
      cold += timePerPrompt(tokenizer, prompts, 1) / ROUNDS;
      warm += timePerPrompt(tokenizer, prompts, WARM_REPEATS) / ROUNDS;
    }
    report({ name: `encodePadded, first encode (${prompts.length} prompts ≥ 40 tokens)`, value: cold * 1000, unit: 'µs/prompt', target: '≪ 1000 µs' });
    report({ name: 'encodePadded, memoised', value: warm * 1000, unit: 'µs/prompt', baseline: { name: 'first encode', value: cold * 1000 }, target: '≪ 1000 µs' });
  },
};

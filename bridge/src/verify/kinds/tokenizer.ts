// Verify kind for CLIP tokenizer cases (tests/golden/tokenizer/cases.json and any folder in its format):
// every case is encoded with every tokenizer form found and compared id for id (tolerance 0).
import { basename, join } from 'node:path';
import type { ClipTokenizer } from '@kirie/core/tokenizer/clip';
import { normalizeClipText } from '@kirie/core/tokenizer/normalize';
import { findClipTokenizerSources, loadClipTokenizerFrom } from '../../models/tokenizer-files.js';
import type { CaseFile, CaseResult, VerifyKind } from '../types.js';

interface TokenizerCase {
  id: string;
  text: string;
  ids_padded_77: number[];
  ids_unpadded?: number[];
  bpe_tokens?: string[];
  normalized_text?: string;
}

function casesOf(json: Record<string, unknown>): TokenizerCase[] | null {
  const cases = json.cases;
  if (!Array.isArray(cases) || cases.length === 0) return null;
  const first = cases[0] as Record<string, unknown>;
  return typeof first.text === 'string' && Array.isArray(first.ids_padded_77) ? (cases as TokenizerCase[]) : null;
}

/** `"tokenizer": "<name>"` names a folder at the golden root (or next to the case file); absent = the case file's own folder. */
function tokenizerDir(file: CaseFile): string {
  const named = file.json.tokenizer;
  if (typeof named !== 'string') return file.dir;
  return join(file.root ?? file.dir, named);
}

function idMismatches(actual: ArrayLike<number>, expected: readonly number[]): number {
  let n = Math.abs(actual.length - expected.length);
  for (let i = 0; i < Math.min(actual.length, expected.length); i++) if (actual[i] !== expected[i]) n++;
  return n;
}

function compare(tokenizer: ClipTokenizer, c: TokenizerCase): { mismatches: number; problems: string[] } {
  const problems: string[] = [];
  let mismatches = idMismatches(tokenizer.encodePadded(c.text, c.ids_padded_77.length), c.ids_padded_77);
  if (mismatches > 0) problems.push('ids_padded_77');
  if (c.ids_unpadded) {
    const n = idMismatches(tokenizer.encode(c.text), c.ids_unpadded);
    if (n > 0) problems.push('ids_unpadded');
    mismatches += n;
  }
  if (c.bpe_tokens && JSON.stringify(tokenizer.bpeTokens(c.text)) !== JSON.stringify(c.bpe_tokens)) problems.push('bpe_tokens');
  if (c.normalized_text !== undefined && normalizeClipText(c.text) !== c.normalized_text) problems.push('normalized_text');
  return { mismatches, problems };
}

export const tokenizerKind: VerifyKind = {
  kind: 'tokenizer',
  matches: (file) => casesOf(file.json) !== null,
  async *run(file) {
    const cases = casesOf(file.json)!;
    const sources = findClipTokenizerSources(tokenizerDir(file));
    const tokenizers = await Promise.all(sources.map(async (s) => ({ form: s.form, tokenizer: await loadClipTokenizerFrom(s) })));
    for (const c of cases) {
      let mismatches = 0;
      const problems: string[] = [];
      for (const { form, tokenizer } of tokenizers) {
        const r = compare(tokenizer, c);
        mismatches += r.mismatches;
        if (r.problems.length > 0) problems.push(`${form}: ${r.problems.join(', ')} differ`);
      }
      const result: CaseResult = { case: `${basename(file.dir)}/${c.id}`, kind: 'tokenizer', maxAbsDiff: mismatches, tolerance: 0, pass: problems.length === 0 };
      result.detail = problems.length > 0 ? problems.join('; ') : `ids identical from ${tokenizers.map((t) => t.form).join(' and ')}`;
      yield result;
    }
  },
};

import { copyFileSync, mkdtempSync, mkdirSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { findClipTokenizerSources, loadClipTokenizer, loadClipTokenizerFrom } from '../src/models/tokenizer-files.js';

const GOLDEN = join(import.meta.dirname, '../../tests/golden/tokenizer');
const GZ = join(GOLDEN, 'bpe_simple_vocab_16e6.txt.gz');
const tmp = mkdtempSync(join(tmpdir(), 'kirie-tokenizer-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function folder(name: string, files: Record<string, string | Buffer>): string {
  const dir = join(tmp, name);
  mkdirSync(dir, { recursive: true });
  for (const [file, content] of Object.entries(files)) writeFileSync(join(dir, file), content);
  return dir;
}

// A reference case with weights, brackets and punctuation: any loading slip shows in its ids.
const reference = (JSON.parse(readFileSync(join(GOLDEN, 'cases.json'), 'utf8')) as { cases: { category: string; text: string; ids_unpadded: number[] }[] }).cases.find((c) => c.category === 'sd')!;
const PROMPT = reference.text;
const EXPECTED = reference.ids_unpadded;

describe('findClipTokenizerSources', () => {
  it('finds both forms in the golden tokenizer folder, HF first', () => {
    expect(findClipTokenizerSources(GOLDEN).map((s) => s.form)).toEqual(['hf', 'clip-bpe']);
  });
  it('looks into the tokenizer/ folder of a diffusers model folder', () => {
    const model = join(tmp, 'model');
    mkdirSync(join(model, 'tokenizer'), { recursive: true });
    copyFileSync(join(GOLDEN, 'vocab.json'), join(model, 'tokenizer', 'vocab.json'));
    copyFileSync(join(GOLDEN, 'merges.txt'), join(model, 'tokenizer', 'merges.txt'));
    expect(findClipTokenizerSources(model)).toEqual([{ form: 'hf', files: [join(model, 'tokenizer', 'vocab.json'), join(model, 'tokenizer', 'merges.txt')] }]);
  });
  it.each([
    ['an empty folder', () => folder('empty', {}), /no CLIP tokenizer here/],
    ['vocab.json alone', () => folder('vocab-only', { 'vocab.json': '{}' }), /vocab.json but no merges.txt/],
    ['a missing path', () => join(tmp, 'nope'), /no such file or folder/],
  ])('names the problem for %s', (_, make, message) => {
    expect(() => findClipTokenizerSources(make())).toThrow(message);
  });
});

describe('loadClipTokenizer', () => {
  it.each([
    ['the HF folder', () => GOLDEN],
    ['the gzipped CLIP file', () => GZ],
    ['a decompressed CLIP file', () => join(folder('plain', { 'bpe_simple_vocab_16e6.txt': gunzipSync(readFileSync(GZ)) }), 'bpe_simple_vocab_16e6.txt')],
    ['a folder with only the CLIP file', () => folder('clip-only', { 'bpe_simple_vocab_16e6.txt.gz': readFileSync(GZ) })],
  ])('encodes the same from %s', async (_, path) => {
    expect((await loadClipTokenizer(path())).encode(PROMPT)).toEqual(EXPECTED);
  });
  it('loads each form found', async () => {
    for (const source of findClipTokenizerSources(GOLDEN)) expect((await loadClipTokenizerFrom(source)).encode(PROMPT)).toEqual(EXPECTED);
  });
  it.each([
    ['broken vocab.json', () => folder('bad-json', { 'vocab.json': '{"a": ', 'merges.txt': '#version: 0.2\n' }), /vocab.json: not valid JSON/],
    ['a vocabulary without specials', () => folder('no-specials', { 'vocab.json': '{"a": 0}', 'merges.txt': '#version: 0.2\na b\n' }), /lacks <\|startoftext\|>/],
    ['a corrupt gzip', () => join(folder('bad-gz', { 'x.txt.gz': 'not gzip' }), 'x.txt.gz'), /not a readable gzip file/],
    ['a truncated CLIP file', () => join(folder('short', { 'bpe.txt': 'header\na b\n' }), 'bpe.txt'), /bpe.txt: CLIP bpe file has 1 merges/],
  ])('names the problem for %s', async (_, make, message) => {
    await expect(loadClipTokenizer(make())).rejects.toThrow(message);
  });
});

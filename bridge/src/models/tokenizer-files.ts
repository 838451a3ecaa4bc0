// Reads a CLIP tokenizer in either form a user has on disk and hands the text to the pure core
// tokenizer: an HF tokenizer folder (vocab.json + merges.txt, also found as the tokenizer/ folder of a
// diffusers model) or openai CLIP's bpe_simple_vocab_16e6.txt(.gz).
import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { ModelFamily } from '@kirie/core/models/family';
import { ClipTokenizer } from '@kirie/core/tokenizer/clip';

export type ClipTokenizerForm = 'hf' | 'clip-bpe';

export interface ClipTokenizerSource {
  form: ClipTokenizerForm;
  /** The files this form is read from. */
  files: string[];
}

const CLIP_BPE_NAMES = ['bpe_simple_vocab_16e6.txt.gz', 'bpe_simple_vocab_16e6.txt'];

function isFile(path: string): boolean {
  return existsSync(path) && statSync(path).isFile();
}

/** Every tokenizer form present at `path` (a folder, a diffusers model folder, or a CLIP bpe file), HF first. */
export function findClipTokenizerSources(path: string): ClipTokenizerSource[] {
  if (!existsSync(path)) throw new Error(`${path}: no such file or folder`);
  if (statSync(path).isFile()) return [{ form: 'clip-bpe', files: [path] }];
  const found: ClipTokenizerSource[] = [];
  const vocab = join(path, 'vocab.json');
  const merges = join(path, 'merges.txt');
  if (isFile(vocab) !== isFile(merges)) throw new Error(`${path}: has ${isFile(vocab) ? 'vocab.json but no merges.txt' : 'merges.txt but no vocab.json'}`);
  if (isFile(vocab)) found.push({ form: 'hf', files: [vocab, merges] });
  const bpe = CLIP_BPE_NAMES.map((n) => join(path, n)).find(isFile);
  if (bpe) found.push({ form: 'clip-bpe', files: [bpe] });
  if (found.length === 0 && existsSync(join(path, 'tokenizer'))) return findClipTokenizerSources(join(path, 'tokenizer'));
  if (found.length === 0) throw new Error(`${path}: no CLIP tokenizer here (expected vocab.json + merges.txt, ${CLIP_BPE_NAMES[0]}, or a tokenizer/ folder holding them)`);
  return found;
}

async function readText(path: string): Promise<string> {
  const bytes = await readFile(path);
  if (!path.endsWith('.gz')) return bytes.toString('utf8');
  try {
    return gunzipSync(bytes).toString('utf8');
  } catch (err) {
    throw new Error(`${path}: not a readable gzip file (${(err as Error).message})`);
  }
}

export async function loadClipTokenizerFrom(source: ClipTokenizerSource): Promise<ClipTokenizer> {
  if (source.form === 'clip-bpe') {
    const [file] = source.files as [string];
    try {
      return ClipTokenizer.fromClipBpe(await readText(file));
    } catch (err) {
      throw new Error(`${file}: ${(err as Error).message}`);
    }
  }
  const [vocabPath, mergesPath] = source.files as [string, string];
  let vocab: Record<string, number>;
  try {
    vocab = JSON.parse(await readText(vocabPath)) as Record<string, number>;
  } catch (err) {
    throw new Error(`${vocabPath}: not valid JSON (${(err as Error).message})`);
  }
  try {
    return ClipTokenizer.fromVocabAndMerges(vocab, await readText(mergesPath));
  } catch (err) {
    throw new Error(`${source.files.join(' + ')}: ${(err as Error).message}`);
  }
}

/** The tokenizer at `path`, from HF files when both forms are there. */
export async function loadClipTokenizer(path: string): Promise<ClipTokenizer> {
  return loadClipTokenizerFrom(findClipTokenizerSources(path)[0]!);
}

/** One tokenizer per text encoder of `family`, in its order: the CLIP tokenizer at `path`, with each encoder's pad token. */
export async function loadFamilyTokenizers(path: string, family: ModelFamily): Promise<ClipTokenizer[]> {
  const base = await loadClipTokenizer(path);
  return family.textEncoders.map((t) => (t.padToken === undefined ? base : base.withPadToken(t.padToken)));
}

// CLIP's byte-level BPE tokenizer, matching transformers' slow CLIPTokenizer (ftfy absent) id for id.
// Pure: callers hand in the vocabulary/merges text; bridge/src/models/tokenizer-files.ts reads files.
import { BYTE_CHARS_IN_VOCAB_ORDER, toByteChars } from './byte-encoder.js';
import { normalizeClipText } from './normalize.js';

export const CLIP_BOS = '<|startoftext|>';
export const CLIP_EOS = '<|endoftext|>';
/** SD1.x text encoders read exactly this many ids. */
export const CLIP_CONTEXT_LENGTH = 77;
/** CLIP uses the first 49152 − 256 − 2 merges of its file (both loaders truncate there). */
const CLIP_MERGE_COUNT = 49152 - 256 - 2;

// transformers splits special tokens out of the raw text before any normalisation.
const SPECIALS = [CLIP_BOS, CLIP_EOS];
const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const specialSplit = (specials: readonly string[]) => new RegExp(`(${specials.map(escapeRegExp).join('|')})`);
// CLIP's pre-tokenizer. IGNORECASE matters only for the contractions (e.g. U+017F folds to s).
const PIECES = /<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|\p{L}+|\p{N}|[^\s\p{L}\p{N}]+/giu;

function parseMerges(text: string, source: string): [string, string][] {
  // Line 0 is a header ("#version: 0.2" in merges.txt, a comment in CLIP's file); both readers skip it.
  const lines = text.trim().split('\n').slice(1, CLIP_MERGE_COUNT + 1);
  return lines.map((line, i) => {
    const parts = line.trim().split(/\s+/);
    if (parts.length !== 2 || parts[0] === '') throw new Error(`${source} line ${i + 2}: expected two space-separated symbols, got ${JSON.stringify(line)}`);
    return [parts[0]!, parts[1]!];
  });
}

/** `[bos] + ids[:length−2] + [eos]`, then `padId` to `length`: the 77 ids a CLIP text encoder reads. */
export function paddedIds(ids: readonly number[], special: { bosId: number; eosId: number; padId: number }, length = CLIP_CONTEXT_LENGTH): Int32Array {
  if (!Number.isInteger(length) || length < 2) throw new RangeError(`padded length must be an integer ≥ 2, got ${length}`);
  const out = new Int32Array(length).fill(special.padId);
  out[0] = special.bosId;
  const n = Math.min(ids.length, length - 2);
  for (let i = 0; i < n; i++) out[i + 1] = ids[i]!;
  out[n + 1] = special.eosId;
  return out;
}

export class ClipTokenizer {
  readonly bosId: number;
  readonly eosId: number;
  /** What pads a prompt to 77 ids: EOS, or the pad token given to withPadToken. */
  readonly padId: number;
  private readonly ranks: Map<string, number>;
  private readonly cache = new Map<string, string[]>();
  private readonly specials: readonly string[];
  private readonly split: RegExp;

  private constructor(
    private readonly vocab: ReadonlyMap<string, number>,
    merges: readonly [string, string][] | Map<string, number>,
    padToken?: string,
  ) {
    const bos = vocab.get(CLIP_BOS);
    const eos = vocab.get(CLIP_EOS);
    if (bos === undefined || eos === undefined) throw new Error(`CLIP vocabulary lacks ${bos === undefined ? CLIP_BOS : CLIP_EOS}`);
    this.bosId = bos;
    this.eosId = eos;
    const pad = padToken === undefined ? eos : vocab.get(padToken);
    if (pad === undefined) throw new Error(`CLIP vocabulary lacks the pad token ${JSON.stringify(padToken)}`);
    this.padId = pad;
    this.ranks = merges instanceof Map ? merges : new Map(merges.map(([a, b], rank) => [`${a} ${b}`, rank]));
    this.specials = padToken === undefined || SPECIALS.includes(padToken) ? SPECIALS : [...SPECIALS, padToken];
    this.split = specialSplit(this.specials);
    // transformers seeds its BPE cache with the specials, so they never gain a </w>.
    for (const s of this.specials) this.cache.set(s, [s]);
  }

  /**
   * The same vocabulary padding with `token` (SDXL's tokenizer_2: '!', id 0). As in transformers, the pad
   * token becomes a special token: every occurrence in a prompt is split out as its id before BPE
   * (diffusers issue #4153; open_clip's own tokenizer keeps BPE '!</w>' and only pads with 0).
   */
  withPadToken(token: string): ClipTokenizer {
    return new ClipTokenizer(this.vocab, this.ranks, token);
  }

  /** From an HF tokenizer folder: parsed `vocab.json` and the text of `merges.txt`. */
  static fromVocabAndMerges(vocab: Record<string, number>, mergesText: string): ClipTokenizer {
    if (typeof vocab !== 'object' || vocab === null || Array.isArray(vocab)) throw new Error('vocab.json must be an object of token → id');
    const map = new Map<string, number>();
    for (const [token, id] of Object.entries(vocab)) {
      if (!Number.isInteger(id) || id < 0) throw new Error(`vocab.json: id of ${JSON.stringify(token)} is ${JSON.stringify(id)}, not a non-negative integer`);
      map.set(token, id);
    }
    return new ClipTokenizer(map, parseMerges(mergesText, 'merges.txt'));
  }

  /** From openai CLIP's `bpe_simple_vocab_16e6.txt` (decompressed), building the vocabulary as CLIP does. */
  static fromClipBpe(mergesText: string): ClipTokenizer {
    const merges = parseMerges(mergesText, 'CLIP bpe file');
    if (merges.length !== CLIP_MERGE_COUNT) throw new Error(`CLIP bpe file has ${merges.length} merges, expected ${CLIP_MERGE_COUNT}`);
    const tokens = [...BYTE_CHARS_IN_VOCAB_ORDER, ...BYTE_CHARS_IN_VOCAB_ORDER.map((c) => `${c}</w>`), ...merges.map(([a, b]) => a + b), CLIP_BOS, CLIP_EOS];
    return new ClipTokenizer(new Map(tokens.map((t, id) => [t, id])), merges);
  }

  /** BPE token strings of a prompt, without bos/eos (transformers' `tokenize`). */
  bpeTokens(text: string): string[] {
    const out: string[] = [];
    for (const part of text.split(this.split)) {
      if (this.specials.includes(part)) {
        out.push(part);
        continue;
      }
      for (const match of normalizeClipText(part).matchAll(PIECES)) {
        for (const token of this.bpe(match[0])) out.push(token);
      }
    }
    return out;
  }

  /** Ids of the vocabulary; tokens added later (textual-inversion embeddings) are numbered from here. */
  get vocabSize(): number {
    return this.vocab.size;
  }

  /** Ids of a text without bos/eos, untruncated. */
  bpeIds(text: string): number[] {
    return this.bpeTokens(text).map((t) => this.vocab.get(t) ?? this.eosId);
  }

  /** Ids with bos/eos, untruncated and unpadded. */
  encode(text: string): number[] {
    return [this.bosId, ...this.bpeIds(text), this.eosId];
  }

  /** `[bos] + first length−2 ids + [eos]`, padded with the pad id (EOS by default): what the text encoder consumes. */
  encodePadded(text: string, length = CLIP_CONTEXT_LENGTH): Int32Array {
    return paddedIds(this.bpeIds(text), this, length);
  }

  /** BPE of one pre-tokenized piece, memoised by the piece itself (so repeats skip UTF-8 encoding too). */
  private bpe(piece: string): string[] {
    const cached = this.cache.get(piece);
    if (cached) return cached;
    const word = [...toByteChars(piece)];
    word[word.length - 1] += '</w>';
    while (word.length > 1) {
      let best = -1;
      let bestRank = Number.POSITIVE_INFINITY;
      for (let i = 0; i + 1 < word.length; i++) {
        const rank = this.ranks.get(`${word[i]} ${word[i + 1]}`);
        if (rank !== undefined && rank < bestRank) {
          bestRank = rank;
          best = i;
        }
      }
      if (best < 0) break;
      const first = word[best]!;
      const second = word[best + 1]!;
      // Merge every non-overlapping occurrence of the pair, left to right, as one step.
      const merged: string[] = [];
      for (let i = 0; i < word.length; i++) {
        if (word[i] === first && word[i + 1] === second && i + 1 < word.length) {
          merged.push(first + second);
          i++;
        } else merged.push(word[i]!);
      }
      word.splice(0, word.length, ...merged);
    }
    this.cache.set(piece, word);
    return word;
  }
}

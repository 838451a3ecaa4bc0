// Textual-inversion embeddings (A1111/CivitAI `emb_params` [n, D], diffusers/sd-concepts `{"<token>": [D]}`)
// and how they enter a prompt, as diffusers 0.24's load_textual_inversion does: n vectors become the tokens
// `<t>`, `<t>_1` … `<t>_{n-1}` with ids after the vocabulary, in load order; each occurrence of a multi-vector
// token in the text becomes `<t> <t>_1 … <t>_{n-1}`, and added tokens are matched as exact substrings before BPE.
// SDXL files (A1111 textual_inversion.py, ComfyUI sd1_clip.py load_embed with embed_key) hold one vector set
// per text encoder, `clip_l` [n, 768] for CLIP-L and `clip_g` [n, 1280] for OpenCLIP bigG: both encoders'
// tokenizers give the added tokens the same positions, and each encoder reads its own rows there.
import type { AdapterTensors } from './lora.js';
import type { TextIds } from '../prompt/chunks.js';
import { paddedIds } from '../tokenizer/clip.js';

export interface Embedding {
  /** The text that calls it in a prompt (A1111: the file name without extension). */
  token: string;
  /** [vectors, width] row-major, for the (first) text encoder. */
  vectors: Float32Array;
  /** SDXL: [vectors, width2] row-major for the second text encoder (the file's `clip_g`). */
  vectors2?: Float32Array;
  count: number;
}

/** SDXL's keys: the vectors of the first (CLIP-L) and second (OpenCLIP bigG) text encoder. */
const SDXL_KEYS = ['clip_l', 'clip_g'] as const;

/** [n, width] or [width] (one vector): the count, or undefined when the rows are not `width` wide. */
function vectorCount(shape: readonly number[], width: number): number | undefined {
  const count = shape.length === 1 ? 1 : shape[0]!;
  return shape.length <= 2 && shape[shape.length - 1] === width && count >= 1 ? count : undefined;
}

/**
 * Reads an embedding file for a model whose text encoders are `width` wide (and `width2`, the second's, for
 * SDXL): SD1.x files for one encoder, SDXL files (clip_l + clip_g, the same count) for two.
 */
export async function readEmbedding(file: AdapterTensors, token: string, width: number, width2?: number): Promise<Embedding> {
  const keys = file.keys();
  const sdxlKeys = SDXL_KEYS.filter((k) => keys.includes(k));
  if (width2 !== undefined) return readSdxlEmbedding(file, token, sdxlKeys, [width, width2]);
  if (sdxlKeys.length > 0) throw new Error(`${file.label} is an SDXL embedding (clip_l/clip_g); this model is SD1.x`);
  const key = keys.includes('emb_params') ? 'emb_params' : keys.length === 1 ? keys[0]! : undefined;
  if (key === undefined) throw new Error(`${file.label}: not a textual-inversion embedding (expected emb_params or one token tensor; keys: ${keys.slice(0, 4).join(', ')})`);
  const shape = file.shape(key);
  const count = vectorCount(shape, width);
  if (count === undefined) throw new Error(`${file.label}: embedding ${key} is [${shape}], this text encoder takes vectors of ${width}: made for another model family`);
  return { token, vectors: await file.read(key), count };
}

/**
 * Why a file with SDXL keys fits no SDXL model (one encoder's set missing, unequal counts), whatever the
 * model's widths: what the adapter list shows before a request tries it. Undefined for a whole file or one
 * without SDXL keys.
 */
export function sdxlEmbeddingProblem(keys: readonly string[], shapeOf: (key: string) => readonly number[]): string | undefined {
  const found = SDXL_KEYS.filter((k) => keys.includes(k));
  if (found.length === 0) return undefined;
  const missing = SDXL_KEYS.find((k) => !found.includes(k));
  if (missing) return `an SDXL embedding needs clip_l (first text encoder) and clip_g (second); this file has no ${missing}`;
  const [l, g] = SDXL_KEYS.map((k) => shapeOf(k)).map((shape) => (shape.length === 1 ? 1 : shape[0]));
  return l === g ? undefined : `clip_l has ${l} vectors and clip_g ${g}: both encoders need one per token`;
}

async function readSdxlEmbedding(file: AdapterTensors, token: string, found: readonly string[], widths: readonly [number, number]): Promise<Embedding> {
  if (found.length === 0) throw new Error(`${file.label} is not an SDXL embedding (no clip_l and clip_g vectors; keys: ${file.keys().slice(0, 4).join(', ')}): SD1.x embeddings do not fit an SDXL model`);
  const problem = sdxlEmbeddingProblem(file.keys(), (k) => file.shape(k));
  if (problem) throw new Error(`${file.label}: ${problem}`);
  const counts = SDXL_KEYS.map((key, i) => {
    const shape = file.shape(key);
    const count = vectorCount(shape, widths[i]!);
    if (count === undefined) throw new Error(`${file.label}: ${key} is [${shape}], this model's ${i === 0 ? 'first' : 'second'} text encoder takes vectors of ${widths[i]}: made for another model`);
    return count;
  });
  return { token, vectors: await file.read('clip_l'), vectors2: await file.read('clip_g'), count: counts[0]! };
}

/** What a BPE tokenizer gives for plain text: ids without BOS/EOS. */
export interface BpeIds {
  bosId: number;
  eosId: number;
  /** What fills the ids after EOS (EOS itself, or SDXL's second tokenizer's '!'). */
  padId: number;
  /** Ids of the vocabulary (added tokens start here). */
  vocabSize: number;
  bpeIds(text: string): number[];
}

/** A prompt tokenizer that knows the embeddings; ids of added tokens follow the vocabulary in `embeddings` order. */
export class EmbeddingTokenizer {
  private readonly added: { text: string; id: number }[] = [];

  constructor(
    private readonly base: BpeIds,
    private readonly embeddings: readonly Embedding[],
  ) {
    let id = base.vocabSize;
    for (const e of embeddings) for (let v = 0; v < e.count; v++) this.added.push({ text: v === 0 ? e.token : `${e.token}_${v}`, id: id++ });
    // Longest first, so `<t>_1` is not read as `<t>` followed by `_1`.
    this.added.sort((a, b) => b.text.length - a.text.length);
  }

  /** The embedding table rows appended after the vocabulary, [added, width]: `encoder` 1 reads SDXL's second set. */
  static table(embeddings: readonly Embedding[], width: number, encoder: 0 | 1 = 0): Float32Array {
    const out = new Float32Array(embeddings.reduce((n, e) => n + e.count, 0) * width);
    let offset = 0;
    for (const e of embeddings) {
      const rows = encoder === 0 ? e.vectors : e.vectors2;
      if (!rows) throw new Error(`embedding ${e.token} has no vectors for a second text encoder: it is not an SDXL embedding`);
      if (rows.length !== e.count * width) throw new Error(`embedding ${e.token} has ${rows.length / e.count}-wide vectors, this text encoder takes ${width}`);
      out.set(rows, offset);
      offset += rows.length;
    }
    return out;
  }

  /** Splits a text at the added tokens it holds (longest match first, as a token trie does). */
  private split(text: string): (string | { text: string; id: number })[] {
    const parts: (string | { text: string; id: number })[] = [];
    let rest = text;
    while (rest.length > 0) {
      let at = -1;
      let hit: { text: string; id: number } | undefined;
      for (const a of this.added) {
        const i = rest.indexOf(a.text);
        if (i >= 0 && (at < 0 || i < at)) [at, hit] = [i, a];
      }
      if (!hit) {
        parts.push(rest);
        break;
      }
      if (at > 0) parts.push(rest.slice(0, at));
      parts.push(hit);
      rest = rest.slice(at + hit.text.length);
    }
    return parts;
  }

  /** diffusers' maybe_convert_prompt: every multi-vector token spelled out as its n tokens. */
  convert(text: string): string {
    const counts = new Map(this.embeddings.map((e) => [e.token, e.count]));
    return this.split(text)
      .map((p) => {
        if (typeof p === 'string') return p;
        const n = counts.get(p.text) ?? 1;
        return [p.text, ...Array.from({ length: n - 1 }, (_, i) => `${p.text}_${i + 1}`)].join(' ');
      })
      .join('');
  }

  /** Ids of a converted text: added tokens found as exact substrings, BPE for the text between them. */
  ids(text: string): number[] {
    return this.split(text).flatMap((p) => (typeof p === 'string' ? this.base.bpeIds(p) : [p.id]));
  }

  /** What prompt chunking reads (core/src/prompt/chunks.ts): ids without BOS/EOS, the embeddings' tokens included. */
  textIds(): TextIds {
    return { bosId: this.base.bosId, eosId: this.base.eosId, padId: this.base.padId, bpeIds: (text) => this.ids(this.convert(text)) };
  }

  /** As the base tokenizer pads: `[bos] + ids[:length−2] + [eos]`, then its pad id. */
  encodePadded(text: string, length?: number): Int32Array {
    return paddedIds(this.ids(this.convert(text)), this.base, length);
  }
}

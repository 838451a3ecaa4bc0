// Textual-inversion embeddings (A1111/CivitAI `emb_params` [n, D], diffusers/sd-concepts `{"<token>": [D]}`)
// and how they enter a prompt, as diffusers 0.24's load_textual_inversion does: n vectors become the tokens
// `<t>`, `<t>_1` … `<t>_{n-1}` with ids after the vocabulary, in load order; each occurrence of a multi-vector
// token in the text becomes `<t> <t>_1 … <t>_{n-1}`, and added tokens are matched as exact substrings before BPE.
import type { AdapterTensors } from './lora.js';
import type { TextIds } from '../prompt/chunks.js';

export interface Embedding {
  /** The text that calls it in a prompt (A1111: the file name without extension). */
  token: string;
  /** [vectors, width] row-major. */
  vectors: Float32Array;
  count: number;
}

/** Reads an SD1.x embedding file; `width` is the text encoder's hidden size. */
export async function readEmbedding(file: AdapterTensors, token: string, width: number): Promise<Embedding> {
  const keys = file.keys();
  if (keys.includes('clip_l') || keys.includes('clip_g')) throw new Error(`${file.label} is an SDXL embedding (clip_l/clip_g); this model is SD1.x`);
  const key = keys.includes('emb_params') ? 'emb_params' : keys.length === 1 ? keys[0]! : undefined;
  if (key === undefined) throw new Error(`${file.label}: not a textual-inversion embedding (expected emb_params or one token tensor; keys: ${keys.slice(0, 4).join(', ')})`);
  const shape = file.shape(key);
  const count = shape.length === 1 ? 1 : shape[0]!;
  if (shape.length > 2 || shape[shape.length - 1] !== width || count < 1) {
    throw new Error(`${file.label}: embedding ${key} is [${shape}], this text encoder takes vectors of ${width}: made for another model family`);
  }
  return { token, vectors: await file.read(key), count };
}

/** What a BPE tokenizer gives for plain text: ids without BOS/EOS. */
export interface BpeIds {
  bosId: number;
  eosId: number;
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

  /** The embedding table rows appended after the vocabulary, [added, width]. */
  static table(embeddings: readonly Embedding[], width: number): Float32Array {
    const out = new Float32Array(embeddings.reduce((n, e) => n + e.count, 0) * width);
    let offset = 0;
    for (const e of embeddings) {
      out.set(e.vectors, offset);
      offset += e.vectors.length;
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
    return { bosId: this.base.bosId, eosId: this.base.eosId, padId: this.base.eosId, bpeIds: (text) => this.ids(this.convert(text)) };
  }

  /** `[bos] + ids[:length−2] + [eos]`, padded with eos. */
  encodePadded(text: string, length = 77): Int32Array {
    const ids = this.ids(this.convert(text));
    const out = new Int32Array(length).fill(this.base.eosId);
    out[0] = this.base.bosId;
    const n = Math.min(ids.length, length - 2);
    for (let i = 0; i < n; i++) out[i + 1] = ids[i]!;
    return out;
  }
}

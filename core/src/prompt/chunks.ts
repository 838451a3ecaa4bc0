// Prompts longer than the text encoder's 77 positions, as each tool cuts them: A1111 v1.10
// sd_hijack_clip.py tokenize_line (75-token chunks, comma back-tracking, BREAK) and ComfyUI sd1_clip.py
// SDTokenizer.tokenize_with_weights (weighted segments kept whole when short). Every chunk is
// [BOS] + 75 + [EOS], so the UNet sees a context of 77·k tokens.
import { parseA1111Attention, parseComfyWeights, type WeightedText } from './attention.js';

/** Ids of plain text without BOS/EOS (the CLIP tokenizer, or one that knows the request's embeddings). */
export interface TextIds {
  bosId: number;
  eosId: number;
  /** What fills a chunk after its EOS (SD1: EOS; SDXL's second tokenizer: '!'). */
  padId: number;
  bpeIds(text: string): number[];
}

export interface WeightedChunk {
  /** 77 ids. */
  tokens: number[];
  /** 77 weights (1 for BOS, EOS and padding). */
  weights: number[];
}

export const CHUNK_TOKENS = 75;
const COMMA = 267;
/** A1111 option "comma_padding_backtrack" (default 20). */
const COMMA_BACKTRACK = 20;

/** A1111's "Emphasis" option: how weights act (Original rescales to the chunk's mean, None reads brackets as text). */
export const A1111_EMPHASIS = ['Original', 'No norm', 'Ignore', 'None'] as const;
export type A1111Emphasis = (typeof A1111_EMPHASIS)[number];

/** [BOS] + body + EOS up to 76 + [EOS]; after the first EOS, the pad id (A1111 process_tokens's id_pad fix). */
function wrap(body: number[], weights: number[], t: TextIds): WeightedChunk {
  const fill = CHUNK_TOKENS - body.length;
  const tokens = [t.bosId, ...body, ...new Array<number>(Math.max(0, fill)).fill(t.eosId), t.eosId];
  const firstEos = tokens.indexOf(t.eosId);
  for (let i = firstEos + 1; i < tokens.length; i++) tokens[i] = t.padId;
  return { tokens, weights: [1, ...weights, ...new Array<number>(Math.max(0, fill)).fill(1), 1] };
}

/** A1111 tokenize_line: the chunks and token_count (what its "N/75" counter shows before rounding up). */
export function a1111Chunks(text: string, t: TextIds, emphasis: A1111Emphasis = 'Original'): { chunks: WeightedChunk[]; tokenCount: number } {
  const parsed: WeightedText[] = emphasis === 'None' ? [[text, 1]] : parseA1111Attention(text);
  const chunks: WeightedChunk[] = [];
  let tokens: number[] = [];
  let weights: number[] = [];
  let tokenCount = 0;
  let lastComma = -1;
  const nextChunk = (isLast = false) => {
    tokenCount += isLast ? tokens.length : CHUNK_TOKENS;
    chunks.push(wrap(tokens, weights, t));
    [tokens, weights, lastComma] = [[], [], -1];
  };
  for (const [piece, weight] of parsed) {
    if (piece === 'BREAK' && weight === -1) {
      nextChunk();
      continue;
    }
    for (const token of t.bpeIds(piece)) {
      if (token === COMMA) lastComma = tokens.length;
      else if (tokens.length === CHUNK_TOKENS && lastComma !== -1 && tokens.length - lastComma <= COMMA_BACKTRACK) {
        const at = lastComma + 1;
        const [movedTokens, movedWeights] = [tokens.slice(at), weights.slice(at)];
        [tokens, weights] = [tokens.slice(0, at), weights.slice(0, at)];
        nextChunk();
        [tokens, weights] = [movedTokens, movedWeights];
      }
      if (tokens.length === CHUNK_TOKENS) nextChunk();
      tokens.push(token);
      weights.push(weight);
    }
  }
  if (tokens.length > 0 || chunks.length === 0) nextChunk(true);
  return { chunks, tokenCount };
}

/** ComfyUI's minimum segment length that may be split across chunks (shorter ones move whole). */
const COMFY_SPLITTABLE = 8;

/** ComfyUI tokenize_with_weights: each weighted segment tokenized whole, chunks of at most 75. */
export function comfyChunks(text: string, t: TextIds): WeightedChunk[] {
  const chunks: WeightedChunk[] = [];
  let tokens: number[] = [];
  let weights: number[] = [];
  const close = () => {
    chunks.push(wrap(tokens, weights, t));
    [tokens, weights] = [[], []];
  };
  // ComfyUI tokenizes each word group apart: a segment is split before every " embedding:" / "\nembedding:".
  const groups = parseComfyWeights(text).flatMap(([segment, weight]) =>
    segment
      .split(/[ \n]embedding:/)
      .map((word, i) => (i === 0 ? word : `embedding:${word}`))
      .filter((word) => word !== '')
      .map((word) => [word, weight] as const),
  );
  for (const [word, weight] of groups) {
    let group = t.bpeIds(word);
    const large = group.length >= COMFY_SPLITTABLE;
    while (group.length > 0) {
      if (group.length + tokens.length > CHUNK_TOKENS) {
        if (large) {
          const room = CHUNK_TOKENS - tokens.length;
          tokens.push(...group.slice(0, room));
          weights.push(...new Array<number>(room).fill(weight));
          group = group.slice(room);
        }
        // A short group that does not fit moves whole to the next chunk; a long one has filled this one.
        close();
      } else {
        tokens.push(...group);
        weights.push(...new Array<number>(group.length).fill(weight));
        group = [];
      }
    }
  }
  close();
  return chunks;
}

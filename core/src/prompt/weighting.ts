// How each tool turns weighted chunks into the UNet's context, given one text encoder that maps 77 ids to
// [77, D] hidden states: A1111 sd_emphasis.py (multiply, then "Original" restores the mean over the whole
// batch of texts encoded together) and ComfyUI ClipTokenWeightEncoder.encode_token_weights (interpolate
// each weighted token from the empty prompt's encoding). Arithmetic is float32 as in both tools.
import type { A1111Emphasis, TextIds, WeightedChunk } from './chunks.js';
import { CHUNK_TOKENS } from './chunks.js';

export const CHUNK_LENGTH = CHUNK_TOKENS + 2;

/** One text encoder: 77 ids → [77, D] hidden states. */
export type EncodeChunk = (ids: readonly number[]) => Promise<Float32Array>;

/** The empty prompt's chunk: [BOS, EOS, pad…]. */
export function emptyChunk(t: TextIds): WeightedChunk {
  const tokens = new Array<number>(CHUNK_LENGTH).fill(t.padId);
  [tokens[0], tokens[1]] = [t.bosId, t.eosId];
  return { tokens, weights: new Array<number>(CHUNK_LENGTH).fill(1) };
}

function mean(rows: readonly Float32Array[]): number {
  let sum = 0;
  let n = 0;
  for (const r of rows) {
    for (const v of r) sum += v;
    n += r.length;
  }
  return Math.fround(sum / n);
}

function concatRows(parts: readonly Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * A1111 process_texts/process_tokens for texts encoded in one batch (a prompt's schedule texts): chunk i of
 * every text is one batch (texts with fewer chunks get empty ones), so every text comes out with the most
 * chunks, [77·k, D] each.
 */
export async function a1111Encode(texts: readonly WeightedChunk[][], encode: EncodeChunk, emphasis: A1111Emphasis, t: TextIds): Promise<Float32Array[]> {
  const count = Math.max(...texts.map((c) => c.length));
  const perText: Float32Array[][] = texts.map(() => []);
  for (let i = 0; i < count; i++) {
    const chunks = texts.map((c) => c[i] ?? emptyChunk(t));
    const z = await Promise.all(chunks.map((c) => encode(c.tokens)));
    // Weights all 1 leave z as it is (A1111's ratio is then m/m; skipping it spares a 0/0 on a chunk of mean 0).
    const weighted = chunks.some((c) => c.weights.some((w) => w !== 1));
    if (weighted && (emphasis === 'Original' || emphasis === 'No norm')) {
      const before = mean(z);
      z.forEach((row, b) => {
        const width = row.length / CHUNK_LENGTH;
        for (let j = 0; j < row.length; j++) row[j] = Math.fround(row[j]! * Math.fround(chunks[b]!.weights[Math.floor(j / width)]!));
      });
      if (emphasis === 'Original') {
        const ratio = Math.fround(before / mean(z));
        for (const row of z) for (let j = 0; j < row.length; j++) row[j] = Math.fround(row[j]! * ratio);
      }
    }
    z.forEach((row, b) => perText[b]!.push(row));
  }
  return perText.map(concatRows);
}

/** ComfyUI encode_token_weights: [77·k, D]; a token of weight w ≠ 1 is z_empty + w·(z − z_empty) at its position. */
export async function comfyEncode(chunks: readonly WeightedChunk[], encode: EncodeChunk, t: TextIds): Promise<Float32Array> {
  const z = await Promise.all(chunks.map((c) => encode(c.tokens)));
  if (chunks.some((c) => c.weights.some((w) => w !== 1))) {
    const empty = await encode(emptyChunk(t).tokens);
    const width = empty.length / CHUNK_LENGTH;
    z.forEach((row, k) => {
      chunks[k]!.weights.forEach((w, j) => {
        if (w === 1) return;
        for (let d = j * width; d < (j + 1) * width; d++) row[d] = Math.fround(Math.fround(Math.fround(row[d]! - empty[d]!) * Math.fround(w)) + empty[d]!);
      });
    });
  }
  return concatRows(z);
}

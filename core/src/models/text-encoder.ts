// CLIP text encoder (transformers CLIPTextModel) from `<prefix>*` (SD1.x `cond_stage_model.transformer.text_model.`,
// SDXL `conditioner.embedders.0.transformer.text_model.`): input_ids [B, S] int32 -> last_hidden_state [B, S,
// hidden] after final_layer_norm (AUTOMATIC1111-style clip skip), or penultimate_hidden_state (hidden_states[-2],
// no final norm: SDXL). Causal mask, learned positions 0..S-1, quick_gelu (or gelu) MLP.
import type { TextEncoderArch } from './arch.js';
import { FLOAT16, INT32, type Graph } from './onnx/graph.js';
import { gelu, layerNorm, linear, mergeHeads, multiHeadAttention, splitHeads } from './onnx/layers.js';

/** A buffer some checkpoints carry that the graph computes itself. */
export const POSITION_IDS = 'embeddings.position_ids';

export function activation(g: Graph, x: string, act: TextEncoderArch['hiddenAct']): string {
  if (act === 'gelu') return gelu(g, x);
  return g.op('Mul', [x, g.op('Sigmoid', [g.op('Mul', [x, g.scalar(1.702)])])]);
}

/** Text encoder input holding the rows of added tokens (ids from vocabSize on), [added, hidden]. */
export const ADDED_TOKENS_INPUT = 'added_token_embeddings';

/** The output of an encoder that conditions on hidden_states[-2] without the final LayerNorm. */
export const PENULTIMATE_OUTPUT = 'penultimate_hidden_state';

/** transformers' causal mask [S, S] for the dynamic sequence length `seq`, filled with finfo(dtype).min (not -inf). */
export function causalMask(g: Graph, maxPositions: number, seq: string): string {
  const P = maxPositions;
  const minValue = g.dtype === FLOAT16 ? -65504 : -3.4028234663852886e38;
  const full = new Float32Array(P * P);
  for (let i = 0; i < P; i++) for (let j = i + 1; j < P; j++) full[i * P + j] = minValue;
  return g.op('Slice', [g.constant(full, [P, P]), g.ints([0, 0]), g.op('Concat', [seq, seq], { axis: 0 }), g.ints([0, 1])]);
}

/**
 * [B, S, width] rows of the token embedding `table` for `ids`; with `addedTokens`, ids past the vocabulary
 * read the rows of the ADDED_TOKENS_INPUT graph input instead (textual-inversion embeddings).
 */
export function tokenRows(g: Graph, table: string, ids: string, vocabSize: number, width: number, addedTokens: boolean): string {
  if (!addedTokens) return g.op('Gather', [table, ids], { axis: 0 });
  // Two bounded Gathers and a Where, never a copy of the table.
  const added = g.input(ADDED_TOKENS_INPUT, g.dtype, ['added_tokens', width]);
  const vocab = g.constantInt32([vocabSize]);
  const inVocab = g.op('Unsqueeze', [g.op('Less', [ids, vocab]), g.ints([2])]);
  const known = g.op('Gather', [table, g.op('Min', [ids, g.constantInt32([vocabSize - 1])])], { axis: 0 });
  const extra = g.op('Gather', [added, g.op('Max', [g.op('Sub', [ids, vocab]), g.constantInt32([0])])], { axis: 0 });
  return g.op('Where', [inVocab, known, extra]);
}

export interface TextEncoderOptions {
  /** Key prefix of the CLIPTextModel's `text_model.` level. */
  prefix: string;
  /** 'final' (SD1.x, with A1111 clip skip) or 'penultimate' (SDXL: hidden_states[-(clipSkip + 1)], no final norm). */
  output: 'final' | 'penultimate';
  clipSkip: number;
  addedTokens: boolean;
}

export async function buildTextEncoder(g: Graph, arch: TextEncoderArch, opts: TextEncoderOptions): Promise<void> {
  const { hiddenSize: D, numHeads: H, numLayers, maxPositions: P } = arch;
  const { clipSkip, addedTokens } = opts;
  // Layers from the top that are not run: the clip skip, and one more for a penultimate-layer family.
  const extra = opts.output === 'penultimate' ? 1 : 0;
  if (!Number.isInteger(clipSkip) || clipSkip < 1 || clipSkip > numLayers - extra) {
    throw new Error(`clipSkip must be an integer from 1 to ${numLayers - extra}, got ${clipSkip}`);
  }
  const dropped = clipSkip - 1 + extra;
  if (D % H !== 0) throw new Error(`text encoder hidden size ${D} does not split into ${H} heads`);
  const p = opts.prefix;
  const ids = g.input('input_ids', INT32, ['batch', 'sequence']);
  const seq = g.op('Gather', [g.op('Shape', [ids]), g.ints([1])], { axis: 0 });

  const tokenEmb = await g.weight(`${p}embeddings.token_embedding.weight`, [arch.vocabSize, D]);
  const posEmb = await g.weight(`${p}embeddings.position_embedding.weight`, [P, D]);
  const positions = g.op('Slice', [posEmb, g.ints([0]), seq, g.ints([0])]);
  let x = g.op('Add', [tokenRows(g, tokenEmb, ids, arch.vocabSize, D, addedTokens), positions]);

  const mask = causalMask(g, P, seq);

  const headDim = D / H;
  for (let l = 0; l < numLayers - dropped; l++) {
    const lp = `${p}encoder.layers.${l}.`;
    const h = await layerNorm(g, x, `${lp}layer_norm1`, D, arch.layerNormEps);
    const q = splitHeads(g, await linear(g, h, `${lp}self_attn.q_proj`, D, D), H, headDim);
    const k = splitHeads(g, await linear(g, h, `${lp}self_attn.k_proj`, D, D), H, headDim);
    const v = splitHeads(g, await linear(g, h, `${lp}self_attn.v_proj`, D, D), H, headDim);
    const kT = g.op('Transpose', [k], { perm: [0, 1, 3, 2] });
    const attn = mergeHeads(g, multiHeadAttention(g, q, kT, v, H, 1 / Math.sqrt(headDim), { mask }), D);
    x = g.op('Add', [x, await linear(g, attn, `${lp}self_attn.out_proj`, D, D)]);
    const h2 = await layerNorm(g, x, `${lp}layer_norm2`, D, arch.layerNormEps);
    const f = await linear(g, h2, `${lp}mlp.fc1`, D, arch.intermediateSize);
    x = g.op('Add', [x, await linear(g, activation(g, f, arch.hiddenAct), `${lp}mlp.fc2`, arch.intermediateSize, D)]);
  }
  // Layers a clip skip leaves unused are still part of the checkpoint: mark them consumed-by-design.
  for (let l = numLayers - dropped; l < numLayers; l++) g.skipPrefix(`${p}encoder.layers.${l}.`);
  g.skipPrefix(`${p}${POSITION_IDS}`);
  if (opts.output === 'penultimate') {
    g.skipPrefix(`${p}final_layer_norm.`);
    g.output(PENULTIMATE_OUTPUT, x, ['batch', 'sequence', D]);
    return;
  }
  const out = await layerNorm(g, x, `${p}final_layer_norm`, D, arch.layerNormEps);
  g.output('last_hidden_state', out, ['batch', 'sequence', D]);
}

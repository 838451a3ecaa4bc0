// OpenCLIP's text tower (open_clip `CLIP.encode_text`, SDXL's second text encoder) from its own key names
// (`conditioner.embedders.1.model.*`), which differ from transformers' in ways that are silent when wrong:
//   - `positional_embedding` [S, W] is a bare parameter (no `.weight`);
//   - attention is nn.MultiheadAttention: `attn.in_proj_weight` [3W, W] stacks q, k, v rows in that order;
//   - the MLP is `mlp.c_fc` / `mlp.c_proj` with exact (erf) GELU in ViT-bigG;
//   - `text_projection` [W, P] is applied as x @ P (the transpose of a torch Linear weight);
//   - the pooled embedding is ln_final(last layer) at the first EOS token (argmax of the ids), projected.
// input_ids [B, S] int32 (and, with added tokens, their rows [added, W]) -> penultimate_hidden_state [B, S, W]
// (input of the last resblock, no ln_final) and text_embeds [B, P].
import type { OpenClipTextArch } from './arch.js';
import { INT32, type Graph } from './onnx/graph.js';
import { layerNorm, linear, mergedLowRank, mergeHeads, multiHeadAttention, splitHeads } from './onnx/layers.js';
import { IN_PROJ } from '../adapters/targets.js';
import { activation, causalMask, PENULTIMATE_OUTPUT, tokenRows } from './text-encoder.js';

export const POOLED_OUTPUT = 'text_embeds';

/** `addedTokens`: ids past the vocabulary read rows of the ADDED_TOKENS_INPUT input (SDXL embeddings' clip_g). */
export async function buildOpenClipText(g: Graph, arch: OpenClipTextArch, prefix: string, clipSkip: number, addedTokens = false): Promise<void> {
  const { width: W, heads: H, layers, contextLength: S } = arch;
  if (W % H !== 0) throw new Error(`OpenCLIP text width ${W} does not split into ${H} heads`);
  if (!Number.isInteger(clipSkip) || clipSkip < 1 || clipSkip > layers - 1) throw new Error(`clipSkip must be an integer from 1 to ${layers - 1}, got ${clipSkip}`);
  const p = prefix;
  const ids = g.input('input_ids', INT32, ['batch', 'sequence']);
  const seq = g.op('Gather', [g.op('Shape', [ids]), g.ints([1])], { axis: 0 });
  const tokenEmb = await g.weight(`${p}token_embedding.weight`, [arch.vocabSize, W]);
  const posEmb = await g.weight(`${p}positional_embedding`, [S, W]);
  let x = g.op('Add', [tokenRows(g, tokenEmb, ids, arch.vocabSize, W, addedTokens), g.op('Slice', [posEmb, g.ints([0]), seq, g.ints([0])])]);
  const mask = causalMask(g, S, seq);
  const headDim = W / H;

  // diffusers' clip_skip k conditions on hidden_states[-(k + 2)]: the output of layer `layers - 1 - clipSkip`.
  const conditioningLayer = layers - clipSkip;
  let hidden: string | undefined;
  for (let l = 0; l < layers; l++) {
    if (l === conditioningLayer) hidden = x;
    const lp = `${p}transformer.resblocks.${l}.`;
    const h = await layerNorm(g, x, `${lp}ln_1`, W, arch.layerNormEps);
    // One MatMul for the packed projection, then q | k | v along the last axis.
    let inProj = await g.weight(`${lp}attn.in_proj_weight`, [3 * W, W], { transpose: true });
    // Adapters' q/k/v factors arrive stacked into this one slot (core/src/adapters/targets.ts IN_PROJ).
    const slot = g.adapterSlot(`${lp}${IN_PROJ}`, (r) => [r, W], (r) => [3 * W, r]);
    if (slot) inProj = mergedLowRank(g, inProj, slot);
    const qkv = g.op('Add', [g.op('MatMul', [h, inProj]), await g.weight(`${lp}attn.in_proj_bias`, [3 * W])]);
    const [q, k, v] = g.opN('Split', [qkv, g.ints([W, W, W])], { axis: -1 }, 3).map((t) => splitHeads(g, t, H, headDim));
    const kT = g.op('Transpose', [k], { perm: [0, 1, 3, 2] });
    const attn = mergeHeads(g, multiHeadAttention(g, q, kT, v, H, 1 / Math.sqrt(headDim), { mask }), W);
    x = g.op('Add', [x, await linear(g, attn, `${lp}attn.out_proj`, W, W)]);
    const h2 = await layerNorm(g, x, `${lp}ln_2`, W, arch.layerNormEps);
    const f = await linear(g, h2, `${lp}mlp.c_fc`, W, arch.mlpWidth);
    x = g.op('Add', [x, await linear(g, activation(g, f, arch.hiddenAct), `${lp}mlp.c_proj`, arch.mlpWidth, W)]);
  }
  g.output(PENULTIMATE_OUTPUT, hidden!, ['batch', 'sequence', W]);

  const last = await layerNorm(g, x, `${p}ln_final`, W, arch.layerNormEps);
  // EOS is the largest vocabulary id; added tokens' ids lie past it, so they count as -1 here: the first EOS, as
  // transformers and ComfyUI find it (ids == eos), and as A1111 does by feeding 0 at an embedding's positions.
  const ranked = addedTokens ? g.op('Where', [g.op('Less', [ids, g.constantInt32([arch.vocabSize])]), ids, g.constantInt32([-1])]) : ids;
  const eos = g.op('ArgMax', [ranked], { axis: 1, keepdims: 1 });
  const pooled = g.op('GatherND', [last, eos], { batch_dims: 1 });
  const projection = await g.weight(`${p}text_projection`, [W, arch.projectionDim]);
  g.output(POOLED_OUTPUT, g.op('MatMul', [pooled, projection]), ['batch', arch.projectionDim]);
  // CLIP's contrastive temperature: part of the checkpoint, no part of text conditioning.
  g.skipPrefix(`${p}logit_scale`);
}

// AutoencoderKL halves from `first_stage_model.*` (CompVis ldm.modules.diffusionmodules.model layout):
// encoder: sample [B,3,H,W] in [-1,1] -> latent_parameters [B,2·embed,H/8,W/8] (mean ‖ logvar, after
// quant_conv, unscaled, logvar unclamped); decoder: latent_sample (= latents / scale_factor) ->
// post_quant_conv -> decoder -> sample [B,3,H,W] (unclamped, ~[-1,1]).
import type { VaeArch } from './arch.js';
import type { Graph } from './onnx/graph.js';
import { conv, groupNorm, multiHeadAttention, silu } from './onnx/layers.js';

const P = 'first_stage_model.';
const EPS = 1e-6;
/**
 * The mid-block attention's query rows in this many slices: at 1024² (16384 latent tokens) one slice's
 * scores are [1, 1024, 16384] = 64 MB instead of a 1 GB [1, N, N] matrix (memory-estimate.ts counts it).
 */
export const VAE_ATTENTION_CHUNKS = 16;

async function resnet(g: Graph, x: string, key: string, cin: number, cout: number): Promise<string> {
  let h = await conv(g, silu(g, await groupNorm(g, x, `${key}.norm1`, cin, EPS)), `${key}.conv1`, cin, cout, 3);
  h = await conv(g, silu(g, await groupNorm(g, h, `${key}.norm2`, cout, EPS)), `${key}.conv2`, cout, cout, 3);
  // The shortcut conv exists exactly when the channel count changes; the checkpoint decides.
  const skip = g.has(`${key}.nin_shortcut.weight`) ? await conv(g, x, `${key}.nin_shortcut`, cin, cout, 1) : x;
  if (skip === x && cin !== cout) throw new Error(`${key}: ${cin} -> ${cout} channels but no nin_shortcut in the checkpoint`);
  return g.op('Add', [skip, h]);
}

/** Single-head spatial self-attention with 1x1-conv q/k/v/proj_out. */
async function attention(g: Graph, x: string, key: string, c: number): Promise<string> {
  const h = await groupNorm(g, x, `${key}.norm`, c, EPS);
  const tokens = (name: string) => g.op('Reshape', [name, g.ints([0, c, -1])]); // [B, C, HW]
  const q = g.op('Transpose', [tokens(await conv(g, h, `${key}.q`, c, c, 1))], { perm: [0, 2, 1] });
  const kT = tokens(await conv(g, h, `${key}.k`, c, c, 1));
  const v = g.op('Transpose', [tokens(await conv(g, h, `${key}.v`, c, c, 1))], { perm: [0, 2, 1] });
  // One head: [B, 1, HW, C] as multiHeadAttention slices query rows on axis 2.
  const head = (t: string) => g.op('Unsqueeze', [t, g.ints([1])]);
  const heads = multiHeadAttention(g, head(q), head(kT), head(v), 1, 1 / Math.sqrt(c), { chunks: VAE_ATTENTION_CHUNKS });
  const out = g.op('Squeeze', [heads, g.ints([1])]); // [B, HW, C]
  const spatial = g.op('Reshape', [g.op('Transpose', [out], { perm: [0, 2, 1] }), g.op('Shape', [x])]);
  return g.op('Add', [x, await conv(g, spatial, `${key}.proj_out`, c, c, 1)]);
}

async function mid(g: Graph, x: string, key: string, c: number): Promise<string> {
  x = await resnet(g, x, `${key}.block_1`, c, c);
  x = await attention(g, x, `${key}.attn_1`, c);
  return resnet(g, x, `${key}.block_2`, c, c);
}

export async function buildVaeEncoder(g: Graph, arch: VaeArch): Promise<void> {
  const e = `${P}encoder`;
  let x = g.floatInput('sample', ['batch', arch.inChannels, 'height', 'width']);
  x = await conv(g, x, `${e}.conv_in`, arch.inChannels, arch.ch, 3);
  let c = arch.ch;
  for (let level = 0; level < arch.chMult.length; level++) {
    const cout = arch.ch * arch.chMult[level];
    for (let i = 0; i < arch.numResBlocks; i++) {
      x = await resnet(g, x, `${e}.down.${level}.block.${i}`, c, cout);
      c = cout;
    }
    if (level !== arch.chMult.length - 1) {
      // LDM pads right/bottom by one, then a stride-2 conv without padding.
      x = await conv(g, x, `${e}.down.${level}.downsample.conv`, c, c, 3, { stride: 2, pads: [0, 0, 1, 1] });
    }
  }
  x = await mid(g, x, `${e}.mid`, c);
  x = silu(g, await groupNorm(g, x, `${e}.norm_out`, c, EPS));
  x = await conv(g, x, `${e}.conv_out`, c, 2 * arch.zChannels, 3);
  x = await conv(g, x, `${P}quant_conv`, 2 * arch.zChannels, 2 * arch.embedDim, 1);
  g.output('latent_parameters', x, ['batch', 2 * arch.embedDim, 'latent_height', 'latent_width']);
}

export async function buildVaeDecoder(g: Graph, arch: VaeArch): Promise<void> {
  const d = `${P}decoder`;
  let x = g.floatInput('latent_sample', ['batch', arch.embedDim, 'latent_height', 'latent_width']);
  x = await conv(g, x, `${P}post_quant_conv`, arch.embedDim, arch.zChannels, 1);
  let c = arch.ch * arch.chMult[arch.chMult.length - 1];
  x = await conv(g, x, `${d}.conv_in`, arch.zChannels, c, 3);
  x = await mid(g, x, `${d}.mid`, c);
  for (let level = arch.chMult.length - 1; level >= 0; level--) {
    const cout = arch.ch * arch.chMult[level];
    for (let i = 0; i <= arch.numResBlocks; i++) {
      x = await resnet(g, x, `${d}.up.${level}.block.${i}`, c, cout);
      c = cout;
    }
    if (level !== 0) {
      const up = g.op('Resize', [x, '', g.constantF32([1, 1, 2, 2], [4])], { mode: 'nearest', coordinate_transformation_mode: 'asymmetric', nearest_mode: 'floor' });
      x = await conv(g, up, `${d}.up.${level}.upsample.conv`, c, c, 3);
    }
  }
  x = silu(g, await groupNorm(g, x, `${d}.norm_out`, c, EPS));
  x = await conv(g, x, `${d}.conv_out`, c, arch.outCh, 3);
  g.output('sample', x, ['batch', arch.outCh, 'height', 'width']);
}

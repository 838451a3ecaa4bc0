// Builds ONNX graphs for SD1.x and SDXL components straight from single-file checkpoint tensors (no Python, no
// conversion step). Names follow optimum's ONNX exports; every float input/output is float32 whatever the
// weight precision (fp16 graphs cast at their edges). Dynamic batch/height/width everywhere.
//   text_encoder  input_ids int32 [B, S] -> last_hidden_state [B, S, hidden] (after final_layer_norm), or for a
//                 family conditioned on the penultimate layer (SDXL) penultimate_hidden_state (no final norm)
//   text_encoder_2 (SDXL, OpenCLIP) input_ids -> penultimate_hidden_state [B, S, W], text_embeds [B, P] (pooled)
//   unet          sample [B, 4|9, h, w], timestep float32 [1 | B] (fractional allowed),
//                 encoder_hidden_states [B, S, ctx] (+ SDXL: text_embeds [B, P], time_ids float32 [B, 6])
//                 (+ controlResiduals: down_block_{i}_additional_residual,
//                 mid_block_additional_residual) -> out_sample [B, 4, h, w]
//   vae_encoder   sample [B, 3, H, W] in [-1, 1] -> latent_parameters [B, 8, H/8, W/8] = mean ‖ logvar
//                 (unscaled, logvar unclamped: std = exp(0.5·clamp(logvar, -30, 20)))
//   vae_decoder   latent_sample [B, 4, h, w] (= latents / scale_factor) -> sample [B, 3, 8h, 8w]
//   controlnet    sample, timestep, encoder_hidden_states, controlnet_cond [B, 3, 8h, 8w] in [0, 1],
//                 conditioning_scale float32 [1] -> the 13 residuals above, already scaled
import type { SdArchitecture } from './arch.js';
import { Graph } from './onnx/graph.js';
import { fusedAttention } from './onnx/webgpu.js';
import { buildTextEncoder } from './text-encoder.js';
import { buildControlNet } from './controlnet.js';
import { buildUnet, buildUnetShallow } from './unet.js';
import { componentPrefix, FAMILIES } from './family.js';
import { buildOpenClipText } from './open-clip-text.js';
import { buildVaeDecoder, buildVaeEncoder } from './vae.js';
import type { BuildComponent, BuildOptions, Component } from './types.js';

/**
 * Self-attention head by head in one chunk: at 512x512 (4096 tokens, batch 2) that keeps one 128 MB
 * score matrix alive instead of a 1 GB [B·heads, N, N] one (see bench `unet`).
 */
export const DEFAULT_ATTENTION_CHUNKS = 1;

/** Tensors under a component's prefix that belong to the other half of the VAE. */
function belongsElsewhere(component: Component, key: string): boolean {
  if (component === 'vae_encoder') return /^first_stage_model\.(decoder\.|post_quant_conv\.)/.test(key);
  if (component === 'vae_decoder') return /^first_stage_model\.(encoder\.|quant_conv\.)/.test(key);
  return false;
}

async function buildInto(g: Graph, component: Component, arch: SdArchitecture, options: BuildOptions): Promise<void> {
  // The latent side at the family's native size lets layers cost their adapter slots (unet.ts rowsAt).
  const nativeLatentSide = FAMILIES[arch.family].resolution.minSide / 2 ** (arch.vae.chMult.length - 1);
  const attention = { chunks: options.attentionChunks ?? DEFAULT_ATTENTION_CHUNKS, fused: fusedAttention(options), nativeLatentSide };
  switch (component) {
    case 'text_encoder': {
      const spec = FAMILIES[arch.family].textEncoders.find((t) => t.component === 'text_encoder')!;
      const prefix = componentPrefix(arch.family, component);
      return buildTextEncoder(g, arch.textEncoder, { prefix, output: spec.output, clipSkip: options.clipSkip ?? 1, addedTokens: options.adapterSlots ?? false });
    }
    case 'text_encoder_2':
      if (!arch.textEncoder2) throw new Error(`${FAMILIES[arch.family].label} models have no second text encoder`);
      return buildOpenClipText(g, arch.textEncoder2, componentPrefix(arch.family, component), options.clipSkip ?? 1, options.adapterSlots ?? false);
    case 'unet':
      if (options.deepCacheShallow !== undefined) return buildUnetShallow(g, arch.unet, attention, options.deepCacheShallow);
      return buildUnet(g, arch.unet, attention, options.controlResiduals ?? false, options.deepCacheFeatures ?? false);
    case 'vae_encoder':
      return buildVaeEncoder(g, arch.vae);
    case 'vae_decoder':
      return buildVaeDecoder(g, arch.vae);
    case 'controlnet':
      return buildControlNet(g, arch.controlnet, attention);
  }
}

/**
 * Builds one component's ModelProto. Every tensor under the component's prefix must be used: a leftover
 * key means the checkpoint's layout does not match `arch` (e.g. an SD2 or SDXL file read as SD1.5).
 */
export const buildComponent: BuildComponent = async (component, source, arch, options) => {
  if (options.precision !== 'fp32' && options.precision !== 'fp16') throw new Error(`precision must be 'fp32' or 'fp16', got ${String(options.precision)}`);
  const chunks = options.attentionChunks;
  if (chunks !== undefined && !(Number.isInteger(chunks) && chunks >= 0)) throw new Error(`attentionChunks must be an integer ≥ 0, got ${chunks}`);
  const family = FAMILIES[arch.family];
  if (!(component in family.prefixes)) throw new Error(`unknown component ${String(component)} for ${family.label}; known: ${Object.keys(family.prefixes).join(', ')}`);
  const slots = options.adapterSlots && (component === 'unet' || component === 'text_encoder' || component === 'text_encoder_2');
  const g = new Graph(source, { fp16: options.precision === 'fp16', sink: options.externalData, adapterSlots: slots, webgpu: options.webgpu });
  await buildInto(g, component, arch, options);
  const prefix = componentPrefix(arch.family, component);
  // DeepCache's shallow UNet leaves the deep blocks out by design.
  const partial = component === 'unet' && options.deepCacheShallow !== undefined;
  const leftover = (partial ? [] : source.keys())
    .filter((k) => k.startsWith(prefix) && !g.consumedKeys.has(k) && !belongsElsewhere(component, k));
  if (leftover.length > 0) {
    const shown = leftover.slice(0, 5).map((k) => `${k} [${source.shape(k)}]`).join(', ');
    throw new Error(`${component}: ${leftover.length} checkpoint tensor(s) not used by the ${family.label} graph, e.g. ${shown}: the checkpoint does not match the architecture`);
  }
  return g.toBytes(`kirie_${component}`, `Kirie ${component} (${options.precision}) built from an LDM checkpoint`);
};

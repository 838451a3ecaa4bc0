// What a weights file is, from its key names and a few shapes. Users drop every kind of .safetensors into a
// models folder (SDXL, Flux, LoRAs, VAEs...); Kirie runs SD1.x and SDXL checkpoints and ControlNets, and must
// say clearly what anything else looks like instead of building garbage or crashing half-way.
import type { FamilyId } from './family.js';

export type ShapeOf = (key: string) => readonly number[] | undefined;

export type Family =
  | 'sd1'
  | 'controlnet'
  | 'controlnet-diffusers'
  | 'sd2'
  | 'sd2-controlnet'
  | 'sdxl'
  | 'sdxl-refiner'
  | 'sdxl-incomplete'
  | 'sdxl-controlnet'
  | 'sd3'
  | 'flux'
  | 'lora'
  | 'embedding'
  | 'vae'
  | 'diffusers-unet'
  | 'text-encoder'
  | 'sd1-incomplete'
  | 'sd1-unsupported-channels'
  | 'unknown';

export interface Identification {
  family: Family;
  /** In words, for messages: "an SDXL checkpoint (conditioner.embedders.*)". */
  description: string;
  /** SD1/SDXL UNets only: input channels (4 text-to-image, 9 inpainting, 8 InstructPix2Pix). */
  unetInChannels?: number;
}

export const SD1_TEXT_PREFIXES = ['cond_stage_model.transformer.text_model.', 'cond_stage_model.transformer.'] as const;

const has = (keys: readonly string[], test: (k: string) => boolean) => keys.some(test);
const prefix = (p: string) => (k: string) => k.startsWith(p);

/** Cross-attention context width of an LDM-style UNet (768 SD1, 1024 SD2), from its middle block. */
function contextDim(root: string, shapeOf: ShapeOf): number | undefined {
  return shapeOf(`${root}middle_block.1.transformer_blocks.0.attn2.to_k.weight`)?.[1];
}

/**
 * An sgm-layout checkpoint (conditioner.embedders.*). The base model has CLIP-L as embedder 0 and OpenCLIP
 * bigG as embedder 1; the refiner has only bigG, as embedder 0. Layer counts are not checked (tiny and
 * pruned models have fewer), prefixes are.
 */
function identifySdxl(any: (test: (k: string) => boolean) => boolean, shapeOf: ShapeOf): Identification {
  if (any(prefix('conditioner.embedders.0.model.'))) {
    return { family: 'sdxl-refiner', description: 'an SDXL refiner checkpoint (OpenCLIP only, conditioner.embedders.0.model.*)' };
  }
  const inChannels = shapeOf('model.diffusion_model.input_blocks.0.0.weight')?.[1];
  const missing = [
    any(prefix('model.diffusion_model.label_emb.')) ? null : 'UNet (model.diffusion_model.*)',
    any(prefix('first_stage_model.')) ? null : 'VAE (first_stage_model.*)',
    any(prefix('conditioner.embedders.0.transformer.')) ? null : 'CLIP-L text encoder (conditioner.embedders.0.transformer.*)',
    any(prefix('conditioner.embedders.1.model.')) ? null : 'OpenCLIP text encoder (conditioner.embedders.1.model.*)',
  ].filter((m) => m !== null);
  if (missing.length > 0) return { family: 'sdxl-incomplete', description: `an SDXL checkpoint without its ${missing.join(' and ')}`, unetInChannels: inChannels };
  if (inChannels !== 4 && inChannels !== 9) {
    return { family: 'sdxl-incomplete', description: `an SDXL checkpoint with ${inChannels ?? 'unknown'} UNet input channels (4 and 9 are supported)`, unetInChannels: inChannels };
  }
  return { family: 'sdxl', description: inChannels === 9 ? 'an SDXL inpainting checkpoint' : 'an SDXL checkpoint', unetInChannels: inChannels };
}

/** Identifies a file from its keys; never throws. */
export function identifyWeights(keys: readonly string[], shapeOf: ShapeOf): Identification {
  const any = (test: (k: string) => boolean) => has(keys, test);
  if (any((k) => /^lora_(unet|te\d?)_/.test(k) || /\.lora_(down|up|A|B)\.weight$/.test(k) || /\.(hada_w1_a|lokr_w1)$/.test(k) || k.startsWith('lycoris_'))) {
    return { family: 'lora', description: 'a LoRA/LyCORIS adapter (lora_unet_* / *.lora_down.weight keys)' };
  }
  if (any((k) => k === 'emb_params' || k.startsWith('string_to_param.') || k === 'clip_l' || k === 'clip_g')) {
    return { family: 'embedding', description: 'a textual-inversion embedding' };
  }
  if (any((k) => k.startsWith('double_blocks.') || k.startsWith('model.diffusion_model.double_blocks.'))) {
    return { family: 'flux', description: 'a Flux model (double_blocks.*)' };
  }
  if (any((k) => k.startsWith('joint_blocks.') || k.startsWith('model.diffusion_model.joint_blocks.'))) {
    return { family: 'sd3', description: 'a Stable Diffusion 3 model (model.diffusion_model.joint_blocks.*)' };
  }
  if (any(prefix('conditioner.embedders.'))) return identifySdxl(any, shapeOf);
  if (any(prefix('control_model.'))) {
    if (any(prefix('control_model.label_emb.'))) return { family: 'sdxl-controlnet', description: 'an SDXL ControlNet (control_model.label_emb.*)' };
    if (contextDim('control_model.', shapeOf) === 1024) return { family: 'sd2-controlnet', description: 'an SD2.x ControlNet (context width 1024)' };
    return { family: 'controlnet', description: 'a ControlNet (control_model.*)' };
  }
  if (any(prefix('controlnet_cond_embedding.')) && any(prefix('controlnet_down_blocks.'))) {
    if (any(prefix('add_embedding.'))) return { family: 'sdxl-controlnet', description: 'an SDXL ControlNet in diffusers format (add_embedding.*)' };
    if (shapeOf('mid_block.attentions.0.transformer_blocks.0.attn2.to_k.weight')?.[1] === 1024) {
      return { family: 'sd2-controlnet', description: 'an SD2.x ControlNet in diffusers format (context width 1024)' };
    }
    return { family: 'controlnet-diffusers', description: 'a ControlNet in diffusers format (controlnet_cond_embedding.*)' };
  }
  if (any(prefix('model.diffusion_model.'))) {
    if (any(prefix('cond_stage_model.model.')) || contextDim('model.diffusion_model.', shapeOf) === 1024) {
      return { family: 'sd2', description: 'an SD2.x checkpoint (OpenCLIP text encoder cond_stage_model.model.*, context width 1024)' };
    }
    if (any(prefix('model.diffusion_model.label_emb.'))) return { family: 'sdxl-incomplete', description: 'an SDXL UNet without its text encoders (model.diffusion_model.label_emb.*, no conditioner.embedders.*)' };
    const inChannels = shapeOf('model.diffusion_model.input_blocks.0.0.weight')?.[1];
    if (inChannels !== 4 && inChannels !== 9) {
      const what = inChannels === 8 ? 'an InstructPix2Pix-style checkpoint (8 UNet input channels)' : `an SD1.x-style checkpoint with ${inChannels ?? 'unknown'} UNet input channels`;
      return { family: 'sd1-unsupported-channels', description: what, unetInChannels: inChannels };
    }
    const missing = [
      any(prefix('first_stage_model.')) ? null : 'VAE (first_stage_model.*)',
      SD1_TEXT_PREFIXES.some((p) => any(prefix(p))) ? null : 'text encoder (cond_stage_model.transformer.*)',
    ].filter((m) => m !== null);
    if (missing.length > 0) {
      return { family: 'sd1-incomplete', description: `an SD1.x UNet without its ${missing.join(' and ')}`, unetInChannels: inChannels };
    }
    return { family: 'sd1', description: inChannels === 9 ? 'an SD1.x inpainting checkpoint' : 'an SD1.x checkpoint', unetInChannels: inChannels };
  }
  if ((any(prefix('encoder.conv_in.')) && any(prefix('decoder.conv_in.'))) || (any(prefix('first_stage_model.')) && !any(prefix('cond_stage_model.')))) {
    return { family: 'vae', description: 'a VAE on its own (encoder.*/decoder.* keys)' };
  }
  if (any(prefix('time_embedding.linear_1.')) && any(prefix('down_blocks.'))) {
    return { family: 'diffusers-unet', description: 'a diffusers-format UNet on its own (down_blocks.*, time_embedding.*)' };
  }
  if (any(prefix('text_model.encoder.layers.')) || any(prefix('text_model.embeddings.'))) {
    return { family: 'text-encoder', description: 'a CLIP text encoder on its own (text_model.*)' };
  }
  const sample = keys.slice(0, 3).join(', ');
  return { family: 'unknown', description: `an unrecognised file (no known key prefix; first keys: ${sample || 'none'})` };
}

/** A ControlNet in diffusers' layout has `format: 'diffusers'` (read through ./diffusers-controlnet.ts). */
export type Checkpoint = { kind: 'checkpoint'; family: FamilyId; unetInChannels: 4 | 9 } | { kind: 'controlnet'; format?: 'diffusers' };

/** Accepts what Kirie can build (SD1.x and SDXL checkpoints, SD1.x ControlNets in either layout); a clear error for anything else. */
export function detectCheckpoint(keys: readonly string[], shapeOf: ShapeOf, label: string): Checkpoint {
  const id = identifyWeights(keys, shapeOf);
  switch (id.family) {
    case 'sd1':
    case 'sdxl':
      return { kind: 'checkpoint', family: id.family, unetInChannels: id.unetInChannels as 4 | 9 };
    case 'controlnet':
      return { kind: 'controlnet' };
    case 'controlnet-diffusers':
      return { kind: 'controlnet', format: 'diffusers' };
    default:
      throw new Error(`${label} is ${id.description}; Kirie supports SD1.x and SDXL checkpoints (including 9-channel inpainting) and SD1.5 ControlNets`);
  }
}

// Model families as data: what differs between SD1.x and SDXL — where each component's weights live, which
// text encoders condition the UNet and how, the added conditioning, the native resolution range, the
// scheduler config the family ships with — is described here once. Builders, the pipeline, the bridge and the
// plugins read these descriptors instead of branching on the family's name.
import { SD15_RESOLUTION, type ModelResolution } from '../image/options.js';
import { SD15_SCHEDULER_CONFIG } from '../schedulers/registry.js';
import type { Component } from './types.js';

export type FamilyId = 'sd1' | 'sdxl';

export interface TextEncoderSpec {
  component: 'text_encoder' | 'text_encoder_2';
  /** Key layout: transformers CLIPTextModel names, or open_clip's text tower (packed in_proj, resblocks). */
  layout: 'transformers' | 'open_clip';
  /**
   * Which hidden state conditions the UNet: `final` = the last layer (or A1111's clip-skip layer) after the
   * final LayerNorm (SD1.x); `penultimate` = hidden_states[-2], no final LayerNorm (SDXL, both encoders).
   */
  output: 'final' | 'penultimate';
  /** The encoder also gives the pooled, projected embedding of its first EOS token (SDXL's text_embeds). */
  pooled: boolean;
  /**
   * The tokenizer's pad token when it is not EOS (SDXL tokenizer_2: '!', id 0). transformers makes it a
   * special token, so every '!' of a prompt is split out as that id too (diffusers issue #4153).
   */
  padToken?: string;
}

export interface ModelFamily {
  id: FamilyId;
  /** For people: model lists, recipes, messages. */
  label: string;
  /** Checkpoint key prefix of each component this family has (single-file, original layout). */
  prefixes: Partial<Record<Component, string>>;
  /** In the order their hidden states are concatenated into the UNet's context. */
  textEncoders: readonly TextEncoderSpec[];
  /**
   * The UNet also takes the pooled text embedding and six micro-conditioning numbers (original size,
   * crop top-left, target size; diffusers' `text_time`).
   */
  sizeConditioning: boolean;
  /**
   * No negative prompt gives zero negative embeddings and pooled embedding instead of encoding ''
   * (diffusers' force_zeros_for_empty_prompt, true in every SDXL base model's config).
   */
  zeroNegativeWhenEmpty: boolean;
  /**
   * A1111's "Clip skip" (request `clipSkip` > 1: condition on an earlier text-encoder layer) can be built for
   * this family's text encoder. SDXL not yet: both encoders already take the penultimate layer, and a skip
   * there needs both encoders rebuilt at the requested depth, which the two-encoder model loader does not do.
   */
  clipSkip: boolean;
  /** The sides the family generates well at (what a context crop is scaled into): SD1.x 512², SDXL 1024². */
  resolution: ModelResolution;
  /** The diffusers scheduler_config.json the family's models ship with. */
  schedulerConfig: Readonly<Record<string, unknown>>;
  /**
   * The VAE runs in float32 even when the rest runs in float16: SDXL's VAE activations overflow float16
   * (diffusers' force_upcast).
   */
  vaeFloat32: boolean;
  /**
   * Built graphs take LoRA/LyCORIS inputs (core/src/adapters), and embeddings where `embeddings` says so.
   */
  adapters: boolean;
  /**
   * Textual-inversion embeddings: SD1.x files (one vector set), SDXL files (one per encoder: clip_l, clip_g;
   * core/src/adapters/embedding.ts).
   */
  embeddings: boolean;
}

const VAE_PREFIX = 'first_stage_model.';

export const SD1_FAMILY: ModelFamily = {
  id: 'sd1',
  label: 'SD 1.x',
  prefixes: {
    text_encoder: 'cond_stage_model.transformer.text_model.',
    unet: 'model.diffusion_model.',
    vae_encoder: VAE_PREFIX,
    vae_decoder: VAE_PREFIX,
    controlnet: 'control_model.',
  },
  textEncoders: [{ component: 'text_encoder', layout: 'transformers', output: 'final', pooled: false }],
  sizeConditioning: false,
  zeroNegativeWhenEmpty: false,
  clipSkip: true,
  resolution: SD15_RESOLUTION,
  schedulerConfig: SD15_SCHEDULER_CONFIG,
  vaeFloat32: false,
  adapters: true,
  embeddings: true,
};

export const SDXL_FAMILY: ModelFamily = {
  id: 'sdxl',
  label: 'SDXL',
  // No controlnet: the UNet takes residual inputs (9 skips + mid, fed zeros), but SDXL ControlNets (mostly
  // diffusers-format files) need their own key map and builder with label_emb, and the pipeline must feed
  // them text_embeds/time_ids; until then requests with control units are refused.
  prefixes: {
    text_encoder: 'conditioner.embedders.0.transformer.text_model.',
    text_encoder_2: 'conditioner.embedders.1.model.',
    unet: 'model.diffusion_model.',
    vae_encoder: VAE_PREFIX,
    vae_decoder: VAE_PREFIX,
  },
  textEncoders: [
    { component: 'text_encoder', layout: 'transformers', output: 'penultimate', pooled: false },
    { component: 'text_encoder_2', layout: 'open_clip', output: 'penultimate', pooled: true, padToken: '!' },
  ],
  sizeConditioning: true,
  zeroNegativeWhenEmpty: true,
  clipSkip: false,
  // SDXL was trained on buckets of about 1024² pixels with sides in multiples of 64 (1024², 896×1152, 832×1216…):
  // as SD1.5's 512–768, the native side to 1.5× it.
  resolution: Object.freeze({ minSide: 1024, maxSide: 1536, multiple: 64 }),
  // stabilityai/stable-diffusion-xl-base-1.0 scheduler/scheduler_config.json (EulerDiscreteScheduler).
  schedulerConfig: {
    ...SD15_SCHEDULER_CONFIG,
    interpolation_type: 'linear',
    sample_max_value: 1.0,
    timestep_spacing: 'leading',
    use_karras_sigmas: false,
  },
  vaeFloat32: true,
  adapters: true,
  embeddings: true,
};

export const FAMILIES: Readonly<Record<FamilyId, ModelFamily>> = { sd1: SD1_FAMILY, sdxl: SDXL_FAMILY };

/** The key prefix of a component in a family's checkpoints; throws for a component the family lacks. */
export function componentPrefix(family: FamilyId, component: Component): string {
  const prefix = FAMILIES[family].prefixes[component];
  if (prefix === undefined) throw new Error(`${FAMILIES[family].label} models have no ${component}`);
  return prefix;
}

/** The resolution range of a model the bridge lists with `family` (ModelInfo.family); SD1.x's when it names none. */
export function resolutionFor(family: FamilyId | undefined): ModelResolution {
  return FAMILIES[family ?? 'sd1'].resolution;
}

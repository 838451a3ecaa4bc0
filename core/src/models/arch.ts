// Architecture hyper-parameters the graph builders need, named after the CompVis/LDM config fields
// (v1-inference.yaml), with SD1.5's values as defaults. Weight shapes alone cannot tell e.g. the head
// count, so these come from the checkpoint's YAML (or these defaults when there is none).
import { z } from 'zod';
import type { FamilyId } from './family.js';

export interface UnetArch {
  inChannels: number;
  outChannels: number;
  modelChannels: number;
  channelMult: number[];
  numResBlocks: number;
  /** Downsampling factors (1, 2, 4, …) at which the blocks have a spatial transformer. */
  attentionResolutions: number[];
  /** Heads per transformer; used when numHeadChannels is -1. */
  numHeads: number;
  /** Channels per head (SD2-style); -1 = use numHeads. */
  numHeadChannels: number;
  contextDim: number;
  /** Transformer blocks per SpatialTransformer at each level (levels without attention ignore theirs). */
  transformerDepth: number[];
  /** Transformer blocks in the middle block's SpatialTransformer (sgm: the last level's depth). */
  transformerDepthMiddle: number;
  /** proj_in/proj_out are Linear (SD2) instead of 1x1 Conv (SD1). */
  useLinearInTransformer: boolean;
  /**
   * SDXL's added conditioning (sgm `label_emb`, diffusers `add_embedding`, "text_time"): the pooled text
   * embedding and six micro-conditioning numbers, each given a sinusoidal embedding of `timeIdDim`.
   */
  labelEmbedding?: { pooledDim: number; timeIdDim: number };
}

export interface ControlNetArch extends UnetArch {
  hintChannels: number;
}

export interface VaeArch {
  ch: number;
  chMult: number[];
  numResBlocks: number;
  zChannels: number;
  embedDim: number;
  inChannels: number;
  outCh: number;
  scaleFactor: number;
}

export interface TextEncoderArch {
  vocabSize: number;
  hiddenSize: number;
  intermediateSize: number;
  numLayers: number;
  numHeads: number;
  maxPositions: number;
  hiddenAct: 'quick_gelu' | 'gelu';
  layerNormEps: number;
}

/** OpenCLIP's text tower (open_clip `text_cfg`), SDXL's second text encoder (ViT-bigG/14). */
export interface OpenClipTextArch {
  vocabSize: number;
  contextLength: number;
  width: number;
  heads: number;
  layers: number;
  mlpWidth: number;
  /** text_projection's output width: the pooled embedding. */
  projectionDim: number;
  hiddenAct: 'quick_gelu' | 'gelu';
  layerNormEps: number;
}

export interface SdArchitecture {
  /** The model family (core/src/models/family.ts): which components exist and how they are conditioned. */
  family: FamilyId;
  unet: UnetArch;
  vae: VaeArch;
  textEncoder: TextEncoderArch;
  /** Families with a second text encoder (SDXL). */
  textEncoder2?: OpenClipTextArch;
  controlnet: ControlNetArch;
}

const SD15_UNET: UnetArch = {
  inChannels: 4,
  outChannels: 4,
  modelChannels: 320,
  channelMult: [1, 2, 4, 4],
  numResBlocks: 2,
  attentionResolutions: [4, 2, 1],
  numHeads: 8,
  numHeadChannels: -1,
  contextDim: 768,
  transformerDepth: [1, 1, 1, 1],
  transformerDepthMiddle: 1,
  useLinearInTransformer: false,
};

export const SD15_ARCH: SdArchitecture = {
  family: 'sd1',
  unet: SD15_UNET,
  vae: { ch: 128, chMult: [1, 2, 4, 4], numResBlocks: 2, zChannels: 4, embedDim: 4, inChannels: 3, outCh: 3, scaleFactor: 0.18215 },
  textEncoder: {
    vocabSize: 49408,
    hiddenSize: 768,
    intermediateSize: 3072,
    numLayers: 12,
    numHeads: 12,
    maxPositions: 77,
    hiddenAct: 'quick_gelu',
    layerNormEps: 1e-5,
  },
  controlnet: { ...SD15_UNET, hintChannels: 3 },
};

/** Heads of a transformer with `channels` channels. */
export function headsFor(unet: UnetArch, channels: number): number {
  if (unet.numHeadChannels > 0) {
    if (channels % unet.numHeadChannels !== 0) {
      throw new Error(`num_head_channels ${unet.numHeadChannels} does not divide ${channels} channels`);
    }
    return channels / unet.numHeadChannels;
  }
  if (channels % unet.numHeads !== 0) throw new Error(`num_heads ${unet.numHeads} does not divide ${channels} channels`);
  return unet.numHeads;
}

const int = z.number().int();
/** A CLIP text encoder in transformers' config.json names (the golden tiny files carry one in their yaml). */
export const clipTextConfig = z.looseObject({
  vocab_size: int,
  hidden_size: int,
  intermediate_size: int,
  num_hidden_layers: int,
  num_attention_heads: int,
  max_position_embeddings: int,
  hidden_act: z.enum(['quick_gelu', 'gelu']),
  layer_norm_eps: z.number(),
});

export function textEncoderFrom(c: z.infer<typeof clipTextConfig>): TextEncoderArch {
  return {
    vocabSize: c.vocab_size,
    hiddenSize: c.hidden_size,
    intermediateSize: c.intermediate_size,
    numLayers: c.num_hidden_layers,
    numHeads: c.num_attention_heads,
    maxPositions: c.max_position_embeddings,
    hiddenAct: c.hidden_act,
    layerNormEps: c.layer_norm_eps,
  };
}
export const unetParams = z.looseObject({
  in_channels: int.optional(),
  out_channels: int.optional(),
  model_channels: int.optional(),
  channel_mult: z.array(int).optional(),
  num_res_blocks: int.optional(),
  attention_resolutions: z.array(int).optional(),
  num_heads: int.optional(),
  num_head_channels: int.optional(),
  context_dim: int.optional(),
  /** One number for every level (LDM), or one per level (sgm). */
  transformer_depth: z.union([int, z.array(int)]).optional(),
  transformer_depth_middle: int.optional(),
  use_linear_in_transformer: z.boolean().optional(),
  hint_channels: int.optional(),
});
export const firstStageParams = z.looseObject({
  embed_dim: int.optional(),
  ddconfig: z
    .looseObject({
      ch: int.optional(),
      ch_mult: z.array(int).optional(),
      num_res_blocks: int.optional(),
      z_channels: int.optional(),
      in_channels: int.optional(),
      out_ch: int.optional(),
    })
    .optional(),
});
export const stage = <T extends z.ZodType>(params: T) => z.looseObject({ params: params.optional() }).optional();
const ldmConfig = z.looseObject({
  model: z
    .looseObject({
      params: z
        .looseObject({
          scale_factor: z.number().optional(),
          unet_config: stage(unetParams),
          control_stage_config: stage(unetParams),
          first_stage_config: stage(firstStageParams),
        })
        .optional(),
    })
    .optional(),
  tiny_text_encoder_config: clipTextConfig.optional(),
});

export type UnetParams = z.infer<typeof unetParams>;

export function unetFrom(p: UnetParams | undefined, base: UnetArch): UnetArch {
  if (!p) return base;
  const levels = (p.channel_mult ?? base.channelMult).length;
  const depth = p.transformer_depth;
  const inherited = base.transformerDepth.length === levels ? base.transformerDepth : new Array<number>(levels).fill(base.transformerDepth[0]);
  const perLevel = depth === undefined ? inherited : Array.isArray(depth) ? depth : new Array<number>(levels).fill(depth);
  if (perLevel.length !== levels) throw new Error(`transformer_depth lists ${perLevel.length} levels, channel_mult ${levels}`);
  return {
    inChannels: p.in_channels ?? base.inChannels,
    outChannels: p.out_channels ?? base.outChannels,
    modelChannels: p.model_channels ?? base.modelChannels,
    channelMult: p.channel_mult ?? base.channelMult,
    numResBlocks: p.num_res_blocks ?? base.numResBlocks,
    attentionResolutions: p.attention_resolutions ?? base.attentionResolutions,
    numHeads: p.num_heads ?? base.numHeads,
    numHeadChannels: p.num_head_channels ?? base.numHeadChannels,
    contextDim: p.context_dim ?? base.contextDim,
    transformerDepth: perLevel,
    transformerDepthMiddle: p.transformer_depth_middle ?? (depth === undefined ? base.transformerDepthMiddle : perLevel[levels - 1]),
    useLinearInTransformer: p.use_linear_in_transformer ?? base.useLinearInTransformer,
    ...(base.labelEmbedding ? { labelEmbedding: base.labelEmbedding } : {}),
  };
}

export function vaeFrom(p: z.infer<typeof firstStageParams> | undefined, scaleFactor: number | undefined, v: VaeArch): VaeArch {
  const dd = p?.ddconfig;
  return {
    ch: dd?.ch ?? v.ch,
    chMult: dd?.ch_mult ?? v.chMult,
    numResBlocks: dd?.num_res_blocks ?? v.numResBlocks,
    zChannels: dd?.z_channels ?? v.zChannels,
    embedDim: p?.embed_dim ?? v.embedDim,
    inChannels: dd?.in_channels ?? v.inChannels,
    outCh: dd?.out_ch ?? v.outCh,
    scaleFactor: scaleFactor ?? v.scaleFactor,
  };
}

/**
 * Maps a parsed CompVis/cldm inference YAML (v1-inference.yaml, v1-inpainting-inference.yaml,
 * control_v11p_sd15_*.yaml, and the golden tiny files' top-level `tiny_text_encoder_config`) onto
 * SdArchitecture; absent fields keep SD1.5's values.
 */
export function archFromLdmConfig(config: unknown): SdArchitecture {
  const parsed = ldmConfig.safeParse(config);
  if (!parsed.success) throw new Error(`not a CompVis/LDM model config: ${z.prettifyError(parsed.error)}`);
  const params = parsed.data.model?.params;
  const unet = unetFrom(params?.unet_config?.params, SD15_ARCH.unet);
  const cn = params?.control_stage_config?.params;
  const te = parsed.data.tiny_text_encoder_config;
  return {
    family: 'sd1',
    unet,
    controlnet: { ...unetFrom(cn, unet), inChannels: cn?.in_channels ?? 4, hintChannels: cn?.hint_channels ?? 3 },
    vae: vaeFrom(params?.first_stage_config?.params, params?.scale_factor, SD15_ARCH.vae),
    textEncoder: te ? textEncoderFrom(te) : SD15_ARCH.textEncoder,
  };
}

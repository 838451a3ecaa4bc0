// SDXL architecture: from an sgm inference YAML (configs/inference/sd_xl_base.yaml, the sidecar A1111 and
// ComfyUI users keep next to a checkpoint) when there is one, otherwise from the checkpoint's key shapes.
// Shapes give every width, layer count and depth; head counts are not in the weights, and every SDXL
// release uses 64-wide heads (UNet num_head_channels 64, CLIP ViT-L 12 × 64, OpenCLIP bigG 20 × 64).
import { z } from 'zod';
import { clipTextConfig, firstStageParams, SD15_ARCH, stage, textEncoderFrom, unetFrom, unetParams, vaeFrom, type OpenClipTextArch, type SdArchitecture, type TextEncoderArch, type UnetArch } from './arch.js';
import type { ShapeOf } from './detect.js';
import { SDXL_FAMILY } from './family.js';

export const SDXL_HEAD_WIDTH = 64;
const U = SDXL_FAMILY.prefixes.unet!;
const TE1 = SDXL_FAMILY.prefixes.text_encoder!;
const TE2 = SDXL_FAMILY.prefixes.text_encoder_2!;

/** stabilityai/stable-diffusion-xl-base-1.0 (sd_xl_base.yaml + the hub's text encoder configs). */
export const SDXL_ARCH: SdArchitecture = {
  family: 'sdxl',
  unet: {
    inChannels: 4,
    outChannels: 4,
    modelChannels: 320,
    channelMult: [1, 2, 4],
    numResBlocks: 2,
    attentionResolutions: [4, 2],
    numHeads: -1,
    numHeadChannels: SDXL_HEAD_WIDTH,
    contextDim: 2048,
    transformerDepth: [1, 2, 10],
    transformerDepthMiddle: 10,
    useLinearInTransformer: true,
    labelEmbedding: { pooledDim: 1280, timeIdDim: 256 },
  },
  vae: { ...SD15_ARCH.vae, scaleFactor: 0.13025 },
  textEncoder: SD15_ARCH.textEncoder,
  textEncoder2: { vocabSize: 49408, contextLength: 77, width: 1280, heads: 20, layers: 32, mlpWidth: 5120, projectionDim: 1280, hiddenAct: 'gelu', layerNormEps: 1e-5 },
  controlnet: { ...SD15_ARCH.controlnet },
};

const int = z.number().int();
const embedder = z.looseObject({ target: z.string().optional(), params: z.looseObject({ layer_idx: int.optional(), outdim: int.optional() }).nullish() });
const sgmConfig = z.looseObject({
  model: z.looseObject({
    params: z.looseObject({
      scale_factor: z.number().optional(),
      network_config: stage(unetParams.extend({ adm_in_channels: int.optional() })),
      conditioner_config: stage(z.looseObject({ emb_models: z.array(embedder).optional() })),
      first_stage_config: stage(firstStageParams),
    }),
  }),
  // The golden tiny models' text encoder configs (not part of sgm's format; real files use the hub's).
  tiny_sdxl: z
    .looseObject({
      text_encoder_1: clipTextConfig,
      text_encoder_2: z.looseObject({
        vocab_size: int,
        context_length: int,
        width: int,
        heads: int,
        layers: int,
        mlp_ratio: z.number(),
        embed_dim: int,
        quick_gelu: z.boolean(),
        layer_norm_eps: z.number(),
      }),
      addition_time_embed_dim: int,
    })
    .optional(),
});

/** Maps a parsed sgm config onto SdArchitecture; what it leaves out comes from `base` (the shapes' answer). */
export function archFromSgmConfig(config: unknown, base: SdArchitecture = SDXL_ARCH): SdArchitecture {
  const parsed = sgmConfig.safeParse(config);
  if (!parsed.success) throw new Error(`not an SDXL (sgm) model config: ${z.prettifyError(parsed.error)}`);
  const { params } = parsed.data.model;
  const net = params.network_config?.params;
  const tiny = parsed.data.tiny_sdxl;
  const models = params.conditioner_config?.params?.emb_models ?? [];
  const outdims = models.map((m) => m.params?.outdim).filter((d): d is number => d !== undefined);
  if (new Set(outdims).size > 1) throw new Error(`the ConcatTimestepEmbedderND outdims differ (${outdims.join(', ')}); Kirie embeds the six time ids with one width`);
  const timeIdDim = tiny?.addition_time_embed_dim ?? outdims[0] ?? base.unet.labelEmbedding!.timeIdDim;
  const unet = unetFrom(net, base.unet);
  const admIn = net?.adm_in_channels ?? base.unet.labelEmbedding!.pooledDim + 6 * timeIdDim;
  const layerIdx = models[0]?.params?.layer_idx;
  const te1 = tiny ? textEncoderFrom(tiny.text_encoder_1) : base.textEncoder;
  // sgm's FrozenCLIPEmbedder reads hidden_states[layer_idx]: the family conditions on the penultimate layer.
  if (layerIdx !== undefined && layerIdx !== te1.numLayers - 1) {
    throw new Error(`FrozenCLIPEmbedder layer_idx ${layerIdx} is not the penultimate of ${te1.numLayers} layers, which SDXL uses`);
  }
  const t2 = tiny?.text_encoder_2;
  const te2: OpenClipTextArch = t2
    ? {
        vocabSize: t2.vocab_size,
        contextLength: t2.context_length,
        width: t2.width,
        heads: t2.heads,
        layers: t2.layers,
        mlpWidth: Math.round(t2.width * t2.mlp_ratio),
        projectionDim: t2.embed_dim,
        hiddenAct: t2.quick_gelu ? 'quick_gelu' : 'gelu',
        layerNormEps: t2.layer_norm_eps,
      }
    : base.textEncoder2!;
  return {
    ...base,
    family: 'sdxl',
    unet: { ...unet, labelEmbedding: { pooledDim: admIn - 6 * timeIdDim, timeIdDim } },
    vae: vaeFrom(params.first_stage_config?.params, params.scale_factor, base.vae),
    textEncoder: te1,
    textEncoder2: te2,
  };
}

function count(keys: readonly string[], pattern: RegExp): number {
  const seen = new Set<string>();
  for (const k of keys) {
    const m = pattern.exec(k);
    if (m) seen.add(m[1]);
  }
  return seen.size;
}

/**
 * The architecture a full SDXL checkpoint's shapes describe (no YAML): widths, levels, per-level transformer
 * depths, layer counts, the time-id width from label_emb's input minus the pooled width; heads 64 wide.
 */
export function sdxlArchFromShapes(keys: readonly string[], shapeOf: ShapeOf): SdArchitecture {
  const need = (key: string) => {
    const s = shapeOf(key);
    if (!s) throw new Error(`not a complete SDXL checkpoint: ${key} is missing`);
    return s;
  };
  const [mc, inChannels] = need(`${U}input_blocks.0.0.weight`);
  const outChannels = need(`${U}out.2.weight`)[0];
  const outputBlocks = count(keys, new RegExp(`^${U.replace(/\./g, '\\.')}output_blocks\\.(\\d+)\\.`));
  const downsamples = count(keys, new RegExp(`^${U.replace(/\./g, '\\.')}input_blocks\\.(\\d+)\\.0\\.op\\.weight$`));
  const levels = downsamples + 1;
  const numResBlocks = outputBlocks / levels - 1;
  if (!Number.isInteger(numResBlocks) || numResBlocks < 1) throw new Error(`not an SDXL UNet: ${outputBlocks} output blocks over ${levels} levels`);
  const channelMult: number[] = [];
  const transformerDepth: number[] = [];
  const attentionResolutions: number[] = [];
  for (let level = 0; level < levels; level++) {
    const block = `${U}input_blocks.${1 + level * (numResBlocks + 1)}`;
    channelMult.push(need(`${block}.0.out_layers.3.weight`)[0] / mc);
    const depth = count(keys, new RegExp(`^${block.replace(/\./g, '\\.')}\\.1\\.transformer_blocks\\.(\\d+)\\.`));
    transformerDepth.push(depth);
    // Listed deepest first, as sd_xl_base.yaml does.
    if (depth > 0) attentionResolutions.unshift(2 ** level);
  }
  const transformerDepthMiddle = count(keys, new RegExp(`^${U.replace(/\./g, '\\.')}middle_block\\.1\\.transformer_blocks\\.(\\d+)\\.`));
  const contextDim = need(`${U}middle_block.1.transformer_blocks.0.attn2.to_k.weight`)[1];
  const [width, projectionDim] = need(`${TE2}text_projection`);
  const admIn = need(`${U}label_emb.0.0.weight`)[1];
  const timeIdDim = (admIn - projectionDim) / 6;
  if (!Number.isInteger(timeIdDim)) throw new Error(`label_emb input width ${admIn} minus the pooled width ${projectionDim} is not six time-id embeddings`);
  const unet: UnetArch = {
    inChannels,
    outChannels,
    modelChannels: mc,
    channelMult,
    numResBlocks,
    attentionResolutions,
    numHeads: -1,
    numHeadChannels: SDXL_HEAD_WIDTH,
    contextDim,
    // Levels without attention keep a placeholder depth, as sd_xl_base.yaml's [1, 2, 10] does.
    transformerDepth: transformerDepth.map((d) => d || 1),
    transformerDepthMiddle,
    useLinearInTransformer: need(`${U}middle_block.1.proj_in.weight`).length === 2,
    labelEmbedding: { pooledDim: projectionDim, timeIdDim },
  };
  const [vocabSize, hiddenSize] = need(`${TE1}embeddings.token_embedding.weight`);
  const textEncoder: TextEncoderArch = {
    ...SD15_ARCH.textEncoder,
    vocabSize,
    hiddenSize,
    intermediateSize: need(`${TE1}encoder.layers.0.mlp.fc1.weight`)[0],
    numLayers: count(keys, new RegExp(`^${TE1.replace(/\./g, '\\.')}encoder\\.layers\\.(\\d+)\\.`)),
    numHeads: hiddenSize / SDXL_HEAD_WIDTH,
    maxPositions: need(`${TE1}embeddings.position_embedding.weight`)[0],
  };
  const vaeCh = need('first_stage_model.encoder.conv_in.weight')[0];
  const vaeLevels = count(keys, /^first_stage_model\.encoder\.down\.(\d+)\./);
  const chMult = Array.from({ length: vaeLevels }, (_, l) => need(`first_stage_model.encoder.down.${l}.block.0.conv1.weight`)[0] / vaeCh);
  return {
    ...SDXL_ARCH,
    unet,
    vae: { ...SDXL_ARCH.vae, ch: vaeCh, chMult },
    textEncoder,
    textEncoder2: {
      ...SDXL_ARCH.textEncoder2!,
      vocabSize: need(`${TE2}token_embedding.weight`)[0],
      contextLength: need(`${TE2}positional_embedding`)[0],
      width,
      heads: width / SDXL_HEAD_WIDTH,
      layers: count(keys, new RegExp(`^${TE2.replace(/\./g, '\\.')}transformer\\.resblocks\\.(\\d+)\\.`)),
      mlpWidth: need(`${TE2}transformer.resblocks.0.mlp.c_fc.weight`)[0],
      projectionDim,
    },
  };
}

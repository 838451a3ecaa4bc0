// A ControlNet saved by diffusers (ControlNetModel, `diffusion_pytorch_model.safetensors` on Hugging Face, e.g.
// lllyasviel/control_v11p_sd15_openpose) read under its cldm names (`control_model.*`), so the one ControlNet
// builder (./controlnet.ts) runs it. The names follow diffusers' own LDM → diffusers conversion
// (src/diffusers/loaders/single_file_utils.py: DIFFUSERS_TO_LDM_MAPPING["controlnet"] and
// convert_controlnet_checkpoint; scripts/convert_original_controlnet_to_diffusers.py), read backwards:
//   controlnet_cond_embedding.conv_in / blocks.{i} / conv_out → input_hint_block.0 / {2i + 2} / 14
//   controlnet_down_blocks.{i} → zero_convs.{i}.0,  controlnet_mid_block → middle_block_out.0
//   time_embedding.linear_{1,2} → time_embed.{0,2},  conv_in → input_blocks.0.0
//   down_blocks / mid_block → input_blocks / middle_block by the UNet numbering (./diffusers-unet-blocks.ts).
// The architecture comes from the shapes, as the file has no LDM YAML; only the head count cannot be read from
// weights, and every SD1.x ControlNet has SD1.5's 8 heads (diffusers config `attention_head_dim: 8`).
import { SD15_ARCH, type ControlNetArch } from './arch.js';
import { CONTROLNET_PREFIX, HINT_WIDTHS } from './controlnet.js';
import type { ShapeOf } from './detect.js';
import { blockMap, RESNET_PARTS, type BlockKind } from './diffusers-unet-blocks.js';

export interface DiffusersControlNet {
  /** Every key of the file → its cldm name (`control_model.*`). */
  ldmKeys: Map<string, string>;
  arch: ControlNetArch;
}

const LDM_RESNET_PART = new Map(Object.entries(RESNET_PARTS).map(([ldm, diffusers]) => [diffusers, ldm]));
const TIME_EMBED: Record<string, string> = { linear_1: 'time_embed.0', linear_2: 'time_embed.2' };

function indices(keys: readonly string[], pattern: RegExp): number[] {
  const seen = new Set<number>();
  for (const k of keys) {
    const m = pattern.exec(k);
    if (m) seen.add(Number(m[1]));
  }
  return [...seen].sort((a, b) => a - b);
}

/** The architecture a diffusers ControlNet's shapes describe. */
function archFromShapes(keys: readonly string[], shapeOf: ShapeOf): ControlNetArch {
  const need = (key: string) => {
    const s = shapeOf(key);
    if (!s) throw new Error(`tensor ${key} is missing (every diffusers ControlNetModel has it)`);
    return s;
  };
  const [modelChannels, inChannels] = need('conv_in.weight');
  const levels = indices(keys, /^down_blocks\.(\d+)\./).length;
  const numResBlocks = indices(keys, /^down_blocks\.0\.resnets\.(\d+)\./).length;
  if (levels === 0 || numResBlocks === 0) throw new Error('no down_blocks.N.resnets.N tensors: not a complete diffusers ControlNet');
  const channelMult: number[] = [];
  const transformerDepth: number[] = [];
  const attentionResolutions: number[] = [];
  for (let level = 0; level < levels; level++) {
    const width = need(`down_blocks.${level}.resnets.0.conv1.weight`)[0];
    if (width % modelChannels !== 0) throw new Error(`down_blocks.${level} is ${width} wide, not a multiple of conv_in's ${modelChannels}`);
    channelMult.push(width / modelChannels);
    const depth = indices(keys, new RegExp(`^down_blocks\\.${level}\\.attentions\\.0\\.transformer_blocks\\.(\\d+)\\.`)).length;
    // Levels without attention keep a placeholder depth, as LDM configs do; deepest level listed first.
    transformerDepth.push(depth || 1);
    if (depth > 0) attentionResolutions.unshift(2 ** level);
  }
  const mid = 'mid_block.attentions.0.';
  return {
    ...SD15_ARCH.controlnet,
    inChannels,
    modelChannels,
    channelMult,
    numResBlocks,
    attentionResolutions,
    contextDim: need(`${mid}transformer_blocks.0.attn2.to_k.weight`)[1],
    transformerDepth,
    transformerDepthMiddle: indices(keys, /^mid_block\.attentions\.0\.transformer_blocks\.(\d+)\./).length,
    // SD1.5 ControlNets keep SD1's 1×1 conv projections; SD2-derived ones have Linear ones ([out, in]).
    useLinearInTransformer: need(`${mid}proj_in.weight`).length === 2,
    hintChannels: need('controlnet_cond_embedding.conv_in.weight')[1],
  };
}

/**
 * Reads a diffusers-format SD1.x ControlNet's layout: its architecture and the cldm name of every key. Throws,
 * naming the key, for a tensor the layout has no place for; missing tensors and wrong shapes are the
 * builder's to report (it checks every tensor it reads against `arch`).
 */
export function readDiffusersControlNet(keys: readonly string[], shapeOf: ShapeOf): DiffusersControlNet {
  const arch = archFromShapes(keys, shapeOf);
  const blocks = new Map<string, { ldm: string; kind: BlockKind }>();
  for (const [ldm, b] of blockMap(arch)) if (b.kind !== 'up') blocks.set(b.diffusers, { ldm, kind: b.kind });
  // conv_in's output, then every ResNet/attention pair's and every downsampler's: one zero conv each.
  const skips = arch.channelMult.length * (arch.numResBlocks + 1);
  const hintBlocks = HINT_WIDTHS.length - 1;

  const ldmName = (key: string): string | undefined => {
    let m = /^controlnet_cond_embedding\.(conv_in|conv_out|blocks\.(\d+))\.(weight|bias)$/.exec(key);
    if (m) {
      const block = m[2] === undefined ? undefined : Number(m[2]);
      if (block !== undefined && block >= hintBlocks) return undefined;
      const at = m[1] === 'conv_in' ? 0 : m[1] === 'conv_out' ? 2 * HINT_WIDTHS.length : 2 * (block! + 1);
      return `input_hint_block.${at}.${m[3]}`;
    }
    m = /^controlnet_down_blocks\.(\d+)\.(weight|bias)$/.exec(key);
    if (m) return Number(m[1]) < skips ? `zero_convs.${m[1]}.0.${m[2]}` : undefined;
    m = /^controlnet_mid_block\.(weight|bias)$/.exec(key);
    if (m) return `middle_block_out.0.${m[1]}`;
    m = /^time_embedding\.(linear_[12])\.(weight|bias)$/.exec(key);
    if (m) return `${TIME_EMBED[m[1]]}.${m[2]}`;
    m = /^conv_in\.(weight|bias)$/.exec(key);
    if (m) return `input_blocks.0.0.${m[1]}`;
    m = /^(down_blocks\.\d+\.(?:resnets|attentions)\.\d+|down_blocks\.\d+\.downsamplers\.0|mid_block\.(?:resnets|attentions)\.\d+)\.(.+)$/.exec(key);
    const block = m ? blocks.get(m[1]) : undefined;
    if (!m || !block) return undefined;
    const rest = m[2];
    // Transformer2DModel and LDM's SpatialTransformer name their parts alike (norm, proj_in, transformer_blocks…).
    if (block.kind === 'attention') return `${block.ldm}.${rest}`;
    const part = /^(\w+)\.(weight|bias)$/.exec(rest);
    if (!part) return undefined;
    if (block.kind === 'down') return part[1] === 'conv' ? `${block.ldm}.op.${part[2]}` : undefined;
    const ldmPart = LDM_RESNET_PART.get(part[1]);
    return ldmPart ? `${block.ldm}.${ldmPart}.${part[2]}` : undefined;
  };

  const ldmKeys = new Map<string, string>();
  for (const key of keys) {
    const name = ldmName(key);
    if (name === undefined) throw new Error(`tensor ${key} has no place in a diffusers SD1.x ControlNetModel with ${arch.channelMult.length} levels of ${arch.numResBlocks} ResNet blocks`);
    ldmKeys.set(key, CONTROLNET_PREFIX + name);
  }
  return { ldmKeys, arch };
}

// Which weights of an SD1.x model an adapter may change, and every name adapter files use for them. kohya's
// rule (networks/lora.py, LyCORIS): Linear/Conv2d layers of the UNet's transformers (+ ResBlocks, down- and
// upsamplers for LoCon) and of the CLIP text encoder's attention and MLP. Modules are identified by the
// checkpoint's own LDM key (without `.weight`); the diffusers and kohya names are derived from the model's
// key list, as kohya and A1111 do (`name.replace('.', '_')`), because underscores make kohya names ambiguous
// to split.
import type { UnetArch } from '../models/arch.js';

export const UNET_ROOT = 'model.diffusion_model.';
export const TEXT_ROOT = 'cond_stage_model.transformer.text_model.';

const UNET_TARGET =
  /\.(proj_in|proj_out|transformer_blocks\.\d+\.(attn[12]\.(to_q|to_k|to_v|to_out\.0)|ff\.net\.0\.proj|ff\.net\.2)|in_layers\.2|out_layers\.3|emb_layers\.1|skip_connection|\d+\.op|\d+\.conv)$/;
const TEXT_TARGET = /^encoder\.layers\.\d+\.(self_attn\.(q|k|v|out)_proj|mlp\.fc[12])$/;

/** True for a module (checkpoint key without `.weight`) that adapters may change; the graph gets a slot for it. */
export function isAdaptable(module: string): boolean {
  if (module.startsWith(UNET_ROOT)) {
    const path = module.slice(UNET_ROOT.length);
    return UNET_TARGET.test(`.${path}`) && !path.startsWith('input_blocks.0.') && !path.startsWith('out.');
  }
  if (module.startsWith(TEXT_ROOT)) return TEXT_TARGET.test(module.slice(TEXT_ROOT.length));
  return false;
}

/** Diffusers names for the parts of a ResBlock the LDM layout numbers. */
const RESNET_PARTS: Record<string, string> = { 'in_layers.2': 'conv1', 'out_layers.3': 'conv2', 'emb_layers.1': 'time_emb_proj', skip_connection: 'conv_shortcut' };

/**
 * LDM block prefix (e.g. `input_blocks.4.1`) → diffusers module prefix (`down_blocks.1.attentions.0`), for an
 * SD1.x UNet layout (diffusers' convert_from_ckpt numbering).
 */
function blockMap(arch: UnetArch): Map<string, { diffusers: string; kind: 'resnet' | 'attention' | 'down' | 'up' }> {
  const map = new Map<string, { diffusers: string; kind: 'resnet' | 'attention' | 'down' | 'up' }>();
  const levels = arch.channelMult.length;
  const per = arch.numResBlocks + 1;
  const attends = (level: number) => arch.attentionResolutions.includes(2 ** level);
  for (let i = 0; i < levels; i++) {
    for (let j = 0; j < arch.numResBlocks; j++) {
      const idx = 1 + i * per + j;
      map.set(`input_blocks.${idx}.0`, { diffusers: `down_blocks.${i}.resnets.${j}`, kind: 'resnet' });
      map.set(`input_blocks.${idx}.1`, { diffusers: `down_blocks.${i}.attentions.${j}`, kind: 'attention' });
    }
    if (i < levels - 1) map.set(`input_blocks.${1 + i * per + arch.numResBlocks}.0`, { diffusers: `down_blocks.${i}.downsamplers.0`, kind: 'down' });
  }
  map.set('middle_block.0', { diffusers: 'mid_block.resnets.0', kind: 'resnet' });
  map.set('middle_block.1', { diffusers: 'mid_block.attentions.0', kind: 'attention' });
  map.set('middle_block.2', { diffusers: 'mid_block.resnets.1', kind: 'resnet' });
  for (let i = 0; i < levels; i++) {
    const level = levels - 1 - i;
    for (let j = 0; j <= arch.numResBlocks; j++) {
      const idx = i * per + j;
      map.set(`output_blocks.${idx}.0`, { diffusers: `up_blocks.${i}.resnets.${j}`, kind: 'resnet' });
      map.set(`output_blocks.${idx}.1`, { diffusers: `up_blocks.${i}.attentions.${j}`, kind: 'attention' });
    }
    if (i < levels - 1) map.set(`output_blocks.${i * per + arch.numResBlocks}.${attends(level) ? 2 : 1}`, { diffusers: `up_blocks.${i}.upsamplers.0`, kind: 'up' });
  }
  return map;
}

/** The diffusers module path of an adaptable UNet module given by its LDM path (no root), or undefined. */
function diffusersUnetPath(ldmPath: string, blocks: ReturnType<typeof blockMap>): string | undefined {
  const m = /^((?:input_blocks|output_blocks)\.\d+\.\d+|middle_block\.\d+)\.(.+)$/.exec(ldmPath);
  if (!m) return undefined;
  const block = blocks.get(m[1]!);
  if (!block) return undefined;
  const rest = m[2]!;
  if (block.kind === 'attention') return `${block.diffusers}.${rest}`;
  if (block.kind === 'resnet') return RESNET_PARTS[rest] ? `${block.diffusers}.${RESNET_PARTS[rest]}` : undefined;
  if (block.kind === 'down') return rest === 'op' ? `${block.diffusers}.conv` : undefined;
  return rest === 'conv' ? `${block.diffusers}.conv` : undefined;
}

export interface ModuleTable {
  /** Any accepted name (kohya `lora_unet_…`/`lora_te_…`, diffusers `unet.…`/`text_encoder.…`) → checkpoint module. */
  byName: Map<string, string>;
  /** Checkpoint module → shape of its weight. */
  shapes: Map<string, readonly number[]>;
  /** Checkpoint module → its diffusers / transformers path (for messages and the golden deltas). */
  diffusers: Map<string, string>;
}

/**
 * Every name an adapter may give each adaptable module of this model: kohya names from the diffusers path and
 * from the LDM path (files trained on LDM-format checkpoints), diffusers/PEFT dotted paths.
 */
export function moduleTable(keys: readonly string[], shapeOf: (key: string) => readonly number[], arch: UnetArch): ModuleTable {
  const blocks = blockMap(arch);
  const byName = new Map<string, string>();
  const shapes = new Map<string, readonly number[]>();
  const diffusers = new Map<string, string>();
  for (const key of keys) {
    if (!key.endsWith('.weight')) continue;
    const module = key.slice(0, -'.weight'.length);
    if (!isAdaptable(module)) continue;
    shapes.set(module, shapeOf(key));
    if (module.startsWith(UNET_ROOT)) {
      const ldm = module.slice(UNET_ROOT.length);
      byName.set(`lora_unet_${ldm.replace(/\./g, '_')}`, module);
      const path = diffusersUnetPath(ldm, blocks);
      if (path) {
        diffusers.set(module, path);
        byName.set(`lora_unet_${path.replace(/\./g, '_')}`, module);
        byName.set(`unet.${path}`, module);
      }
    } else {
      const path = `text_model.${module.slice(TEXT_ROOT.length)}`;
      diffusers.set(module, path);
      byName.set(`lora_te_${path.replace(/\./g, '_')}`, module);
      byName.set(`text_encoder.${path}`, module);
    }
  }
  return { byName, shapes, diffusers };
}

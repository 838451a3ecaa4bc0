// Which weights of an SD1.x or SDXL model an adapter may change, and every name adapter files use for them.
// kohya's rule (networks/lora.py, sdxl networks, LyCORIS): Linear/Conv2d layers of the UNet's transformers
// (+ ResBlocks, down- and upsamplers for LoCon) and of the CLIP text encoders' attention and MLP. Modules are
// identified by the checkpoint's own LDM/sgm key (without `.weight`); the diffusers and kohya names are derived
// from the model's key list, as kohya and A1111 do (`name.replace('.', '_')`), because underscores make kohya
// names ambiguous to split.
import type { UnetArch } from '../models/arch.js';
import { blockMap, RESNET_PARTS, type BlockMap } from '../models/diffusers-unet-blocks.js';

export const UNET_ROOT = 'model.diffusion_model.';
/** SD1.x's CLIP ViT-L and SDXL's first encoder (transformers key names under each family's prefix). */
const CLIP_ROOTS = ['cond_stage_model.transformer.text_model.', 'conditioner.embedders.0.transformer.text_model.'];
/** SDXL's second encoder, OpenCLIP bigG (open_clip key names). */
export const OPEN_CLIP_ROOT = 'conditioner.embedders.1.model.';
/**
 * OpenCLIP's packed q/k/v projection, `attn.in_proj_weight` [3W, W]: adapters name its three row blocks as
 * transformers' q_proj/k_proj/v_proj (kohya trains on diffusers' CLIPTextModelWithProjection; A1111 stacks the
 * three deltas, ComfyUI patches the row ranges). Its module name (no `.weight` suffix to strip) is this.
 */
export const IN_PROJ = 'attn.in_proj';

export type AdapterTarget = 'unet' | 'text_encoder' | 'text_encoder_2';

const UNET_TARGET =
  /\.(proj_in|proj_out|transformer_blocks\.\d+\.(attn[12]\.(to_q|to_k|to_v|to_out\.0)|ff\.net\.0\.proj|ff\.net\.2)|in_layers\.2|out_layers\.3|emb_layers\.1|skip_connection|\d+\.op|\d+\.conv)$/;
const TEXT_TARGET = /^encoder\.layers\.\d+\.(self_attn\.(q|k|v|out)_proj|mlp\.fc[12])$/;
const OPEN_CLIP_TARGET = /^transformer\.resblocks\.\d+\.(attn\.(in_proj|out_proj)|mlp\.c_fc|mlp\.c_proj)$/;

/** The graph a module belongs to. */
export function targetOf(module: string): AdapterTarget {
  return module.startsWith(UNET_ROOT) ? 'unet' : module.startsWith(OPEN_CLIP_ROOT) ? 'text_encoder_2' : 'text_encoder';
}

/** True for a module (checkpoint key without `.weight`) that adapters may change; the graph gets a slot for it. */
export function isAdaptable(module: string): boolean {
  if (module.startsWith(UNET_ROOT)) {
    const path = module.slice(UNET_ROOT.length);
    return UNET_TARGET.test(`.${path}`) && !path.startsWith('input_blocks.0.') && !path.startsWith('out.');
  }
  if (module.startsWith(OPEN_CLIP_ROOT)) return OPEN_CLIP_TARGET.test(module.slice(OPEN_CLIP_ROOT.length));
  const root = CLIP_ROOTS.find((r) => module.startsWith(r));
  return root !== undefined && TEXT_TARGET.test(module.slice(root.length));
}

/** The diffusers module path of an adaptable UNet module given by its LDM path (no root), or undefined. */
function diffusersUnetPath(ldmPath: string, blocks: BlockMap): string | undefined {
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
  /** Which family's names the table holds (messages: an SDXL LoRA on an SD1.x model is refused as such). */
  family: 'SD1.x' | 'SDXL';
  /** Any accepted name (kohya `lora_unet_…`/`lora_te_…`/`lora_te1_…`/`lora_te2_…`, diffusers `unet.…`/`text_encoder(_2).…`) → checkpoint module. */
  byName: Map<string, string>;
  /** Names that cover only some rows of their module's weight (OpenCLIP's q/k/v in `in_proj`): name → rows. */
  rows: Map<string, { start: number; count: number }>;
  /** Checkpoint module → shape of its weight. */
  shapes: Map<string, readonly number[]>;
  /** Checkpoint module → its diffusers / transformers path (for messages and the golden deltas). */
  diffusers: Map<string, string>;
}

/** transformers' CLIP names of an OpenCLIP resblock layer (what SDXL adapters call them), with the rows each covers. */
function openClipNames(path: string, width: number): { path: string; rows?: { start: number; count: number } }[] {
  const m = /^transformer\.resblocks\.(\d+)\.(.+)$/.exec(path)!;
  const layer = `text_model.encoder.layers.${m[1]!}.`;
  if (m[2] === IN_PROJ) return ['q', 'k', 'v'].map((p, i) => ({ path: `${layer}self_attn.${p}_proj`, rows: { start: i * width, count: width } }));
  const part = { 'attn.out_proj': 'self_attn.out_proj', 'mlp.c_fc': 'mlp.fc1', 'mlp.c_proj': 'mlp.fc2' }[m[2]!]!;
  return [{ path: `${layer}${part}` }];
}

/** The module a weight key holds: the key without `.weight` (OpenCLIP's packed `in_proj_weight` → `in_proj`). */
function moduleOfKey(key: string): string | undefined {
  if (key.endsWith(`${IN_PROJ}_weight`)) return key.slice(0, -'_weight'.length);
  return key.endsWith('.weight') ? key.slice(0, -'.weight'.length) : undefined;
}

/**
 * Every name an adapter may give each adaptable module of this model: kohya names from the diffusers path and
 * from the LDM path (files trained on LDM-format checkpoints, kohya's SDXL scripts), diffusers/PEFT dotted paths.
 */
export function moduleTable(keys: readonly string[], shapeOf: (key: string) => readonly number[], arch: UnetArch): ModuleTable {
  const blocks = blockMap(arch);
  const sdxl = keys.some((k) => k.startsWith(OPEN_CLIP_ROOT));
  const table: ModuleTable = { family: sdxl ? 'SDXL' : 'SD1.x', byName: new Map(), rows: new Map(), shapes: new Map(), diffusers: new Map() };
  const name = (kohya: string, dotted: string, path: string, module: string) => {
    table.byName.set(`${kohya}${path.replace(/\./g, '_')}`, module);
    table.byName.set(`${dotted}${path}`, module);
  };
  for (const key of keys) {
    const module = moduleOfKey(key);
    if (module === undefined || !isAdaptable(module)) continue;
    const shape = shapeOf(key);
    table.shapes.set(module, shape);
    if (module.startsWith(UNET_ROOT)) {
      const ldm = module.slice(UNET_ROOT.length);
      table.byName.set(`lora_unet_${ldm.replace(/\./g, '_')}`, module);
      const path = diffusersUnetPath(ldm, blocks);
      if (path) {
        table.diffusers.set(module, path);
        name('lora_unet_', 'unet.', path, module);
      }
    } else if (module.startsWith(OPEN_CLIP_ROOT)) {
      const parts = openClipNames(module.slice(OPEN_CLIP_ROOT.length), shape[1]!);
      table.diffusers.set(module, parts.length === 1 ? parts[0]!.path : module.slice(OPEN_CLIP_ROOT.length));
      for (const p of parts) {
        name('lora_te2_', 'text_encoder_2.', p.path, module);
        if (p.rows) for (const n of [`lora_te2_${p.path.replace(/\./g, '_')}`, `text_encoder_2.${p.path}`]) table.rows.set(n, p.rows);
      }
    } else {
      const root = CLIP_ROOTS.find((r) => module.startsWith(r))!;
      const path = `text_model.${module.slice(root.length)}`;
      table.diffusers.set(module, path);
      name(sdxl ? 'lora_te1_' : 'lora_te_', 'text_encoder.', path, module);
    }
  }
  return table;
}

// How diffusers numbers an LDM UNet's blocks (diffusers' convert_from_ckpt / single_file_utils
// convert_ldm_unet_checkpoint): shared by adapter names (diffusers/PEFT LoRAs, core/src/adapters/targets.ts)
// and diffusers-format ControlNets (./diffusers-controlnet.ts), so both read one numbering.
import type { UnetArch } from './arch.js';

/** LDM ResBlock part → diffusers ResnetBlock2D part (convert_ldm_unet_checkpoint's renew_resnet_paths). */
export const RESNET_PARTS: Readonly<Record<string, string>> = {
  'in_layers.0': 'norm1',
  'in_layers.2': 'conv1',
  'emb_layers.1': 'time_emb_proj',
  'out_layers.0': 'norm2',
  'out_layers.3': 'conv2',
  skip_connection: 'conv_shortcut',
};

export type BlockKind = 'resnet' | 'attention' | 'down' | 'up';
export type BlockMap = Map<string, { diffusers: string; kind: BlockKind }>;

/**
 * LDM block prefix (e.g. `input_blocks.4.1`) → diffusers module prefix (`down_blocks.1.attentions.0`), for the
 * levels, ResBlocks per level and attention levels of `arch` (SD1.x and SDXL layouts alike).
 */
export function blockMap(arch: Pick<UnetArch, 'channelMult' | 'numResBlocks' | 'attentionResolutions'>): BlockMap {
  const map: BlockMap = new Map();
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

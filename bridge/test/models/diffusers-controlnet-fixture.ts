// The golden tiny cldm ControlNet written under diffusers' names (diffusion_pytorch_model.safetensors layout) by
// a table written here from diffusers' own conversion code, not by inverting Kirie's renaming, so tests of
// the product's diffusers reader are not circular.
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { serializeSafetensorsHeader } from '@kirie/core/models/safetensors';
import { SafetensorsFile } from '../../src/models/safetensors-file.js';

export const GOLDEN_CONTROLNET = join(import.meta.dirname, '../../../tests/golden/tiny-sd15/tiny-controlnet.safetensors');

/**
 * cldm block → diffusers module for the tiny ControlNet (4 levels × 2 ResNet blocks, attention on levels 0–2),
 * written out from diffusers' src/diffusers/loaders/single_file_utils.py: DIFFUSERS_TO_LDM_MAPPING["controlnet"]
 * ["layers"] (time_embed, conv_in, hint conv_in/conv_out), convert_controlnet_checkpoint (input_blocks.{1 + 3i + j}
 * → down_blocks.{i}.resnets/attentions.{j}, input_blocks.{3i + 3}.0.op → downsamplers.0.conv,
 * zero_convs.{i}.0 → controlnet_down_blocks.{i}, middle_block_out.0 → controlnet_mid_block,
 * input_hint_block.{2k} → controlnet_cond_embedding.blocks.{k - 1}).
 */
const BLOCKS: [ldm: string, diffusers: string][] = [
  ['time_embed.0', 'time_embedding.linear_1'],
  ['time_embed.2', 'time_embedding.linear_2'],
  ['input_blocks.0.0', 'conv_in'],
  ['input_blocks.1.0', 'down_blocks.0.resnets.0'],
  ['input_blocks.1.1', 'down_blocks.0.attentions.0'],
  ['input_blocks.2.0', 'down_blocks.0.resnets.1'],
  ['input_blocks.2.1', 'down_blocks.0.attentions.1'],
  ['input_blocks.3.0.op', 'down_blocks.0.downsamplers.0.conv'],
  ['input_blocks.4.0', 'down_blocks.1.resnets.0'],
  ['input_blocks.4.1', 'down_blocks.1.attentions.0'],
  ['input_blocks.5.0', 'down_blocks.1.resnets.1'],
  ['input_blocks.5.1', 'down_blocks.1.attentions.1'],
  ['input_blocks.6.0.op', 'down_blocks.1.downsamplers.0.conv'],
  ['input_blocks.7.0', 'down_blocks.2.resnets.0'],
  ['input_blocks.7.1', 'down_blocks.2.attentions.0'],
  ['input_blocks.8.0', 'down_blocks.2.resnets.1'],
  ['input_blocks.8.1', 'down_blocks.2.attentions.1'],
  ['input_blocks.9.0.op', 'down_blocks.2.downsamplers.0.conv'],
  ['input_blocks.10.0', 'down_blocks.3.resnets.0'],
  ['input_blocks.11.0', 'down_blocks.3.resnets.1'],
  ['middle_block.0', 'mid_block.resnets.0'],
  ['middle_block.1', 'mid_block.attentions.0'],
  ['middle_block.2', 'mid_block.resnets.1'],
  ['input_hint_block.0', 'controlnet_cond_embedding.conv_in'],
  ['input_hint_block.2', 'controlnet_cond_embedding.blocks.0'],
  ['input_hint_block.4', 'controlnet_cond_embedding.blocks.1'],
  ['input_hint_block.6', 'controlnet_cond_embedding.blocks.2'],
  ['input_hint_block.8', 'controlnet_cond_embedding.blocks.3'],
  ['input_hint_block.10', 'controlnet_cond_embedding.blocks.4'],
  ['input_hint_block.12', 'controlnet_cond_embedding.blocks.5'],
  ['input_hint_block.14', 'controlnet_cond_embedding.conv_out'],
  ['middle_block_out.0', 'controlnet_mid_block'],
  ...Array.from({ length: 12 }, (_, i): [string, string] => [`zero_convs.${i}.0`, `controlnet_down_blocks.${i}`]),
];
/** diffusers' renew_resnet_paths: ResBlock parts inside a resnets.{j} block. */
const RESNET: [ldm: string, diffusers: string][] = [
  ['in_layers.0', 'norm1'],
  ['in_layers.2', 'conv1'],
  ['emb_layers.1', 'time_emb_proj'],
  ['out_layers.0', 'norm2'],
  ['out_layers.3', 'conv2'],
  ['skip_connection', 'conv_shortcut'],
];

export function diffusersName(ldmKey: string): string {
  const key = ldmKey.slice('control_model.'.length);
  const block = BLOCKS.find(([ldm]) => key.startsWith(`${ldm}.`));
  if (!block) throw new Error(`test table has no block for ${ldmKey}`);
  let rest = key.slice(block[0].length + 1);
  if (block[1].includes('.resnets.')) {
    const part = RESNET.find(([ldm]) => rest.startsWith(`${ldm}.`));
    if (!part) throw new Error(`test table has no ResNet part for ${ldmKey}`);
    rest = `${part[1]}${rest.slice(part[0].length)}`;
  }
  return `${block[1]}.${rest}`;
}

export type Edit = (entries: { name: string; shape: number[] }[]) => void;

/** Writes the golden tiny ControlNet under diffusers' names (after `edit`: tensors added, removed, reshaped) to `path`. */
export async function writeDiffusersControlNet(path: string, edit: Edit = () => {}): Promise<void> {
  const src = await SafetensorsFile.open(GOLDEN_CONTROLNET);
  try {
    const entries = src.keys().map((k) => ({ name: diffusersName(k), shape: [...src.shape(k)], from: k }));
    edit(entries);
    const layout = entries.map((e) => ({ name: e.name, dtype: src.dtype(e.from), shape: e.shape }));
    const { prefix } = serializeSafetensorsHeader(layout);
    const data = await Promise.all(
      entries.map(async (e) => {
        const bytes = await src.readBytes(e.from);
        const size = (e.shape.reduce((a, b) => a * b, 1) * bytes.length) / src.shape(e.from).reduce((a, b) => a * b, 1);
        // A reshaped tensor gets zeros of its new size: only its header shape matters to the tests.
        return size === bytes.length ? bytes : new Uint8Array(size);
      }),
    );
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, Buffer.concat([prefix, ...data]));
  } finally {
    await src.close();
  }
}

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { detectCheckpoint, identifyWeights, type Family } from '../../src/models/detect.js';

type KeyTable = Record<string, [number[], string]>;
const full = JSON.parse(readFileSync(new URL('../../../tests/golden/tiny-sd15/sd15-full-keys.json', import.meta.url), 'utf8')) as Record<string, KeyTable>;

/** A key set with shapes, as a checkpoint header would give them. */
function keySet(table: Record<string, number[]>): [string[], (k: string) => number[] | undefined] {
  return [Object.keys(table), (k) => table[k]];
}
const fromFull = (t: KeyTable) => Object.fromEntries(Object.entries(t).map(([k, [shape]]) => [k, shape]));
const w = (...keys: string[]) => Object.fromEntries(keys.map((k) => [k, [4, 4]]));

const sd15 = fromFull(full.sd15);
const without = (table: Record<string, number[]>, p: string) => Object.fromEntries(Object.entries(table).filter(([k]) => !k.startsWith(p)));
const renamed = (table: Record<string, number[]>, from: string, to: string) => Object.fromEntries(Object.entries(table).map(([k, v]) => [k.startsWith(from) ? to + k.slice(from.length) : k, v]));

const cases: [string, Record<string, number[]>, Family, RegExp][] = [
  ['SD1.5 (full-size key list)', sd15, 'sd1', /^an SD1\.x checkpoint$/],
  ['SD1.5 + EMA and DDPM buffers', { ...sd15, betas: [1000], 'model_ema.decay': [], 'model_ema.diffusion_modeltime_embed0weight': [1280, 320] }, 'sd1', /SD1\.x checkpoint/],
  ['SD1.5 inpainting', fromFull(full.sd15_inpainting), 'sd1', /inpainting/],
  ['SD1.x with the old text-encoder prefix', renamed(sd15, 'cond_stage_model.transformer.text_model.', 'cond_stage_model.transformer.'), 'sd1', /SD1\.x checkpoint/],
  ['ControlNet 1.1', fromFull(full.controlnet_v11_sd15), 'controlnet', /ControlNet \(control_model/],
  ['diffusers ControlNet', { ...w('controlnet_cond_embedding.conv_in.weight', 'controlnet_down_blocks.0.weight'), 'mid_block.attentions.0.transformer_blocks.0.attn2.to_k.weight': [1280, 768] }, 'controlnet-diffusers', /diffusers format/],
  ['SD2 diffusers ControlNet', { ...w('controlnet_cond_embedding.conv_in.weight', 'controlnet_down_blocks.0.weight'), 'mid_block.attentions.0.transformer_blocks.0.attn2.to_k.weight': [1280, 1024] }, 'sd2-controlnet', /SD2\.x ControlNet/],
  ['SDXL diffusers ControlNet', w('controlnet_cond_embedding.conv_in.weight', 'controlnet_down_blocks.0.weight', 'add_embedding.linear_1.weight'), 'sdxl-controlnet', /SDXL ControlNet/],
  ['SDXL LDM ControlNet', w('control_model.input_blocks.0.0.weight', 'control_model.label_emb.0.0.weight'), 'sdxl-controlnet', /SDXL ControlNet/],
  ['SD2 ControlNet', { 'control_model.input_blocks.0.0.weight': [320, 4, 3, 3], 'control_model.middle_block.1.transformer_blocks.0.attn2.to_k.weight': [1280, 1024] }, 'sd2-controlnet', /SD2\.x ControlNet/],
  ['SDXL checkpoint', w('conditioner.embedders.0.transformer.text_model.embeddings.token_embedding.weight', 'conditioner.embedders.1.model.ln_final.weight', 'model.diffusion_model.label_emb.0.0.weight', 'model.diffusion_model.input_blocks.0.0.weight', 'first_stage_model.encoder.conv_in.weight'), 'sdxl', /^an SDXL checkpoint$/],
  ['SDXL checkpoint without its VAE', w('conditioner.embedders.0.transformer.text_model.embeddings.token_embedding.weight', 'conditioner.embedders.1.model.ln_final.weight', 'model.diffusion_model.label_emb.0.0.weight', 'model.diffusion_model.input_blocks.0.0.weight'), 'sdxl-incomplete', /SDXL checkpoint without its VAE/],
  ['SDXL refiner', w('conditioner.embedders.0.model.ln_final.weight', 'model.diffusion_model.label_emb.0.0.weight'), 'sdxl-refiner', /SDXL refiner/],
  ['SDXL UNet only', w('model.diffusion_model.label_emb.0.0.weight', 'model.diffusion_model.input_blocks.0.0.weight'), 'sdxl-incomplete', /SDXL UNet without its text encoders/],
  ['SD2.1 (OpenCLIP)', { ...w('cond_stage_model.model.token_embedding', 'first_stage_model.encoder.conv_in.weight'), 'model.diffusion_model.input_blocks.0.0.weight': [320, 4, 3, 3] }, 'sd2', /SD2\.x checkpoint/],
  ['SD2-shaped UNet (context 1024)', { ...sd15, 'model.diffusion_model.middle_block.1.transformer_blocks.0.attn2.to_k.weight': [1280, 1024] }, 'sd2', /SD2\.x/],
  ['SD3', w('model.diffusion_model.joint_blocks.0.x_block.attn.qkv.weight', 'text_encoders.clip_l.transformer.text_model.final_layer_norm.weight'), 'sd3', /Stable Diffusion 3/],
  ['Flux (bare keys)', w('double_blocks.0.img_attn.qkv.weight', 'single_blocks.0.linear1.weight'), 'flux', /Flux/],
  ['Flux (LDM prefix)', w('model.diffusion_model.double_blocks.0.img_attn.qkv.weight'), 'flux', /Flux/],
  ['kohya LoRA', w('lora_unet_down_blocks_0_attentions_0_proj_in.lora_down.weight', 'lora_te_text_model_encoder_layers_0_mlp_fc1.alpha'), 'lora', /LoRA/],
  ['diffusers/PEFT LoRA', w('unet.down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q.lora_A.weight'), 'lora', /LoRA/],
  ['LyCORIS LoHa', w('lora_unet_mid_block_attentions_0_proj_in.hada_w1_a'), 'lora', /LyCORIS/],
  ['textual inversion', w('emb_params'), 'embedding', /textual-inversion/],
  ['LDM VAE', w('encoder.conv_in.weight', 'decoder.conv_in.weight', 'quant_conv.weight'), 'vae', /VAE on its own/],
  ['VAE with first_stage_model prefix only', w('first_stage_model.encoder.conv_in.weight'), 'vae', /VAE/],
  ['diffusers UNet', w('conv_in.weight', 'time_embedding.linear_1.weight', 'down_blocks.0.resnets.0.conv1.weight'), 'diffusers-unet', /diffusers-format UNet/],
  ['CLIP text encoder', w('text_model.embeddings.token_embedding.weight', 'text_model.encoder.layers.0.mlp.fc1.weight'), 'text-encoder', /text encoder on its own/],
  ['InstructPix2Pix', { ...sd15, 'model.diffusion_model.input_blocks.0.0.weight': [320, 8, 3, 3] }, 'sd1-unsupported-channels', /InstructPix2Pix/],
  ['UNet without VAE', without(sd15, 'first_stage_model.'), 'sd1-incomplete', /without its VAE \(first_stage_model/],
  ['UNet alone', without(without(sd15, 'first_stage_model.'), 'cond_stage_model.'), 'sd1-incomplete', /without its VAE .* and text encoder/],
  ['something else', w('foo.weight', 'bar.bias'), 'unknown', /unrecognised file .*first keys: foo\.weight, bar\.bias/],
  ['empty file', {}, 'unknown', /first keys: none/],
];

describe('identifyWeights', () => {
  it.each(cases)('%s', (_name, table, family, description) => {
    const [keys, shapeOf] = keySet(table);
    const id = identifyWeights(keys, shapeOf);
    expect(id.family).toBe(family);
    expect(id.description).toMatch(description);
  });
});

describe('detectCheckpoint', () => {
  it('accepts SD1.x and SDXL (4 and 9 channels) and ControlNets', () => {
    expect(detectCheckpoint(...keySet(sd15), 'a.safetensors')).toEqual({ kind: 'checkpoint', family: 'sd1', unetInChannels: 4 });
    expect(detectCheckpoint(...keySet(fromFull(full.sd15_inpainting)), 'a.safetensors')).toEqual({ kind: 'checkpoint', family: 'sd1', unetInChannels: 9 });
    const sdxl = JSON.parse(readFileSync(new URL('../../../tests/golden/tiny-sd15/sdxl-full-keys.json', import.meta.url), 'utf8')) as Record<string, KeyTable>;
    expect(detectCheckpoint(...keySet(fromFull(sdxl.sdxl_base)), 'x.safetensors')).toEqual({ kind: 'checkpoint', family: 'sdxl', unetInChannels: 4 });
    expect(detectCheckpoint(...keySet(fromFull(sdxl.sdxl_inpainting_9ch)), 'x.safetensors')).toEqual({ kind: 'checkpoint', family: 'sdxl', unetInChannels: 9 });
    expect(detectCheckpoint(...keySet(fromFull(full.controlnet_v11_sd15)), 'c.safetensors')).toEqual({ kind: 'controlnet' });
    const diffusers = cases.find(([name]) => name === 'diffusers ControlNet')![1];
    expect(detectCheckpoint(...keySet(diffusers), 'diffusion_pytorch_model.safetensors')).toEqual({ kind: 'controlnet', format: 'diffusers' });
  });

  it.each(cases.filter(([, , f]) => f !== 'sd1' && f !== 'sdxl' && f !== 'controlnet' && f !== 'controlnet-diffusers'))('refuses %s with a message naming what it is', (_name, table, _family, description) => {
    const [keys, shapeOf] = keySet(table);
    let message = '';
    try {
      detectCheckpoint(keys, shapeOf, 'model.safetensors');
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(/^model\.safetensors is /);
    expect(message).toMatch(description);
    expect(message).toMatch(/Kirie (supports|reads)/);
  });
});

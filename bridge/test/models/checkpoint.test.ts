import { readFileSync } from 'node:fs';
import { copyFile, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { SD15_ARCH } from '@kirie/core/models/arch';
import { resolveArchitecture } from '@kirie/core/models/sidecar';
import * as ort from 'onnxruntime-node';
import { parseNpy } from '@kirie/core/io/npy';
import { serializeSafetensorsHeader } from '@kirie/core/models/safetensors';
import { openCheckpoint } from '../../src/models/checkpoint.js';
import { buildCheckpoint } from '../../src/models/load.js';
import { SafetensorsFile } from '../../src/models/safetensors-file.js';
import { tempDirPerFile } from './temp-dir.js';

const golden = new URL('../../../tests/golden/tiny-sd15/', import.meta.url).pathname;
const tmp = tempDirPerFile('kirie-ckpt-');

/** Copies a golden checkpoint into the temp folder, with the given sidecar text (or none). */
async function place(name: string, as: string, yaml?: string): Promise<string> {
  const path = join(tmp.path, `${as}.safetensors`);
  await copyFile(join(golden, `${name}.safetensors`), path);
  await rm(join(tmp.path, `${as}.yaml`), { force: true });
  if (yaml !== undefined) await writeFile(join(tmp.path, `${as}.yaml`), yaml);
  return path;
}
const goldenYaml = (name: string) => readFile(join(golden, `${name}.yaml`), 'utf8');

describe('openCheckpoint', () => {
  it('reads the tiny checkpoint with its sidecar', async () => {
    const ckpt = await openCheckpoint(join(golden, 'tiny-sd15.safetensors'));
    try {
      expect(ckpt.kind).toEqual({ kind: 'checkpoint', family: 'sd1', unetInChannels: 4 });
      expect(ckpt.arch.unet).toMatchObject({ modelChannels: 32, channelMult: [1, 1, 2, 2], contextDim: 32, numHeads: 8, inChannels: 4 });
      expect(ckpt.arch.vae).toMatchObject({ ch: 32, chMult: [1, 1, 2, 2], scaleFactor: 0.18215 });
      expect(ckpt.arch.textEncoder).toMatchObject({ hiddenSize: 32, numLayers: 2, numHeads: 4, intermediateSize: 64 });
      expect(ckpt.sidecarText).toContain('tiny_text_encoder_config');
    } finally {
      await ckpt.file.close();
    }
  });

  it('reads the inpainting and ControlNet sidecars', async () => {
    const inpaint = await openCheckpoint(join(golden, 'tiny-sd15-inpainting.safetensors'));
    await inpaint.file.close();
    expect(inpaint.kind).toEqual({ kind: 'checkpoint', family: 'sd1', unetInChannels: 9 });
    expect(inpaint.arch.unet.inChannels).toBe(9);
    const cn = await openCheckpoint(join(golden, 'tiny-controlnet.safetensors'));
    await cn.file.close();
    expect(cn.kind).toEqual({ kind: 'controlnet' });
    expect(cn.arch.controlnet).toMatchObject({ modelChannels: 32, hintChannels: 3, inChannels: 4, contextDim: 32 });
  });

  it('without a sidecar, a tiny checkpoint is refused with the fix in the message', async () => {
    const path = await place('tiny-sd15', 'tiny-sd15');
    await expect(openCheckpoint(path)).rejects.toThrow(
      /^tiny-sd15\.safetensors: tensor shapes do not match SD1\.5 \(model\.diffusion_model\.input_blocks\.0\.0\.weight is \[32, 4, 3, 3\], expected \[320, 4, 3, 3\]\); put a tiny-sd15\.yaml next to it$/,
    );
  });

  it('a sidecar that contradicts the weights is named', async () => {
    const text = await goldenYaml('tiny-sd15');
    const moreLayers = parse(text);
    moreLayers.tiny_text_encoder_config.num_hidden_layers = 1;
    await expect(openCheckpoint(await place('tiny-sd15', 'm1', stringify(moreLayers)))).rejects.toThrow(/m1\.safetensors: has more blocks than m1\.yaml describes \(found cond_stage_model\.transformer\.text_model\.encoder\.layers\.1\.\*\); fix m1\.yaml/);
    const wider = parse(text);
    wider.model.params.unet_config.params.context_dim = 768;
    await expect(openCheckpoint(await place('tiny-sd15', 'm2', stringify(wider)))).rejects.toThrow(/m2\.safetensors: tensor shapes do not match m2\.yaml \(model\.diffusion_model\.middle_block\.1\.transformer_blocks\.0\.attn2\.to_k\.weight is \[64, 32\], expected \[64, 768\]\)/);
    const deeper = parse(text);
    deeper.model.params.unet_config.params.num_res_blocks = 3;
    await expect(openCheckpoint(await place('tiny-sd15', 'm3', stringify(deeper)))).rejects.toThrow(/m3\.safetensors: tensor .* (is missing|do not match)/);
    await expect(openCheckpoint(await place('tiny-sd15', 'm4', 'model: [1, 2'))).rejects.toThrow(/m4\.yaml: not valid YAML/);
    await expect(openCheckpoint(await place('tiny-sd15', 'm5', 'model:\n  params:\n    unet_config:\n      params:\n        model_channels: "wide"\n'))).rejects.toThrow(/m5\.yaml: not a CompVis\/LDM model config/);
  });

  it('maps the pre-transformers-4 text encoder keys (no text_model.) and builds from them', async () => {
    const src = await SafetensorsFile.open(join(golden, 'tiny-sd15.safetensors'));
    const old = join(tmp.path, 'old-keys.safetensors');
    try {
      const names = src.keys();
      const layout = names.map((k) => ({ name: k.replace('cond_stage_model.transformer.text_model.', 'cond_stage_model.transformer.'), dtype: src.dtype(k), shape: src.shape(k) }));
      const { prefix } = serializeSafetensorsHeader(layout);
      const parts = [prefix, ...(await Promise.all(names.map((k) => src.readBytes(k))))];
      await writeFile(old, Buffer.concat(parts));
    } finally {
      await src.close();
    }
    await copyFile(join(golden, 'tiny-sd15.yaml'), join(tmp.path, 'old-keys.yaml'));
    const ckpt = await openCheckpoint(old);
    await ckpt.file.close();
    expect(ckpt.file.keys()).toContain('cond_stage_model.transformer.text_model.final_layer_norm.weight');
    const built = await buildCheckpoint(old, [{ component: 'text_encoder', options: { precision: 'fp32' }, external: false }], { cacheDir: join(tmp.path, 'cache') }, 'checkpoint');
    const session = await ort.InferenceSession.create(join(built.dir, built.models.text_encoder!));
    try {
      const cases = JSON.parse(readFileSync(join(golden, '..', 'components', 'case.json'), 'utf8')).cases;
      const item = cases.text_encoder.items[0];
      const out = await session.run({ input_ids: new ort.Tensor('int32', Int32Array.from(item.input_ids as number[]), [1, 77]) });
      const expected = parseNpy(new Uint8Array(readFileSync(join(golden, '..', 'components', item.last_hidden_state)))).data as Float32Array;
      const actual = out.last_hidden_state.data as Float32Array;
      expect(actual.reduce((m, v, i) => Math.max(m, Math.abs(v - expected[i])), 0)).toBeLessThan(1e-4);
    } finally {
      await session.release();
    }
  });

  it.each([
    ['sdxl', ['conditioner.embedders.0.transformer.text_model.final_layer_norm.weight', 'conditioner.embedders.1.model.ln_final.weight', 'model.diffusion_model.input_blocks.0.0.weight'], /sdxl\.safetensors is an SDXL checkpoint without its UNet \(model\.diffusion_model\.\*\) and VAE .*; Kirie supports SD1\.x and SDXL checkpoints/],
    ['lora', ['lora_unet_down_blocks_0_attentions_0_proj_in.lora_down.weight', 'lora_unet_down_blocks_0_attentions_0_proj_in.lora_up.weight', 'lora_unet_down_blocks_0_attentions_0_proj_in.alpha'], /lora\.safetensors is a LoRA\/LyCORIS adapter/],
    ['flux', ['double_blocks.0.img_attn.qkv.weight', 'single_blocks.0.linear1.weight', 'img_in.weight'], /flux\.safetensors is a Flux model \(double_blocks\.\*\)/],
    ['vae', ['encoder.conv_in.weight', 'decoder.conv_in.weight', 'quant_conv.weight'], /vae\.safetensors is a VAE on its own/],
  ])('refuses a %s file, naming what it looks like', async (name, keys, message) => {
    const layout = keys.map((k) => ({ name: k, dtype: 'F16' as const, shape: [4, 4] }));
    const { prefix, fileSize } = serializeSafetensorsHeader(layout);
    const path = join(tmp.path, `${name}.safetensors`);
    const bytes = new Uint8Array(fileSize);
    bytes.set(prefix);
    await writeFile(path, bytes);
    await expect(openCheckpoint(path)).rejects.toThrow(message);
  });

  it('refuses other architectures and non-safetensors files before reading a sidecar', async () => {
    await expect(openCheckpoint(join(tmp.path, 'model.ckpt'))).rejects.toThrow(/model\.ckpt: only \.safetensors checkpoints/);
  });
});

describe('resolveArchitecture on full-size key lists', () => {
  const full = JSON.parse(readFileSync(join(golden, 'sd15-full-keys.json'), 'utf8')) as Record<string, Record<string, [number[], string]>>;
  const opts = (table: Record<string, [number[], string]>, yaml?: unknown) => ({
    keys: Object.keys(table),
    shapeOf: (k: string) => table[k]?.[0],
    yaml,
    label: 'real.safetensors',
    sidecarName: 'real.yaml',
  });

  it('SD1.5 without a sidecar gets SD1.5 defaults', () => {
    expect(resolveArchitecture(opts(full.sd15))).toEqual(SD15_ARCH);
  });
  it('SD1.5 inpainting without a sidecar is told by its 9 input channels', () => {
    const arch = resolveArchitecture(opts(full.sd15_inpainting));
    expect(arch.unet.inChannels).toBe(9);
    expect(arch.vae).toEqual(SD15_ARCH.vae);
  });
  it('ControlNet 1.1 without a sidecar gets SD1.5 defaults', () => {
    expect(resolveArchitecture(opts(full.controlnet_v11_sd15)).controlnet).toEqual(SD15_ARCH.controlnet);
  });
  it('a full-size checkpoint with a tiny sidecar is refused', () => {
    const tiny = parse(readFileSync(join(golden, 'tiny-sd15.yaml'), 'utf8'));
    expect(() => resolveArchitecture(opts(full.sd15, tiny))).toThrow(/real\.safetensors: tensor shapes do not match real\.yaml .*; fix real\.yaml/);
  });
});

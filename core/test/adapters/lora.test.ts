// Adapter readers and the key mapping, on the real full-size SD1.5 key list: every name form an adapter file
// uses lands on the checkpoint module it means, every format's ΔW follows the README's formula, and a file
// that does not fit is refused as a whole, saying why.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loraFamily } from '../../src/adapters/family.js';
import { moduleDelta, readLora, type AdapterTensors } from '../../src/adapters/lora.js';
import { isAdaptable, moduleTable } from '../../src/adapters/targets.js';
import { SD15_ARCH } from '../../src/models/arch.js';
import { SDXL_ARCH } from '../../src/models/sdxl-arch.js';

type KeyTable = Record<string, [number[], string]>;
const full = JSON.parse(readFileSync(new URL('../../../tests/golden/tiny-sd15/sd15-full-keys.json', import.meta.url), 'utf8')) as Record<string, KeyTable>;
const sd15 = Object.fromEntries(Object.entries(full.sd15!).map(([k, [shape]]) => [k, shape]));
const table = moduleTable(Object.keys(sd15), (k) => sd15[k]!, SD15_ARCH.unet);

const U = 'model.diffusion_model.';
const T = 'cond_stage_model.transformer.text_model.';

describe('moduleTable: every name form maps onto the checkpoint module', () => {
  it.each([
    ['lora_unet_down_blocks_0_attentions_0_transformer_blocks_0_attn1_to_q', `${U}input_blocks.1.1.transformer_blocks.0.attn1.to_q`],
    ['lora_unet_input_blocks_1_1_transformer_blocks_0_attn1_to_q', `${U}input_blocks.1.1.transformer_blocks.0.attn1.to_q`],
    ['lora_unet_up_blocks_3_attentions_2_transformer_blocks_0_ff_net_0_proj', `${U}output_blocks.11.1.transformer_blocks.0.ff.net.0.proj`],
    ['lora_unet_mid_block_attentions_0_proj_in', `${U}middle_block.1.proj_in`],
    ['lora_unet_down_blocks_0_resnets_0_conv1', `${U}input_blocks.1.0.in_layers.2`],
    ['lora_unet_down_blocks_1_resnets_0_conv_shortcut', `${U}input_blocks.4.0.skip_connection`],
    ['lora_unet_mid_block_resnets_1_time_emb_proj', `${U}middle_block.2.emb_layers.1`],
    ['lora_unet_down_blocks_2_downsamplers_0_conv', `${U}input_blocks.9.0.op`],
    ['lora_unet_input_blocks_9_0_op', `${U}input_blocks.9.0.op`],
    // SD1.5's first upsampler sits in a block without attention (index 1); the others after one (index 2).
    ['lora_unet_up_blocks_0_upsamplers_0_conv', `${U}output_blocks.2.1.conv`],
    ['unet.up_blocks.1.upsamplers.0.conv', `${U}output_blocks.5.2.conv`],
    ['lora_unet_output_blocks_8_2_conv', `${U}output_blocks.8.2.conv`],
    ['unet.down_blocks.0.attentions.1.transformer_blocks.0.attn2.to_out.0', `${U}input_blocks.2.1.transformer_blocks.0.attn2.to_out.0`],
    ['lora_te_text_model_encoder_layers_11_mlp_fc2', `${T}encoder.layers.11.mlp.fc2`],
    ['text_encoder.text_model.encoder.layers.0.self_attn.out_proj', `${T}encoder.layers.0.self_attn.out_proj`],
  ])('%s → %s', (name, module) => {
    expect(table.byName.get(name)).toBe(module);
  });

  it('offers nothing kohya leaves alone (conv_in/out, time embedding, norms)', () => {
    for (const name of ['lora_unet_conv_in', 'lora_unet_conv_out', 'lora_unet_time_embedding_linear_1', 'lora_unet_down_blocks_0_resnets_0_norm1', 'unet.conv_in']) expect(table.byName.has(name)).toBe(false);
    for (const module of [`${U}input_blocks.0.0`, `${U}out.2`, `${U}time_embed.0`, `${T}final_layer_norm`]) expect(isAdaptable(module)).toBe(false);
  });

  it('gives every adaptable SD1.5 weight a diffusers name (UNet 278 + text encoder 72 modules)', () => {
    const unet = [...table.shapes.keys()].filter((m) => m.startsWith(U));
    // 16 transformers × 12 layers, 22 ResBlocks × 3 + 14 conv_shortcuts, 3 downsamplers, 3 upsamplers.
    expect(unet.length).toBe(16 * 12 + 22 * 3 + 14 + 3 + 3);
    expect(table.shapes.size - unet.length).toBe(72);
    expect([...table.shapes.keys()].every((m) => table.diffusers.has(m))).toBe(true);
  });
});

/** An adapter file in memory. */
function file(tensors: Record<string, [number[], number[]]>, label = 'style.safetensors'): AdapterTensors {
  return {
    label,
    keys: () => Object.keys(tensors),
    shape: (k) => tensors[k]![0],
    read: async (k) => Float32Array.from(tensors[k]![1]),
  };
}

const Q = 'lora_unet_mid_block_attentions_0_transformer_blocks_0_attn1_to_q';
const MODULE = `${U}middle_block.1.transformer_blocks.0.attn1.to_q`;
const seq = (n: number, scale = 0.01) => Array.from({ length: n }, (_, i) => Math.fround(((i % 7) - 3) * scale));

/** up [out, r] @ down [r, in] in float64. */
function matmul(up: number[], down: number[], out: number, r: number, inn: number): number[] {
  return Array.from({ length: out * inn }, (_, k) => {
    const [o, i] = [Math.floor(k / inn), k % inn];
    let s = 0;
    for (let p = 0; p < r; p++) s += up[o * r + p]! * down[p * inn + i]!;
    return s;
  });
}

describe('readLora: ΔW per format', () => {
  const down = seq(4 * 1280);
  const up = seq(1280 * 4, 0.02);
  const plain = matmul(up, down, 1280, 4, 1280);

  it.each([
    ['kohya with alpha', { [`${Q}.lora_down.weight`]: [[4, 1280], down], [`${Q}.lora_up.weight`]: [[1280, 4], up], [`${Q}.alpha`]: [[], [2]] }, 0.5],
    ['kohya without alpha (alpha = rank)', { [`${Q}.lora_down.weight`]: [[4, 1280], down], [`${Q}.lora_up.weight`]: [[1280, 4], up] }, 1],
    ['diffusers 0.24', { 'unet.mid_block.attentions.0.transformer_blocks.0.attn1.to_q.lora.down.weight': [[4, 1280], down], 'unet.mid_block.attentions.0.transformer_blocks.0.attn1.to_q.lora.up.weight': [[1280, 4], up] }, 1],
    ['diffusers 0.24 scripts (doubled unet. prefix)', { 'unet.unet.mid_block.attentions.0.transformer_blocks.0.attn1.to_q.lora.down.weight': [[4, 1280], down], 'unet.unet.mid_block.attentions.0.transformer_blocks.0.attn1.to_q.lora.up.weight': [[1280, 4], up] }, 1],
    ['PEFT', { 'unet.mid_block.attentions.0.transformer_blocks.0.attn1.to_q.lora_A.weight': [[4, 1280], down], 'unet.mid_block.attentions.0.transformer_blocks.0.attn1.to_q.lora_B.weight': [[1280, 4], up] }, 1],
  ] as const)('%s', async (_, tensors, scale) => {
    const lora = await readLora(file(tensors as unknown as Record<string, [number[], number[]]>), table);
    expect(lora.modules.map((m) => m.module)).toEqual([MODULE]);
    const delta = moduleDelta(lora.modules[0]!);
    for (const i of [0, 1, 777, 1280 * 1280 - 1]) expect(delta[i]).toBeCloseTo(plain[i]! * scale, 7);
  });

  it('LoHa: (w1a·w1b) ⊙ (w2a·w2b) · alpha/r', async () => {
    const name = 'lora_te_text_model_encoder_layers_0_self_attn_q_proj';
    const [a1, b1, a2, b2] = [seq(768 * 2), seq(2 * 768, 0.03), seq(768 * 2, 0.02), seq(2 * 768, 0.05)];
    const lora = await readLora(file({ [`${name}.hada_w1_a`]: [[768, 2], a1], [`${name}.hada_w1_b`]: [[2, 768], b1], [`${name}.hada_w2_a`]: [[768, 2], a2], [`${name}.hada_w2_b`]: [[2, 768], b2], [`${name}.alpha`]: [[], [1]] }), table);
    expect(lora.kinds).toEqual(['loha']);
    const w1 = matmul(a1, b1, 768, 2, 768);
    const w2 = matmul(a2, b2, 768, 2, 768);
    const delta = moduleDelta(lora.modules[0]!);
    for (const i of [0, 5, 768 * 300 + 7]) expect(delta[i]).toBeCloseTo(w1[i]! * w2[i]! * 0.5, 9);
  });

  it('LoKr: kron(w1, w2) reshaped; scale 1 with both factors full (alpha ignored), alpha/r with one decomposed', async () => {
    // to_q of the mid block: 1280 × 1280 = (32·40) × (32·40).
    const w1 = seq(32 * 32, 0.1);
    const w2 = seq(40 * 40, 0.2);
    const both = await readLora(file({ [`${Q}.lokr_w1`]: [[32, 32], w1], [`${Q}.lokr_w2`]: [[40, 40], w2], [`${Q}.alpha`]: [[], [7]] }), table);
    const delta = moduleDelta(both.modules[0]!);
    const at = (o: number, i: number) => w1[Math.floor(o / 40) * 32 + Math.floor(i / 40)]! * w2[(o % 40) * 40 + (i % 40)]!;
    for (const [o, i] of [[0, 0], [41, 83], [1279, 1279]] as const) expect(delta[o * 1280 + i]).toBeCloseTo(at(o, i), 7);
    const decomposed = await readLora(file({ [`${Q}.lokr_w1`]: [[32, 32], w1], [`${Q}.lokr_w2_a`]: [[40, 2], seq(80)], [`${Q}.lokr_w2_b`]: [[2, 40], seq(80, 0.3)], [`${Q}.alpha`]: [[], [1]] }), table);
    expect(decomposed.modules[0]!.scale).toBe(0.5);
  });

  it.each([
    ['an SDXL LoRA', { 'lora_te1_text_model_encoder_layers_0_mlp_fc1.lora_down.weight': [[4, 768], []], 'lora_te1_text_model_encoder_layers_0_mlp_fc1.lora_up.weight': [[3072, 4], []] }, /for SDXL/],
    ['a module the model lacks', { 'lora_unet_down_blocks_9_attentions_0_proj_in.lora_down.weight': [[4, 320], []], 'lora_unet_down_blocks_9_attentions_0_proj_in.lora_up.weight': [[320, 4], []] }, /1 of 1 module\(s\) match nothing/],
    ['shapes of another family', { [`${Q}.lora_down.weight`]: [[4, 1024], seq(4096)], [`${Q}.lora_up.weight`]: [[1280, 4], seq(5120)] }, /another model family/],
    ['a key that is no adapter part', { [`${Q}.lora_down.weight`]: [[4, 1280], []], [`${Q}.lora_up.weight`]: [[1280, 4], []], 'unet.config': [[1], [0]] }, /not LoRA\/LyCORIS parts/],
    ['DoRA', { [`${Q}.lora_down.weight`]: [[4, 1280], []], [`${Q}.lora_up.weight`]: [[1280, 4], []], [`${Q}.dora_scale`]: [[1280, 1], []] }, /DoRA/],
    ['a half module', { [`${Q}.lora_down.weight`]: [[4, 1280], seq(5120)] }, /needs both a down and an up/],
  ] as const)('refuses %s as a whole', async (_, tensors, message) => {
    await expect(readLora(file(tensors as unknown as Record<string, [number[], number[]]>), table)).rejects.toThrow(message);
  });
});

describe('moduleTable on SDXL (full-size sgm keys)', () => {
  const listing = JSON.parse(readFileSync(new URL('../../../tests/golden/tiny-sd15/sdxl-full-keys.json', import.meta.url), 'utf8')) as Record<string, KeyTable>;
  const keys = Object.fromEntries(Object.entries(listing.sdxl_base!).map(([k, [shape]]) => [k, shape]));
  const xl = moduleTable(Object.keys(keys), (k) => keys[k]!, SDXL_ARCH.unet);
  const TE1 = 'conditioner.embedders.0.transformer.text_model.';
  const TE2 = 'conditioner.embedders.1.model.';

  it.each([
    // kohya's SDXL scripts train on the sgm UNet: LDM names; files converted from diffusers use its names.
    ['lora_unet_input_blocks_4_1_transformer_blocks_1_attn1_to_q', `${U}input_blocks.4.1.transformer_blocks.1.attn1.to_q`],
    ['lora_unet_down_blocks_2_attentions_1_transformer_blocks_9_ff_net_2', `${U}input_blocks.8.1.transformer_blocks.9.ff.net.2`],
    ['lora_unet_mid_block_attentions_0_proj_out', `${U}middle_block.1.proj_out`],
    ['unet.up_blocks.0.upsamplers.0.conv', `${U}output_blocks.2.2.conv`],
    ['lora_unet_up_blocks_2_resnets_2_conv2', `${U}output_blocks.8.0.out_layers.3`],
    ['lora_unet_input_blocks_4_0_skip_connection', `${U}input_blocks.4.0.skip_connection`],
    ['lora_te1_text_model_encoder_layers_11_self_attn_q_proj', `${TE1}encoder.layers.11.self_attn.q_proj`],
    ['text_encoder.text_model.encoder.layers.0.mlp.fc1', `${TE1}encoder.layers.0.mlp.fc1`],
    ['lora_te2_text_model_encoder_layers_31_mlp_fc2', `${TE2}transformer.resblocks.31.mlp.c_proj`],
    ['text_encoder_2.text_model.encoder.layers.5.self_attn.out_proj', `${TE2}transformer.resblocks.5.attn.out_proj`],
    ['lora_te2_text_model_encoder_layers_0_self_attn_v_proj', `${TE2}transformer.resblocks.0.attn.in_proj`],
  ])('%s → %s', (name, module) => {
    expect(xl.byName.get(name)).toBe(module);
  });

  it("maps OpenCLIP's q/k/v names onto the row blocks of the packed in_proj (q, k, v in that order)", () => {
    expect(['q', 'k', 'v'].map((p) => xl.rows.get(`lora_te2_text_model_encoder_layers_3_self_attn_${p}_proj`))).toEqual([0, 1280, 2560].map((start) => ({ start, count: 1280 })));
    expect(xl.shapes.get(`${TE2}transformer.resblocks.3.attn.in_proj`)).toEqual([3840, 1280]);
    expect(xl.family).toBe('SDXL');
    expect(xl.byName.has('lora_te_text_model_encoder_layers_0_mlp_fc1')).toBe(false);
  });

  it('gives every transformer, resnet and sampler layer of the UNet and both encoders a slot', () => {
    const count = (root: string) => [...xl.shapes.keys()].filter((m) => m.startsWith(root)).length;
    // Transformer blocks: 2·2 + 2·10 down, 10 mid, 3·10 + 3·2 up = 70, 10 layers each; 11 attentions' proj_in/out;
    // 17 ResBlocks × 3; conv_shortcuts at input_blocks 4 and 7 and every output block; 2 down-, 2 upsamplers.
    expect(count(U)).toBe(70 * 10 + 11 * 2 + 17 * 3 + (2 + 9) + 2 + 2);
    expect(count(TE1)).toBe(12 * 6);
    expect(count(TE2)).toBe(32 * 4);
  });

  it('refuses an SD1.x LoRA on an SDXL model as such', async () => {
    const f = file({ 'lora_te_text_model_encoder_layers_0_mlp_fc1.lora_down.weight': [[4, 768], []], 'lora_te_text_model_encoder_layers_0_mlp_fc1.lora_up.weight': [[3072, 4], []] });
    await expect(readLora(f, xl)).rejects.toThrow(/for SD1\.x\/SD2 .*this model is SDXL/);
  });
});

describe('loraFamily', () => {
  it.each([
    [{ 'lora_unet_mid_block_attentions_0_transformer_blocks_0_attn2_to_k.lora_down.weight': [4, 768] }, 'sd1'],
    [{ 'lora_unet_mid_block_attentions_0_transformer_blocks_0_attn2_to_k.lora_down.weight': [4, 1024] }, 'sd2'],
    [{ 'lora_te2_text_model_encoder_layers_0_mlp_fc1.lora_down.weight': [4, 1280] }, 'sdxl'],
    [{ 'lora_unet_mid_block_attentions_0_proj_in.lora_down.weight': [4, 1280] }, 'unknown'],
  ])('%j → %s', (shapes, family) => {
    const s = shapes as Record<string, number[]>;
    expect(loraFamily(Object.keys(s), (k) => s[k])).toBe(family);
  });
});

// SDXL LoRAs, exact by construction (there is no SDXL LoRA golden data): a kohya-named LoRA made here, on
// UNet layers (LDM and diffusers names, linear, 1x1 and 3x3 convs, an upsampler), CLIP-L and OpenCLIP bigG
// (q/k/v separately onto the packed in_proj, out_proj, MLP), applied through the graphs' adapter inputs, gives
// what graphs built from a checkpoint holding W + m·ΔW give. ΔW is computed here from the tensors made here.
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readLora, type AdapterTensors } from '@kirie/core/adapters/lora';
import { adapterFeeds, addedTokenWidth, slotsOf, type AdapterSlots, type FeedData } from '@kirie/core/adapters/slots';
import { moduleTable, type ModuleTable } from '@kirie/core/adapters/targets';
import { buildComponent } from '@kirie/core/models/build';
import type { Component, TensorSource } from '@kirie/core/models/types';
import { openCheckpoint, type OpenedCheckpoint } from '../../src/models/checkpoint.js';

const CKPT = join(import.meta.dirname, '../../../tests/golden/tiny-sd15/tiny-sdxl.safetensors');
const UNET = 0.7;
const TE = 0.5;
const RANK = 3;

/** kohya name → the checkpoint weight it changes and, for OpenCLIP q/k/v, the row block. */
const MODULES: [name: string, key: string, rows?: number][] = [
  ['lora_unet_input_blocks_4_1_transformer_blocks_0_attn1_to_q', 'model.diffusion_model.input_blocks.4.1.transformer_blocks.0.attn1.to_q.weight'],
  ['lora_unet_down_blocks_2_attentions_1_transformer_blocks_1_attn2_to_k', 'model.diffusion_model.input_blocks.8.1.transformer_blocks.1.attn2.to_k.weight'],
  ['lora_unet_middle_block_1_transformer_blocks_1_ff_net_0_proj', 'model.diffusion_model.middle_block.1.transformer_blocks.1.ff.net.0.proj.weight'],
  ['lora_unet_output_blocks_0_1_proj_in', 'model.diffusion_model.output_blocks.0.1.proj_in.weight'],
  ['lora_unet_input_blocks_1_0_in_layers_2', 'model.diffusion_model.input_blocks.1.0.in_layers.2.weight'],
  ['lora_unet_input_blocks_7_0_skip_connection', 'model.diffusion_model.input_blocks.7.0.skip_connection.weight'],
  ['lora_unet_input_blocks_7_0_emb_layers_1', 'model.diffusion_model.input_blocks.7.0.emb_layers.1.weight'],
  ['lora_unet_up_blocks_0_upsamplers_0_conv', 'model.diffusion_model.output_blocks.2.2.conv.weight'],
  ['lora_te1_text_model_encoder_layers_0_self_attn_q_proj', 'conditioner.embedders.0.transformer.text_model.encoder.layers.0.self_attn.q_proj.weight'],
  ['lora_te1_text_model_encoder_layers_1_mlp_fc2', 'conditioner.embedders.0.transformer.text_model.encoder.layers.1.mlp.fc2.weight'],
  ['lora_te2_text_model_encoder_layers_1_self_attn_q_proj', 'conditioner.embedders.1.model.transformer.resblocks.1.attn.in_proj_weight', 0],
  ['lora_te2_text_model_encoder_layers_1_self_attn_k_proj', 'conditioner.embedders.1.model.transformer.resblocks.1.attn.in_proj_weight', 1],
  ['lora_te2_text_model_encoder_layers_1_self_attn_v_proj', 'conditioner.embedders.1.model.transformer.resblocks.1.attn.in_proj_weight', 2],
  ['lora_te2_text_model_encoder_layers_3_self_attn_k_proj', 'conditioner.embedders.1.model.transformer.resblocks.3.attn.in_proj_weight', 1],
  ['lora_te2_text_model_encoder_layers_0_mlp_fc1', 'conditioner.embedders.1.model.transformer.resblocks.0.mlp.c_fc.weight'],
  ['lora_te2_text_model_encoder_layers_2_self_attn_out_proj', 'conditioner.embedders.1.model.transformer.resblocks.2.attn.out_proj.weight'],
];

function uniform(n: number, bound: number, seed: number): Float32Array {
  let s = seed;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return Math.fround((s / 2 ** 32 - 0.5) * 2 * bound);
  });
}

interface Made {
  file: AdapterTensors;
  /** Checkpoint key → ΔW at multiplier 1 in the weight's layout (float64). */
  deltas: Map<string, Float64Array>;
}

/** A kohya LoRA (rank 3, alpha 2) on MODULES with ΔW about a third of W, and its ΔW computed directly. */
function makeLora(ckpt: OpenedCheckpoint): Made {
  const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
  const deltas = new Map<string, Float64Array>();
  const scale = 2 / RANK;
  MODULES.forEach(([name, key, block], m) => {
    const shape = ckpt.file.shape(key);
    const inShape = shape.slice(1);
    const inFlat = inShape.reduce((a, b) => a * b, 1);
    const out = block === undefined ? shape[0]! : shape[0]! / 3;
    const down = uniform(RANK * inFlat, 1 / Math.sqrt(inFlat), 2 * m + 1);
    const up = uniform(out * RANK, 1, 2 * m + 2);
    tensors.set(`${name}.lora_down.weight`, { shape: [RANK, ...inShape], data: down });
    tensors.set(`${name}.lora_up.weight`, { shape: [out, RANK, ...inShape.slice(1).map(() => 1)], data: up });
    tensors.set(`${name}.alpha`, { shape: [], data: Float32Array.of(2) });
    if (!deltas.has(key)) deltas.set(key, new Float64Array(shape[0]! * inFlat));
    const delta = deltas.get(key)!;
    const row0 = (block ?? 0) * out;
    for (let o = 0; o < out; o++) {
      for (let i = 0; i < inFlat; i++) {
        let sum = 0;
        for (let r = 0; r < RANK; r++) sum += up[o * RANK + r]! * down[r * inFlat + i]!;
        delta[(row0 + o) * inFlat + i] += sum * scale;
      }
    }
  });
  const file: AdapterTensors = {
    label: 'sdxl-style.safetensors',
    keys: () => [...tensors.keys()],
    shape: (k) => tensors.get(k)!.shape,
    read: async (k) => tensors.get(k)!.data,
  };
  return { file, deltas };
}

/** The checkpoint with W + multiplier·ΔW in place of the adapted weights. */
function merged(ckpt: OpenedCheckpoint, deltas: Map<string, Float64Array>): TensorSource {
  return {
    keys: () => ckpt.file.keys(),
    shape: (k) => ckpt.file.shape(k),
    read: async (k) => {
      const w = await ckpt.file.read(k);
      const d = deltas.get(k);
      if (!d) return w;
      const m = k.startsWith('model.') ? UNET : TE;
      return Float32Array.from(w, (v, i) => v + m * d[i]!);
    },
  };
}

async function session(component: Component, source: TensorSource, ckpt: OpenedCheckpoint, adapterSlots: boolean): Promise<ort.InferenceSession> {
  const bytes = await buildComponent(component, source, ckpt.arch, { precision: 'fp32', adapterSlots });
  return ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, graphOptimizationLevel: 'all' });
}

function withFeeds(s: ort.InferenceSession, feeds: Record<string, ort.Tensor>, extra: readonly FeedData[]): Record<string, ort.Tensor> {
  for (const f of extra) if (s.inputNames.includes(f.name)) feeds[f.name] = new ort.Tensor('float32', f.data as Float32Array, f.dims);
  return feeds;
}

function relativeL2(a: Float32Array, b: Float32Array): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i]! - b[i]!) ** 2;
    den += b[i]! ** 2;
  }
  return Math.sqrt(num / den);
}

function maxAbs(a: Float32Array, b: Float32Array): number {
  return a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);
}

describe('SDXL LoRA through the adapter inputs equals the merged checkpoint', () => {
  let ckpt: OpenedCheckpoint;
  let table: ModuleTable;
  let made: Made;
  beforeAll(async () => {
    ckpt = await openCheckpoint(CKPT);
    table = moduleTable(ckpt.file.keys(), (k) => ckpt.file.shape(k), ckpt.arch.unet);
    made = makeLora(ckpt);
  });
  afterAll(() => ckpt.file.close());

  const ids = Int32Array.from({ length: 77 }, (_, i) => (i === 0 ? 49406 : i < 9 ? 320 + i * 37 : 49407));

  it('reads the file onto the modules it names (q/k/v as rows of the packed in_proj)', async () => {
    const lora = await readLora(made.file, table);
    expect(lora.modules.length).toBe(MODULES.length);
    const inProj = lora.modules.filter((m) => m.module === 'conditioner.embedders.1.model.transformer.resblocks.1.attn.in_proj');
    expect(inProj.map((m) => m.target)).toEqual(['text_encoder_2', 'text_encoder_2', 'text_encoder_2']);
    expect(inProj.every((m) => m.shape[0] === 120 && m.up.length === 120 * RANK)).toBe(true);
  });

  it.each([
    ['text_encoder', ['penultimate_hidden_state']],
    ['text_encoder_2', ['penultimate_hidden_state', 'text_embeds']],
  ] as const)('%s', async (component, outputs) => {
    const lora = await readLora(made.file, table);
    const slotted = await session(component, ckpt.file, ckpt, true);
    const reference = await session(component, merged(ckpt, made.deltas), ckpt, false);
    const plain = await session(component, ckpt.file, ckpt, false);
    const slots: AdapterSlots = component === 'text_encoder' ? { unet: [], textEncoder: slotsOf(slotted), addedTokenWidth: addedTokenWidth(slotted) } : { unet: [], textEncoder: [], textEncoder2: slotsOf(slotted), addedTokenWidth2: addedTokenWidth(slotted) };
    const feeds = adapterFeeds(slots, [{ adapter: lora, unet: UNET, textEncoder: TE }], [], false);
    const input = () => ({ input_ids: new ort.Tensor('int32', ids, [1, 77]) });
    const got = await slotted.run(withFeeds(slotted, input(), component === 'text_encoder' ? feeds.textEncoder : feeds.textEncoder2));
    const want = await reference.run(input());
    const without = await plain.run(input());
    for (const name of outputs) {
      const [g, w, n] = [got[name]!.data, want[name]!.data, without[name]!.data] as Float32Array[];
      expect(relativeL2(w!, n!), `${name}: the LoRA changes the output`).toBeGreaterThan(0.02);
      expect(maxAbs(g!, w!), name).toBeLessThan(1e-4);
    }
    await Promise.all([slotted.release(), reference.release(), plain.release()]);
  }, 120_000);

  it('unet', async () => {
    const lora = await readLora(made.file, table);
    const slotted = await session('unet', ckpt.file, ckpt, true);
    const reference = await session('unet', merged(ckpt, made.deltas), ckpt, false);
    const plain = await session('unet', ckpt.file, ckpt, false);
    const feeds = adapterFeeds({ unet: slotsOf(slotted), textEncoder: [] }, [{ adapter: lora, unet: UNET, textEncoder: TE }], [], false);
    const input = () => ({
      sample: new ort.Tensor('float32', Float32Array.from({ length: 4 * 16 * 16 }, (_, i) => Math.sin(i * 0.37)), [1, 4, 16, 16]),
      timestep: new ort.Tensor('float32', Float32Array.of(500), [1]),
      encoder_hidden_states: new ort.Tensor('float32', Float32Array.from({ length: 77 * 72 }, (_, i) => Math.cos(i * 0.11)), [1, 77, 72]),
      text_embeds: new ort.Tensor('float32', Float32Array.from({ length: 36 }, (_, i) => Math.sin(i)), [1, 36]),
      time_ids: new ort.Tensor('float32', Float32Array.of(128, 128, 0, 0, 128, 128), [1, 6]),
    });
    const got = (await slotted.run(withFeeds(slotted, input(), feeds.unet))).out_sample!.data as Float32Array;
    const want = (await reference.run(input())).out_sample!.data as Float32Array;
    const without = (await plain.run(input())).out_sample!.data as Float32Array;
    expect(relativeL2(want, without), 'the LoRA changes the output').toBeGreaterThan(0.02);
    expect(maxAbs(got, want)).toBeLessThan(2e-4);
    await Promise.all([slotted.release(), reference.release(), plain.release()]);
  }, 120_000);
});

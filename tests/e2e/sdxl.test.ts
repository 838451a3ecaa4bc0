// A tiny SDXL checkpoint end to end: dropped into the models folder with its sgm yaml, listed with its family,
// built on first use, run through the bridge (txt2img, the second prompt and micro-conditioning change the
// image, img2img), its recipe naming the family; a kohya SDXL LoRA applied from a prompt tag; an SDXL
// embedding (clip_l + clip_g) called in both prompts; what a family cannot take (an embedding of another
// family or with a problem included) is refused at submit, by field.
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decode } from 'fast-png';
import type { JobEvent } from '@kirie/core/client/protocol';
import { serializeSafetensorsHeader, type SafetensorsLayoutEntry } from '@kirie/core/models/safetensors';
import { defaultTokenizer } from '../../bridge/src/models/options.js';
import { SafetensorsFile } from '../../bridge/src/models/safetensors-file.js';
import { DEMO, ROOT, startE2eBridge, type E2eBridge } from './bridge-harness.js';

const ASSETS = join(ROOT, 'tests/golden/tiny-sd15');
const XL = 'tiny-xl.safetensors';
let bridge: E2eBridge;

beforeAll(async () => {
  bridge = await startE2eBridge();
  await copyFile(join(ASSETS, 'tiny-sdxl.safetensors'), join(bridge.modelsDir, XL));
  // The sidecar A1111 users keep beside the file: the tiny model's head counts are not SDXL's.
  await copyFile(join(ASSETS, 'tiny-sdxl.yaml'), join(bridge.modelsDir, 'tiny-xl.yaml'));
  await mkdir(join(bridge.modelsDir, 'loras'), { recursive: true });
  await writeXlLora(join(bridge.modelsDir, 'loras', 'xl-style.safetensors'));
  const embeddings = join(bridge.modelsDir, 'embeddings');
  await mkdir(embeddings, { recursive: true });
  await writeXlEmbedding(join(embeddings, 'xl-words.safetensors'), ['clip_l', 'clip_g']);
  await writeXlEmbedding(join(embeddings, 'xl-half.safetensors'), ['clip_l']);
  await copyFile(join(ASSETS, 'tiny-embedding-a1111-1v.safetensors'), join(embeddings, 'sd1-style.safetensors'));
}, 600_000);

/** The words an embedding copies: its vectors are their token rows, so calling it must equal writing them. */
const EMBEDDED_WORDS = 'red lighthouse';

/** An A1111/CivitAI SDXL embedding of `keys` whose rows are EMBEDDED_WORDS' token rows in each encoder's table. */
async function writeXlEmbedding(path: string, keys: ('clip_l' | 'clip_g')[]): Promise<void> {
  const ids = (await defaultTokenizer()).bpeIds(EMBEDDED_WORDS);
  const ckpt = await SafetensorsFile.open(join(ASSETS, 'tiny-sdxl.safetensors'));
  const tables = { clip_l: 'conditioner.embedders.0.transformer.text_model.embeddings.token_embedding.weight', clip_g: 'conditioner.embedders.1.model.token_embedding.weight' };
  const entries: SafetensorsLayoutEntry[] = [];
  const data: Float32Array[] = [];
  for (const key of keys) {
    const width = ckpt.shape(tables[key])[1]!;
    const table = await ckpt.read(tables[key]);
    entries.push({ name: key, dtype: 'F32', shape: [ids.length, width] });
    data.push(Float32Array.from(ids.flatMap((id) => Array.from(table.subarray(id * width, (id + 1) * width)))));
  }
  await ckpt.close();
  const { prefix } = serializeSafetensorsHeader(entries);
  await writeFile(path, Buffer.concat([prefix, ...data.map((d) => new Uint8Array(d.buffer))]));
}

/** A kohya SDXL LoRA (rank 2, float32) on a UNet attention layer and both text encoders (OpenCLIP q via in_proj). */
async function writeXlLora(path: string): Promise<void> {
  const ckpt = await SafetensorsFile.open(join(ASSETS, 'tiny-sdxl.safetensors'));
  const modules: [string, string][] = [
    ['lora_unet_input_blocks_4_1_transformer_blocks_0_attn2_to_v', 'model.diffusion_model.input_blocks.4.1.transformer_blocks.0.attn2.to_v.weight'],
    ['lora_te1_text_model_encoder_layers_0_mlp_fc1', 'conditioner.embedders.0.transformer.text_model.encoder.layers.0.mlp.fc1.weight'],
    ['lora_te2_text_model_encoder_layers_0_self_attn_q_proj', 'conditioner.embedders.1.model.transformer.resblocks.0.attn.in_proj_weight'],
  ];
  const entries: SafetensorsLayoutEntry[] = [];
  const data: Float32Array[] = [];
  for (const [name, key] of modules) {
    const [rows, cols] = ckpt.shape(key) as [number, number];
    const out = name.includes('_q_proj') ? rows / 3 : rows;
    entries.push({ name: `${name}.lora_down.weight`, dtype: 'F32', shape: [2, cols] }, { name: `${name}.lora_up.weight`, dtype: 'F32', shape: [out, 2] });
    data.push(Float32Array.from({ length: 2 * cols }, (_, i) => Math.sin(i + 1) / Math.sqrt(cols)), Float32Array.from({ length: out * 2 }, (_, i) => Math.cos(i) * 0.5));
  }
  await ckpt.close();
  const { prefix } = serializeSafetensorsHeader(entries, { ss_network_module: 'networks.lora' });
  await writeFile(path, Buffer.concat([prefix, ...data.map((d) => new Uint8Array(d.buffer))]));
}
afterAll(() => bridge.dispose());

async function run(request: Record<string, unknown>): Promise<JobEvent> {
  let last: JobEvent | undefined;
  for await (const e of bridge.client.generate({ model: XL, width: 64, height: 64, steps: 2, seed: 3, prompt: 'a lighthouse at dusk', ...request })) last = e;
  return last!;
}

async function done(request: Record<string, unknown>): Promise<Extract<JobEvent, { type: 'done' }>> {
  const last = await run(request);
  if (last.type !== 'done') throw new Error(`job ended with ${JSON.stringify(last)}`);
  return last;
}

/** What submitting `request` throws (null when it is queued). */
function refused(request: Record<string, unknown>): Promise<unknown> {
  return bridge.client.submit({ model: XL, width: 64, height: 64, steps: 2, prompt: 'x', ...request }).then(
    () => null,
    (e: unknown) => e,
  );
}

describe('an SDXL checkpoint through the bridge (tiny model)', () => {
  it('is listed as a checkpoint of family sdxl', async () => {
    const models = await bridge.client.models();
    expect(models.find((m) => m.id === XL)).toMatchObject({ kind: 'checkpoint', family: 'sdxl' });
    expect(models.find((m) => m.id === DEMO)).toMatchObject({ kind: 'checkpoint', family: 'sd1' });
  });

  it('generates; the same request gives the same image; prompt2 and sizeConditioning change it; the recipe names the family', async () => {
    const first = await done({});
    expect(first.recipe.model).toEqual({ id: XL, name: XL, family: 'sdxl' });
    const again = await done({});
    expect(again.images).toHaveLength(1);
    const [a, b] = await Promise.all([first, again].map((d) => bridge.client.image(d.images[0]!)));
    expect(Buffer.from(b!)).toEqual(Buffer.from(a!));
    const second = await done({ prompt2: 'an oil painting' });
    const sized = await done({ sizeConditioning: { originalSize: { width: 256, height: 512 }, cropTopLeft: { top: 32, left: 0 } } });
    for (const other of [second, sized]) expect(Buffer.from((await bridge.client.image(other.images[0]!))!)).not.toEqual(Buffer.from(a!));
    expect(sized.recipe.request).toMatchObject({ sizeConditioning: { originalSize: { width: 256, height: 512 } } });
  }, 600_000);

  it('runs img2img from an uploaded image', async () => {
    const png = await readFile(join(ROOT, 'tests/golden/sdxl/pipelines/img2img_euler_s060/init_image.png'));
    const { id } = await bridge.client.uploadImage(png);
    const out = await done({ initImage: id, strength: 0.6, steps: 3 });
    expect(out.images).toHaveLength(1);
  }, 300_000);

  it('applies a kohya SDXL LoRA from its prompt tag: weight 0 is the image without it, 1 changes it; lists it as SDXL', async () => {
    expect((await bridge.client.adapters()).find((a) => a.name === 'xl-style')).toMatchObject({ kind: 'lora', family: 'sdxl' });
    // Pixels: the PNG's text chunk holds the prompt, tag included.
    const pixels = async (d: Extract<JobEvent, { type: 'done' }>) => Buffer.from(decode((await bridge.client.image(d.images[0]!))!).data as Uint8Array);
    const plain = await pixels(await done({ prompt: 'a lighthouse at dusk' }));
    expect(await pixels(await done({ prompt: 'a lighthouse at dusk <lora:xl-style:0>' }))).toEqual(plain);
    const styled = await done({ prompt: 'a lighthouse at dusk <lora:xl-style:1>' });
    expect(await pixels(styled)).not.toEqual(plain);
    expect(styled.recipe.request).toMatchObject({ prompt: 'a lighthouse at dusk <lora:xl-style:1>' });
  }, 600_000);

  it('an SDXL embedding in the prompt and the negative prompt is the words it copies, in both encoders; lists it as SDXL', async () => {
    expect((await bridge.client.adapters()).find((a) => a.name === 'xl-words')).toMatchObject({ kind: 'embedding', family: 'sdxl' });
    const pixels = async (d: Extract<JobEvent, { type: 'done' }>) => Buffer.from(decode((await bridge.client.image(d.images[0]!))!).data as Uint8Array);
    const called = await done({ prompt: 'a xl-words at dusk', negativePrompt: 'blurry xl-words' });
    const written = await done({ prompt: `a ${EMBEDDED_WORDS} at dusk`, negativePrompt: `blurry ${EMBEDDED_WORDS}` });
    expect(await pixels(called)).toEqual(await pixels(written));
    // A1111 syntax: chunked and weighted by each encoder's tokenizer (the second pads with '!').
    const weighted = await done({ promptSyntax: 'a1111', prompt: 'a (xl-words:1.3) at dusk' });
    expect(await pixels(weighted)).toEqual(await pixels(await done({ promptSyntax: 'a1111', prompt: `a (${EMBEDDED_WORDS}:1.3) at dusk` })));
  }, 300_000);

  it('lists an SDXL embedding without clip_g with its problem; refuses at submit an embedding the model cannot use, by the field calling it', async () => {
    expect((await bridge.client.adapters()).find((a) => a.name === 'xl-half')).toMatchObject({ kind: 'embedding', family: 'sdxl', problem: expect.stringMatching(/this file has no clip_g/) });
    expect(await refused({ prompt: 'a xl-half at dusk' })).toMatchObject({ status: 400, code: 'invalid_request', field: 'prompt', message: expect.stringMatching(/"xl-half", which model "tiny-xl\.safetensors" cannot use: an SDXL embedding needs clip_l .* this file has no clip_g/) });
    // The tiny SD 1.x embedding's 32-wide rows name no family; it has no clip_l/clip_g, so no SDXL model can use it.
    for (const field of ['negativePrompt', 'negativePrompt2']) {
      expect(await refused({ [field]: 'blurry, sd1-style' })).toMatchObject({ status: 400, code: 'invalid_request', field, message: expect.stringMatching(/"sd1-style", which has no clip_l and clip_g vectors \(not an SDXL embedding\); model "tiny-xl\.safetensors" is SDXL/) });
    }
    expect(await refused({ model: DEMO, prompt: 'a xl-words at dusk' })).toMatchObject({ status: 400, code: 'invalid_request', field: 'prompt', message: expect.stringMatching(/"xl-words", made for SDXL models; model "demo-tiny\.safetensors" is SD 1\.x/) });
  });

  it('refuses at submit, naming the field: SDXL-only fields for an SD1.x model, ControlNets for SDXL', async () => {
    expect(await refused({ model: DEMO, prompt2: 'x' })).toMatchObject({ status: 400, code: 'invalid_request', field: 'prompt2', message: expect.stringMatching(/SD 1\.x model.*needs an SDXL model/) });
    expect(await refused({ model: DEMO, sizeConditioning: {} })).toMatchObject({ status: 400, field: 'sizeConditioning' });
    expect(await refused({ loras: [{ name: 'paper-cut' }] })).toMatchObject({ status: 400, code: 'unknown_lora', field: 'loras.0.name' });
    const { id } = await bridge.client.uploadImage(await readFile(join(ROOT, 'tests/golden/sdxl/pipelines/img2img_euler_s060/init_image.png')));
    expect(await refused({ control: [{ model: 'pose-controlnet.safetensors', image: id }] })).toMatchObject({ status: 400, field: 'control.0.model', message: expect.stringMatching(/SDXL model, and ControlNets for it are not supported yet/) });
  });
});

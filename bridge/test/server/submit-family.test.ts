// What a checkpoint's family cannot take is refused at submit (a 400 naming the field), read from the
// family's data (core/src/models/family.ts), before anything is queued; what it can take passes. So are
// the embeddings a request's texts call that the model cannot use (another family's, a file with a problem,
// any on an ONNX folder), by the text field that calls them.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { serializeSafetensorsHeader, type SafetensorsLayoutEntry } from '@kirie/core/models/safetensors';
import { ImageStore } from '../../src/jobs/images.js';
import { FolderRegistry } from '../../src/registry/registry.js';
import { DEFAULT_LIMITS } from '../../src/server/limits.js';
import { checkSubmission, type SubmitContext } from '../../src/server/submit.js';

let dir: string;
let registry: FolderRegistry;
let context: SubmitContext;

/** An embedding file of `entries` (float32 zeros): the header alone decides what submit says of it. */
async function writeEmbedding(name: string, entries: SafetensorsLayoutEntry[]): Promise<void> {
  const { prefix } = serializeSafetensorsHeader(entries);
  const values = entries.reduce((n, e) => n + e.shape.reduce((a, b) => a * b, 1), 0);
  await writeFile(join(dir, 'embeddings', `${name}.safetensors`), Buffer.concat([prefix, Buffer.alloc(4 * values)]));
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kirie-submit-family-'));
  for (const name of ['sd15.safetensors', 'xl.safetensors', 'pose.safetensors']) await writeFile(join(dir, name), 'classified by name');
  await mkdir(join(dir, 'onnx-model'));
  registry = new FolderRegistry({
    dir,
    classify: async (path, isDirectory) =>
      isDirectory ? (path.endsWith('onnx-model') ? 'onnx' : null) : path.endsWith('pose.safetensors') ? 'controlnet' : { kind: 'checkpoint', family: path.endsWith('xl.safetensors') ? 'sdxl' : 'sd1' },
  });
  context = { limits: { ...DEFAULT_LIMITS, memoryBytes: 2 ** 40 }, registry, images: new ImageStore(dir) };
  // A LoRA whose cross-attention input is CLIP ViT-L's 768: made for SD 1.x (its header says so by shape alone).
  const key = 'lora_unet_mid_block_attentions_0_transformer_blocks_0_attn2_to_k';
  const { prefix } = serializeSafetensorsHeader([
    { name: `${key}.lora_down.weight`, dtype: 'F32', shape: [1, 768] },
    { name: `${key}.lora_up.weight`, dtype: 'F32', shape: [1280, 1] },
  ]);
  await mkdir(join(dir, 'loras'));
  await writeFile(join(dir, 'loras', 'sd15-style.safetensors'), Buffer.concat([prefix, Buffer.alloc(4 * (768 + 1280))]));
  // Embeddings as A1111 and CivitAI ship them: SD 1.x `emb_params` [n, 768], SDXL `clip_l` [n, 768] + `clip_g` [n, 1280].
  await mkdir(join(dir, 'embeddings'));
  await writeEmbedding('sd15-words', [{ name: 'emb_params', dtype: 'F32', shape: [2, 768] }]);
  await writeEmbedding('xl-words', [
    { name: 'clip_g', dtype: 'F32', shape: [2, 1280] },
    { name: 'clip_l', dtype: 'F32', shape: [2, 768] },
  ]);
  await writeEmbedding('xl-half', [{ name: 'clip_l', dtype: 'F32', shape: [2, 768] }]);
  await writeEmbedding('xl-uneven', [
    { name: 'clip_g', dtype: 'F32', shape: [3, 1280] },
    { name: 'clip_l', dtype: 'F32', shape: [2, 768] },
  ]);
  // A width no family has (a tiny test model's): only the run can say whether it fits an SD 1.x model.
  await writeEmbedding('narrow-words', [{ name: 'emb_params', dtype: 'F32', shape: [1, 32] }]);
  await writeFile(join(dir, 'embeddings', 'broken-words.safetensors'), 'not a safetensors header');
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const SD15 = 'sd15.safetensors';
const XL = 'xl.safetensors';

const refusals: [what: string, request: Record<string, unknown>, field: string, message: RegExp][] = [
  ['clip skip on SDXL', { model: XL, clipSkip: 2 }, 'clipSkip', /SDXL model, and clip skip for it is not supported yet.*leave clipSkip at 1/],
  ['a second prompt on SD1.x', { model: SD15, prompt2: 'x' }, 'prompt2', /SD 1\.x model, with one text encoder: this field needs an SDXL model/],
  ['a second negative prompt on SD1.x', { model: SD15, negativePrompt2: 'x' }, 'negativePrompt2', /one text encoder/],
  ['size conditioning on SD1.x', { model: SD15, sizeConditioning: {} }, 'sizeConditioning', /no size conditioning/],
  ['a ControlNet on SDXL', { model: XL, control: [{ model: 'pose.safetensors', pose: { people: [] } }] }, 'control.0.model', /ControlNets for it are not supported yet/],
];

const accepted: [what: string, request: Record<string, unknown>][] = [
  ['clip skip on SD1.x', { model: SD15, clipSkip: 2 }],
  ['clip skip 1 (the default, stated) on SDXL', { model: XL, clipSkip: 1 }],
  ['a second prompt and size conditioning on SDXL', { model: XL, prompt2: 'x', negativePrompt2: 'y', sizeConditioning: { originalSize: { width: 512, height: 768 } } }],
];

describe('checkSubmission refuses by field what the family cannot take', () => {
  it.each(refusals)('%s → 400 naming its field', async (_, request, field, message) => {
    const refused = await checkSubmission({ prompt: 'a fox', width: 64, height: 64, ...request }, context).then(
      () => null,
      (e: unknown) => e,
    );
    expect(refused).toMatchObject({ status: 400, code: 'invalid_request', field, message: expect.stringMatching(message) });
    expect((refused as Error).message.startsWith(`${field}: model "${request.model}" is an `)).toBe(true);
  });

  it('a LoRA made for another family, by the field that names it', async () => {
    for (const [request, field] of [
      [{ loras: [{ name: 'sd15-style' }] }, 'loras.0.name'],
      [{ prompt: 'a fox <lora:sd15-style:0.7>' }, 'prompt'],
    ] as const) {
      const refused = await checkSubmission({ prompt: 'a fox', width: 64, height: 64, model: XL, ...request }, context).then(() => null, (e: unknown) => e);
      expect(refused).toMatchObject({ status: 400, field, message: expect.stringMatching(/LoRA "sd15-style" was made for SD 1\.x models; model "xl\.safetensors" is SDXL/) });
    }
    expect((await checkSubmission({ prompt: 'a fox', width: 64, height: 64, model: SD15, loras: [{ name: 'sd15-style' }] }, context)).model).toBe(SD15);
  });

  it.each(accepted)('%s passes', async (_, request) => {
    const queued = await checkSubmission({ prompt: 'a fox', width: 64, height: 64, ...request }, context);
    expect(queued.model).toBe(request.model);
  });
});

const ONNX = 'onnx-model';

const embeddingRefusals: [what: string, request: Record<string, unknown>, field: string, code: string, message: RegExp][] = [
  ['an SD 1.x embedding on SDXL', { model: XL, prompt: 'a sd15-words fox' }, 'prompt', 'invalid_request', /^prompt calls embedding "sd15-words", made for SD 1\.x models; model "xl\.safetensors" is SDXL$/],
  ['an SDXL embedding on SD 1.x', { model: SD15, negativePrompt: 'blurry, xl-words' }, 'negativePrompt', 'invalid_request', /^negativePrompt calls embedding "xl-words", made for SDXL models; model "sd15\.safetensors" is SD 1\.x$/],
  ['an SDXL file with only clip_l', { model: XL, prompt: 'a xl-half fox' }, 'prompt', 'invalid_request', /"xl-half", which model "xl\.safetensors" cannot use: an SDXL embedding needs clip_l .* this file has no clip_g$/],
  ['an SDXL file with unequal vector counts', { model: XL, prompt2: 'xl-uneven' }, 'prompt2', 'invalid_request', /"xl-uneven", which model "xl\.safetensors" cannot use: clip_l has 2 vectors and clip_g 3/],
  ['an SD 1.x embedding in the second negative prompt', { model: XL, negativePrompt2: 'ugly, sd15-words' }, 'negativePrompt2', 'invalid_request', /^negativePrompt2 calls embedding "sd15-words", made for SD 1\.x models/],
  ['a file of no family on SDXL', { model: XL, prompt: 'narrow-words' }, 'prompt', 'invalid_request', /"narrow-words", which has no clip_l and clip_g vectors \(not an SDXL embedding\); model "xl\.safetensors" is SDXL/],
  ['a damaged file', { model: SD15, prompt: 'broken-words' }, 'prompt', 'invalid_request', /"broken-words", which model "sd15\.safetensors" cannot use: /],
  ['any embedding on an ONNX folder', { model: ONNX, negativePrompt: 'sd15-words' }, 'negativePrompt', 'wrong_model_kind', /^negativePrompt calls embedding "sd15-words", but model "onnx-model" is an ONNX folder: embeddings apply to checkpoints/],
];

const embeddingsAccepted: [what: string, request: Record<string, unknown>][] = [
  ['an SDXL embedding in all four SDXL texts', { model: XL, prompt: 'a xl-words fox', negativePrompt: 'xl-words', prompt2: 'xl-words', negativePrompt2: 'xl-words' }],
  ['an SD 1.x embedding in both SD 1.x texts', { model: SD15, prompt: 'a sd15-words fox', negativePrompt: 'sd15-words' }],
  ['a file of no family on SD 1.x (left to the run)', { model: SD15, prompt: 'narrow-words' }],
  ['an ONNX folder with no embedding called', { model: ONNX, prompt: 'a fox' }],
];

describe('checkSubmission refuses an embedding the model cannot use, by the text field that calls it', () => {
  it.each(embeddingRefusals)('%s → 400', async (_, request, field, code, message) => {
    const refused = await checkSubmission({ prompt: 'a fox', width: 64, height: 64, ...request }, context).then(
      () => null,
      (e: unknown) => e,
    );
    expect(refused).toMatchObject({ status: 400, code, field, message: expect.stringMatching(message) });
  });

  it.each(embeddingsAccepted)('%s passes', async (_, request) => {
    expect((await checkSubmission({ prompt: 'a fox', width: 64, height: 64, ...request }, context)).model).toBe(request.model);
  });

  it('reads only the headers of the embeddings the texts call, and of no LoRA when none is named', async () => {
    const adapters = vi.spyOn(registry, 'adapters');
    try {
      await checkSubmission({ prompt: 'a xl-words fox', width: 64, height: 64, model: XL }, context);
      expect(adapters).toHaveBeenCalledTimes(1);
      expect((await adapters.mock.results[0]!.value).map((a: { name: string }) => a.name)).toEqual(['xl-words']);
    } finally {
      adapters.mockRestore();
    }
  });
});

// What a checkpoint's family cannot take is refused at submit (a 400 naming the field), read from the
// family's data (core/src/models/family.ts), before anything is queued; what it can take passes.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serializeSafetensorsHeader } from '@kirie/core/models/safetensors';
import { ImageStore } from '../../src/jobs/images.js';
import { FolderRegistry } from '../../src/registry/registry.js';
import { DEFAULT_LIMITS } from '../../src/server/limits.js';
import { checkSubmission, type SubmitContext } from '../../src/server/submit.js';

let dir: string;
let context: SubmitContext;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kirie-submit-family-'));
  for (const name of ['sd15.safetensors', 'xl.safetensors', 'pose.safetensors']) await writeFile(join(dir, name), 'classified by name');
  const registry = new FolderRegistry({
    dir,
    classify: async (path) => (path.endsWith('pose.safetensors') ? 'controlnet' : { kind: 'checkpoint', family: path.endsWith('xl.safetensors') ? 'sdxl' : 'sd1' }),
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

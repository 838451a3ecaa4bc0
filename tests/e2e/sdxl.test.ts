// A tiny SDXL checkpoint end to end: dropped into the models folder with its sgm yaml, listed with its family,
// built on first use, run through the bridge (txt2img, the second prompt and micro-conditioning change the
// image, img2img), its recipe naming the family; what a family cannot take is refused at submit, by field.
import { copyFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobEvent } from '@kirie/core/client/protocol';
import { DEMO, ROOT, startE2eBridge, type E2eBridge } from './bridge-harness.js';

const ASSETS = join(ROOT, 'tests/golden/tiny-sd15');
const XL = 'tiny-xl.safetensors';
let bridge: E2eBridge;

beforeAll(async () => {
  bridge = await startE2eBridge();
  await copyFile(join(ASSETS, 'tiny-sdxl.safetensors'), join(bridge.modelsDir, XL));
  // The sidecar A1111 users keep beside the file: the tiny model's head counts are not SDXL's.
  await copyFile(join(ASSETS, 'tiny-sdxl.yaml'), join(bridge.modelsDir, 'tiny-xl.yaml'));
}, 600_000);
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

  it('refuses at submit, naming the field: SDXL-only fields for an SD1.x model, ControlNets and LoRAs for SDXL', async () => {
    const refused = (request: Record<string, unknown>) => bridge.client.submit({ model: XL, width: 64, height: 64, steps: 2, prompt: 'x', ...request }).then(() => null, (e: unknown) => e);
    expect(await refused({ model: DEMO, prompt2: 'x' })).toMatchObject({ status: 400, code: 'invalid_request', field: 'prompt2', message: expect.stringMatching(/SD 1\.x model.*needs an SDXL model/) });
    expect(await refused({ model: DEMO, sizeConditioning: {} })).toMatchObject({ status: 400, field: 'sizeConditioning' });
    expect(await refused({ loras: [{ name: 'paper-cut' }] })).toMatchObject({ status: 400, field: 'loras.0.name', message: expect.stringMatching(/LoRAs for it are not supported yet/) });
    expect(await refused({ prompt: 'x <lora:paper-cut:1>' })).toMatchObject({ status: 400, field: 'prompt' });
    const { id } = await bridge.client.uploadImage(await readFile(join(ROOT, 'tests/golden/sdxl/pipelines/img2img_euler_s060/init_image.png')));
    expect(await refused({ control: [{ model: 'pose-controlnet.safetensors', image: id }] })).toMatchObject({ status: 400, field: 'control.0.model', message: expect.stringMatching(/SDXL model, and ControlNets for it are not supported yet/) });
  });
});

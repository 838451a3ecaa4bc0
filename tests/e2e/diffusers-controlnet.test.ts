// A ControlNet downloaded from Hugging Face in diffusers' layout (diffusion_pytorch_model.safetensors, renamed
// in the models folder) through the whole bridge: listed as a control model, it paints the same pixels as the
// same weights in the cldm layout; a damaged one fails its job naming the tensor, and the bridge keeps serving.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobEvent } from '@kirie/core/client/protocol';
import { decodePng } from '@kirie/core/image/png';
import { writeDiffusersControlNet } from '../../bridge/test/models/diffusers-controlnet-fixture.js';
import { addTinyModel, ROOT, startE2eBridge, type E2eBridge } from './bridge-harness.js';

let bridge: E2eBridge;

beforeAll(async () => {
  bridge = await startE2eBridge();
  for (const [from, to] of [['tiny-sd15', 'tiny'], ['tiny-controlnet', 'canny-ldm']]) {
    await addTinyModel(bridge.modelsDir, from, to);
  }
  await writeDiffusersControlNet(join(bridge.modelsDir, 'canny-diffusers.safetensors'));
  await writeDiffusersControlNet(join(bridge.modelsDir, 'canny-damaged.safetensors'), (entries) => {
    entries.find((e) => e.name === 'controlnet_down_blocks.5.weight')!.shape = [64, 8, 1, 1];
  });
}, 60_000);
afterAll(() => bridge?.dispose());

async function last(events: AsyncIterable<JobEvent>): Promise<JobEvent> {
  let end: JobEvent | undefined;
  for await (const e of events) end = e;
  return end!;
}

async function generate(controlModel: string, image: string): Promise<JobEvent> {
  return last(bridge.client.generate({ model: 'tiny.safetensors', prompt: 'a house', width: 64, height: 64, steps: 2, seed: 7, control: [{ model: controlModel, image }] }));
}

async function pixels(done: JobEvent): Promise<Uint8Array> {
  expect(done, JSON.stringify(done)).toMatchObject({ type: 'done' });
  const png = await bridge.client.image((done as Extract<JobEvent, { type: 'done' }>).images[0]!);
  return decodePng(png).data as Uint8Array;
}

describe('a diffusers-format ControlNet through the bridge', () => {
  it('is listed as a control model and paints the same pixels as the cldm file', async () => {
    const listed = await bridge.client.models();
    expect(listed.find((m) => m.file === 'canny-diffusers.safetensors')).toMatchObject({ kind: 'controlnet' });
    const hint = await bridge.client.uploadImage(new Uint8Array(await readFile(join(ROOT, 'tests/golden/components/controlnet.hint.png'))));
    const fromDiffusers = await pixels(await generate('canny-diffusers.safetensors', hint.id));
    const fromLdm = await pixels(await generate('canny-ldm.safetensors', hint.id));
    expect(Buffer.from(fromDiffusers).equals(Buffer.from(fromLdm))).toBe(true);
  }, 120_000);

  it('fails a job on a damaged one, naming the tensor, and keeps serving', async () => {
    const hint = await bridge.client.uploadImage(new Uint8Array(await readFile(join(ROOT, 'tests/golden/components/controlnet.hint.png'))));
    const failed = await generate('canny-damaged.safetensors', hint.id);
    expect(failed.type).toBe('error');
    expect((failed as Extract<JobEvent, { type: 'error' }>).message).toMatch(/control_model\.zero_convs\.5\.0\.weight: shape \[64,8,1,1\] does not match the architecture/);
    expect((await bridge.client.health()).ok).toBe(true);
    expect(await pixels(await generate('canny-diffusers.safetensors', hint.id))).toHaveLength(64 * 64 * 3);
  }, 120_000);
});

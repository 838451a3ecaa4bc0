// LoRAs and embeddings end to end: files dropped into the models folder's loras/ and embeddings/ are listed
// with what their headers say, change the image when a request names them (as a field or an A1111 tag,
// identically), travel in the recipe, and a name that is not there is refused at submit naming the field.
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KirieApiError, type JobEvent } from '@kirie/core/client/protocol';
import { decodePng } from '@kirie/core/image/png';
import { DEMO, ROOT, startE2eBridge, type E2eBridge } from './bridge-harness.js';

const ASSETS = join(ROOT, 'tests/golden/tiny-sd15');
let bridge: E2eBridge;

beforeAll(async () => {
  bridge = await startE2eBridge();
  // The first job builds the model's graphs (once per cache): make it here, outside the timed tests.
  for await (const e of bridge.client.generate({ model: DEMO, prompt: 'warm', width: 64, height: 64, steps: 1 })) if (e.type === 'error') throw new Error(e.message);
  // A1111's folder name for LoRAs, and its per-file user metadata beside the file.
  await mkdir(join(bridge.modelsDir, 'Lora'), { recursive: true });
  await mkdir(join(bridge.modelsDir, 'embeddings'), { recursive: true });
  await copyFile(join(ASSETS, 'tiny-lora-kohya.safetensors'), join(bridge.modelsDir, 'Lora', 'paper-cut.safetensors'));
  await writeFile(join(bridge.modelsDir, 'Lora', 'paper-cut.json'), JSON.stringify({ 'activation text': 'papercut <b>style</b>', 'preferred weight': 0.8 }));
  await copyFile(join(ASSETS, 'tiny-embedding-a1111-3v.safetensors'), join(bridge.modelsDir, 'embeddings', 'kirie-style.safetensors'));
}, 600_000);
afterAll(() => bridge.dispose());

async function done(request: Record<string, unknown>): Promise<Extract<JobEvent, { type: 'done' }>> {
  const events: JobEvent[] = [];
  for await (const e of bridge.client.generate({ model: DEMO, width: 64, height: 64, steps: 2, seed: 7, ...request, prompt: String(request.prompt) })) events.push(e);
  const last = events.at(-1)!;
  if (last.type !== 'done') throw new Error(`job ended with ${JSON.stringify(last)}`);
  return last;
}

async function pixels(job: Extract<JobEvent, { type: 'done' }>): Promise<Uint8Array> {
  return decodePng(await bridge.client.image(job.images[0]!)).data;
}

describe('LoRAs and embeddings through the bridge (tiny model)', () => {
  it('lists them with family, trigger words and header metadata, as plain text', async () => {
    const adapters = await bridge.client.adapters();
    const lora = adapters.find((a) => a.name === 'paper-cut')!;
    expect(lora).toMatchObject({ kind: 'lora', file: 'Lora/paper-cut.safetensors', family: 'unknown', preferredWeight: 0.8, triggerWords: ['papercut <b>style</b>'] });
    expect(lora.metadata.ss_network_module).toBe('networks.lora');
    expect(adapters.find((a) => a.name === 'kirie-style')).toMatchObject({ kind: 'embedding', file: 'embeddings/kirie-style.safetensors' });
    // The style list offers the LoRA as a style at its preferred weight.
    expect((await bridge.client.styles()).find((s) => s.id === 'lora:paper-cut')).toMatchObject({ loras: [{ name: 'paper-cut', weight: 0.8 }], promptTemplate: '{prompt}, papercut <b>style</b>' });
  });

  it('a LoRA changes the image; the loras field and the A1111 tag give the same image; the recipe carries it', async () => {
    const plain = await done({ prompt: 'a paper fox' });
    const field = await done({ prompt: 'a paper fox', loras: [{ name: 'paper-cut', weight: 1 }] });
    const tagged = await done({ prompt: 'a paper fox <lora:paper-cut:1>' });
    expect(await pixels(field)).not.toEqual(await pixels(plain));
    // Same pixels (the PNGs differ: each carries its own request as its recipe).
    expect(await pixels(tagged)).toEqual(await pixels(field));
    const weaker = await done({ prompt: 'a paper fox', loras: [{ name: 'paper-cut', weight: 0.5 }] });
    expect(await pixels(weaker)).not.toEqual(await pixels(field));
    expect(field.recipe.request).toMatchObject({ loras: [{ name: 'paper-cut', weight: 1 }] });
  }, 600_000);

  it('an embedding named in the prompt changes the conditioning; replacing its file changes the image', async () => {
    const first = await done({ prompt: 'a photo in kirie-style style' });
    await copyFile(join(ASSETS, 'tiny-embedding-a1111-1v.safetensors'), join(bridge.modelsDir, 'embeddings', 'kirie-style.safetensors'));
    const second = await done({ prompt: 'a photo in kirie-style style' });
    expect(await pixels(second)).not.toEqual(await pixels(first));
  }, 300_000);

  it('refuses a LoRA that is not in the folder at submit, naming the field', async () => {
    const refused = (request: Record<string, unknown>) => bridge.client.submit({ model: DEMO, width: 64, height: 64, steps: 2, prompt: 'x', ...request }).then(() => null, (e: unknown) => e);
    const byField = await refused({ loras: [{ name: 'nope' }] });
    expect(byField).toBeInstanceOf(KirieApiError);
    expect(byField).toMatchObject({ status: 400, code: 'unknown_lora', field: 'loras.0.name' });
    expect(await refused({ prompt: 'x <lora:nope:0.7>' })).toMatchObject({ code: 'unknown_lora', field: 'prompt' });
    expect(await refused({ prompt: 'x <lora:paper-cut:strong>' })).toMatchObject({ code: 'invalid_request', field: 'prompt' });
    expect(await refused({ loras: [{ name: '../paper-cut' }] })).toMatchObject({ code: 'invalid_request', field: 'loras.0.name' });
  });
});

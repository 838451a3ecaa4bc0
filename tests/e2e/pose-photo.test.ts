// A reference photo through the whole bridge: uploaded by id, sent with the openpose preprocessor, the
// people found by the generation process's MoveNet detector (loaded once, on first use) and drawn for the
// tiny ControlNet. A photo of nobody fails the job with a message a designer can act on.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobEvent } from '@kirie/core/client/protocol';
import { readRecipe } from '@kirie/core/recipe/recipe';
import { readText } from '../../bridge/src/generate/png-text.js';
import { addTinyModel, ROOT, startE2eBridge, type E2eBridge } from './bridge-harness.js';

let bridge: E2eBridge;

beforeAll(async () => {
  bridge = await startE2eBridge();
  // Tiny architectures: each file's YAML sidecar says so.
  for (const [from, to] of [['tiny-sd15', 'tiny'], ['tiny-controlnet', 'tiny-openpose']]) {
    await addTinyModel(bridge.modelsDir, from, to);
  }
}, 60_000);
afterAll(() => bridge.dispose());

async function last(events: AsyncIterable<JobEvent>): Promise<JobEvent> {
  let end: JobEvent | undefined;
  for await (const e of events) end = e;
  return end!;
}

const request = (image: string) => ({
  model: 'tiny.safetensors',
  prompt: 'an astronaut dancing',
  width: 64,
  height: 64,
  steps: 2,
  seed: 4,
  control: [{ model: 'tiny-openpose.safetensors', image, preprocessor: { type: 'openpose' as const } }],
});

describe('pose from a reference photo through the bridge', () => {
  it('generates from a photo of a person and records the openpose preprocessor in the PNG', async () => {
    const photo = await bridge.client.uploadImage(new Uint8Array(await readFile(join(ROOT, 'bridge/test/control/fixtures/astronaut.png'))));
    const done = await last(bridge.client.generate(request(photo.id)));
    expect(done, JSON.stringify(done)).toMatchObject({ type: 'done' });
    const png = await bridge.client.image((done as Extract<JobEvent, { type: 'done' }>).images[0]!);
    const text = readText(png);
    expect(text.parameters).toContain('ControlNet 0: "Module: openpose, Model: tiny-openpose.safetensors');
    const recipe = readRecipe(text);
    expect(recipe.source === 'kirie' && recipe.request.control[0]!.preprocessor).toEqual({ type: 'openpose', full: false });
  }, 120_000);

  it('fails a photo with nobody in it, saying so, and keeps serving', async () => {
    const house = await bridge.client.uploadImage(new Uint8Array(await readFile(join(ROOT, 'tests/golden/controlnet/images/house.png'))));
    const failed = await last(bridge.client.generate(request(house.id)));
    expect(failed.type).toBe('error');
    expect((failed as Extract<JobEvent, { type: 'error' }>).message).toMatch(/no person found in the reference photo/);
    expect((await bridge.client.health()).ok).toBe(true);
  }, 60_000);
});

import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseNpy } from '@kirie/core/io/npy';
import { encodeText } from '@kirie/core/pipeline/models';
import { openControlNet, openModel } from '../../src/models/load.js';
import type { BuildProgress } from '../../src/models/cache.js';

const golden = new URL('../../../tests/golden/', import.meta.url).pathname;
const tiny = (name: string) => join(golden, 'tiny-sd15', name);
const npy = (name: string) => parseNpy(new Uint8Array(readFileSync(join(golden, 'components', name))));
const cases = JSON.parse(readFileSync(join(golden, 'components', 'case.json'), 'utf8')).cases;

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

let cacheDir: string;
beforeAll(async () => {
  cacheDir = await mkdtemp(join(tmpdir(), 'kirie-load-'));
});
afterAll(async () => {
  await rm(cacheDir, { recursive: true, force: true });
});

describe('openModel on a checkpoint', () => {
  it('builds, caches and loads the tiny checkpoint; the graphs match the reference', async () => {
    const events: BuildProgress[] = [];
    const model = await openModel(tiny('tiny-sd15.safetensors'), { device: 'cpu', cacheDir, onProgress: (p) => events.push(p) });
    try {
      expect(model.io).toMatchObject({ inputIds: 'int32', unetInChannels: 4, unetTakesResiduals: true, floatType: 'float32', vaeEncoderOutput: 'latent_parameters' });
      expect(model.io.names.unet.downResiduals).toHaveLength(12);
      expect(model.vaeScalingFactor).toBe(0.18215);
      expect(Array.from(model.tokenizer.encodePadded('a photo of a cat').slice(0, 3))).toEqual([49406, 320, 1125]);
      // Progress: per component, per tensor, monotone, ending at the total.
      expect(new Set(events.map((e) => e.component))).toEqual(new Set(['text_encoder', 'unet', 'vae_decoder', 'vae_encoder']));
      expect(events.filter((e) => e.tensor).length).toBeGreaterThan(900);
      for (let i = 1; i < events.length; i++) expect(events[i].bytesDone).toBeGreaterThanOrEqual(events[i - 1].bytesDone);
      expect(events.at(-1)!.bytesDone).toBe(events.at(-1)!.bytesTotal);

      const item = cases.text_encoder.items[1];
      // Through the pipeline's own call: the graph also takes its (idle) LoRA and added-token inputs.
      const hidden = await encodeText(ort, model, item.input_ids as number[]);
      expect(maxAbsDiff(hidden, npy(item.last_hidden_state).data as Float32Array)).toBeLessThan(1e-4);

      const latents = npy(cases.vae_decode.latents);
      const scaled = Float32Array.from(latents.data as Float32Array, (v) => v / model.vaeScalingFactor);
      const raw = (await model.vaeDecoder.run({ [model.io.names.vaeDecoder.latent]: new ort.Tensor('float32', scaled, latents.shape) }))[model.io.names.vaeDecoder.image];
      expect(maxAbsDiff(raw.data as Float32Array, npy(cases.vae_decode.raw).data as Float32Array)).toBeLessThan(1e-4);

      // Clip skip 2 is built on first use and matches AUTOMATIC1111's "Clip skip 2".
      const skipItem = cases.text_encoder_clip_skip.items.find((i: { clip_skip: number }) => i.clip_skip === 2);
      const skip2 = await model.clipSkip!(2);
      // The pipeline swaps the clip-skip session in the same way (core/src/pipeline/request.ts).
      const out = await encodeText(ort, { ...model, textEncoder: skip2 }, skipItem.input_ids as number[]);
      expect(maxAbsDiff(out, npy(skipItem.output).data as Float32Array)).toBeLessThan(1e-4);
    } finally {
      await model.release();
    }

    // Second open: a cache hit, no build.
    const again: BuildProgress[] = [];
    const warm = await openModel(tiny('tiny-sd15.safetensors'), { device: 'cpu', cacheDir, onProgress: (p) => again.push(p) });
    await warm.release();
    expect(again).toEqual([]);
    expect((await readdir(cacheDir)).filter((n) => n.startsWith('.tmp-'))).toEqual([]);
  });

  it('loads the 9-channel inpainting checkpoint', async () => {
    const model = await openModel(tiny('tiny-sd15-inpainting.safetensors'), { device: 'cpu', cacheDir });
    await model.release();
    expect(model.io.unetInChannels).toBe(9);
  });

  it('refuses a ControlNet as a model and a checkpoint as a ControlNet', async () => {
    await expect(openModel(tiny('tiny-controlnet.safetensors'), { device: 'cpu', cacheDir })).rejects.toThrow(/tiny-controlnet\.safetensors is a ControlNet, not a Stable Diffusion checkpoint/);
    await expect(openControlNet(tiny('tiny-sd15.safetensors'), { device: 'cpu', cacheDir })).rejects.toThrow(/tiny-sd15\.safetensors is a Stable Diffusion checkpoint, not a ControlNet/);
    await expect(openModel(join(cacheDir, 'nope.safetensors'))).rejects.toThrow(/nope\.safetensors: no such file or folder/);
  });
});

describe('openControlNet', () => {
  it('builds the tiny ControlNet and reads its residual outputs', async () => {
    const cn = await openControlNet(tiny('tiny-controlnet.safetensors'), { device: 'cpu', cacheDir });
    try {
      expect(cn.io.downResiduals).toHaveLength(12);
      expect(cn.io).toMatchObject({ sample: 'sample', cond: expect.any(String), midResidual: 'mid_block_additional_residual', floatType: 'float32' });
    } finally {
      await cn.release();
    }
  });
});

// The bridge tiles the VAE by itself above the size its memory budget sets (memory-estimate.ts vaeTilingFor),
// for img2img's encode and the final decode: the tiny SD 1.5 at 576x64 (one latent side over SD1.5's 64-latent
// tile), run through request-run as the generation process runs it, with a budget that forces tiling and one
// that does not.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { decodePng, type RasterImage } from '@kirie/core/image/png';
import { generateFromRequest } from '@kirie/core/pipeline/request';
import { SD15_VAE_TILING } from '@kirie/core/pipeline/vae-tiling';
import { parseGenerateRequest } from '@kirie/core/request/parse';
import { runRequest } from '../../src/generate/request-run.js';
import { openModel } from '../../src/models/load.js';
import type { LoadedModel } from '../../src/models/options.js';

const MODEL = join(import.meta.dirname, '../../../tests/golden/tiny-sd15/tiny-sd15.safetensors');
const [W, H] = [576, 64];
const init: RasterImage = { width: W, height: H, channels: 3, data: Uint8Array.from({ length: W * H * 3 }, (_, i) => (i * 7 + Math.floor(i / (W * 3)) * 13) % 256) };
const request = parseGenerateRequest({ prompt: 'a red fox', width: W, height: H, steps: 4, strength: 0.5, scheduler: 'ddim', seed: 3, initImage: 'init' });

let model: LoadedModel;
beforeAll(async () => {
  model = await openModel(MODEL, { device: 'cpu' });
});
afterAll(async () => {
  await model?.release();
});

async function viaBridge(memoryBudget: number): Promise<Uint8Array> {
  const [png] = await runRequest(request, { model, modelHash: undefined, image: async () => init, controlNet: () => Promise.reject(new Error('none')), onProgress: () => {}, previewEvery: 0, version: 'test', memoryBudget });
  return decodePng(png).data;
}

async function direct(tiled: boolean): Promise<Uint8Array> {
  const deps = { ort, model, controlNet: () => Promise.reject(new Error('none')), image: async () => init, previewEvery: 0 };
  return (await generateFromRequest(request, tiled ? { ...deps, vaeTiling: SD15_VAE_TILING } : deps)).images[0].data;
}

describe('automatic VAE tiling', () => {
  it('tiles encode and decode when the budget is small, and runs untiled when it is not', async () => {
    const [tight, roomy, tiled, plain] = [await viaBridge(1), await viaBridge(2 ** 40), await direct(true), await direct(false)];
    expect(tight).toEqual(tiled);
    expect(roomy).toEqual(plain);
    // Per-tile GroupNorm statistics make a tiled run visibly different, so the two paths are told apart.
    expect(tiled).not.toEqual(plain);
  });
});

// Soft denoising on the real tiny SD 1.5: a feathered mask's ring changes less than the hole and more
// than the kept area, and the bridge's own inpaint path (planInpaint's feathered mask) runs soft and
// says so in its recipe.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RasterImage } from '@kirie/core/image/png';
import { generateFromRequest } from '@kirie/core/pipeline/request';
import * as ort from 'onnxruntime-node';
import { readRecipe } from '@kirie/core/recipe/recipe';
import { parseGenerateRequest } from '@kirie/core/request/parse';
import type { GenerateRequestInput } from '@kirie/core/request/schema';
import { readText } from '../../src/generate/png-text.js';
import { openModel } from '../../src/models/load.js';
import type { LoadedModel } from '../../src/models/options.js';
import { runRequest } from '../../src/generate/request-run.js';

const MODEL = join(import.meta.dirname, '../../../tests/golden/tiny-sd15/tiny-sd15.safetensors');
const S = 64;
const L = S / 8;
const init: RasterImage = { width: S, height: S, channels: 3, data: Uint8Array.from({ length: S * S * 3 }, (_, i) => ((i % (S * 3)) * 7 + Math.floor(i / (S * 3)) * 13) % 256) };
// Columns of 8×8 blocks: two fully repainted, a ring of four grey levels falling off, two kept.
const COLUMN_LEVELS = [255, 255, 204, 153, 102, 51, 0, 0];
const mask: RasterImage = { width: S, height: S, channels: 1, data: Uint8Array.from({ length: S * S }, (_, i) => COLUMN_LEVELS[(i % S) >> 3]) };
const allKept: RasterImage = { ...mask, data: new Uint8Array(S * S) };

let model: LoadedModel;
beforeAll(async () => {
  model = await openModel(MODEL, { device: 'cpu' });
});
afterAll(async () => {
  await model?.release();
});

async function latentsFor(patch: Partial<GenerateRequestInput>, maskImage: RasterImage): Promise<Float32Array> {
  const request = parseGenerateRequest({ prompt: 'a red fox', width: S, height: S, steps: 8, scheduler: 'ddim', seed: 3, strength: 1, initImage: 'init', mask: 'mask', ...patch });
  const images: Record<string, RasterImage> = { init, mask: maskImage };
  const result = await generateFromRequest(request, { ort, model, controlNet: () => Promise.reject(new Error('no ControlNet here')), image: async (id) => images[id] });
  return result.latents;
}

/** Mean |a − b| over the latent columns [from, to). */
function columnDiff(a: Float32Array, b: Float32Array, from: number, to: number): number {
  let sum = 0;
  let count = 0;
  for (let c = 0; c < 4; c++) for (let y = 0; y < L; y++) for (let x = from; x < to; x++) {
    const i = (c * L + y) * L + x;
    sum += Math.abs(a[i] - b[i]);
    count++;
  }
  return sum / count;
}

describe('soft denoising on the tiny model', () => {
  it('changes the feathered ring less than the hole and more than the kept area, falling off with the grey level', async () => {
    // With nothing masked the loop ends on the image latents: the original as the model sees it.
    const original = await latentsFor({}, allKept);
    const soft = await latentsFor({ maskMode: 'soft' }, mask);
    const hole = columnDiff(soft, original, 0, 2);
    const ring = columnDiff(soft, original, 2, 6);
    const kept = columnDiff(soft, original, 6, 8);
    expect(kept).toBe(0);
    expect(ring).toBeGreaterThan(kept);
    expect(ring).toBeLessThan(hole);
    const bands = [2, 3, 4, 5].map((x) => columnDiff(soft, original, x, x + 1));
    for (let k = 1; k < bands.length; k++) expect(bands[k], `ring column ${k + 2}`).toBeLessThan(bands[k - 1]);
    // Binary mode cuts the same ring at 128: its 102 and 51 columns are kept exactly.
    const binary = await latentsFor({}, mask);
    expect(columnDiff(binary, original, 4, 6)).toBe(0);
  });

  it("runs the bridge's planned inpaint requests soft unless they ask otherwise, and records the mode in the recipe", async () => {
    const selection: RasterImage = { ...mask, data: Uint8Array.from({ length: S * S }, (_, i) => ((i % S) >= 16 && (i % S) < 48 && i >= 16 * S && i < 48 * S ? 255 : 0)) };
    const images: Record<string, RasterImage> = { init, sel: selection };
    const run = { model, modelHash: undefined, image: async (id: string) => images[id], controlNet: () => Promise.reject(new Error('no ControlNet here')), signal: new AbortController().signal, onProgress: () => {}, version: 'test' };
    const base = { prompt: 'a red fox', width: S, height: S, steps: 2, scheduler: 'ddim', seed: 3, strength: 1, initImage: 'init', mask: 'sel', inpaint: {} };
    const recipeMode = async (patch: Partial<GenerateRequestInput>) => {
      const [png] = await runRequest(parseGenerateRequest({ ...base, ...patch }), run);
      const recipe = readRecipe(readText(png));
      return recipe.source === 'kirie' ? recipe.request.maskMode : 'not a kirie recipe';
    };
    expect(await recipeMode({})).toBe('soft');
    expect(await recipeMode({ maskMode: 'binary' })).toBe('binary');
  });
});

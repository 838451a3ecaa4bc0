// Soft denoising in the 4-channel inpaint loop (maskMode 'soft'): per-step masks from the grey levels,
// checked step by step on fake sessions; the request field and its recipe round trip.
import { beforeEach, describe, expect, it } from 'vitest';
import type { RasterImage } from '../../src/image/png.js';
import { generate, type PipelineInput, type StepTrace } from '../../src/pipeline/generate.js';
import { readRecipe, recipeText } from '../../src/recipe/recipe.js';
import { parseGenerateRequest, validateGenerateRequest } from '../../src/request/parse.js';
import { CountingNoise, FakeScheduler, fakeModel, live, ort } from './fakes.js';

const f = Math.fround;
// 8-bit grey level of each 8×8 block, i.e. of each latent pixel of a 32×16 image (latent 4×2). None of
// v·n is an integer for the step counts below, so ⌈v·n⌉ is free of rounding questions.
const LEVELS = [0, 40, 100, 128, 150, 200, 230, 255];
const W = 32;
const H = 16;
const RGB = [51, 102, 204];

const init: RasterImage = { width: W, height: H, channels: 3, data: Uint8Array.from({ length: W * H * 3 }, (_, i) => RGB[i % 3]) };

function blockMask(level: (cell: number) => number): RasterImage {
  const data = new Uint8Array(W * H);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) data[y * W + x] = level((y >> 3) * (W / 8) + (x >> 3));
  return { width: W, height: H, channels: 1, data };
}

/** The fake encoder's latent for a uniform channel value, in float32 as it sums (64 additions of v/64), × 0.5. */
function encoded(v: number): number {
  let acc = 0;
  for (let i = 0; i < 64; i++) acc = f(acc + f(f(2 * f(v / 255) - 1) / 64));
  return f(acc * 0.5);
}
const plane = (W / 8) * (H / 8);
const imageLatents = Float32Array.from({ length: 4 * plane }, (_, i) => (i < 3 * plane ? encoded(RGB[Math.floor(i / plane)]) : 0));

async function run(patch: Partial<PipelineInput>): Promise<{ latents: Float32Array; steps: StepTrace[] }> {
  const steps: StepTrace[] = [];
  const input: PipelineInput = { prompt: 'a fox', negativePrompt: '', width: W, height: H, steps: 8, scheduler: new FakeScheduler(), guidance: 3, batchSize: 1, strength: 1, initImage: init, control: [], noise: new CountingNoise(), ...patch };
  const result = await generate(input, { ort, model: fakeModel({ latent: [H / 8, W / 8] }), onStep: (s) => steps.push({ ...s, latents: s.latents.slice() }) });
  return { latents: result.latents, steps };
}

beforeEach(() => live.clear());

describe('soft denoising, 4-channel UNet', () => {
  it.each([
    [1, 8, 1],
    [0.5, 12, 1],
    [1, 5, 2],
  ])('a hard 0/255 mask gives exactly the binary latents (strength %s, %s steps, batch %s)', async (strength, steps, batchSize) => {
    const mask = blockMask((c) => (c % 3 === 0 ? 255 : 0));
    const binary = await run({ strength, steps, batchSize, mask });
    const soft = await run({ strength, steps, batchSize, mask, maskMode: 'soft' });
    expect(soft.latents).toEqual(binary.latents);
    soft.steps.forEach((s, i) => expect(s.latents).toEqual(binary.steps[i].latents));
  });

  it.each([
    [1, 8, 8],
    [0.5, 12, 6],
  ])('at strength %s of %s steps (%s run), a grey level v frees its pixel for the last ⌈v·n⌉ steps only', async (strength, steps, n) => {
    const { latents, steps: trace } = await run({ strength, steps, mask: blockMask((c) => LEVELS[c]), maskMode: 'soft' });
    expect(trace).toHaveLength(n);
    const scheduler = new FakeScheduler();
    // CountingNoise's first draw (the image noise) is all ones.
    const ones = new Float32Array(4 * plane).fill(1);
    LEVELS.forEach((level, cell) => {
      const freeFrom = n - Math.ceil((level / 255) * n);
      trace.forEach((s, i) => {
        const keep = i < n - 1 ? scheduler.addNoise(imageLatents, ones, trace[i + 1].timestep) : imageLatents;
        for (let c = 0; c < 4; c++) {
          const at = c * plane + cell;
          if (i < freeFrom) expect(s.latents[at], `level ${level}, step ${i}, channel ${c}`).toBe(keep[at]);
          else expect(s.latents[at], `level ${level}, step ${i}, channel ${c}`).not.toBe(keep[at]);
        }
      });
    });
    // Grey 0 ends as the image latents themselves; every other level was repainted to some degree.
    for (let c = 0; c < 4; c++) expect(latents[c * plane]).toBe(imageLatents[c * plane]);
    expect(latents[1]).not.toBe(imageLatents[1]);
    expect(live.size).toBe(0);
  });

  it('reads an RGB mask by its luma, as binary mode does', async () => {
    const grey = blockMask((c) => LEVELS[c]);
    const rgb: RasterImage = { width: W, height: H, channels: 3, data: Uint8Array.from({ length: W * H * 3 }, (_, i) => grey.data[Math.floor(i / 3)]) };
    expect((await run({ mask: rgb, maskMode: 'soft' })).latents).toEqual((await run({ mask: grey, maskMode: 'soft' })).latents);
  });

  it('changes nothing for a 9-channel UNet, which takes the binarised mask itself', async () => {
    const mask = blockMask((c) => LEVELS[c]);
    const go = (maskMode: 'soft' | 'binary') =>
      generate(
        { prompt: 'a fox', negativePrompt: '', width: W, height: H, steps: 4, scheduler: new FakeScheduler(), guidance: 3, batchSize: 1, strength: 1, initImage: init, mask, maskMode, control: [], noise: new CountingNoise() },
        { ort, model: fakeModel({ channels: 9, latent: [H / 8, W / 8] }) },
      );
    expect((await go('soft')).latents).toEqual((await go('binary')).latents);
  });
});

describe('GenerateRequest.maskMode', () => {
  const base = { prompt: 'p', initImage: 'init', mask: 'mask' };
  it.each([
    [{}, undefined],
    [{ maskMode: 'binary' }, 'binary'],
    [{ maskMode: 'soft' }, 'soft'],
  ])('%j parses to maskMode %s', (patch, expected) => {
    expect(parseGenerateRequest({ ...base, ...patch }).maskMode).toBe(expected);
  });

  it.each([
    [{ ...base, maskMode: 'hard' }, 'maskMode', /maskMode must be one of binary, soft/],
    [{ ...base, maskMode: 1 }, 'maskMode', /maskMode must be one of binary, soft/],
    [{ prompt: 'p', initImage: 'init', maskMode: 'soft' }, 'maskMode', /maskMode needs a mask/],
  ])('%j is refused on field %s', (input, field, message) => {
    const result = validateGenerateRequest(input);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors).toHaveLength(1);
    expect(result.errors[0].field).toBe(field);
    expect(result.errors[0].message).toMatch(message);
  });

  it("travels in Kirie's recipe JSON, not in A1111's text", () => {
    const request = parseGenerateRequest({ ...base, maskMode: 'soft', seed: 4 });
    const text = recipeText(request, 0, { modelName: 'tiny' });
    expect(readRecipe(text)).toEqual({ source: 'kirie', request });
    expect(text.parameters).not.toMatch(/soft|mask ?mode/i);
    expect(readRecipe({ parameters: text.parameters })).not.toHaveProperty('request.maskMode');
  });
});

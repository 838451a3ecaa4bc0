import { describe, expect, it } from 'vitest';
import { formatA1111, parseA1111 } from '../../src/recipe/a1111.js';
import { KIRIE_KEY, PARAMETERS_KEY, readRecipe, recipeText } from '../../src/recipe/recipe.js';
import { parseGenerateRequest } from '../../src/request/parse.js';
import { findScheduler } from '../../src/schedulers/registry.js';

const id = 'f'.repeat(64);
const base = parseGenerateRequest({ model: 'tiny', prompt: 'a red fox', negativePrompt: 'blurry', width: 512, height: 768, steps: 20, scheduler: 'euler_a', guidance: 7, seed: 1 });
const ctx = { seed: 1, modelName: 'v1-5-pruned-emaonly', modelHash: '6ce0161689' };

describe('formatA1111', () => {
  it.each<[string, Record<string, unknown>, string]>([
    ['txt2img', {}, 'a red fox\nNegative prompt: blurry\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1, Size: 512x768, Model hash: 6ce0161689, Model: v1-5-pruned-emaonly'],
    ['no negative', { negativePrompt: '' }, 'a red fox\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1, Size: 512x768, Model hash: 6ce0161689, Model: v1-5-pruned-emaonly'],
    [
      'img2img with clip skip',
      { initImage: id, strength: 0.6, clipSkip: 2, guidance: 7.5, scheduler: 'ddim' },
      'a red fox\nNegative prompt: blurry\nSteps: 20, Sampler: DDIM, CFG scale: 7.5, Seed: 1, Size: 512x768, Model hash: 6ce0161689, Model: v1-5-pruned-emaonly, Denoising strength: 0.6, Clip skip: 2',
    ],
    [
      'ControlNet units are quoted',
      { control: [{ model: 'control_v11p_sd15_canny', image: id, preprocessor: { type: 'canny' }, scale: 0.8, end: 0.5 }] },
      'a red fox\nNegative prompt: blurry\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1, Size: 512x768, Model hash: 6ce0161689, Model: v1-5-pruned-emaonly, ControlNet 0: "Module: canny, Model: control_v11p_sd15_canny, Weight: 0.8, Threshold A: 100, Threshold B: 200, Guidance Start: 0, Guidance End: 0.5"',
    ],
  ])('%s', (_name, patch, expected) => {
    const request = parseGenerateRequest({ ...base, ...patch });
    expect(formatA1111(request, ctx)).toBe(expected);
  });

  it('quotes a model name with a comma or colon', () => {
    expect(formatA1111(base, { seed: 3, modelName: 'a:b, c' })).toMatch(/Seed: 3, Size: 512x768, Model: "a:b, c"$/);
  });
});

describe('parseA1111', () => {
  it('reads what formatA1111 writes', () => {
    const request = parseGenerateRequest({ ...base, prompt: 'line one\nline two', negativePrompt: 'bad, ugly\nworse', initImage: id, strength: 0.45, clipSkip: 2 });
    const parsed = parseA1111(formatA1111(request, ctx));
    expect(parsed.request).toEqual({ prompt: 'line one\nline two', negativePrompt: 'bad, ugly\nworse', steps: 20, scheduler: findScheduler('euler_a')!.name, guidance: 7, seed: 1, width: 512, height: 768, model: 'v1-5-pruned-emaonly', strength: 0.45, clipSkip: 2 });
    expect(parsed.modelHash).toBe('6ce0161689');
  });

  it.each<[string, string, Record<string, unknown>]>([
    ['a classic A1111 line', 'castle\nSteps: 30, Sampler: Euler, CFG scale: 7.0, Seed: 2179987202, Size: 768x512, Model hash: 93b79e09ed, Model: anything-v4.5, Clip skip: 2, ENSD: 31337', { prompt: 'castle', steps: 30, scheduler: 'euler', guidance: 7, seed: 2179987202, width: 768, height: 512, model: 'anything-v4.5', clipSkip: 2 }],
    ['A1111 ≥ 1.9 schedule type', 'x\nSteps: 4, Sampler: Euler, Schedule type: Karras, CFG scale: 5, Seed: 9, Size: 64x64', { prompt: 'x', steps: 4, scheduler: 'euler_karras', guidance: 5, seed: 9, width: 64, height: 64 }],
    ['schedule type Automatic is the sampler itself', 'x\nSteps: 4, Sampler: DDIM, Schedule type: Automatic, CFG scale: 5, Seed: 9, Size: 64x64', { prompt: 'x', steps: 4, scheduler: 'ddim', guidance: 5, seed: 9, width: 64, height: 64 }],
    ['prompt only', 'just a prompt, with: punctuation', { prompt: 'just a prompt, with: punctuation' }],
    ['quoted value with escaped quote', 'p\nSteps: 2, Sampler: DDIM, Seed: 5, Model: "my \\"best\\", model"', { prompt: 'p', steps: 2, scheduler: 'ddim', seed: 5, model: 'my "best", model' }],
  ])('%s', (_name, text, expected) => {
    expect(parseA1111(text).request).toEqual(expected);
  });

  it('keeps unknown keys aside and reads sd-webui-controlnet units', () => {
    const text =
      'p\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1, Size: 512x512, Hires upscaler: Latent, ControlNet 0: "Module: openpose, Model: control_v11p_sd15_openpose [cab727d4], Weight: 0.75, Resize Mode: Crop and Resize, Guidance Start: 0.1, Guidance End: 0.9, Pixel Perfect: False"';
    const parsed = parseA1111(text);
    expect(parsed.ignored).toEqual({ 'Hires upscaler': 'Latent' });
    expect(parsed.control).toEqual([{ model: 'control_v11p_sd15_openpose [cab727d4]', module: 'openpose', scale: 0.75, start: 0.1, end: 0.9 }]);
  });

  it.each([
    ['an unknown sampler', 'p\nSteps: 20, Sampler: Heun, Seed: 1', /sampler "Heun" is not supported/],
    ['a bad size', 'p\nSteps: 20, Size: big, Seed: 1', /"Size" must be WIDTHxHEIGHT/],
    ['a bad number', 'p\nSteps: many, Sampler: DDIM, Seed: 1', /"Steps" must be a number/],
  ])('names %s', (_name, text, error) => {
    expect(() => parseA1111(text)).toThrow(error);
  });
});

describe('recipe text', () => {
  it('describes image i of a batch as its own request with seed + i', () => {
    const request = parseGenerateRequest({ ...base, batchSize: 3, seed: 10, prompt: 'café ☕' });
    const text = recipeText(request, 2, { modelName: 'tiny', modelHash: 'abc' });
    expect(text[PARAMETERS_KEY]).toMatch(/Seed: 12,/);
    expect(text[KIRIE_KEY]).toMatch(/^[\x20-\x7e]*$/); // ASCII: fits a tEXt chunk
    const back = readRecipe(text);
    expect(back).toEqual({ source: 'kirie', request: { ...request, seed: 12, batchSize: 1 }, modelHash: 'abc' });
  });

  it('falls back to A1111 parameters, and names what is missing', () => {
    const back = readRecipe({ [PARAMETERS_KEY]: 'p\nSteps: 3, Sampler: DDIM, Seed: 4' });
    expect(back.source).toBe('a1111');
    expect(back.request).toEqual({ prompt: 'p', steps: 3, scheduler: 'ddim', seed: 4 });
    expect(() => readRecipe({ Software: 'x' })).toThrow(/no recipe.*keys: Software/);
    expect(() => readRecipe({ [KIRIE_KEY]: '{' })).toThrow(/not JSON/);
    expect(() => readRecipe({ [KIRIE_KEY]: '{"request":{"width":3}}' })).toThrow(/invalid generate request/);
  });
});

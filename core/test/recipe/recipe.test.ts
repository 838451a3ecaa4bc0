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
    ['txt2img', {}, 'a red fox\nNegative prompt: blurry\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1, Size: 512x768, Model hash: 6ce0161689, Model: v1-5-pruned-emaonly, Sampling: diffusers'],
    ['no negative', { negativePrompt: '' }, 'a red fox\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1, Size: 512x768, Model hash: 6ce0161689, Model: v1-5-pruned-emaonly, Sampling: diffusers'],
    [
      'img2img with clip skip',
      { initImage: id, strength: 0.6, clipSkip: 2, guidance: 7.5, scheduler: 'ddim' },
      'a red fox\nNegative prompt: blurry\nSteps: 20, Sampler: DDIM, CFG scale: 7.5, Seed: 1, Size: 512x768, Model hash: 6ce0161689, Model: v1-5-pruned-emaonly, Denoising strength: 0.6, Clip skip: 2, Sampling: diffusers',
    ],
    [
      'ControlNet units are quoted',
      { control: [{ model: 'control_v11p_sd15_canny', image: id, preprocessor: { type: 'canny' }, scale: 0.8, end: 0.5 }] },
      'a red fox\nNegative prompt: blurry\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1, Size: 512x768, Model hash: 6ce0161689, Model: v1-5-pruned-emaonly, Sampling: diffusers, ControlNet 0: "Module: canny, Model: control_v11p_sd15_canny, Weight: 0.8, Threshold A: 100, Threshold B: 200, Guidance Start: 0, Guidance End: 0.5"',
    ],
  ])('%s', (_name, patch, expected) => {
    const request = parseGenerateRequest({ ...base, ...patch });
    expect(formatA1111(request, ctx)).toBe(expected);
  });

  it('quotes a model name with a comma or colon', () => {
    expect(formatA1111(base, { seed: 3, modelName: 'a:b, c' })).toMatch(/Seed: 3, Size: 512x768, Model: "a:b, c", Sampling: diffusers$/);
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
    ['a classic A1111 line: its own sampler and ENSD', 'castle\nSteps: 30, Sampler: Euler, CFG scale: 7.0, Seed: 2179987202, Size: 768x512, Model hash: 93b79e09ed, Model: anything-v4.5, Clip skip: 2, ENSD: 31337', { prompt: 'castle', steps: 30, sampling: { tool: 'a1111', sampler: 'Euler', scheduleType: 'Automatic', etaNoiseSeedDelta: 31337 }, guidance: 7, seed: 2179987202, width: 768, height: 512, model: 'anything-v4.5', clipSkip: 2 , promptSyntax: 'a1111' }],
    ['A1111 ≥ 1.9 schedule type', 'x\nSteps: 4, Sampler: Euler, Schedule type: Karras, CFG scale: 5, Seed: 9, Size: 64x64', { prompt: 'x', steps: 4, sampling: { tool: 'a1111', sampler: 'Euler', scheduleType: 'Karras' }, guidance: 5, seed: 9, width: 64, height: 64 , promptSyntax: 'a1111' }],
    ['A1111 < 1.9 sampler names with the schedule', 'x\nSteps: 4, Sampler: DPM++ 2M Karras, CFG scale: 5, Seed: 9, RNG: CPU', { prompt: 'x', steps: 4, sampling: { tool: 'a1111', sampler: 'DPM++ 2M', scheduleType: 'Karras', rng: 'CPU' }, guidance: 5, seed: 9 , promptSyntax: 'a1111' }],
    ['variation seed', 'x\nSteps: 4, Sampler: Euler a, Seed: 9, Variation seed: 7, Variation seed strength: 0.3', { prompt: 'x', steps: 4, sampling: { tool: 'a1111', sampler: 'Euler a', scheduleType: 'Automatic', variationSeed: 7, variationStrength: 0.3 }, seed: 9 , promptSyntax: 'a1111' }],
    ['Kirie\'s ComfyUI sampling', 'x\nSteps: 4, Sampler: euler_ancestral, Schedule type: karras, Seed: 9, Sampling: ComfyUI', { prompt: 'x', steps: 4, sampling: { tool: 'comfyui', samplerName: 'euler_ancestral', scheduler: 'karras' }, seed: 9 , promptSyntax: 'comfyui' }],
    ['schedule type Automatic is the sampler itself', 'x\nSteps: 4, Sampler: DDIM, Schedule type: Automatic, CFG scale: 5, Seed: 9, Size: 64x64', { prompt: 'x', steps: 4, scheduler: 'ddim', guidance: 5, seed: 9, width: 64, height: 64 , promptSyntax: 'a1111' }],
    ['prompt only', 'just a prompt, with: punctuation', { prompt: 'just a prompt, with: punctuation' , promptSyntax: 'a1111' }],
    ['quoted value with escaped quote', 'p\nSteps: 2, Sampler: DDIM, Seed: 5, Model: "my \\"best\\", model"', { prompt: 'p', steps: 2, scheduler: 'ddim', seed: 5, model: 'my "best", model' , promptSyntax: 'a1111' }],
  ])('%s', (_name, text, expected) => {
    expect(parseA1111(text).request).toEqual(expected);
  });

  it('names extra networks it does not apply (A1111 strips every tag; LoRA tags become LoRAs)', () => {
    const parsed = parseA1111('<hypernet:anime:0.5>, <lora:add_detail:0.8> fox\nSteps: 2, Sampler: Euler, Seed: 1');
    expect(parsed.ignored).toEqual({ '<hypernet:anime:0.5>': 'hypernet (an extra network Kirie does not apply)' });
  });

  it('keeps unknown keys aside and reads sd-webui-controlnet units', () => {
    const text =
      'p\nSteps: 20, Sampler: Euler a, CFG scale: 7, Seed: 1, Size: 512x512, Hires upscaler: Latent, ControlNet 0: "Module: openpose, Model: control_v11p_sd15_openpose [cab727d4], Weight: 0.75, Resize Mode: Crop and Resize, Guidance Start: 0.1, Guidance End: 0.9, Pixel Perfect: False"';
    const parsed = parseA1111(text);
    expect(parsed.ignored).toEqual({ 'Hires upscaler': 'Latent' });
    expect(parsed.control).toEqual([{ model: 'control_v11p_sd15_openpose [cab727d4]', module: 'openpose', scale: 0.75, start: 0.1, end: 0.9 }]);
  });

  it.each([
    ['an unknown sampler', 'p\nSteps: 20, Sampler: DPM++ SDE, Seed: 1', /sampler "DPM\+\+ SDE" is not supported/],
    ['an SDE sampler, with why', 'p\nSteps: 20, Sampler: DPM++ 3M SDE, Schedule type: Karras, Seed: 1', /sampler "DPM\+\+ 3M SDE" is not supported: its step noise is torchsde's BrownianTree/],
    ['a pre-1.9 SDE sampler name, with why', 'p\nSteps: 20, Sampler: DPM++ 3M SDE Exponential, Seed: 1', /sampler "DPM\+\+ 3M SDE Exponential" is not supported: its step noise is torchsde's BrownianTree/],
    ['an unknown schedule type', 'p\nSteps: 20, Sampler: Euler, Schedule type: Cosine, Seed: 1', /"Schedule type" "Cosine" is not supported; Kirie has Automatic, Uniform/],
    ['an unknown RNG', 'p\nSteps: 20, Sampler: Euler, RNG: TPU, Seed: 1', /"RNG" "TPU" is not supported; Kirie has NV, CPU/],
    ['an unknown ComfyUI scheduler', 'p\nSteps: 20, Sampler: euler, Schedule type: cosine, Sampling: ComfyUI', /"Schedule type" "cosine" is not supported/],
    ['a bad size', 'p\nSteps: 20, Size: big, Seed: 1', /"Size" must be WIDTHxHEIGHT/],
    ['a bad number', 'p\nSteps: many, Sampler: DDIM, Seed: 1', /"Steps" must be a number/],
  ])('names %s', (_name, text, error) => {
    expect(() => parseA1111(text)).toThrow(error);
  });
});

describe('A1111 text round-trips the tools\' sampling (write → parse → same request)', () => {
  it.each<[string, Record<string, unknown>]>([
    ['A1111 Euler a, NV', { tool: 'a1111', sampler: 'Euler a' }],
    ['A1111 DPM++ 2M Karras, CPU', { tool: 'a1111', sampler: 'DPM++ 2M', scheduleType: 'Karras', rng: 'CPU' }],
    ['A1111 DPM2 Automatic, ENSD', { tool: 'a1111', sampler: 'DPM2', etaNoiseSeedDelta: 31337 }],
    ['A1111 LMS, variation seed', { tool: 'a1111', sampler: 'LMS', scheduleType: 'Exponential', variationSeed: 7, variationStrength: 0.3 }],
    ['A1111 Heun, Align Your Steps', { tool: 'a1111', sampler: 'Heun', scheduleType: 'Align Your Steps' }],
    ['ComfyUI dpmpp_2m / sgm_uniform', { tool: 'comfyui', samplerName: 'dpmpp_2m', scheduler: 'sgm_uniform' }],
    ['ComfyUI lcm / kl_optimal', { tool: 'comfyui', samplerName: 'lcm', scheduler: 'kl_optimal' }],
  ])('%s', (_name, sampling) => {
    // The diffusers scheduler is unused with sampling: the text leaves it to its default.
    const request = parseGenerateRequest({ ...base, scheduler: undefined, model: 'v1-5-pruned-emaonly', sampling });
    const text = formatA1111(request, ctx);
    const parsed = parseA1111(text);
    expect(parsed.ignored).toEqual({});
    expect(parseGenerateRequest(parsed.request)).toEqual(request);
  });

  it.each<[string, Record<string, unknown>]>([
    ['an A1111 recipe: its sampling and syntax write no marker', { sampling: { tool: 'a1111', sampler: 'DPM++ 2M', scheduleType: 'Karras' }, promptSyntax: 'a1111', prompt: '(masterpiece:1.2), [cat:dog:0.5] BREAK sky' }],
    ['A1111 emphasis and pad conds', { sampling: { tool: 'a1111', sampler: 'Euler a' }, promptSyntax: 'a1111', emphasis: 'No norm', padConds: true }],
    ['A1111 syntax on diffusers sampling', { promptSyntax: 'a1111', emphasis: 'Original', padConds: false }],
    ['ComfyUI syntax on A1111 sampling', { sampling: { tool: 'a1111', sampler: 'Euler' }, promptSyntax: 'comfyui' }],
    ['plain prompts on ComfyUI sampling', { sampling: { tool: 'comfyui', samplerName: 'euler', scheduler: 'normal' } }],
  ])('prompt syntax: %s', (_name, patch) => {
    const request = parseGenerateRequest({ ...base, model: 'v1-5-pruned-emaonly', ...(patch.sampling ? { scheduler: undefined } : { scheduler: findScheduler('euler_a')!.name }), ...patch });
    const text = formatA1111(request, ctx);
    const parsed = parseA1111(text);
    expect(parsed.ignored).toEqual({});
    expect(parseGenerateRequest(parsed.request)).toEqual(request);
  });

  it('an A1111 recipe is written as A1111 writes it, with its emphasis keys', () => {
    const request = parseGenerateRequest({ ...base, scheduler: undefined, sampling: { tool: 'a1111', sampler: 'Euler' }, promptSyntax: 'a1111', emphasis: 'No norm', padConds: true });
    expect(formatA1111(request, ctx)).toMatch(/Schedule type: Automatic, RNG: NV, Emphasis: No norm, Pad conds: True$/);
    expect(() => parseA1111('p\nSteps: 2, Sampler: Euler, Seed: 1, Prompt syntax: Midjourney')).toThrow(/"Prompt syntax" "Midjourney" is not supported; Kirie has plain, A1111, ComfyUI/);
  });

  it('writes A1111\'s own keys for A1111 sampling', () => {
    const request = parseGenerateRequest({ ...base, sampling: { tool: 'a1111', sampler: 'Euler a', rng: 'CPU', variationSeed: 7, variationStrength: 0.3, etaNoiseSeedDelta: 31337 } });
    expect(formatA1111(request, ctx)).toMatch(/Sampler: Euler a, CFG scale: 7, .*, Schedule type: Automatic, RNG: CPU, Variation seed: 7, Variation seed strength: 0.3, ENSD: 31337, Prompt syntax: plain$/);
  });

  it('reads RNG: GPU as NV, A1111\'s CPU emulation of it, and reports it as not carried exactly', () => {
    const parsed = parseA1111('p\nSteps: 2, Sampler: Euler, Seed: 1, RNG: GPU');
    expect(parsed.request.sampling).toEqual({ tool: 'a1111', sampler: 'Euler', scheduleType: 'Automatic', rng: 'NV' });
    expect(parsed.ignored).toEqual({ RNG: 'GPU' });
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

  it("Kirie's recipe names the model family and reads it back; A1111's text keeps only Model and Model hash", () => {
    const request = parseGenerateRequest({ ...base, width: 1024, height: 1024, prompt2: 'an oil painting' });
    const text = recipeText(request, 0, { modelName: 'ponyDiffusionV6XL', modelHash: '67ab2fd8ec', modelFamily: 'sdxl' });
    expect(JSON.parse(text[KIRIE_KEY]!).model).toEqual({ name: 'ponyDiffusionV6XL', hash: '67ab2fd8ec', family: 'sdxl' });
    expect(readRecipe(text)).toEqual({ source: 'kirie', request, modelHash: '67ab2fd8ec', modelFamily: 'sdxl' });
    expect(text[PARAMETERS_KEY]).toMatch(/Model hash: 67ab2fd8ec, Model: ponyDiffusionV6XL/);
    expect(text[PARAMETERS_KEY]).not.toMatch(/sdxl/i);
    // Written before families were recorded (or by a model of no known family): no family, not a guess.
    expect(readRecipe(recipeText(base, 0, { modelName: 'tiny' }))).not.toHaveProperty('modelFamily');
    const forged = JSON.stringify({ request: base, model: { name: 'x', family: 'toString' } });
    expect(() => readRecipe({ [KIRIE_KEY]: forged })).toThrow(/model family "toString" is not one Kirie knows \(sd1, sdxl\)/);
  });

  it('falls back to A1111 parameters, and names what is missing', () => {
    const back = readRecipe({ [PARAMETERS_KEY]: 'p\nSteps: 3, Sampler: DDIM, Seed: 4' });
    expect(back.source).toBe('a1111');
    expect(back.request).toEqual({ prompt: 'p', steps: 3, scheduler: 'ddim', seed: 4, promptSyntax: 'a1111' });
    expect(() => readRecipe({ Software: 'x' })).toThrow(/no recipe.*keys: Software/);
    expect(() => readRecipe({ [KIRIE_KEY]: '{' })).toThrow(/not JSON/);
    expect(() => readRecipe({ [KIRIE_KEY]: '{"request":{"width":3}}' })).toThrow(/invalid generate request/);
  });
});

// GenerateRequest.sampling: A1111 and ComfyUI sampler names as fields, each refusal naming its field.
import { describe, expect, it } from 'vitest';
import { parseGenerateRequest, validateGenerateRequest } from '../../src/request/parse.js';

const id = 'f'.repeat(64);

describe('GenerateRequest.sampling', () => {
  it('fills A1111 defaults: Automatic schedule, NV noise (A1111\'s emulation of its GPU source), no variation, no ENSD', () => {
    expect(parseGenerateRequest({ prompt: 'p', sampling: { tool: 'a1111', sampler: 'Euler a' } }).sampling).toEqual({
      tool: 'a1111',
      sampler: 'Euler a',
      scheduleType: 'Automatic',
      rng: 'NV',
      variationStrength: 0,
      etaNoiseSeedDelta: 0,
    });
  });

  it('takes ComfyUI KSampler names as they are', () => {
    expect(parseGenerateRequest({ prompt: 'p', sampling: { tool: 'comfyui', samplerName: 'dpmpp_2m', scheduler: 'karras' } }).sampling).toEqual({ tool: 'comfyui', samplerName: 'dpmpp_2m', scheduler: 'karras' });
  });

  it.each<[string, unknown, string, RegExp]>([
    ['an unknown tool', { tool: 'invokeai', sampler: 'Euler' }, 'sampling.tool', /"a1111" or "comfyui"/],
    ['an A1111 sampler Kirie lacks', { tool: 'a1111', sampler: 'DPM++ SDE' }, 'sampling.sampler', /sampler must be one of: DPM\+\+ 2M, Euler a, Euler, LMS, Heun, DPM2, DPM2 a/],
    ["A1111's DPM++ 3M SDE, naming why (its schedule is known, its Brownian-tree noise is not reproduced)", { tool: 'a1111', sampler: 'DPM++ 3M SDE' }, 'sampling.sampler', /sampler "DPM\+\+ 3M SDE" is not supported: its step noise is torchsde's BrownianTree/],
    ['a ComfyUI name given to A1111', { tool: 'a1111', sampler: 'euler_ancestral' }, 'sampling.sampler', /sampler must be one of/],
    ['an unknown schedule type', { tool: 'a1111', sampler: 'Euler', scheduleType: 'karras' }, 'sampling.scheduleType', /scheduleType must be one of: Automatic, Uniform, Karras/],
    ['an unknown RNG', { tool: 'a1111', sampler: 'Euler', rng: 'GPU' }, 'sampling.rng', /rng must be one of: NV, CPU/],
    ['a variation strength above 1', { tool: 'a1111', sampler: 'Euler', variationSeed: 1, variationStrength: 2 }, 'sampling.variationStrength', /1/],
    ['a variation strength without its seed', { tool: 'a1111', sampler: 'Euler', variationStrength: 0.5 }, 'sampling.variationSeed', /needs a variationSeed/],
    ['an A1111 field on ComfyUI', { tool: 'comfyui', samplerName: 'euler', scheduler: 'normal', rng: 'CPU' }, 'sampling.rng', /unknown field "rng"/],
    ['a ComfyUI sampler without its scheduler', { tool: 'comfyui', samplerName: 'euler' }, 'sampling.scheduler', /scheduler must be one of: normal, karras/],
    ['an SDE sampler (its Brownian-tree noise is not reproduced)', { tool: 'comfyui', samplerName: 'dpmpp_2m_sde', scheduler: 'normal' }, 'sampling.samplerName', /samplerName must be one of: euler, euler_ancestral, heun, dpm_2, dpm_2_ancestral, dpmpp_2m, lms, lcm, ddim, uni_pc/],
  ])('refuses %s', (_name, sampling, field, message) => {
    const result = validateGenerateRequest({ prompt: 'p', sampling });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const error = result.errors.find((e) => e.field === field);
    expect(error, JSON.stringify(result.errors)).toBeDefined();
    expect(error!.message).toMatch(message);
  });

  it('refuses inpainting with the tools\' sampling (their masked samplers are not reproduced)', () => {
    const result = validateGenerateRequest({ prompt: 'p', initImage: id, mask: id, sampling: { tool: 'comfyui', samplerName: 'euler', scheduler: 'normal' } });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.errors).toContainEqual({ field: 'sampling', message: expect.stringMatching(/inpainting .* not supported/) });
  });

  it('img2img keeps strength as ComfyUI\'s denoise / A1111\'s denoising strength', () => {
    expect(parseGenerateRequest({ prompt: 'p', initImage: id, strength: 0.6, sampling: { tool: 'comfyui', samplerName: 'euler', scheduler: 'normal' } }).strength).toBe(0.6);
  });
});

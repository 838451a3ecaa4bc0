// DeepCache against its reference implementation (tests/golden/deepcache): the tiny checkpoint's full UNet
// (with its feature outputs) and the shallow UNet built beside it, run by the pipeline with the request's
// `acceleration.deepCache`; every UNet call, every cached feature, the latents and the image compared.
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseGenerateRequest } from '@kirie/core/request/parse';
import { findCaseFiles } from '../../src/verify/run.js';
import { caseRequest, checkPipelineCase, deepcacheKind, releasePipelineModels } from '../../src/verify/kinds/pipelines.js';
import type { CaseResult } from '../../src/verify/types.js';

const GOLDEN = join(import.meta.dirname, '../../../tests/golden/deepcache');

function caseFile(id: string) {
  const [file] = findCaseFiles(join(GOLDEN, id));
  if (!file) throw new Error(`no case ${id}`);
  return file;
}

afterAll(releasePipelineModels);

describe('DeepCache against DeepCacheSDHelper on diffusers 0.24', () => {
  it.each([
    'txt2img_ddim_i2_b0_128', // full 0,2,4,6,8; outermost branch
    'txt2img_dpmpp_2m_i3_b0_128', // multistep scheduler state across shallow calls
    'txt2img_ddim_i2_b5_128', // branch 5: caches up_blocks.1's output (after its upsampler)
    'txt2img_ddim_i1_b0_128', // interval 1: every call full, the plain pipeline
    'txt2img_ddim_i3_nonuniform_c5_128', // the experimental pipeline's non-uniform schedule: full 0, 3, 5, 7
  ])('%s', async (id) => {
    const file = caseFile(id);
    expect(deepcacheKind.matches(file)).toBe(true);
    expect(deepcacheKind.missingFeatures!(file)).toBeUndefined();
    const results: CaseResult[] = [];
    for await (const r of checkPipelineCase(file)) results.push(r);
    const parts = results.map((r) => r.case.split('/').pop());
    expect(parts).toEqual(id.includes('_i1_') ? ['final_latents', 'steps_latents', 'steps_unet_output', 'image_png'] : ['final_latents', 'steps_latents', 'steps_unet_output', 'cached_features', 'image_png']);
    for (const r of results) expect(r.pass, `${r.case}: ${r.detail} max |diff| ${r.maxAbsDiff} > ${r.tolerance}`).toBe(true);
  });

  it('a case becomes a request with acceleration.deepCache', () => {
    const { request } = caseRequest(caseFile('txt2img_ddim_i2_b5').json as never);
    expect(parseGenerateRequest(request).acceleration).toEqual({ deepCache: { interval: 2, branch: 5 } });
  });
});

describe('acceleration.deepCache in requests', () => {
  const base = { prompt: 'a cat' };
  it('defaults the branch to 0 and refuses what the reference cannot do', () => {
    expect(parseGenerateRequest({ ...base, acceleration: { deepCache: { interval: 3 } } }).acceleration).toEqual({ deepCache: { interval: 3, branch: 0 } });
    expect(() => parseGenerateRequest({ ...base, acceleration: { deepCache: { interval: 0 } } })).toThrow(/interval/);
    expect(() => parseGenerateRequest({ ...base, acceleration: { deepCache: { interval: 2, branch: 12 } } })).toThrow(/branch/);
    expect(() => parseGenerateRequest({ ...base, acceleration: { deepCache: { interval: 2, fast: true } } })).toThrow(/fast/);
    expect(() => parseGenerateRequest({ ...base, acceleration: { deepCache: { interval: 2, nonUniform: { center: 5, pow: 1 } } } })).toThrow(/pow must be greater than 1/);
    expect(() => parseGenerateRequest({ ...base, acceleration: { deepCache: { interval: 2 } }, control: [{ model: 'c', image: 'i' }] })).toThrow(/DeepCache cannot be combined with control units/);
  });
});

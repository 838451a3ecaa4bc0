// The SDXL pipelines on the tiny SDXL checkpoints against diffusers' recorded runs (tests/golden/sdxl/pipelines),
// within the README's per-case tolerances. One case per path through conditioning and the loop; `kirie verify
// tests/golden/sdxl` runs all 14.
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findCaseFiles } from '../../src/verify/run.js';
import { caseRequest, checkPipelineCase, pipelinesKind, releasePipelineModels } from '../../src/verify/kinds/pipelines.js';
import type { CaseResult } from '../../src/verify/types.js';

const GOLDEN = join(import.meta.dirname, '../../../tests/golden/sdxl/pipelines');

function caseFile(id: string) {
  const [file] = findCaseFiles(join(GOLDEN, id));
  if (!file) throw new Error(`no case ${id}`);
  return file;
}

afterAll(releasePipelineModels);

describe('SDXL pipelines against diffusers', () => {
  it.each([
    'txt2img_euler_microcond', // negative and positive time-id rows differ
    'txt2img_euler_zero_negative', // no negative prompt: zero embeddings and pooled
    'txt2img_euler_prompt_2', // the second encoder reads its own prompts
    'txt2img_dpmpp_2m_karras_128', // leading spacing, multistep state, 16×16 latents
    'img2img_euler_s060', // partial schedule from the SDXL VAE (scaling 0.13025)
    'inpaint9_euler_default_strength', // 9-channel UNet, strength 0.9999
    'inpaint4_dpmpp_2m_karras_s075', // 4-channel blending
  ])('%s', async (id) => {
    const file = caseFile(id);
    expect(pipelinesKind.missingFeatures!(file)).toBeUndefined();
    const results: CaseResult[] = [];
    for await (const r of checkPipelineCase(file)) results.push(r);
    expect(results.map((r) => r.case.split('/').pop())).toEqual(['final_latents', 'steps_latents', 'image', 'image_png']);
    for (const r of results) expect(r.pass, `${r.case}: max |diff| ${r.maxAbsDiff} > ${r.tolerance}`).toBe(true);
  }, 120_000);
});

describe('an SDXL case becomes a GenerateRequest', () => {
  it('carries the second prompts, the micro-conditioning as (height, width) / (top, left), and the default strength diffusers ran', () => {
    const micro = caseRequest(caseFile('txt2img_euler_microcond').json as never).request;
    expect(micro.sizeConditioning).toEqual({
      originalSize: { height: 96, width: 128 },
      cropTopLeft: { top: 8, left: 16 },
      negativeOriginalSize: { height: 32, width: 48 },
      negativeCropTopLeft: { top: 0, left: 4 },
      negativeTargetSize: { height: 64, width: 64 },
    });
    const second = caseRequest(caseFile('txt2img_euler_prompt_2').json as never).request;
    expect(second.prompt2).toBeTypeOf('string');
    expect(second.negativePrompt2).toBe('monochrome');
    expect(caseRequest(caseFile('txt2img_euler_zero_negative').json as never).request.negativePrompt).toBe('');
    expect(caseRequest(caseFile('inpaint9_euler_default_strength').json as never).request.strength).toBe(0.9999);
  });
});

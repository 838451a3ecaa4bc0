// The real pipeline on the tiny checkpoints against diffusers' recorded runs (tests/golden/pipelines),
// within the README's per-case tolerances. One case per path through the loop; `npm run verify` runs all.
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findCaseFiles } from '../../src/verify/run.js';
import { caseRequest, checkPipelineCase, releasePipelineModels } from '../../src/verify/kinds/pipelines.js';
import type { CaseResult } from '../../src/verify/types.js';

const GOLDEN = join(import.meta.dirname, '../../../tests/golden/pipelines');

function caseFile(id: string) {
  const [file] = findCaseFiles(join(GOLDEN, id));
  if (!file) throw new Error(`no case ${id}`);
  return file;
}

afterAll(releasePipelineModels);

describe('pipelines against diffusers', () => {
  it.each([
    'txt2img_ddim_h96_w64', // 12×8 latents: odd skip sizes
    'txt2img_euler_ancestral', // step noise from the queue
    'txt2img_dpmpp_2m_karras', // multistep state
    'txt2img_lcm', // no CFG, noise on every step but the last
    'img2img_euler_s060', // strength start, sigma-scaled add_noise
    'inpaint4_ddim_s075_softmask', // binarised feathered mask, latent blending
    'inpaint9_ddim_s100_128', // 9-channel UNet input
    'controlnet_ddim_s050_128', // residuals at scale 0.5
  ])('%s', async (id) => {
    const results: CaseResult[] = [];
    for await (const r of checkPipelineCase(caseFile(id))) results.push(r);
    expect(results.map((r) => r.case.split('/').pop())).toEqual(['final_latents', 'steps_latents', 'image', 'image_png']);
    for (const r of results) expect(r.pass, `${r.case}: max |diff| ${r.maxAbsDiff} > ${r.tolerance}`).toBe(true);
  });
});

describe('a case becomes a GenerateRequest', () => {
  it('takes every setting from the case parameters', () => {
    const { request, imageFiles } = caseRequest(caseFile('controlnet_ddim_s050').json as never);
    expect(request).toMatchObject({ model: 'tiny-sd15.safetensors', prompt: 'a dog in a park', negativePrompt: 'blurry, lowres, bad anatomy', width: 64, height: 64, steps: 10, scheduler: 'ddim', guidance: 7.5, clipSkip: 1 });
    expect(request.control).toEqual([{ model: 'tiny-controlnet.safetensors', image: 'control', scale: 0.5, start: 0, end: 1 }]);
    expect(request.schedulerConfig).toMatchObject({ timestep_spacing: 'leading', steps_offset: 1 });
    expect(imageFiles).toEqual({ control: 'control.png' });
    const inpaint = caseRequest(caseFile('inpaint4_euler_s075').json as never);
    expect(inpaint.request).toMatchObject({ strength: 0.75, initImage: 'init', mask: 'mask', scheduler: 'euler' });
    expect(inpaint.imageFiles).toEqual({ init: 'init_image.png', mask: 'mask.png' });
  });
});

// A1111's and ComfyUI's sampling against the tools' own recorded runs (tests/golden/kdiffusion): every noise
// and sigma case, and the real pipeline on the tiny checkpoint for one case per sampler path, with the tool's
// seeded noise (nothing recorded is replayed). `kirie verify tests/golden/kdiffusion` runs all 46 runs.
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { noiseKind } from '../../src/verify/kinds/noise.js';
import { sigmasKind } from '../../src/verify/kinds/sigmas.js';
import { kdiffusionKind, toolCaseRequest } from '../../src/verify/kinds/kdiffusion.js';
import { releasePipelineModels } from '../../src/verify/kinds/pipelines.js';
import { findCaseFiles } from '../../src/verify/run.js';
import type { CaseResult, VerifyKind } from '../../src/verify/types.js';

const GOLDEN = join(import.meta.dirname, '../../../tests/golden/kdiffusion');

function caseFile(folder: string) {
  const [file] = findCaseFiles(join(GOLDEN, folder));
  if (!file) throw new Error(`no case in ${folder}`);
  return file;
}

async function results(kind: VerifyKind, folder: string): Promise<CaseResult[]> {
  const out: CaseResult[] = [];
  for await (const r of kind.run(caseFile(folder))) out.push(r);
  return out;
}

afterAll(releasePipelineModels);

describe('noise and schedules', () => {
  it('every noise case is bit-identical, the variation-seed slerps included', async () => {
    const noise = await results(noiseKind, 'noise');
    expect(noise).toHaveLength(68);
    expect(noise.filter((r) => !r.pass).map((r) => `${r.case}: ${r.detail}`)).toEqual([]);
    expect(noise.filter((r) => r.case.includes('_var_'))).toHaveLength(10);
  });

  it("every sigma case passes, A1111's DPM++ 3M SDE schedule included (the sampler itself is refused)", async () => {
    const sigmas = await results(sigmasKind, 'sigmas');
    expect(sigmas.filter((r) => !r.pass).map((r) => `${r.case}: ${r.detail}`)).toEqual([]);
    expect(sigmas.filter((r) => r.case.includes('DPM++ 3M SDE'))).toHaveLength(6);
    expect(sigmas).toHaveLength(203);
  });
});

describe('A1111 and ComfyUI runs on the tiny model', () => {
  it.each([
    'a1111_euler_a_nv_128', // NV noise, step noise from each image's generator
    'a1111_euler_a_cpu_128', // CPU noise
    'a1111_dpm2_nv', // two calls per step, Karras + discarded penultimate sigma, unused draws
    'a1111_lms_nv_128', // multistep coefficients down to σ = 0
    'a1111_euler_a_nv_b2', // batch: seeds s, s + 1
    'a1111_euler_a_nv_variation', // variation seed 7 at 0.3
    'comfy_euler_ancestral_karras_b2_128', // one noise draw for the batch, noise sampler seeded again
    'comfy_heun_normal_128', // integer timesteps, two calls per step
    'comfy_lcm_sgm_uniform_cfg1', // no negative, re-noised x0
    'comfy_img2img_euler_normal_d060_128', // denoise 0.6: tail of a 16-step schedule, x = noise·σ₀ + latent
    'comfy_uni_pc_normal_128', // UniPC bh1 in the VP parametrisation, last σ 0.001
    'comfy_dpmpp_2m_karras', // the first step amplifies the first UNet call: timestep frequencies as torch rounds them
  ])('%s', async (id) => {
    const checks = await results(kdiffusionKind, `pipelines/${id}`);
    expect(checks.length).toBeGreaterThanOrEqual(4);
    for (const r of checks) expect(r.pass, `${r.case}: max |diff| ${r.maxAbsDiff} > ${r.tolerance}`).toBe(true);
  });

  it("a case's recipe becomes a request with the tool's sampling fields", () => {
    expect(toolCaseRequest(caseFile('pipelines/a1111_euler_a_nv_variation').json as never)).toMatchObject({
      seed: 210,
      steps: 10,
      guidance: 7,
      sampling: { tool: 'a1111', sampler: 'Euler a', scheduleType: 'Automatic', rng: 'NV', variationSeed: 7, variationStrength: 0.3 },
    });
    expect(toolCaseRequest(caseFile('pipelines/comfy_img2img_euler_normal_d060').json as never)).toMatchObject({
      strength: 0.6,
      initImage: 'init',
      sampling: { tool: 'comfyui', samplerName: 'euler', scheduler: 'normal' },
    });
  });
});

// Verify kind for complete A1111 / ComfyUI sampling runs (tests/golden/kdiffusion/pipelines/<case>/case.json):
// the case's recipe becomes a GenerateRequest with `sampling`, and the real pipeline runs it on the tiny
// checkpoint with the tool's own seeded noise (nothing recorded is replayed), checked after every sampler
// step, at the end, and as images.
import { join } from 'node:path';
import type { GenerateRequestInput } from '@kirie/core/request/schema';
import { readJson, readNpy, readPng } from '../files.js';
import type { CaseFile, CaseResult, VerifyKind } from '../types.js';
import { compare, concat, runCaseRequest } from './pipelines.js';

const KIND = 'kdiffusion';

interface ToolCase {
  id: string;
  tool: 'a1111' | 'comfyui';
  models: { checkpoint: string; tokenizer: string };
  parameters: {
    prompt: string;
    negative_prompt: string;
    width: number;
    height: number;
    batch_size: number;
    seed: number;
    steps: number;
    cfg: number;
    sampler?: string;
    schedule_type?: string;
    rng_source?: 'NV' | 'CPU';
    subseed?: number;
    subseed_strength?: number;
    eta_noise_seed_delta?: number;
    sampler_name?: string;
    scheduler?: string;
    denoise?: number;
  };
  steps_first_call: number[];
  num_model_calls: number;
  files: Record<string, string>;
}

interface Tolerances {
  final_latents_atol: number;
  steps_latents_atol: number;
  image_atol: number;
}

/** The GenerateRequest a case's recipe describes. */
export function toolCaseRequest(c: ToolCase): GenerateRequestInput {
  const p = c.parameters;
  const common = {
    model: c.models.checkpoint,
    prompt: p.prompt,
    negativePrompt: p.negative_prompt,
    width: p.width,
    height: p.height,
    steps: p.steps,
    guidance: p.cfg,
    seed: p.seed,
    batchSize: p.batch_size,
  };
  if (c.tool === 'comfyui') {
    const img2img = c.files.init_image_png !== undefined;
    return {
      ...common,
      sampling: { tool: 'comfyui', samplerName: p.sampler_name as never, scheduler: p.scheduler as never },
      ...(img2img ? { initImage: 'init', strength: p.denoise } : {}),
    };
  }
  return {
    ...common,
    sampling: {
      tool: 'a1111',
      sampler: p.sampler as never,
      scheduleType: p.schedule_type as never,
      rng: p.rng_source,
      ...(p.subseed_strength ? { variationSeed: p.subseed, variationStrength: p.subseed_strength } : {}),
      etaNoiseSeedDelta: p.eta_noise_seed_delta ?? 0,
    },
  };
}

/** Latents after each sampler step, from those after each model call (Heun and DPM2 make two calls per step). */
function stepEnds(c: ToolCase, perCall: Float32Array[]): Float32Array[] {
  const ends = [...c.steps_first_call.slice(1).map((first) => first - 1), c.num_model_calls - 1];
  return ends.map((i) => perCall[i]).filter((x) => x !== undefined);
}

async function* checkToolCase(file: CaseFile): AsyncGenerator<CaseResult> {
  const c = file.json as unknown as ToolCase;
  const tol = readJson<{ cases: Record<string, Tolerances> }>(join(file.dir, '..', 'tolerances.json')).cases[c.id];
  if (!tol) throw new Error(`no tolerances for ${c.id} in tolerances.json`);
  const imageFiles: Record<string, string> = c.files.init_image_png ? { init: c.files.init_image_png } : {};
  const { result, stepLatents } = await runCaseRequest(file, c.models, toolCaseRequest(c), imageFiles);
  const expected = (key: string) => readNpy(join(file.dir, c.files[key])).data as Float32Array;
  const name = `kdiffusion/${c.id}`;
  yield compare(`${name}/model_calls`, 'model calls', [stepLatents.length], [c.num_model_calls], 0, KIND);
  yield compare(`${name}/final_latents`, 'final latents', result.latents, expected('final_latents'), tol.final_latents_atol, KIND);
  // uni_pc reports its steps in UniPC's VP parametrisation (x / √(1 + σ²), the last report covering two
  // updates), which the loop never holds: its run is checked through the final latents and images.
  if (c.parameters.sampler_name !== 'uni_pc') {
    yield compare(`${name}/steps_latents`, `latents after each of ${c.steps_first_call.length} steps`, concat(stepEnds(c, stepLatents)), expected('steps_latents'), tol.steps_latents_atol, KIND);
  }
  yield compare(`${name}/image`, 'image (HWC float)', concat(result.pixels), expected('image'), tol.image_atol, KIND);
  // Both tools truncate to 8 bits where Kirie rounds: ±1 level (±2 where the image tolerance is looser than 1e-3).
  const pngs = c.files.image_png ? [c.files.image_png] : Object.keys(c.files).filter((k) => k.startsWith('image_png_')).sort().map((k) => c.files[k]);
  for (const [i, png] of pngs.entries()) {
    yield compare(`${name}/${png.replace('.png', '')}_png`, `${png} levels`, result.images[i].data, readPng(join(file.dir, png)).data, tol.image_atol > 1e-3 ? 2 : 1, KIND);
  }
}

export const kdiffusionKind: VerifyKind = {
  kind: KIND,
  providers: ['cpu'],
  matches: (file) => (file.json.tool === 'a1111' || file.json.tool === 'comfyui') && typeof file.json.parameters === 'object' && Array.isArray(file.json.steps_first_call),
  run: checkToolCase,
};

// Verify kind for the tools' sigma schedules (tests/golden/kdiffusion/sigmas/cases.json): the model sigma
// tables, every ComfyUI scheduler and KSampler (discard-penultimate, denoise), every A1111 schedule type,
// "Automatic" per sampler, and sigma_to_t / t_to_sigma of both tools.
import { join } from 'node:path';
import { A1111_BROWNIAN_SAMPLERS, A1111_SAMPLERS, a1111SamplerSigmas, resolveSampling, type A1111BrownianSampler, type A1111Sampler, type ComfySampler } from '@kirie/core/kdiffusion/names';
import { A1111_SCHEDULE_TYPES, COMFY_SCHEDULERS, type A1111ScheduleType, type ComfyScheduler } from '@kirie/core/kdiffusion/schedules';
import { sigmaTable } from '@kirie/core/kdiffusion/tables';
import { allClose } from '../compare.js';
import { readNpy } from '../files.js';
import type { CaseFile, CaseResult, VerifyKind } from '../types.js';

const KIND = 'sigmas';
/** README: exact float32, or rel 1e-6 where a port computes in another precision. */
const RTOL = 1e-6;

interface SigmaCases {
  comfyui: Record<string, Record<string, number[]>>;
  comfyui_ksampler: Record<string, number[]>;
  a1111: Record<string, Record<string, number[]>>;
  a1111_sampler_automatic: Record<string, { by_steps: Record<string, number[]> }>;
  a1111_dpm2_all_schedule_types: Record<string, number[]>;
  sigma_to_t: { sigmas: number[]; a1111_kdiffusion_sigma_to_t: number[]; comfy_timestep: number[]; t_probe: number[]; a1111_kdiffusion_t_to_sigma: number[]; comfy_sigma: number[] };
  model_tables: Record<string, unknown>;
}

function isSuite(json: Record<string, unknown>): boolean {
  return ['comfyui', 'comfyui_ksampler', 'a1111', 'sigma_to_t'].every((k) => k in json);
}

function check(name: string, compute: () => ArrayLike<number>, expected: readonly number[]): CaseResult {
  try {
    const actual = compute();
    if (actual.length !== expected.length) return { case: name, kind: KIND, maxAbsDiff: Infinity, tolerance: RTOL, pass: false, detail: `${actual.length} values, expected ${expected.length}: [${Array.from(actual).join(', ')}]` };
    // ComfyUI's kl_optimal divides by n − 1, so one step gives NaN there: a NaN matches a NaN.
    const bothNaN = (i: number): boolean => Number.isNaN(actual[i]) && Number.isNaN(expected[i]);
    const r = allClose(Array.from(actual, (v, i) => (bothNaN(i) ? 0 : v)), expected.map((v, i) => (bothNaN(i) ? 0 : v)), 0, RTOL);
    return { case: name, kind: KIND, maxAbsDiff: r.maxAbsDiff, tolerance: RTOL, pass: r.pass, detail: r.pass ? `within rtol ${RTOL}` : `got [${Array.from(actual).join(', ')}]` };
  } catch (err) {
    return { case: name, kind: KIND, maxAbsDiff: NaN, tolerance: RTOL, pass: false, detail: `crashed: ${(err as Error).message}` };
  }
}

function known<T extends string>(list: readonly T[], name: string, what: string): T {
  if (!(list as readonly string[]).includes(name)) throw new Error(`unknown ${what} "${name}"`);
  return name as T;
}

function* runSuite(dir: string, c: SigmaCases): Generator<CaseResult> {
  for (const tool of ['a1111', 'comfy'] as const) {
    const table = sigmaTable(tool === 'comfy' ? 'comfyui' : 'a1111');
    yield check(`sigmas/${tool}_model_sigmas`, () => table.sigmas, Array.from(readNpy(join(dir, `${tool}_model_sigmas.npy`)).data as Float32Array));
    yield check(`sigmas/${tool}_log_sigmas`, () => table.logSigmas, Array.from(readNpy(join(dir, `${tool}_log_sigmas.npy`)).data as Float32Array));
  }
  for (const [scheduler, bySteps] of Object.entries(c.comfyui)) {
    for (const [steps, expected] of Object.entries(bySteps)) {
      yield check(`sigmas/comfyui/${scheduler}/${steps}`, () => resolveSampling({ tool: 'comfyui', samplerName: 'euler', scheduler: known<ComfyScheduler>(COMFY_SCHEDULERS, scheduler, 'scheduler') }).sigmas(Number(steps)), expected);
    }
  }
  for (const [key, expected] of Object.entries(c.comfyui_ksampler)) {
    const [sampler, scheduler, steps, denoise] = key.split('/');
    yield check(`sigmas/comfyui_ksampler/${key}`, () =>
      resolveSampling({ tool: 'comfyui', samplerName: sampler as ComfySampler, scheduler: known<ComfyScheduler>(COMFY_SCHEDULERS, scheduler, 'scheduler') }).partialSigmas(Number(steps), Number(denoise.replace('denoise', ''))), expected);
  }
  for (const [type, bySteps] of Object.entries(c.a1111)) {
    for (const [steps, expected] of Object.entries(bySteps)) {
      yield check(`sigmas/a1111/${type}/${steps}`, () => resolveSampling({ tool: 'a1111', sampler: 'Euler', scheduleType: known<A1111ScheduleType>(A1111_SCHEDULE_TYPES, type, 'schedule type') }).sigmas(Number(steps)), expected);
    }
  }
  for (const [sampler, entry] of Object.entries(c.a1111_sampler_automatic)) {
    for (const [steps, expected] of Object.entries(entry.by_steps)) {
      const name = `sigmas/a1111_sampler_automatic/${sampler}/${steps}`;
      // Schedules of the samplers Kirie refuses to run (SDE) are still the tool's and are checked.
      if (!(sampler in A1111_SAMPLERS) && !(sampler in A1111_BROWNIAN_SAMPLERS)) {
        yield { case: name, kind: KIND, maxAbsDiff: NaN, tolerance: RTOL, pass: false, detail: `A1111 sampler "${sampler}" is not implemented` };
        continue;
      }
      yield check(name, () => a1111SamplerSigmas(sampler as A1111Sampler | A1111BrownianSampler, 'Automatic', Number(steps)), expected);
    }
  }
  // Recorded with 10 steps (DDIM gives more values than steps, so the count is not the length).
  for (const [type, expected] of Object.entries(c.a1111_dpm2_all_schedule_types)) {
    yield check(`sigmas/a1111_dpm2/${type}`, () => resolveSampling({ tool: 'a1111', sampler: 'DPM2', scheduleType: known<A1111ScheduleType>(A1111_SCHEDULE_TYPES, type, 'schedule type') }).sigmas(10), expected);
  }
  const s = c.sigma_to_t;
  const a1111 = sigmaTable('a1111');
  const comfy = sigmaTable('comfyui');
  yield check('sigmas/sigma_to_t/a1111', () => s.sigmas.map((x) => a1111.sigmaToT(x)), s.a1111_kdiffusion_sigma_to_t);
  yield check('sigmas/sigma_to_t/comfyui', () => s.sigmas.map((x) => comfy.sigmaToT(x)), s.comfy_timestep);
  yield check('sigmas/t_to_sigma/a1111', () => s.t_probe.map((t) => a1111.tToSigma(t)), s.a1111_kdiffusion_t_to_sigma);
  yield check('sigmas/t_to_sigma/comfyui', () => s.t_probe.map((t) => comfy.tToSigma(t)), s.comfy_sigma);
}

export const sigmasKind: VerifyKind = {
  kind: KIND,
  matches: (file: CaseFile) => isSuite(file.json),
  async *run(file) {
    yield* runSuite(file.dir, file.json as unknown as SigmaCases);
  },
};

// The sampler and schedule names each tool shows, mapped to Kirie's k-diffusion samplers and schedules:
// A1111 "Sampler" + "Schedule type" (v1.10's samplers_k_diffusion table: default schedule for
// "Automatic", discard_next_to_last_sigma), ComfyUI KSampler `sampler_name` + `scheduler`.
import type { SamplerKind } from './samplers.js';
import { a1111Sigmas, comfyKSamplerSigmas, comfySigmas, discardPenultimate, type A1111ScheduleType, type ComfyScheduler } from './schedules.js';
import { sigmaTable, type Tool } from './tables.js';

interface A1111SamplerInfo {
  kind: SamplerKind;
  /** What "Automatic" means for it; absent = the model's own get_sigmas ("Uniform"). */
  automatic?: Exclude<A1111ScheduleType, 'Automatic'>;
  discard?: boolean;
}

export const A1111_SAMPLERS = {
  'DPM++ 2M': { kind: 'dpmpp_2m', automatic: 'Karras' },
  'Euler a': { kind: 'euler_ancestral' },
  Euler: { kind: 'euler' },
  LMS: { kind: 'lms' },
  Heun: { kind: 'heun' },
  DPM2: { kind: 'dpm_2', automatic: 'Karras', discard: true },
  'DPM2 a': { kind: 'dpm_2_ancestral', automatic: 'Karras', discard: true },
} as const satisfies Record<string, A1111SamplerInfo>;
export type A1111Sampler = keyof typeof A1111_SAMPLERS;
export const A1111_SAMPLER_NAMES = Object.keys(A1111_SAMPLERS) as A1111Sampler[];

/** ComfyUI's `ddim` is its euler (on whatever scheduler is chosen; its random inpaint noise only matters with a mask). */
export const COMFY_SAMPLERS = {
  euler: 'euler',
  euler_ancestral: 'euler_ancestral',
  heun: 'heun',
  dpm_2: 'dpm_2',
  dpm_2_ancestral: 'dpm_2_ancestral',
  dpmpp_2m: 'dpmpp_2m',
  lms: 'lms',
  lcm: 'lcm',
  ddim: 'euler',
  uni_pc: 'uni_pc',
} as const satisfies Record<string, SamplerKind>;
export type ComfySampler = keyof typeof COMFY_SAMPLERS;
export const COMFY_SAMPLER_NAMES = Object.keys(COMFY_SAMPLERS) as ComfySampler[];
/** KSampler.DISCARD_PENULTIMATE_SIGMA_SAMPLERS (those implemented here). */
const COMFY_DISCARD = new Set<ComfySampler>(['dpm_2', 'dpm_2_ancestral', 'uni_pc']);

export type SamplingSpec =
  | { tool: 'a1111'; sampler: A1111Sampler; scheduleType: A1111ScheduleType }
  | { tool: 'comfyui'; samplerName: ComfySampler; scheduler: ComfyScheduler };

/** A1111 infotexts before v1.9 name the schedule inside the sampler ("DPM++ 2M Karras" = DPM++ 2M + Karras). */
export function splitLegacyA1111Sampler(name: string): { sampler: A1111Sampler; scheduleType: A1111ScheduleType } | undefined {
  if (name in A1111_SAMPLERS) return { sampler: name as A1111Sampler, scheduleType: 'Automatic' };
  for (const suffix of ['Karras', 'Exponential'] as const) {
    const base = name.endsWith(` ${suffix}`) ? name.slice(0, -suffix.length - 1) : '';
    if (base in A1111_SAMPLERS) return { sampler: base as A1111Sampler, scheduleType: suffix };
  }
  return undefined;
}

/** What "Automatic" resolves to for an A1111 sampler ("Uniform" = the model's get_sigmas). */
export function a1111ResolvedSchedule(sampler: A1111Sampler, type: A1111ScheduleType): Exclude<A1111ScheduleType, 'Automatic'> {
  const info: A1111SamplerInfo = A1111_SAMPLERS[sampler];
  return type === 'Automatic' ? (info.automatic ?? 'Uniform') : type;
}

export interface ResolvedSampling {
  tool: Tool;
  kind: SamplerKind;
  /** The sampler's full schedule for `steps` (discard rule applied), final 0 included. */
  sigmas(steps: number): number[];
  /** The part an img2img run with this strength (ComfyUI: denoise) samples. */
  partialSigmas(steps: number, strength: number): number[];
}

export function resolveSampling(spec: SamplingSpec): ResolvedSampling {
  const table = sigmaTable(spec.tool);
  if (spec.tool === 'comfyui') {
    const discard = COMFY_DISCARD.has(spec.samplerName);
    const compute = (steps: number): number[] => (discard ? discardPenultimate(comfySigmas(spec.scheduler, steps + 1, table)) : comfySigmas(spec.scheduler, steps, table));
    return {
      tool: 'comfyui',
      kind: COMFY_SAMPLERS[spec.samplerName],
      sigmas: compute,
      partialSigmas: (steps, denoise) => comfyKSamplerSigmas(compute, steps, denoise),
    };
  }
  const info: A1111SamplerInfo = A1111_SAMPLERS[spec.sampler];
  const type = a1111ResolvedSchedule(spec.sampler, spec.scheduleType);
  const compute = (steps: number): number[] => (info.discard ? discardPenultimate(a1111Sigmas(type, steps + 1, table)) : a1111Sigmas(type, steps, table));
  return {
    tool: 'a1111',
    kind: info.kind,
    sigmas: compute,
    // sd_samplers_common.setup_img2img_steps (img2img_fix_steps off): t_enc = int(min(strength, 0.999)·steps).
    partialSigmas: (steps, strength) => {
      const tEnc = Math.trunc(Math.min(strength, 0.999) * steps);
      return compute(steps).slice(steps - tEnc - 1);
    },
  };
}

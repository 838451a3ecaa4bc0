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

/**
 * A1111 samplers whose schedule Kirie computes ("Automatic" included, from the same v1.10 table) but whose
 * sampling it refuses: their step noise comes from torchsde's BrownianTree, whose values depend on
 * torchsde's own Brownian-interval algorithm and PRNG use, so a seed would not give the tool's picture.
 */
export const A1111_BROWNIAN_SAMPLERS = {
  'DPM++ 3M SDE': { automatic: 'Exponential', discard: true },
} as const satisfies Record<string, Omit<A1111SamplerInfo, 'kind'>>;
export type A1111BrownianSampler = keyof typeof A1111_BROWNIAN_SAMPLERS;
export const A1111_BROWNIAN_REFUSAL =
  "its step noise is torchsde's BrownianTree (a Brownian-interval tree with its own PRNG use), which Kirie does not reproduce, so the recipe's seed would not give its picture";

function a1111SamplerInfo(sampler: A1111Sampler | A1111BrownianSampler): Omit<A1111SamplerInfo, 'kind'> {
  const runnable: Record<string, A1111SamplerInfo> = A1111_SAMPLERS;
  return runnable[sampler] ?? A1111_BROWNIAN_SAMPLERS[sampler as A1111BrownianSampler];
}

/** An A1111 sampler's full schedule for `steps` (its discard rule applied), final 0 included. */
export function a1111SamplerSigmas(sampler: A1111Sampler | A1111BrownianSampler, type: A1111ScheduleType, steps: number): number[] {
  const resolved = a1111ResolvedSchedule(sampler, type);
  const table = sigmaTable('a1111');
  return a1111SamplerInfo(sampler).discard ? discardPenultimate(a1111Sigmas(resolved, steps + 1, table)) : a1111Sigmas(resolved, steps, table);
}

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
export function a1111ResolvedSchedule(sampler: A1111Sampler | A1111BrownianSampler, type: A1111ScheduleType): Exclude<A1111ScheduleType, 'Automatic'> {
  return type === 'Automatic' ? (a1111SamplerInfo(sampler).automatic ?? 'Uniform') : type;
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
  const compute = (steps: number): number[] => a1111SamplerSigmas(spec.sampler, spec.scheduleType, steps);
  return {
    tool: 'a1111',
    kind: A1111_SAMPLERS[spec.sampler].kind,
    sigmas: compute,
    // sd_samplers_common.setup_img2img_steps (img2img_fix_steps off): t_enc = int(min(strength, 0.999)·steps).
    partialSigmas: (steps, strength) => {
      const tEnc = Math.trunc(Math.min(strength, 0.999) * steps);
      return compute(steps).slice(steps - tEnc - 1);
    },
  };
}

// The schedulerConfig a request may send: diffusers' scheduler_config keys that core/src/schedulers reads,
// each typed and bounded. Choice lists come from the scheduler code itself; the number bounds say what
// is meaningful there (a value outside them either breaks the schedule or, for num_train_timesteps,
// only costs memory). Per-class rules (e.g. PNDM has no 'sample' prediction) are left to the scheduler:
// checkSchedulerConfig builds the request's scheduler once and reports its refusal under the key.
import { z } from 'zod';
import { BETA_SCHEDULES } from '../schedulers/betas.js';
import { SchedulerConfigError } from '../schedulers/config.js';
import { DPM_SOLVER_TYPES } from '../schedulers/dpm-multistep.js';
import { EULER_PREDICTION_TYPES, TIMESTEP_TYPES } from '../schedulers/euler.js';
import { createScheduler, SD15_SCHEDULER_CONFIG } from '../schedulers/registry.js';
import { img2imgTimesteps } from '../schedulers/img2img.js';
import type { Scheduler } from '../schedulers/types.js';
import { TIMESTEP_SPACINGS } from '../schedulers/types.js';

/**
 * Every released SD model trains on 1000 timesteps; ten times that leaves room for experiments while
 * keeping the per-timestep tables (betas, ᾱ, sigmas: a few Float32Arrays) under a megabyte.
 */
export const MAX_TRAIN_TIMESTEPS = 10_000;

/** A probability-like value strictly inside (0, 1): betas outside it make ᾱ zero or negative. */
const unitOpen = (key: string) => z.number().gt(0, `${key} must be greater than 0`).lt(1, `${key} must be less than 1`);
/** A positive scale; 1000 is far beyond any value diffusers ships (1.0 for clipping, 10 for LCM, ≈15 for sigma_max). */
const positiveScale = (key: string) => z.number().gt(0, `${key} must be greater than 0`).max(1000, `${key} must be at most 1000`);
const trainIndex = (key: string, min: number) =>
  z.number().int(`${key} must be an integer`).min(min, `${key} must be at least ${min}`).max(MAX_TRAIN_TIMESTEPS, `${key} must be at most ${MAX_TRAIN_TIMESTEPS}`);
/** Keys a scheduler reads only to refuse anything but their default: typed loosely so the scheduler's own message explains. */
const shortString = z.string().max(64);

export const SchedulerConfigOverrides = z
  .strictObject({
    num_train_timesteps: trainIndex('num_train_timesteps', 1),
    beta_start: unitOpen('beta_start'),
    beta_end: unitOpen('beta_end'),
    beta_schedule: z.enum(BETA_SCHEDULES),
    /** Per-step betas are not taken from requests (a 1000-number array per job); only the "none" of a config. */
    trained_betas: z.null(),
    prediction_type: z.enum(EULER_PREDICTION_TYPES),
    timestep_spacing: z.enum(TIMESTEP_SPACINGS),
    steps_offset: trainIndex('steps_offset', 0),
    set_alpha_to_one: z.boolean(),
    clip_sample: z.boolean(),
    clip_sample_range: positiveScale('clip_sample_range'),
    skip_prk_steps: z.boolean(),
    rescale_betas_zero_snr: z.boolean(),
    thresholding: z.boolean(),
    dynamic_thresholding_ratio: z.number().gt(0, 'dynamic_thresholding_ratio must be greater than 0').max(1, 'dynamic_thresholding_ratio must be at most 1'),
    sample_max_value: positiveScale('sample_max_value'),
    use_karras_sigmas: z.boolean(),
    sigma_min: positiveScale('sigma_min').nullable(),
    sigma_max: positiveScale('sigma_max').nullable(),
    interpolation_type: shortString,
    timestep_type: z.enum(TIMESTEP_TYPES),
    algorithm_type: shortString,
    solver_type: z.enum(DPM_SOLVER_TYPES),
    /** DPM-Solver++ orders DPMSolverMultistepScheduler implements. */
    solver_order: z.number().int('solver_order must be an integer').min(1, 'solver_order must be 1 or 2').max(2, 'solver_order must be at most 2'),
    lower_order_final: z.boolean(),
    euler_at_final: z.boolean(),
    use_lu_lambdas: z.boolean(),
    lambda_min_clipped: z.number(),
    variance_type: shortString.nullable(),
    original_inference_steps: trainIndex('original_inference_steps', 1),
    timestep_scaling: positiveScale('timestep_scaling'),
  })
  .partial()
  .superRefine((c, ctx) => {
    if (c.beta_start !== undefined && c.beta_end !== undefined && c.beta_start > c.beta_end) {
      ctx.addIssue({ code: 'custom', path: ['beta_end'], message: `beta_end (${c.beta_end}) must not be below beta_start (${c.beta_start})` });
    }
    if (typeof c.sigma_min === 'number' && typeof c.sigma_max === 'number' && c.sigma_min >= c.sigma_max) {
      ctx.addIssue({ code: 'custom', path: ['sigma_max'], message: `sigma_max (${c.sigma_max}) must be greater than sigma_min (${c.sigma_min})` });
    }
  });
export type SchedulerConfigOverrides = z.output<typeof SchedulerConfigOverrides>;

export interface ScheduleIssue {
  /** Path under the request: ['schedulerConfig', key], ['steps'] or ['strength']. */
  path: (string | number)[];
  message: string;
}

/** What the pipeline will build, on SD1.5's base config (checkpoints carry none; ONNX folders theirs). */
function buildScheduler(name: string, overrides: SchedulerConfigOverrides): Scheduler {
  return createScheduler(name, { ...SD15_SCHEDULER_CONFIG, ...overrides });
}

const finite = (values: readonly number[] | undefined) => (values ?? []).every((v) => Number.isFinite(v));

/**
 * Builds the request's scheduler and its schedule for `steps` (and the img2img part of it at `strength`,
 * with the pipeline's own img2imgTimesteps) and returns what would fail when the job runs.
 */
export function checkSchedule(request: { scheduler: string; schedulerConfig: SchedulerConfigOverrides; steps: number; strength: number; initImage?: string | undefined }): ScheduleIssue | null {
  let scheduler: Scheduler;
  try {
    scheduler = buildScheduler(request.scheduler, request.schedulerConfig);
  } catch (err) {
    const key = err instanceof SchedulerConfigError ? err.key : undefined;
    return { path: key ? ['schedulerConfig', key] : ['schedulerConfig'], message: (err as Error).message };
  }
  try {
    scheduler.setTimesteps(request.steps);
  } catch (err) {
    return { path: ['steps'], message: (err as Error).message };
  }
  const integral = scheduler.timestepsDtype === 'int64';
  const outside = scheduler.timesteps.find((t) => !Number.isFinite(t) || (integral && (t < 0 || t >= scheduler.numTrainTimesteps)));
  if (outside !== undefined || !finite(scheduler.sigmas) || !finite(Array.from(scheduler.alphasCumprod))) {
    const key = outside !== undefined && integral ? 'steps_offset' : undefined;
    const what = outside !== undefined ? `timestep ${outside} outside [0, ${scheduler.numTrainTimesteps})` : 'a non-finite noise level';
    return { path: key ? ['schedulerConfig', key] : ['schedulerConfig'], message: `this scheduler config gives ${what} at ${request.steps} steps` };
  }
  if (request.initImage === undefined) return null;
  try {
    img2imgTimesteps(scheduler, request.steps, request.strength);
  } catch (err) {
    return { path: ['strength'], message: (err as Error).message };
  }
  return null;
}

// Replays the reference scheduler suite (tests/golden/schedulers/cases.json, recorded from diffusers
// 0.24.0) on Kirie's schedulers. Pure: the caller loads arrays and compares; shared by the golden
// tests and `kirie verify`.
import { QueuedNoise } from '../rng/noise.js';
import { img2imgTimesteps } from './img2img.js';
import { createScheduler } from './registry.js';
import type { Scheduler, SchedulerConfig } from './types.js';

export interface SchedulerCases {
  sd15_scheduler_config: SchedulerConfig;
  variants: Record<string, { class: string; options: SchedulerConfig }>;
  tables: Record<string, { effective_config: Record<string, unknown>; order: number; by_steps: Record<string, TableEntry> }>;
  loops: LoopCase[];
  img2img: {
    tables: Img2ImgTable[];
    edge_cases: Img2ImgEdge[];
    add_noise: { id: string; variant: string; spacing: string; num_inference_steps: number; strength: number; latent_timestep: number; file: string }[];
    loops: LoopCase[];
  };
}

export interface TableEntry {
  timesteps: number[];
  timesteps_dtype: string;
  init_noise_sigma: number;
  sigmas?: number[];
  plms_timesteps?: number[];
}

export interface LoopCase {
  id: string;
  variant: string;
  spacing: string;
  num_inference_steps: number;
  strength?: number;
  timesteps: number[];
  noise_tensors_used: number;
  /** img2img loops: the noisy start latents (relative to the suite folder). */
  start?: string;
  files: Record<string, string>;
}

export interface Img2ImgTable {
  variant: string;
  spacing: string;
  num_inference_steps: number;
  strength: number;
  init_timestep: number;
  t_start: number;
  effective_steps: number;
  timesteps: number[];
  latent_timestep: number;
}

export interface Img2ImgEdge {
  variant: string;
  spacing: string;
  num_inference_steps: number;
  strength: number;
  init_timestep: number;
  effective_steps: number;
  pipeline_raises: boolean;
  timesteps: number[];
}

/** The scheduler the reference used: SD1.5's config + the variant's options + the spacing. */
export function referenceScheduler(cases: SchedulerCases, variant: string, spacing: string): Scheduler {
  const v = cases.variants[variant];
  if (!v) throw new Error(`cases.json names no variant "${variant}"`);
  return createScheduler(variant, { ...cases.sd15_scheduler_config, ...v.options, timestep_spacing: spacing });
}

/** Config values Kirie's scheduler uses that differ from (or are missing in) the reference's effective config. */
export function configMismatches(scheduler: Scheduler, reference: Record<string, unknown>): string[] {
  const out: string[] = [];
  for (const [key, value] of Object.entries(scheduler.config)) {
    if (!(key in reference)) out.push(`${key}: not in the reference config`);
    else if (JSON.stringify(reference[key]) !== JSON.stringify(value) && !(Number.isNaN(reference[key]) && Number.isNaN(value))) {
      out.push(`${key}: ${JSON.stringify(value)} vs reference ${JSON.stringify(reference[key])}`);
    }
  }
  return out;
}

/** The reference dummy UNet: 0.1·x + t/1000 in float32. */
export function dummyModel(modelInput: Float32Array, timestep: number): Float32Array {
  const bias = Math.fround(timestep / 1000);
  const scale = Math.fround(0.1);
  return modelInput.map((x) => Math.fround(x * scale) + bias);
}

export interface LoopRecord {
  model_input: Float32Array[];
  model_output: Float32Array[];
  prev_sample: Float32Array[];
  pred_original_sample: Float32Array[];
  noiseUsed: number;
}

/**
 * The reference denoising loop. Full loops start from `xT · initNoiseSigma`; img2img loops from the
 * given noisy latents over the partial schedule of `strength`.
 */
export function runLoop(
  cases: SchedulerCases,
  loop: LoopCase,
  inputs: { xT: Float32Array; start?: Float32Array; noise?: Float32Array[] },
  shape: readonly number[],
): LoopRecord {
  const scheduler = referenceScheduler(cases, loop.variant, loop.spacing);
  let timesteps: readonly number[];
  let x: Float32Array;
  if (loop.strength === undefined) {
    scheduler.setTimesteps(loop.num_inference_steps);
    timesteps = scheduler.timesteps;
    const sigma = scheduler.initNoiseSigma;
    x = inputs.xT.map((v) => v * sigma);
  } else {
    if (!inputs.start) throw new Error(`${loop.id}: an img2img loop needs its start latents`);
    timesteps = img2imgTimesteps(scheduler, loop.num_inference_steps, loop.strength).timesteps;
    x = inputs.start;
  }
  const queue = new QueuedNoise(inputs.noise ?? []);
  const record: LoopRecord = { model_input: [], model_output: [], prev_sample: [], pred_original_sample: [], noiseUsed: 0 };
  for (const t of timesteps) {
    const modelInput = scheduler.scaleModelInput(x, t);
    const modelOutput = dummyModel(modelInput, t);
    const out = scheduler.step(modelOutput, t, x, queue, shape);
    record.model_input.push(modelInput);
    record.model_output.push(modelOutput);
    record.prev_sample.push(out.prevSample);
    if (out.predOriginalSample) record.pred_original_sample.push(out.predOriginalSample);
    x = out.prevSample;
  }
  record.noiseUsed = (inputs.noise?.length ?? 0) - queue.remaining;
  return record;
}

// The partial schedule of img2img/inpaint, exactly as StableDiffusionImg2ImgPipeline.get_timesteps.
import type { Scheduler } from './types.js';

export interface PartialSchedule {
  /** min(int(n·strength), n), the float64 product truncated (100 × 0.29 → 28). */
  initTimestep: number;
  tStart: number;
  /** UNet evaluations the pipeline runs (n - tStart). */
  effectiveSteps: number;
  /** scheduler.timesteps[tStart·order:] */
  timesteps: number[];
  /** Where the clean latents are noised to: timesteps[0]. */
  latentTimestep: number;
}

/** Calls setTimesteps(n) on `scheduler` and returns the part of it a strength-`strength` run uses. */
export function img2imgTimesteps(scheduler: Scheduler, numInferenceSteps: number, strength: number): PartialSchedule {
  if (!(strength >= 0 && strength <= 1)) throw new Error(`strength must be in [0, 1], got ${strength}`);
  if (scheduler.setImg2ImgTimesteps) {
    scheduler.setImg2ImgTimesteps(numInferenceSteps, strength);
    const timesteps = [...scheduler.timesteps];
    const steps = (scheduler.sigmas?.length ?? timesteps.length + 1) - 1;
    return { initTimestep: steps, tStart: numInferenceSteps - steps, effectiveSteps: steps, timesteps, latentTimestep: timesteps[0] };
  }
  scheduler.setTimesteps(numInferenceSteps);
  const initTimestep = Math.min(Math.trunc(numInferenceSteps * strength), numInferenceSteps);
  const tStart = Math.max(numInferenceSteps - initTimestep, 0);
  const effectiveSteps = numInferenceSteps - tStart;
  if (effectiveSteps < 1) {
    throw new Error(
      `strength ${strength} with ${numInferenceSteps} steps leaves ${effectiveSteps} denoising steps; raise the strength or the number of steps`,
    );
  }
  const timesteps = scheduler.timesteps.slice(tStart * scheduler.order);
  return { initTimestep, tStart, effectiveSteps, timesteps, latentTimestep: timesteps[0] };
}

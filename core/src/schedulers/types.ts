// The one contract every scheduler implements, shaped after diffusers' SchedulerMixin so that a
// pipeline written against diffusers' semantics reads the same here. Tensors are flat Float32Arrays
// in C order; the scheduler never needs their shape except to ask a NoiseSource for noise.
import type { NoiseSource } from '../rng/noise.js';

/** A diffusers `scheduler_config.json` object: unknown keys are ignored, missing keys take the class default. */
export type SchedulerConfig = Readonly<Record<string, unknown>>;

export const TIMESTEP_SPACINGS = ['leading', 'trailing', 'linspace'] as const;
export type TimestepSpacing = (typeof TIMESTEP_SPACINGS)[number];
/** What the model predicts; Euler also reads 'original_sample' (EULER_PREDICTION_TYPES), some classes fewer. */
export const PREDICTION_TYPES = ['epsilon', 'v_prediction', 'sample'] as const;
export type PredictionType = (typeof PREDICTION_TYPES)[number];

export interface StepResult {
  prevSample: Float32Array;
  /** The model's estimate of x0 (LCM: `denoised`; DPM-Solver: the converted model output). PNDM has none. */
  predOriginalSample?: Float32Array;
}

/**
 * How a sampler wants the UNet's output: k-diffusion-style samplers (core/src/kdiffusion) step on the
 * denoised x0 with CFG applied to it; diffusers-exact schedulers have none and step on CFG-combined eps.
 */
export interface DenoiserAdapter {
  /** The UNet's output for `sample` ([negative, positive] rows when guidance is given) as what step() takes. */
  combine(unetOutput: Float32Array, sample: Float32Array, guidance: number | null): Float32Array;
}

export interface Scheduler {
  /** diffusers class this scheduler reproduces, e.g. `EulerDiscreteScheduler`. */
  readonly className: string;
  /** Every config value in effect (given or defaulted), with diffusers' key names. */
  readonly config: Readonly<Record<string, unknown>>;
  /** Model evaluations per entry of `timesteps` (1 for every scheduler here; img2img slices by it). */
  readonly order: number;
  readonly numTrainTimesteps: number;
  /** float32 [numTrainTimesteps], as diffusers' `alphas_cumprod` buffer. */
  readonly alphasCumprod: Float32Array;
  /** Set by setTimesteps; values are exact float32 (or integer) numbers. */
  readonly timesteps: readonly number[];
  /** dtype diffusers gives `timesteps` (what a UNet's time input receives). */
  readonly timestepsDtype: 'int64' | 'float32';
  /** Euler-type and DPM-Solver only: one more entry than `timesteps`. */
  readonly sigmas?: readonly number[];
  /** Factor for the initial N(0,1) latents. */
  readonly initNoiseSigma: number;
  /** Builds the schedule for `numInferenceSteps` and resets any multistep state. */
  setTimesteps(numInferenceSteps: number): void;
  /** The UNet input for `sample` at `timestep`; may return `sample` itself when no scaling applies. */
  scaleModelInput(sample: Float32Array, timestep: number): Float32Array;
  /**
   * One denoising step. `noise` is required by schedulers that draw randomness (Euler ancestral, LCM)
   * and, when given, is drawn from exactly where diffusers calls randn_tensor; `shape` is the shape
   * asked of it (default: flat).
   */
  step(modelOutput: Float32Array, timestep: number, sample: Float32Array, noise?: NoiseSource, shape?: readonly number[]): StepResult;
  /** Set by samplers that step on the denoised output instead of eps (see DenoiserAdapter). */
  readonly denoiser?: DenoiserAdapter;
  /** A sampler's own img2img rule (ComfyUI denoise, A1111 denoising strength) instead of diffusers' get_timesteps. */
  setImg2ImgTimesteps?(numInferenceSteps: number, strength: number): void;
  /** Forward-diffuses clean `original` to `timestep` (img2img/inpaint start latents). */
  addNoise(original: Float32Array, noise: Float32Array, timestep: number): Float32Array;
}

// LCMScheduler (diffusers 0.24.0): consistency-model steps on a subsampled training schedule, with
// fresh noise injected on every step but the last.
import { ConfigReader } from './config.js';
import { readNoiseSchedule } from './betas.js';
import { addNoiseAlphas, checkSameLength, checkSteps, clampInPlace, requireNoise, trainIndex } from './common.js';
import { linspace } from './numpy.js';
import { findStepIndex } from './sigmas.js';
import type { NoiseSource } from '../rng/noise.js';
import type { PredictionType, Scheduler, SchedulerConfig, StepResult } from './types.js';
import { TIMESTEP_SPACINGS, PREDICTION_TYPES } from './types.js';

const f32 = Math.fround;
const CLASS = 'LCMScheduler';
const SIGMA_DATA = 0.5;

export class LCMScheduler implements Scheduler {
  readonly className = CLASS;
  readonly config: Readonly<Record<string, unknown>>;
  readonly order = 1;
  readonly numTrainTimesteps: number;
  readonly alphasCumprod: Float32Array;
  readonly timestepsDtype = 'int64';
  readonly initNoiseSigma = 1;
  timesteps: number[] = [];
  private readonly finalAlphaCumprod: number;
  private readonly originalSteps: number;
  private readonly predictionType: PredictionType;
  private readonly clipSample: boolean;
  private readonly clipRange: number;
  private readonly timestepScaling: number;
  private numInferenceSteps = 0;
  private stepIndex: number | null = null;

  constructor(config: SchedulerConfig = {}) {
    const cfg = new ConfigReader(CLASS, config);
    const schedule = readNoiseSchedule(cfg, { beta_start: 0.00085, beta_end: 0.012, beta_schedule: 'scaled_linear', zeroSnrKey: true });
    this.numTrainTimesteps = schedule.numTrainTimesteps;
    this.alphasCumprod = schedule.alphasCumprod;
    this.originalSteps = cfg.positiveInt('original_inference_steps', 50);
    this.clipSample = cfg.bool('clip_sample', false);
    this.clipRange = cfg.number('clip_sample_range', 1.0);
    const setAlphaToOne = cfg.bool('set_alpha_to_one', true);
    cfg.nonNegativeInt('steps_offset', 0);
    this.predictionType = cfg.choice('prediction_type', PREDICTION_TYPES, 'epsilon');
    cfg.unsupported('thresholding', false);
    cfg.number('dynamic_thresholding_ratio', 0.995);
    cfg.number('sample_max_value', 1.0);
    // Read for completeness: diffusers 0.24.0's LCM schedule ignores the spacing.
    cfg.choice('timestep_spacing', TIMESTEP_SPACINGS, 'leading');
    this.timestepScaling = cfg.number('timestep_scaling', 10.0);
    this.config = cfg.effective;
    this.finalAlphaCumprod = setAlphaToOne ? 1 : this.alphasCumprod[0];
  }

  setTimesteps(numInferenceSteps: number): void {
    checkSteps(CLASS, numInferenceSteps, this.numTrainTimesteps);
    const original = this.originalSteps;
    if (original > this.numTrainTimesteps) {
      throw new Error(`${CLASS}: original_inference_steps ${original} exceeds num_train_timesteps ${this.numTrainTimesteps}`);
    }
    if (numInferenceSteps > original) {
      throw new Error(`${CLASS}: ${numInferenceSteps} steps exceed original_inference_steps (${original}), the most an LCM schedule has`);
    }
    // The distillation schedule (every c-th train step), descending, sampled at evenly spaced indices.
    const c = Math.floor(this.numTrainTimesteps / original);
    const origin = Array.from({ length: original }, (_, i) => (original - i) * c - 1);
    const indices = linspace(0, original, numInferenceSteps, false).map(Math.floor);
    this.timesteps = indices.map((i) => origin[i]);
    this.numInferenceSteps = numInferenceSteps;
    this.stepIndex = null;
  }

  scaleModelInput(sample: Float32Array): Float32Array {
    return sample;
  }

  step(modelOutput: Float32Array, timestep: number, sample: Float32Array, noise?: NoiseSource, shape?: readonly number[]): StepResult {
    if (this.numInferenceSteps === 0) throw new Error(`${CLASS}: call setTimesteps before step`);
    checkSameLength(CLASS, modelOutput, sample, 'model output and sample');
    const t = trainIndex(CLASS, timestep, this.numTrainTimesteps);
    if (this.stepIndex === null) {
      const index = findStepIndex(this.timesteps, t);
      if (index < 0) throw new Error(`${CLASS}: timestep ${t} is not in the current schedule`);
      this.stepIndex = index;
    }
    const index = this.stepIndex;
    if (index >= this.timesteps.length) throw new Error(`${CLASS}: step called after the last timestep`);
    const prev = index + 1 < this.timesteps.length ? this.timesteps[index + 1] : t;
    const alphaT = this.alphasCumprod[t];
    const alphaPrev = prev >= 0 ? this.alphasCumprod[prev] : this.finalAlphaCumprod;
    const betaT = f32(1 - alphaT);
    const sqrtA = f32(Math.sqrt(alphaT));
    const sqrtB = f32(Math.sqrt(betaT));
    // Boundary-condition scalings c_skip, c_out at the scaled timestep (float32 like the int tensor × float).
    const scaled = f32(t * this.timestepScaling);
    const denom = f32(f32(scaled * scaled) + SIGMA_DATA ** 2);
    const cSkip = f32(SIGMA_DATA ** 2 / denom);
    const cOut = f32(scaled / f32(Math.sqrt(denom)));
    const n = sample.length;
    const x0 = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const m = modelOutput[i];
      const x = sample[i];
      x0[i] =
        this.predictionType === 'epsilon' ? (x - f32(sqrtB * m)) / sqrtA : this.predictionType === 'sample' ? m : f32(sqrtA * x) - f32(sqrtB * m);
    }
    if (this.clipSample) clampInPlace(x0, this.clipRange);
    const denoised = new Float32Array(n);
    for (let i = 0; i < n; i++) denoised[i] = f32(cOut * x0[i]) + f32(cSkip * sample[i]);
    let prevSample = denoised.slice();
    if (index !== this.numInferenceSteps - 1) {
      const eps = requireNoise(CLASS, noise).randn(shape ?? [n]);
      if (eps.length !== n) throw new Error(`${CLASS}: noise has ${eps.length} values, sample has ${n}`);
      const sqrtAPrev = f32(Math.sqrt(alphaPrev));
      const sqrtBPrev = f32(Math.sqrt(f32(1 - alphaPrev)));
      prevSample = new Float32Array(n);
      for (let i = 0; i < n; i++) prevSample[i] = f32(sqrtAPrev * denoised[i]) + f32(sqrtBPrev * eps[i]);
    }
    this.stepIndex = index + 1;
    return { prevSample, predOriginalSample: denoised };
  }

  addNoise(original: Float32Array, noise: Float32Array, timestep: number): Float32Array {
    return addNoiseAlphas(CLASS, this.alphasCumprod, original, noise, timestep);
  }
}

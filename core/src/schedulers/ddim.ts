// DDIMScheduler (diffusers 0.24.0), deterministic (eta = 0, what the SD pipelines use).
import { ConfigReader } from './config.js';
import { readNoiseSchedule } from './betas.js';
import { addNoiseAlphas, checkSameLength, checkSteps, trainIndex } from './common.js';
import { arange, linspace, roundHalfEven } from './numpy.js';
import type { PredictionType, Scheduler, SchedulerConfig, StepResult, TimestepSpacing } from './types.js';
import { TIMESTEP_SPACINGS, PREDICTION_TYPES } from './types.js';

const f32 = Math.fround;
const CLASS = 'DDIMScheduler';

/** Integer timesteps for the DDIM/PNDM families: NumPy's spacing rules, descending. */
export function integerTimesteps(spacing: TimestepSpacing, n: number, numTrain: number, stepsOffset: number): number[] {
  if (spacing === 'linspace') return linspace(0, numTrain - 1, n).map(roundHalfEven).reverse();
  if (spacing === 'leading') {
    const ratio = Math.floor(numTrain / n);
    return Array.from({ length: n }, (_, i) => i * ratio + stepsOffset).reverse();
  }
  return arange(numTrain, 0, -numTrain / n).map((t) => Math.trunc(roundHalfEven(t)) - 1);
}

export class DDIMScheduler implements Scheduler {
  readonly className = CLASS;
  readonly config: Readonly<Record<string, unknown>>;
  readonly order = 1;
  readonly numTrainTimesteps: number;
  readonly alphasCumprod: Float32Array;
  readonly timestepsDtype = 'int64';
  readonly initNoiseSigma = 1;
  timesteps: number[] = [];
  private readonly finalAlphaCumprod: number;
  private readonly predictionType: PredictionType;
  private readonly clipSample: boolean;
  private readonly clipRange: number;
  private readonly spacing: TimestepSpacing;
  private readonly stepsOffset: number;
  private numInferenceSteps = 0;

  constructor(config: SchedulerConfig = {}) {
    const cfg = new ConfigReader(CLASS, config);
    const schedule = readNoiseSchedule(cfg, { beta_start: 0.0001, beta_end: 0.02, beta_schedule: 'linear', zeroSnrKey: true });
    this.numTrainTimesteps = schedule.numTrainTimesteps;
    this.alphasCumprod = schedule.alphasCumprod;
    this.clipSample = cfg.bool('clip_sample', true);
    const setAlphaToOne = cfg.bool('set_alpha_to_one', true);
    this.stepsOffset = cfg.nonNegativeInt('steps_offset', 0);
    this.predictionType = cfg.choice('prediction_type', PREDICTION_TYPES, 'epsilon');
    cfg.unsupported('thresholding', false);
    cfg.number('dynamic_thresholding_ratio', 0.995);
    this.clipRange = cfg.number('clip_sample_range', 1.0);
    cfg.number('sample_max_value', 1.0);
    this.spacing = cfg.choice('timestep_spacing', TIMESTEP_SPACINGS, 'leading');
    this.config = cfg.effective;
    this.finalAlphaCumprod = setAlphaToOne ? 1 : this.alphasCumprod[0];
  }

  setTimesteps(numInferenceSteps: number): void {
    checkSteps(CLASS, numInferenceSteps, this.numTrainTimesteps);
    this.numInferenceSteps = numInferenceSteps;
    this.timesteps = integerTimesteps(this.spacing, numInferenceSteps, this.numTrainTimesteps, this.stepsOffset);
  }

  scaleModelInput(sample: Float32Array): Float32Array {
    return sample;
  }

  step(modelOutput: Float32Array, timestep: number, sample: Float32Array): StepResult {
    if (this.numInferenceSteps === 0) throw new Error(`${CLASS}: call setTimesteps before step`);
    checkSameLength(CLASS, modelOutput, sample, 'model output and sample');
    const t = trainIndex(CLASS, timestep, this.numTrainTimesteps);
    const prev = t - Math.floor(this.numTrainTimesteps / this.numInferenceSteps);
    const alphaT = this.alphasCumprod[t];
    const alphaPrev = prev >= 0 ? this.alphasCumprod[prev] : this.finalAlphaCumprod;
    const betaT = f32(1 - alphaT);
    const sqrtA = f32(Math.sqrt(alphaT));
    const sqrtB = f32(Math.sqrt(betaT));
    // eta = 0: σ_t = 0, so the direction term is √(1-ᾱ_prev)·ε and no noise is drawn.
    const sqrtAPrev = f32(Math.sqrt(alphaPrev));
    const dirCoeff = f32(Math.sqrt(f32(1 - alphaPrev)));
    const n = sample.length;
    const x0 = new Float32Array(n);
    const prevSample = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const m = modelOutput[i];
      const x = sample[i];
      let pred: number;
      let eps: number;
      if (this.predictionType === 'epsilon') {
        pred = f32((x - f32(sqrtB * m)) / sqrtA);
        eps = m;
      } else if (this.predictionType === 'sample') {
        pred = m;
        eps = f32((x - f32(sqrtA * m)) / sqrtB);
      } else {
        pred = f32(f32(sqrtA * x) - f32(sqrtB * m));
        eps = f32(f32(sqrtA * m) + f32(sqrtB * x));
      }
      // Clipping changes x0 only; ε stays the unclipped one (use_clipped_model_output = False).
      if (this.clipSample) pred = Math.min(Math.max(pred, -this.clipRange), this.clipRange);
      x0[i] = pred;
      prevSample[i] = f32(sqrtAPrev * pred) + f32(dirCoeff * eps);
    }
    return { prevSample, predOriginalSample: x0 };
  }

  addNoise(original: Float32Array, noise: Float32Array, timestep: number): Float32Array {
    return addNoiseAlphas(CLASS, this.alphasCumprod, original, noise, timestep);
  }
}

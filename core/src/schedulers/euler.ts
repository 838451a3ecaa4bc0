// EulerDiscreteScheduler (diffusers 0.24.0), including Karras sigmas and the churn-free step that
// still draws one noise tensor per step (pipelines' random streams depend on that draw).
import { ConfigReader } from './config.js';
import { readNoiseSchedule } from './betas.js';
import { checkSameLength } from './common.js';
import { EulerBase } from './euler-base.js';
import { karrasSigmas, sigmaToT } from './sigmas.js';
import type { NoiseSource } from '../rng/noise.js';
import type { PredictionType, Scheduler, SchedulerConfig, StepResult } from './types.js';
import { TIMESTEP_SPACINGS, PREDICTION_TYPES } from './types.js';

const f32 = Math.fround;
const CLASS = 'EulerDiscreteScheduler';
/** diffusers' Euler also takes 'original_sample' (read as 'sample'). */
export const EULER_PREDICTION_TYPES = [...PREDICTION_TYPES, 'original_sample'] as const;
export const TIMESTEP_TYPES = ['discrete', 'continuous'] as const;

export class EulerDiscreteScheduler extends EulerBase implements Scheduler {
  readonly className = CLASS;
  readonly config: Readonly<Record<string, unknown>>;
  private readonly predictionType: PredictionType;
  private readonly useKarras: boolean;
  private readonly sigmaMin: number | null;
  private readonly sigmaMax: number | null;
  private readonly continuousTime: boolean;

  constructor(config: SchedulerConfig = {}) {
    const cfg = new ConfigReader(CLASS, config);
    const schedule = readNoiseSchedule(cfg, { beta_start: 0.0001, beta_end: 0.02, beta_schedule: 'linear' });
    const predictionType = cfg.choice('prediction_type', EULER_PREDICTION_TYPES, 'epsilon');
    cfg.unsupported('interpolation_type', 'linear');
    const useKarras = cfg.bool('use_karras_sigmas', false);
    const sigmaMin = cfg.optionalNumber('sigma_min');
    const sigmaMax = cfg.optionalNumber('sigma_max');
    const spacing = cfg.choice('timestep_spacing', TIMESTEP_SPACINGS, 'linspace');
    const timestepType = cfg.choice('timestep_type', TIMESTEP_TYPES, 'discrete');
    super(schedule.numTrainTimesteps, schedule.alphasCumprod, spacing, cfg.nonNegativeInt('steps_offset', 0));
    this.predictionType = predictionType === 'original_sample' ? 'sample' : predictionType;
    this.useKarras = useKarras;
    this.sigmaMin = sigmaMin;
    this.sigmaMax = sigmaMax;
    this.continuousTime = timestepType === 'continuous' && predictionType === 'v_prediction';
    this.config = cfg.effective;
  }

  setTimesteps(numInferenceSteps: number): void {
    const spaced = this.spacedSchedule(numInferenceSteps);
    let { timesteps, sigmas } = spaced;
    if (this.useKarras) {
      const logSigmas = spaced.train.map(Math.log);
      sigmas = karrasSigmas(this.sigmaMin ?? sigmas[sigmas.length - 1], this.sigmaMax ?? sigmas[0], numInferenceSteps);
      timesteps = sigmas.map((s) => f32(sigmaToT(s, logSigmas)));
    }
    if (this.continuousTime) timesteps = sigmas.map((s) => f32(0.25 * Math.log(f32(s))));
    this.setSchedule(timesteps, sigmas);
  }

  /** With s_churn = 0 (diffusers' default) the drawn noise is unused, but it is still drawn when a source is given. */
  step(modelOutput: Float32Array, timestep: number, sample: Float32Array, noise?: NoiseSource, shape?: readonly number[]): StepResult {
    checkSameLength(CLASS, modelOutput, sample, 'model output and sample');
    const index = this.currentIndex(timestep);
    noise?.randn(shape ?? [sample.length]);
    const result = this.eulerStep(modelOutput, sample, this.predictionType, this.sigmas[index], this.sigmas[index + 1]);
    this.stepIndex = index + 1;
    return result;
  }
}

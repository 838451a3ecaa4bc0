// EulerAncestralDiscreteScheduler (diffusers 0.24.0): an Euler step to σ_down plus fresh noise σ_up.
import { ConfigReader } from './config.js';
import { readNoiseSchedule } from './betas.js';
import { checkSameLength, requireNoise } from './common.js';
import { EulerBase } from './euler-base.js';
import type { NoiseSource } from '../rng/noise.js';
import type { PredictionType, Scheduler, SchedulerConfig, StepResult } from './types.js';
import { TIMESTEP_SPACINGS } from './types.js';

const f32 = Math.fround;
const CLASS = 'EulerAncestralDiscreteScheduler';

export class EulerAncestralDiscreteScheduler extends EulerBase implements Scheduler {
  readonly className = CLASS;
  readonly config: Readonly<Record<string, unknown>>;
  private readonly predictionType: PredictionType;

  constructor(config: SchedulerConfig = {}) {
    const cfg = new ConfigReader(CLASS, config);
    const schedule = readNoiseSchedule(cfg, { beta_start: 0.0001, beta_end: 0.02, beta_schedule: 'linear' });
    // diffusers raises NotImplementedError for "sample" in this class.
    const prediction = cfg.choice('prediction_type', ['epsilon', 'v_prediction'] as const, 'epsilon');
    const spacing = cfg.choice('timestep_spacing', TIMESTEP_SPACINGS, 'linspace');
    super(schedule.numTrainTimesteps, schedule.alphasCumprod, spacing, cfg.nonNegativeInt('steps_offset', 0));
    this.predictionType = prediction;
    this.config = cfg.effective;
  }

  setTimesteps(numInferenceSteps: number): void {
    const { timesteps, sigmas } = this.spacedSchedule(numInferenceSteps);
    this.setSchedule(timesteps, sigmas);
  }

  step(modelOutput: Float32Array, timestep: number, sample: Float32Array, noise?: NoiseSource, shape?: readonly number[]): StepResult {
    checkSameLength(CLASS, modelOutput, sample, 'model output and sample');
    const source = requireNoise(CLASS, noise);
    const index = this.currentIndex(timestep);
    const sigma = this.sigmas[index];
    const sigmaTo = this.sigmas[index + 1];
    const sigma2 = f32(sigma * sigma);
    const sigmaTo2 = f32(sigmaTo * sigmaTo);
    const sigmaUp = f32(Math.sqrt(f32(f32(sigmaTo2 * f32(sigma2 - sigmaTo2)) / sigma2)));
    const sigmaDown = f32(Math.sqrt(f32(sigmaTo2 - f32(sigmaUp * sigmaUp))));
    const { prevSample, predOriginalSample } = this.eulerStep(modelOutput, sample, this.predictionType, sigma, sigmaDown);
    const n = sample.length;
    // Drawn after the deterministic part, as diffusers does.
    const eps = source.randn(shape ?? [n]);
    if (eps.length !== n) throw new Error(`${CLASS}: noise has ${eps.length} values, sample has ${n}`);
    for (let i = 0; i < n; i++) prevSample[i] = prevSample[i] + f32(eps[i] * sigmaUp);
    this.stepIndex = index + 1;
    return { prevSample, predOriginalSample };
  }
}

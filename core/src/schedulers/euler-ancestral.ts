// EulerAncestralDiscreteScheduler (diffusers 0.24.0): an Euler step to σ_down plus fresh noise σ_up.
import { ConfigReader } from './config.js';
import { readNoiseSchedule, trainSigmas } from './betas.js';
import { checkSameLength, requireNoise } from './common.js';
import { EulerBase, floatTimesteps } from './euler-base.js';
import { interpOnIndexGrid } from './numpy.js';
import type { NoiseSource } from '../rng/noise.js';
import type { Scheduler, SchedulerConfig, StepResult } from './types.js';

const f32 = Math.fround;
const CLASS = 'EulerAncestralDiscreteScheduler';

export class EulerAncestralDiscreteScheduler extends EulerBase implements Scheduler {
  readonly className = CLASS;
  readonly config: Readonly<Record<string, unknown>>;
  private readonly vPrediction: boolean;
  private readonly stepsOffset: number;

  constructor(config: SchedulerConfig = {}) {
    const cfg = new ConfigReader(CLASS, config);
    const schedule = readNoiseSchedule(cfg, { beta_start: 0.0001, beta_end: 0.02, beta_schedule: 'linear' });
    // diffusers raises NotImplementedError for "sample" in this class.
    const prediction = cfg.choice('prediction_type', ['epsilon', 'v_prediction'] as const, 'epsilon');
    const spacing = cfg.choice('timestep_spacing', ['linspace', 'leading', 'trailing'] as const, 'linspace');
    const stepsOffset = cfg.nonNegativeInt('steps_offset', 0);
    super(schedule.numTrainTimesteps, schedule.alphasCumprod, spacing);
    this.vPrediction = prediction === 'v_prediction';
    this.stepsOffset = stepsOffset;
    this.config = cfg.effective;
  }

  setTimesteps(numInferenceSteps: number): void {
    this.checkSteps(numInferenceSteps);
    const timesteps = floatTimesteps(this.spacing, numInferenceSteps, this.numTrainTimesteps, this.stepsOffset);
    const train = trainSigmas(this.alphasCumprod);
    this.setSchedule(timesteps, timesteps.map((t) => interpOnIndexGrid(t, train)));
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
    const dt = f32(sigmaDown - sigma);
    const vScale = f32(-sigma / f32(Math.sqrt(f32(sigma2 + 1))));
    const vDenom = f32(sigma2 + 1);
    const n = sample.length;
    const x0 = new Float32Array(n);
    const prevSample = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const m = modelOutput[i];
      const x = sample[i];
      const denoised = this.vPrediction ? f32(f32(m * vScale) + f32(x / vDenom)) : f32(x - f32(sigma * m));
      x0[i] = denoised;
      prevSample[i] = x + f32(f32(f32(x - denoised) / sigma) * dt);
    }
    // Drawn after the deterministic part, as diffusers does.
    const eps = source.randn(shape ?? [n]);
    if (eps.length !== n) throw new Error(`${CLASS}: noise has ${eps.length} values, sample has ${n}`);
    for (let i = 0; i < n; i++) prevSample[i] = prevSample[i] + f32(eps[i] * sigmaUp);
    this.stepIndex = index + 1;
    return { prevSample, predOriginalSample: x0 };
  }
}

// PNDMScheduler (diffusers 0.24.0) in its PLMS form (skip_prk_steps, as SD ships it): linear
// multistep over the stored model outputs, with the one extra warm-up evaluation diffusers makes.
import { ConfigReader, SchedulerConfigError } from './config.js';
import { readNoiseSchedule } from './betas.js';
import { addNoiseAlphas, checkSameLength, checkSteps, trainIndex } from './common.js';
import { integerTimesteps } from './ddim.js';
import type { Scheduler, SchedulerConfig, StepResult, TimestepSpacing } from './types.js';
import { TIMESTEP_SPACINGS } from './types.js';

const f32 = Math.fround;
const CLASS = 'PNDMScheduler';

export class PNDMScheduler implements Scheduler {
  readonly className = CLASS;
  readonly config: Readonly<Record<string, unknown>>;
  readonly order = 1;
  readonly numTrainTimesteps: number;
  readonly alphasCumprod: Float32Array;
  readonly timestepsDtype = 'int64';
  readonly initNoiseSigma = 1;
  timesteps: number[] = [];
  private readonly finalAlphaCumprod: number;
  private readonly vPrediction: boolean;
  private readonly spacing: TimestepSpacing;
  private readonly stepsOffset: number;
  private numInferenceSteps = 0;
  // PLMS state: past model outputs, the step counter, and the sample held across the warm-up pair.
  private ets: Float32Array[] = [];
  private counter = 0;
  private curSample: Float32Array | null = null;

  constructor(config: SchedulerConfig = {}) {
    const cfg = new ConfigReader(CLASS, config);
    const schedule = readNoiseSchedule(cfg, { beta_start: 0.0001, beta_end: 0.02, beta_schedule: 'linear' });
    this.numTrainTimesteps = schedule.numTrainTimesteps;
    this.alphasCumprod = schedule.alphasCumprod;
    const skipPrk = cfg.bool('skip_prk_steps', false);
    if (!skipPrk) {
      throw new SchedulerConfigError('skip_prk_steps', `${CLASS}: only the PLMS form is supported; set "skip_prk_steps": true (as Stable Diffusion's config does)`);
    }
    const setAlphaToOne = cfg.bool('set_alpha_to_one', false);
    this.vPrediction = cfg.choice('prediction_type', ['epsilon', 'v_prediction'] as const, 'epsilon') === 'v_prediction';
    this.spacing = cfg.choice('timestep_spacing', TIMESTEP_SPACINGS, 'leading');
    this.stepsOffset = cfg.nonNegativeInt('steps_offset', 0);
    this.config = cfg.effective;
    this.finalAlphaCumprod = setAlphaToOne ? 1 : this.alphasCumprod[0];
  }

  /** The DDIM-like schedule with its second timestep repeated: PLMS's warm-up evaluates it twice. */
  setTimesteps(numInferenceSteps: number): void {
    checkSteps(CLASS, numInferenceSteps, this.numTrainTimesteps);
    const base = integerTimesteps(this.spacing, numInferenceSteps, this.numTrainTimesteps, this.stepsOffset).reverse();
    const plms = [...base.slice(0, -1), ...base.slice(-2, -1), ...base.slice(-1)].reverse();
    this.timesteps = plms;
    this.numInferenceSteps = numInferenceSteps;
    this.ets = [];
    this.counter = 0;
    this.curSample = null;
  }

  scaleModelInput(sample: Float32Array): Float32Array {
    return sample;
  }

  step(modelOutput: Float32Array, timestep: number, sample: Float32Array): StepResult {
    if (this.numInferenceSteps === 0) throw new Error(`${CLASS}: call setTimesteps before step`);
    checkSameLength(CLASS, modelOutput, sample, 'model output and sample');
    let t = trainIndex(CLASS, timestep, this.numTrainTimesteps);
    const stride = Math.floor(this.numTrainTimesteps / this.numInferenceSteps);
    let prev = t - stride;
    if (this.counter !== 1) {
      this.ets = this.ets.slice(-3);
      this.ets.push(modelOutput.slice());
    } else {
      prev = t;
      t = t + stride;
    }
    const ets = this.ets;
    const k = ets.length;
    let x = sample;
    let eps: Float32Array;
    if (k === 1 && this.counter === 0) {
      eps = modelOutput;
      this.curSample = sample.slice();
    } else if (k === 1 && this.counter === 1) {
      eps = modelOutput.map((m, i) => f32(m + ets[0][i]) / 2);
      if (!this.curSample) throw new Error(`${CLASS}: internal state lost between the warm-up steps`);
      x = this.curSample;
      this.curSample = null;
    } else if (k === 2) {
      eps = ets[1].map((e1, i) => f32(f32(3 * e1) - ets[0][i]) / 2);
    } else if (k === 3) {
      eps = ets[2].map((e2, i) => f32(f32(f32(23 * e2) - f32(16 * ets[1][i])) + f32(5 * ets[0][i])) / 12);
    } else {
      eps = ets[3].map((e3, i) => f32(1 / 24) * f32(f32(f32(f32(55 * e3) - f32(59 * ets[2][i])) + f32(37 * ets[1][i])) - f32(9 * ets[0][i])));
    }
    const prevSample = this.prevSample(x, t, prev, eps);
    this.counter++;
    return { prevSample };
  }

  /** Formula (9) of the PNDM paper, as diffusers' _get_prev_sample. */
  private prevSample(sample: Float32Array, t: number, prev: number, modelOutput: Float32Array): Float32Array {
    const alphaT = this.alphasCumprod[trainIndex(CLASS, t, this.numTrainTimesteps)];
    const alphaPrev = prev >= 0 ? this.alphasCumprod[prev] : this.finalAlphaCumprod;
    const betaT = f32(1 - alphaT);
    const betaPrev = f32(1 - alphaPrev);
    const sampleCoeff = f32(Math.sqrt(f32(alphaPrev / alphaT)));
    const denom = f32(f32(alphaT * f32(Math.sqrt(betaPrev))) + f32(Math.sqrt(f32(f32(alphaT * betaT) * alphaPrev))));
    const diff = f32(alphaPrev - alphaT);
    const sqrtA = f32(Math.sqrt(alphaT));
    const sqrtB = f32(Math.sqrt(betaT));
    const out = new Float32Array(sample.length);
    for (let i = 0; i < out.length; i++) {
      const eps = this.vPrediction ? f32(sqrtA * modelOutput[i]) + f32(sqrtB * sample[i]) : modelOutput[i];
      out[i] = f32(sampleCoeff * sample[i]) - f32(f32(diff * eps) / denom);
    }
    return out;
  }

  addNoise(original: Float32Array, noise: Float32Array, timestep: number): Float32Array {
    return addNoiseAlphas(CLASS, this.alphasCumprod, original, noise, timestep);
  }
}

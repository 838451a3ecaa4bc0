// DPMSolverMultistepScheduler (diffusers 0.24.0) for DPM-Solver++ (data prediction), first and
// second order, midpoint or heun, with lower_order_final and optional Karras sigmas: "DPM++ 2M".
import { ConfigReader, SchedulerConfigError } from './config.js';
import { readNoiseSchedule, trainSigmas } from './betas.js';
import { checkSameLength, checkSteps } from './common.js';
import { arange, interpOnIndexGrid, linspace, roundHalfEven } from './numpy.js';
import { findStepIndex, karrasSigmas, sigmaToT } from './sigmas.js';
import type { PredictionType, Scheduler, SchedulerConfig, StepResult, TimestepSpacing } from './types.js';
import { TIMESTEP_SPACINGS, PREDICTION_TYPES } from './types.js';

const f32 = Math.fround;
const CLASS = 'DPMSolverMultistepScheduler';
export const DPM_SOLVER_TYPES = ['midpoint', 'heun'] as const;

/** α_t = 1/√(σ²+1), σ_t = σ·α_t in float32; λ = log α_t − log σ_t. */
function alphaSigma(sigma: number): { alpha: number; sigma: number; lambda: number } {
  const alpha = f32(1 / f32(Math.sqrt(f32(f32(sigma * sigma) + 1))));
  const s = f32(sigma * alpha);
  return { alpha, sigma: s, lambda: f32(f32(Math.log(alpha)) - f32(Math.log(s))) };
}

export class DPMSolverMultistepScheduler implements Scheduler {
  readonly className = CLASS;
  readonly config: Readonly<Record<string, unknown>>;
  readonly order = 1;
  readonly numTrainTimesteps: number;
  readonly alphasCumprod: Float32Array;
  readonly timestepsDtype = 'int64';
  readonly initNoiseSigma = 1;
  timesteps: number[] = [];
  sigmas: number[] = [];
  private readonly solverOrder: number;
  private readonly predictionType: PredictionType;
  private readonly heun: boolean;
  private readonly lowerOrderFinal: boolean;
  private readonly eulerAtFinal: boolean;
  private readonly useKarras: boolean;
  private readonly spacing: TimestepSpacing;
  private readonly stepsOffset: number;
  // Multistep state, reset by setTimesteps.
  private modelOutputs: (Float32Array | null)[] = [];
  private lowerOrderNums = 0;
  private stepIndex: number | null = null;

  constructor(config: SchedulerConfig = {}) {
    const cfg = new ConfigReader(CLASS, config);
    const schedule = readNoiseSchedule(cfg, { beta_start: 0.0001, beta_end: 0.02, beta_schedule: 'linear' });
    this.numTrainTimesteps = schedule.numTrainTimesteps;
    this.alphasCumprod = schedule.alphasCumprod;
    this.solverOrder = cfg.positiveInt('solver_order', 2);
    if (this.solverOrder > 2) throw new SchedulerConfigError('solver_order', `${CLASS}: solver_order ${this.solverOrder} is not supported (1 or 2)`);
    this.predictionType = cfg.choice('prediction_type', PREDICTION_TYPES, 'epsilon');
    cfg.unsupported('thresholding', false);
    cfg.number('dynamic_thresholding_ratio', 0.995);
    cfg.number('sample_max_value', 1.0);
    cfg.unsupported('algorithm_type', 'dpmsolver++');
    this.heun = cfg.choice('solver_type', DPM_SOLVER_TYPES, 'midpoint') === 'heun';
    this.lowerOrderFinal = cfg.bool('lower_order_final', true);
    this.eulerAtFinal = cfg.bool('euler_at_final', false);
    this.useKarras = cfg.bool('use_karras_sigmas', false);
    cfg.unsupported('use_lu_lambdas', false);
    cfg.unsupported('lambda_min_clipped', Number.NEGATIVE_INFINITY);
    cfg.unsupported('variance_type', null);
    this.spacing = cfg.choice('timestep_spacing', TIMESTEP_SPACINGS, 'linspace');
    this.stepsOffset = cfg.nonNegativeInt('steps_offset', 0);
    this.config = cfg.effective;
  }

  setTimesteps(numInferenceSteps: number): void {
    checkSteps(CLASS, numInferenceSteps, this.numTrainTimesteps);
    const n = numInferenceSteps;
    const last = this.numTrainTimesteps; // lambda_min_clipped = -inf clips nothing
    let timesteps: number[];
    if (this.spacing === 'linspace') {
      timesteps = linspace(0, last - 1, n + 1).map(roundHalfEven).reverse().slice(0, -1);
    } else if (this.spacing === 'leading') {
      const ratio = Math.floor(last / (n + 1));
      timesteps = Array.from({ length: n + 1 }, (_, i) => i * ratio).reverse().slice(0, -1).map((t) => t + this.stepsOffset);
    } else {
      timesteps = arange(last, 0, -this.numTrainTimesteps / n).map((t) => roundHalfEven(t) - 1);
    }
    const train = trainSigmas(this.alphasCumprod);
    let sigmas: number[];
    if (this.useKarras) {
      const logSigmas = train.map(Math.log);
      const k = karrasSigmas(train[0], train[train.length - 1], n);
      timesteps = k.map((s) => roundHalfEven(sigmaToT(s, logSigmas)));
      sigmas = [...k, k[k.length - 1]];
    } else {
      sigmas = [...timesteps.map((t) => interpOnIndexGrid(t, train)), train[0]];
    }
    this.timesteps = timesteps;
    this.sigmas = sigmas.map(f32);
    this.modelOutputs = new Array<Float32Array | null>(this.solverOrder).fill(null);
    this.lowerOrderNums = 0;
    this.stepIndex = null;
  }

  scaleModelInput(sample: Float32Array): Float32Array {
    return sample;
  }

  step(modelOutput: Float32Array, timestep: number, sample: Float32Array): StepResult {
    if (this.sigmas.length === 0) throw new Error(`${CLASS}: call setTimesteps before step`);
    checkSameLength(CLASS, modelOutput, sample, 'model output and sample');
    if (this.stepIndex === null) {
      const index = findStepIndex(this.timesteps, timestep);
      this.stepIndex = index < 0 ? this.timesteps.length - 1 : index;
    }
    const index = this.stepIndex;
    if (index >= this.timesteps.length) throw new Error(`${CLASS}: step called after the last timestep`);
    const count = this.timesteps.length;
    const lowerFinal = index === count - 1 && (this.eulerAtFinal || (this.lowerOrderFinal && count < 15));

    const x0 = this.dataPrediction(modelOutput, sample, this.sigmas[index]);
    this.modelOutputs.shift();
    this.modelOutputs.push(x0);

    const prevSample =
      this.solverOrder === 1 || this.lowerOrderNums < 1 || lowerFinal ? this.firstOrder(x0, sample, index) : this.secondOrder(sample, index);
    if (this.lowerOrderNums < this.solverOrder) this.lowerOrderNums++;
    this.stepIndex = index + 1;
    // A copy: the solver's history must not change if the caller edits what it gets back.
    return { prevSample, predOriginalSample: x0.slice() };
  }

  /** convert_model_output for DPM-Solver++: the model's x0 estimate. */
  private dataPrediction(modelOutput: Float32Array, sample: Float32Array, sigma: number): Float32Array {
    if (this.predictionType === 'sample') return modelOutput.slice();
    const { alpha, sigma: s } = alphaSigma(sigma);
    const out = new Float32Array(sample.length);
    if (this.predictionType === 'epsilon') for (let i = 0; i < out.length; i++) out[i] = f32(sample[i] - f32(s * modelOutput[i])) / alpha;
    else for (let i = 0; i < out.length; i++) out[i] = f32(alpha * sample[i]) - f32(s * modelOutput[i]);
    return out;
  }

  private firstOrder(x0: Float32Array, sample: Float32Array, index: number): Float32Array {
    const t = alphaSigma(this.sigmas[index + 1]);
    const s = alphaSigma(this.sigmas[index]);
    const h = f32(t.lambda - s.lambda);
    const ratio = f32(t.sigma / s.sigma);
    const coeff = f32(t.alpha * f32(f32(Math.exp(-h)) - 1));
    const out = new Float32Array(sample.length);
    for (let i = 0; i < out.length; i++) out[i] = f32(ratio * sample[i]) - f32(coeff * x0[i]);
    return out;
  }

  private secondOrder(sample: Float32Array, index: number): Float32Array {
    const [m1, m0] = this.modelOutputs as Float32Array[];
    const t = alphaSigma(this.sigmas[index + 1]);
    const s0 = alphaSigma(this.sigmas[index]);
    const s1 = alphaSigma(this.sigmas[index - 1]);
    const h = f32(t.lambda - s0.lambda);
    const h0 = f32(s0.lambda - s1.lambda);
    const invR0 = f32(1 / f32(h0 / h));
    const ratio = f32(t.sigma / s0.sigma);
    const expm1 = f32(f32(Math.exp(-h)) - 1);
    const c0 = f32(t.alpha * expm1);
    // midpoint: −½·α_t(e^{−h}−1)·D1; heun: +α_t((e^{−h}−1)/h + 1)·D1
    const c1 = this.heun ? f32(-f32(t.alpha * f32(f32(expm1 / h) + 1))) : f32(0.5 * c0);
    const out = new Float32Array(sample.length);
    for (let i = 0; i < out.length; i++) {
      const d1 = f32(invR0 * f32(m0[i] - m1[i]));
      out[i] = f32(f32(ratio * sample[i]) - f32(c0 * m0[i])) - f32(c1 * d1);
    }
    return out;
  }

  /** α_t·x0 + σ_t·ε at the schedule's own sigma for `timestep` (not ᾱ of the rounded timestep: Karras differs). */
  addNoise(original: Float32Array, noise: Float32Array, timestep: number): Float32Array {
    if (this.sigmas.length === 0) throw new Error(`${CLASS}: call setTimesteps before addNoise`);
    checkSameLength(CLASS, original, noise, 'original samples and noise');
    const index = findStepIndex(this.timesteps, timestep);
    const { alpha, sigma } = alphaSigma(this.sigmas[index < 0 ? this.timesteps.length - 1 : index]);
    const out = new Float32Array(original.length);
    for (let i = 0; i < out.length; i++) out[i] = f32(alpha * original[i]) + f32(sigma * noise[i]);
    return out;
  }
}

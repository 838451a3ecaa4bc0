// What EulerDiscreteScheduler and EulerAncestralDiscreteScheduler share in diffusers 0.24.0: float32
// timesteps from the spacing rule, sigmas interpolated from the train sigmas (plus a final 0), input
// scaling by 1/√(σ²+1), a step index found from the first timestep a loop passes in, and the Euler step
// itself (the ancestral one goes to σ_down and adds noise after).
import { trainSigmas } from './betas.js';
import { arange, interpOnIndexGrid, linspace, roundHalfEven } from './numpy.js';
import { checkSameLength, checkSteps } from './common.js';
import { findStepIndex } from './sigmas.js';
import type { PredictionType, StepResult, TimestepSpacing } from './types.js';

const f32 = Math.fround;

/** Float timesteps (already float32 values), descending. */
function floatTimesteps(spacing: TimestepSpacing, n: number, numTrain: number, stepsOffset: number): number[] {
  if (spacing === 'linspace') return linspace(0, numTrain - 1, n).map(f32).reverse();
  if (spacing === 'leading') {
    const ratio = Math.floor(numTrain / n);
    return Array.from({ length: n }, (_, i) => f32(i * ratio) + stepsOffset).reverse();
  }
  return arange(numTrain, 0, -numTrain / n).map((t) => f32(roundHalfEven(t)) - 1);
}

export abstract class EulerBase {
  abstract readonly className: string;
  readonly order = 1;
  readonly timestepsDtype = 'float32';
  timesteps: number[] = [];
  sigmas: number[] = [];
  protected stepIndex: number | null = null;

  constructor(
    readonly numTrainTimesteps: number,
    readonly alphasCumprod: Float32Array,
    protected readonly spacing: TimestepSpacing,
    private readonly stepsOffset: number,
  ) {}

  /** Timesteps by the spacing rule and their sigmas, before any sigma options; `train` for those that need it. */
  protected spacedSchedule(numInferenceSteps: number): { timesteps: number[]; sigmas: number[]; train: Float32Array } {
    checkSteps(this.className, numInferenceSteps, this.numTrainTimesteps);
    const timesteps = floatTimesteps(this.spacing, numInferenceSteps, this.numTrainTimesteps, this.stepsOffset);
    const train = trainSigmas(this.alphasCumprod);
    return { timesteps, sigmas: timesteps.map((t) => interpOnIndexGrid(t, train)), train };
  }

  protected setSchedule(timesteps: number[], sigmas: number[]): void {
    this.timesteps = timesteps;
    this.sigmas = [...sigmas.map(f32), 0];
    this.stepIndex = null;
  }

  get initNoiseSigma(): number {
    if (this.sigmas.length === 0) throw new Error(`${this.className}: call setTimesteps before reading initNoiseSigma`);
    const max = Math.max(...this.sigmas);
    return this.spacing === 'leading' ? f32(Math.sqrt(f32(f32(max * max) + 1))) : max;
  }

  protected currentIndex(timestep: number): number {
    if (this.sigmas.length === 0) throw new Error(`${this.className}: call setTimesteps before stepping`);
    if (this.stepIndex === null) {
      const index = findStepIndex(this.timesteps, timestep);
      if (index < 0) throw new Error(`${this.className}: timestep ${timestep} is not in the current schedule`);
      this.stepIndex = index;
    }
    if (this.stepIndex >= this.timesteps.length) throw new Error(`${this.className}: step called after the last timestep`);
    return this.stepIndex;
  }

  /** x0 from the model output at σ, then x + (x − x0)/σ · (σ_to − σ), in diffusers' float32 order. */
  protected eulerStep(modelOutput: Float32Array, sample: Float32Array, prediction: PredictionType, sigma: number, sigmaTo: number): StepResult {
    const dt = f32(sigmaTo - sigma);
    const sigma2 = f32(sigma * sigma);
    const vScale = f32(-sigma / f32(Math.sqrt(f32(sigma2 + 1))));
    const vDenom = f32(sigma2 + 1);
    const n = sample.length;
    const x0 = new Float32Array(n);
    const prevSample = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const m = modelOutput[i];
      const x = sample[i];
      const denoised = prediction === 'epsilon' ? f32(x - f32(sigma * m)) : prediction === 'sample' ? m : f32(f32(m * vScale) + f32(x / vDenom));
      x0[i] = denoised;
      prevSample[i] = x + f32(f32(f32(x - denoised) / sigma) * dt);
    }
    return { prevSample, predOriginalSample: x0 };
  }

  scaleModelInput(sample: Float32Array, timestep: number): Float32Array {
    const sigma = this.sigmas[this.currentIndex(timestep)];
    const denom = f32(Math.sqrt(f32(f32(sigma * sigma) + 1)));
    const out = new Float32Array(sample.length);
    for (let i = 0; i < out.length; i++) out[i] = sample[i] / denom;
    return out;
  }

  /** x0 + σ·ε with σ at `timestep`'s position in the schedule (its first occurrence). */
  addNoise(original: Float32Array, noise: Float32Array, timestep: number): Float32Array {
    checkSameLength(this.className, original, noise, 'original samples and noise');
    const index = this.timesteps.indexOf(timestep);
    if (index < 0) throw new Error(`${this.className}: add_noise timestep ${timestep} is not in the current schedule`);
    const sigma = this.sigmas[index];
    const out = new Float32Array(original.length);
    for (let i = 0; i < out.length; i++) out[i] = original[i] + f32(noise[i] * sigma);
    return out;
  }
}

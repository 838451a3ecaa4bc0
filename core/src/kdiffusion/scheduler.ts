// A1111's and ComfyUI's k-diffusion sampling behind the one Scheduler contract the pipeline loop drives.
// The difference from the diffusers-exact schedulers lives in the denoiser adapter this scheduler carries:
// the UNet gets x·c_in and the tool's own timestep for σ (A1111 interpolates, ComfyUI rounds), its eps
// becomes denoised = x − σ·eps, and CFG combines the denoised outputs. `timesteps` lists one entry per
// model call (Heun and DPM2 make two per step), so the loop stays one model call per entry.
import { requireNoise } from '../schedulers/common.js';
import type { DenoiserAdapter, Scheduler, StepResult } from '../schedulers/types.js';
import type { NoiseSource } from '../rng/noise.js';
import { resolveSampling, type ResolvedSampling, type SamplingSpec } from './names.js';
import { SAMPLERS, type SamplerLoop } from './samplers.js';
import { sigmaTable, type SigmaTable } from './tables.js';

const f = Math.fround;

function describe(spec: SamplingSpec): string {
  return spec.tool === 'a1111' ? `A1111 ${spec.sampler} / ${spec.scheduleType}` : `ComfyUI ${spec.samplerName} / ${spec.scheduler}`;
}

export class KDiffusionScheduler implements Scheduler, DenoiserAdapter {
  readonly className: string;
  readonly config: Readonly<Record<string, unknown>>;
  readonly order = 1;
  readonly timestepsDtype = 'float32';
  readonly numTrainTimesteps: number;
  readonly alphasCumprod: Float32Array;
  readonly denoiser: DenoiserAdapter = this;
  timesteps: number[] = [];
  sigmas: number[] = [];
  /** The σ of each model call, parallel to `timesteps`. */
  private callSigmas: number[] = [];
  private call = 0;
  private loop: SamplerLoop | null = null;
  private noise: NoiseSource | undefined;
  private shape: readonly number[] | undefined;
  private readonly sampling: ResolvedSampling;
  private readonly table: SigmaTable;

  constructor(spec: SamplingSpec) {
    this.sampling = resolveSampling(spec);
    this.table = sigmaTable(spec.tool);
    this.className = describe(spec);
    this.config = { ...spec };
    this.numTrainTimesteps = this.table.sigmas.length;
    this.alphasCumprod = this.table.sigmas.map((s) => 1 / (1 + s * s));
  }

  setTimesteps(numInferenceSteps: number): void {
    this.useSchedule(this.sampling.sigmas(numInferenceSteps));
  }

  /** img2img: ComfyUI's denoise / A1111's denoising strength pick the tail of a schedule (see names.ts). */
  setImg2ImgTimesteps(numInferenceSteps: number, strength: number): void {
    this.useSchedule(this.sampling.partialSigmas(numInferenceSteps, strength));
  }

  private useSchedule(sigmas: number[]): void {
    if (sigmas.length < 2) throw new Error(`${this.className}: the schedule has no step to take`);
    this.sigmas = sigmas;
    this.callSigmas = SAMPLERS[this.sampling.kind].calls(sigmas);
    this.timesteps = this.callSigmas.map((s) => this.table.sigmaToT(s));
    this.call = 0;
    this.loop = null;
  }

  /** ComfyUI noise_scaling: √(1 + σ₀²) when σ₀ is the table's σ_max ("max denoise"); A1111 always σ₀. */
  private noiseScale(sigma: number): number {
    const max = this.table.sigmaMax;
    const maxDenoise = Math.abs(max - sigma) <= 1e-5 * Math.max(Math.abs(max), Math.abs(sigma)) || sigma > max;
    return this.sampling.tool === 'comfyui' && maxDenoise ? f(Math.sqrt(f(1 + f(sigma * sigma)))) : sigma;
  }

  get initNoiseSigma(): number {
    if (this.sigmas.length === 0) throw new Error(`${this.className}: call setTimesteps before reading initNoiseSigma`);
    return this.noiseScale(this.sigmas[0]);
  }

  private currentSigma(): number {
    if (this.callSigmas.length === 0) throw new Error(`${this.className}: call setTimesteps before stepping`);
    if (this.call >= this.callSigmas.length) throw new Error(`${this.className}: step called after the last model call`);
    return this.callSigmas[this.call];
  }

  /** c_in: ComfyUI divides by √(σ²+1); A1111 (CompVisDenoiser) multiplies by its reciprocal. */
  scaleModelInput(sample: Float32Array): Float32Array {
    const sigma = this.currentSigma();
    const root = f(Math.sqrt(f(f(sigma * sigma) + 1)));
    if (this.sampling.tool === 'comfyui') return sample.map((v) => v / root);
    const cIn = f(1 / root);
    return sample.map((v) => v * cIn);
  }

  /** denoised = x − σ·eps per batch half ([negative, positive] when guided), then uncond + (cond − uncond)·g. */
  combine(unetOutput: Float32Array, sample: Float32Array, guidance: number | null): Float32Array {
    const sigma = this.currentSigma();
    const n = sample.length;
    const denoise = (offset: number): Float32Array => {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = sample[i] - f(unetOutput[offset + i] * sigma);
      return out;
    };
    if (guidance === null) return denoise(0);
    const uncond = denoise(0);
    const cond = denoise(n);
    const g = f(guidance);
    for (let i = 0; i < n; i++) uncond[i] = uncond[i] + f(f(cond[i] - uncond[i]) * g);
    return uncond;
  }

  /** `modelOutput` is the denoised x0 (what combine returned); advances the sampler to its next model call. */
  step(modelOutput: Float32Array, _timestep: number, sample: Float32Array, noise?: NoiseSource, shape?: readonly number[]): StepResult {
    this.currentSigma();
    this.noise = noise;
    this.shape = shape ?? [sample.length];
    if (!this.loop) {
      this.loop = SAMPLERS[this.sampling.kind].run(sample, this.sigmas, {
        tool: this.sampling.tool,
        randn: () => requireNoise(this.className, this.noise).randn(this.shape!),
      });
      this.loop.next();
    }
    const next = this.loop.next(modelOutput);
    this.call++;
    if (!next.done && next.value.sigma !== this.callSigmas[this.call]) {
      throw new Error(`${this.className}: the sampler asked for σ ${next.value.sigma} where its plan has ${this.callSigmas[this.call]}`);
    }
    return { prevSample: next.done ? next.value : next.value.x, predOriginalSample: modelOutput };
  }

  /** x0 + noise·σ (ComfyUI: √(1 + σ²) at full denoise) with σ at `timestep`'s first model call. */
  addNoise(original: Float32Array, noise: Float32Array, timestep: number): Float32Array {
    const index = this.timesteps.indexOf(timestep);
    if (index < 0) throw new Error(`${this.className}: add_noise timestep ${timestep} is not in the current schedule`);
    const scale = this.noiseScale(this.callSigmas[index]);
    return original.map((v, i) => f(noise[i] * scale) + v);
  }
}

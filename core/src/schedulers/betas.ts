// Noise schedules exactly as diffusers builds them in float32 torch on CPU (PyTorch 1.13): the
// golden alphas_cumprod is matched bit for bit, which keeps every table downstream exact.
import { ConfigReader } from './config.js';

const f32 = Math.fround;

/**
 * torch.linspace(start, end, steps, dtype=float32) on CPU: a float32 step, the first half counted
 * from `start` and the second half back from `end`, filled 8 lanes at a time (AVX2) from a lane base
 * computed with a fused multiply-add, with a scalar tail after the last full pair of vectors.
 */
export function torchLinspaceF32(start: number, end: number, steps: number): Float32Array {
  const out = new Float32Array(steps);
  const s = f32(start);
  const e = f32(end);
  if (steps === 1) {
    out[0] = s;
    return out;
  }
  const step = f32(f32(e - s) / (steps - 1));
  const halfway = Math.floor(steps / 2);
  const at = (idx: number): number => (idx < halfway ? f32(s + step * idx) : f32(e - step * (steps - idx - 1)));
  const lanes = 8;
  const vectorEnd = Math.floor(steps / (2 * lanes)) * 2 * lanes;
  for (let idx = 0; idx < vectorEnd; idx += lanes) {
    const base = at(idx);
    for (let i = 0; i < lanes; i++) out[idx + i] = base + i * step;
  }
  for (let idx = vectorEnd; idx < steps; idx++) out[idx] = at(idx);
  return out;
}

/** diffusers' betas_for_alpha_bar with the cosine transform ("squaredcos_cap_v2"), float64 then float32. */
function cosineBetas(count: number, maxBeta = 0.999): Float32Array {
  const alphaBar = (t: number): number => Math.cos(((t + 0.008) / 1.008) * Math.PI / 2) ** 2;
  const betas = new Float32Array(count);
  for (let i = 0; i < count; i++) betas[i] = Math.min(1 - alphaBar((i + 1) / count) / alphaBar(i / count), maxBeta);
  return betas;
}

/** cumprod(1 - betas): torch accumulates in float64 on CPU and stores each product as float32. */
export function cumprodAlphas(betas: Float32Array): Float32Array {
  const out = new Float32Array(betas.length);
  let acc = 1;
  for (let i = 0; i < betas.length; i++) {
    acc *= f32(1 - betas[i]);
    out[i] = acc;
  }
  return out;
}

/** diffusers' rescale_zero_terminal_snr (arXiv 2305.08891, Algorithm 1), in float32. */
function rescaleZeroTerminalSnr(betas: Float32Array): Float32Array {
  const abarSqrt = cumprodAlphas(betas).map((a) => Math.sqrt(a));
  const first = abarSqrt[0];
  const last = abarSqrt[abarSqrt.length - 1];
  const scale = f32(first / f32(first - last));
  const abar = abarSqrt.map((v) => {
    const shifted = f32(f32(v - last) * scale);
    return shifted * shifted;
  });
  const out = new Float32Array(betas.length);
  out[0] = 1 - abar[0];
  for (let i = 1; i < out.length; i++) out[i] = 1 - f32(abar[i] / abar[i - 1]);
  return out;
}

export interface NoiseSchedule {
  numTrainTimesteps: number;
  betas: Float32Array;
  alphasCumprod: Float32Array;
}

/** The beta_schedule values readNoiseSchedule builds. */
export const BETA_SCHEDULES = ['linear', 'scaled_linear', 'squaredcos_cap_v2'] as const;

export interface ScheduleDefaults {
  beta_start: number;
  beta_end: number;
  beta_schedule: 'linear' | 'scaled_linear';
  /** Classes that know rescale_betas_zero_snr (DDIM, LCM) read it; the others ignore the key. */
  zeroSnrKey?: boolean;
}

/** Reads num_train_timesteps, the beta keys (and rescale_betas_zero_snr where the class has it). */
export function readNoiseSchedule(cfg: ConfigReader, defaults: ScheduleDefaults): NoiseSchedule {
  const numTrainTimesteps = cfg.positiveInt('num_train_timesteps', 1000);
  const betaStart = cfg.number('beta_start', defaults.beta_start);
  const betaEnd = cfg.number('beta_end', defaults.beta_end);
  const schedule = cfg.choice('beta_schedule', BETA_SCHEDULES, defaults.beta_schedule);
  const trained = cfg.numberArray('trained_betas');
  let betas: Float32Array;
  if (trained) {
    if (trained.length !== numTrainTimesteps) {
      throw new Error(`trained_betas has ${trained.length} values but num_train_timesteps is ${numTrainTimesteps}`);
    }
    betas = Float32Array.from(trained);
  } else if (schedule === 'linear') {
    betas = torchLinspaceF32(betaStart, betaEnd, numTrainTimesteps);
  } else if (schedule === 'scaled_linear') {
    betas = torchLinspaceF32(Math.sqrt(betaStart), Math.sqrt(betaEnd), numTrainTimesteps).map((b) => b * b);
  } else {
    betas = cosineBetas(numTrainTimesteps);
  }
  if (defaults.zeroSnrKey && cfg.bool('rescale_betas_zero_snr', false)) betas = rescaleZeroTerminalSnr(betas);
  return { numTrainTimesteps, betas, alphasCumprod: cumprodAlphas(betas) };
}

/** ((1 - ᾱ) / ᾱ) ** 0.5 per train step, as float32 torch computes it. */
export function trainSigmas(alphasCumprod: Float32Array): Float32Array {
  return alphasCumprod.map((a) => Math.sqrt(f32(f32(1 - a) / a)));
}

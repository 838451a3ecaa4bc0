// Sigma schedules by the names each tool shows: ComfyUI's `scheduler` (comfy/samplers.py
// calculate_sigmas + KSampler's discard-penultimate and denoise rules) and A1111's "Schedule type"
// (modules/sd_schedulers.py, k-diffusion's get_sigmas_*), each on that tool's own sigma table.
// Every schedule ends with its final sigma (0, except A1111's KL Optimal and Comfy's linear_quadratic).
import { torchLinspaceF32 } from '../schedulers/betas.js';
import { linspace, roundHalfEven } from '../schedulers/numpy.js';
import { betaPpf } from './beta-ppf.js';
import type { SigmaTable } from './tables.js';

const f = Math.fround;

export const COMFY_SCHEDULERS = ['normal', 'karras', 'exponential', 'sgm_uniform', 'simple', 'ddim_uniform', 'beta', 'linear_quadratic', 'kl_optimal'] as const;
export type ComfyScheduler = (typeof COMFY_SCHEDULERS)[number];

export const A1111_SCHEDULE_TYPES = [
  'Automatic', 'Uniform', 'Karras', 'Exponential', 'Polyexponential', 'SGM Uniform', 'KL Optimal', 'Align Your Steps', 'Simple', 'Normal', 'DDIM', 'Beta',
] as const;
export type A1111ScheduleType = (typeof A1111_SCHEDULE_TYPES)[number];

const BETA_ALPHA = 0.6;
const BETA_BETA = 0.6;
/** A1111's Align Your Steps for SD1.5 (NVIDIA's published 10-step sigmas). */
const AYS_SD15 = [14.615, 6.475, 3.861, 2.697, 1.886, 1.396, 0.963, 0.652, 0.399, 0.152, 0.029];

function withZero(sigmas: ArrayLike<number>): number[] {
  return [...Array.from(sigmas, f), 0];
}

/** k-diffusion get_sigmas_karras (ρ = 7) in float32 tensor arithmetic. */
export function karras(n: number, sigmaMin: number, sigmaMax: number, rho = 7): number[] {
  const ramp = torchLinspaceF32(0, 1, n);
  const minInv = sigmaMin ** (1 / rho);
  const maxInv = sigmaMax ** (1 / rho);
  return withZero(ramp.map((r) => f(f(f(maxInv) + f(r * f(minInv - maxInv))) ** rho)));
}

export function exponential(n: number, sigmaMin: number, sigmaMax: number): number[] {
  return withZero(torchLinspaceF32(Math.log(sigmaMax), Math.log(sigmaMin), n).map((x) => f(Math.exp(x))));
}

export function polyexponential(n: number, sigmaMin: number, sigmaMax: number, rho = 1): number[] {
  const span = f(Math.log(sigmaMax) - Math.log(sigmaMin));
  const base = f(Math.log(sigmaMin));
  return withZero(torchLinspaceF32(1, 0, n).map((r) => f(Math.exp(f(f(f(r ** rho) * span) + base)))));
}

/** k-diffusion DiscreteSchedule.get_sigmas: t = linspace(999, 0, n), σ(t), then 0 (A1111 "Uniform"). */
function uniform(n: number, table: SigmaTable): number[] {
  return withZero(torchLinspaceF32(table.sigmas.length - 1, 0, n).map((t) => table.tToSigma(t)));
}

/** normal / sgm_uniform: t evenly spaced from t(σ_max) to t(σ_min) through the tool's sigma_to_t. */
function normal(n: number, table: SigmaTable, sgm: boolean, dropZero: boolean): number[] {
  const start = table.sigmaToT(table.sigmaMax);
  const end = table.sigmaToT(table.sigmaMin);
  // ComfyUI only: a table reaching σ = 0 gets one more step instead of an appended 0.
  if (!sgm && dropZero && Math.abs(table.tToSigma(end)) <= 1e-5) return Array.from(torchLinspaceF32(start, end, n + 1), (t) => table.tToSigma(t));
  const ts = sgm ? torchLinspaceF32(start, end, n + 1).slice(0, n) : torchLinspaceF32(start, end, n);
  return withZero(ts.map((t) => table.tToSigma(t)));
}

function simple(n: number, table: SigmaTable): number[] {
  const count = table.sigmas.length;
  const ss = count / n;
  return withZero(Array.from({ length: n }, (_, x) => table.sigmas[count - 1 - Math.trunc(x * ss)]));
}

/** Every (1000 // n)-th table entry from index 1, descending; may give more than n steps (30 → 31). */
function ddimUniform(n: number, table: SigmaTable, comfy: boolean): number[] {
  const count = table.sigmas.length;
  // ComfyUI: a table whose entry 1 is 0 takes one step more and no appended 0.
  const zeroAt1 = comfy && Math.abs(table.sigmas[1]) <= 1e-5;
  const ss = Math.max(Math.floor(count / (zeroAt1 ? n + 1 : n)), 1);
  const picked: number[] = [];
  for (let x = 1; x < count; x += ss) picked.push(table.sigmas[x]);
  picked.reverse();
  return zeroAt1 ? picked : [...picked, 0];
}

function comfyBeta(n: number, table: SigmaTable): number[] {
  const total = table.sigmas.length - 1;
  const out: number[] = [];
  let last = -1;
  for (const x of linspace(0, 1, n, false)) {
    const t = roundHalfEven(betaPpf(1 - x, BETA_ALPHA, BETA_BETA) * total);
    if (t !== last) out.push(table.sigmas[t]);
    last = t;
  }
  return withZero(out);
}

/** A1111's Beta: σ_min + ppf·(σ_max − σ_min), linear in σ (ComfyUI's picks table entries instead). */
function a1111Beta(n: number, sigmaMin: number, sigmaMax: number): number[] {
  return withZero(linspace(0, 1, n).map((x) => sigmaMin + betaPpf(1 - x, BETA_ALPHA, BETA_BETA) * (sigmaMax - sigmaMin)));
}

function linearQuadratic(n: number, sigmaMax: number, thresholdNoise = 0.025): number[] {
  if (n === 1) return [f(sigmaMax), 0];
  const linearSteps = Math.floor(n / 2);
  const linear = Array.from({ length: linearSteps }, (_, i) => (i * thresholdNoise) / linearSteps);
  const thresholdStepDiff = linearSteps - thresholdNoise * n;
  const quadraticSteps = n - linearSteps;
  const quadraticCoef = thresholdStepDiff / (linearSteps * quadraticSteps ** 2);
  const linearCoef = thresholdNoise / linearSteps - (2 * thresholdStepDiff) / quadraticSteps ** 2;
  const constant = quadraticCoef * linearSteps ** 2;
  const quadratic = Array.from({ length: n - linearSteps }, (_, k) => {
    const i = linearSteps + k;
    return quadraticCoef * i ** 2 + linearCoef * i + constant;
  });
  return [...linear, ...quadratic, 1].map((x) => f(f(1 - x) * f(sigmaMax)));
}

/** ComfyUI kl_optimal: tan of a float32 ramp between atan(σ_max) and atan(σ_min), then 0. */
function comfyKlOptimal(n: number, sigmaMin: number, sigmaMax: number): number[] {
  const aMin = f(Math.atan(sigmaMin));
  const aMax = f(Math.atan(sigmaMax));
  return withZero(Array.from({ length: n }, (_, i) => {
    const idx = f(i / (n - 1));
    return f(Math.tan(f(f(idx * aMin) + f(f(1 - idx) * aMax))));
  }));
}

/** A1111 KL Optimal: n + 1 values from σ_max down to σ_min itself (no appended 0). */
function a1111KlOptimal(n: number, sigmaMin: number, sigmaMax: number): number[] {
  const aMin = f(Math.atan(sigmaMin));
  const aMax = f(Math.atan(sigmaMax));
  return Array.from({ length: n + 1 }, (_, i) => {
    const r = f(i / n);
    return f(Math.tan(f(f(r * aMin) + f(f(1 - r) * aMax))));
  });
}

function alignYourSteps(n: number): number[] {
  if (n === AYS_SD15.length) return withZero(AYS_SD15);
  const xs = linspace(0, 1, AYS_SD15.length);
  const ys = [...AYS_SD15].reverse().map(Math.log);
  const interped = linspace(0, 1, n).map((x) => Math.exp(interp(x, xs, ys))).reverse();
  return withZero(interped);
}

/** np.interp on an ascending grid. */
function interp(x: number, xs: number[], ys: number[]): number {
  if (x <= xs[0]) return ys[0];
  if (x >= xs[xs.length - 1]) return ys[ys.length - 1];
  let j = 0;
  while (xs[j + 1] <= x) j++;
  if (xs[j] === x) return ys[j];
  const slope = (ys[j + 1] - ys[j]) / (xs[j + 1] - xs[j]);
  return slope * (x - xs[j]) + ys[j];
}

/** comfy.samplers.calculate_sigmas(model_sampling, scheduler, steps). */
export function comfySigmas(scheduler: ComfyScheduler, steps: number, table: SigmaTable): number[] {
  const { sigmaMin, sigmaMax } = table;
  switch (scheduler) {
    case 'normal': return normal(steps, table, false, true);
    case 'sgm_uniform': return normal(steps, table, true, true);
    case 'karras': return karras(steps, sigmaMin, sigmaMax);
    case 'exponential': return exponential(steps, sigmaMin, sigmaMax);
    case 'simple': return simple(steps, table);
    case 'ddim_uniform': return ddimUniform(steps, table, true);
    case 'beta': return comfyBeta(steps, table);
    case 'linear_quadratic': return linearQuadratic(steps, sigmaMax);
    case 'kl_optimal': return comfyKlOptimal(steps, sigmaMin, sigmaMax);
  }
}

/** A1111 schedule type (already resolved from "Automatic"); null = the model's get_sigmas ("Uniform"). */
export function a1111Sigmas(type: Exclude<A1111ScheduleType, 'Automatic'>, steps: number, table: SigmaTable): number[] {
  const { sigmaMin, sigmaMax } = table;
  switch (type) {
    case 'Uniform': return uniform(steps, table);
    case 'Karras': return karras(steps, sigmaMin, sigmaMax);
    case 'Exponential': return exponential(steps, sigmaMin, sigmaMax);
    case 'Polyexponential': return polyexponential(steps, sigmaMin, sigmaMax);
    case 'SGM Uniform': return normal(steps, table, true, false);
    case 'KL Optimal': return a1111KlOptimal(steps, sigmaMin, sigmaMax);
    case 'Align Your Steps': return alignYourSteps(steps);
    case 'Simple': return simple(steps, table);
    case 'Normal': return normal(steps, table, false, false);
    case 'DDIM': return ddimUniform(steps, table, false);
    case 'Beta': return a1111Beta(steps, sigmaMin, sigmaMax);
  }
}

/** Both tools' "discard next to last sigma": compute one step more, drop the penultimate value. */
export function discardPenultimate(sigmas: number[]): number[] {
  return [...sigmas.slice(0, -2), sigmas[sigmas.length - 1]];
}

/** ComfyUI KSampler with denoise < 1: int(steps / denoise) steps computed, the last steps + 1 kept. */
export function comfyKSamplerSigmas(compute: (steps: number) => number[], steps: number, denoise: number): number[] {
  if (denoise > 0.9999) return compute(steps);
  if (!(denoise > 0)) throw new Error(`denoise must be greater than 0, got ${denoise}`);
  return compute(Math.trunc(steps / denoise)).slice(-(steps + 1));
}


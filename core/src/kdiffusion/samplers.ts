// k-diffusion's samplers, written as the reference loops they reproduce: each is a generator that yields
// (x, σ) whenever it needs the denoiser and receives the denoised x0 back, so the sampler reads like
// k_diffusion/sampling.py while the caller owns the model. Arithmetic is float32 tensor arithmetic in
// the reference's order. Where A1111 (k-diffusion 0.0.16) and ComfyUI (its fork) differ, `tool` decides.
import { expf, expm1f, logf } from '../rng/sleef.js';
import type { Tool } from './tables.js';
import { uniPc } from './unipc.js';

const f = Math.fround;

export interface ModelCall {
  x: Float32Array;
  sigma: number;
}

export interface SamplerContext {
  tool: Tool;
  /** torch.randn_like(x) inside the sampler (A1111) or the seeded noise sampler (ComfyUI). */
  randn(): Float32Array;
}

export type SamplerLoop = Generator<ModelCall, Float32Array, Float32Array>;
export type SamplerFn = (x: Float32Array, sigmas: readonly number[], ctx: SamplerContext) => SamplerLoop;

export interface SamplerDef {
  run: SamplerFn;
  /** The σ of every model call the loop will make for this schedule, in order. */
  calls(sigmas: readonly number[]): number[];
}

function toD(x: Float32Array, sigma: number, denoised: Float32Array): Float32Array {
  const d = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) d[i] = f(x[i] - denoised[i]) / sigma;
  return d;
}

/** x + d·dt */
function addScaled(x: Float32Array, d: Float32Array, dt: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = x[i] + f(d[i] * dt);
  return out;
}

/** k-diffusion 0.0.16 draws an unused randn_like every step of Euler, Heun and DPM2 (s_churn = 0): A1111's generators advance; ComfyUI draws none. */
function unusedDraw(ctx: SamplerContext): void {
  if (ctx.tool === 'a1111') ctx.randn();
}

const oneCallPerStep = (sigmas: readonly number[]): number[] => sigmas.slice(0, -1);

function* euler(x: Float32Array, sigmas: readonly number[], ctx: SamplerContext): SamplerLoop {
  for (let i = 0; i < sigmas.length - 1; i++) {
    unusedDraw(ctx);
    const denoised = yield { x, sigma: sigmas[i] };
    x = addScaled(x, toD(x, sigmas[i], denoised), f(sigmas[i + 1] - sigmas[i]));
  }
  return x;
}

function ancestralStep(from: number, to: number): { down: number; up: number } {
  const to2 = f(to * to);
  const from2 = f(from * from);
  const up = Math.min(to, f(Math.sqrt(f(f(to2 * f(from2 - to2)) / from2))));
  return { down: f(Math.sqrt(f(to2 - f(up * up)))), up };
}

function* eulerAncestral(x: Float32Array, sigmas: readonly number[], ctx: SamplerContext): SamplerLoop {
  for (let i = 0; i < sigmas.length - 1; i++) {
    const denoised = yield { x, sigma: sigmas[i] };
    const { down, up } = ancestralStep(sigmas[i], sigmas[i + 1]);
    // ComfyUI: the last step (σ_down = 0) is x = denoised, and noise joins the same expression.
    if (ctx.tool === 'comfyui' && down === 0) {
      x = denoised;
      continue;
    }
    x = addScaled(x, toD(x, sigmas[i], denoised), f(down - sigmas[i]));
    if (ctx.tool === 'comfyui' || sigmas[i + 1] > 0) {
      const noise = ctx.randn();
      for (let k = 0; k < x.length; k++) x[k] = x[k] + f(noise[k] * up);
    }
  }
  return x;
}

function* heun(x: Float32Array, sigmas: readonly number[], ctx: SamplerContext): SamplerLoop {
  for (let i = 0; i < sigmas.length - 1; i++) {
    unusedDraw(ctx);
    const sigma = sigmas[i];
    const next = sigmas[i + 1];
    const denoised = yield { x, sigma };
    const d = toD(x, sigma, denoised);
    const dt = f(next - sigma);
    if (next === 0) {
      x = addScaled(x, d, dt);
      continue;
    }
    const x2 = addScaled(x, d, dt);
    const denoised2 = yield { x: x2, sigma: next };
    const d2 = toD(x2, next, denoised2);
    const dPrime = d.map((v, k) => f(v + d2[k]) / 2);
    x = addScaled(x, dPrime, dt);
  }
  return x;
}

const midSigma = (sigma: number, next: number): number => {
  const a = logf(sigma);
  const b = logf(next);
  // torch.lerp with weight 0.5 counts back from the end: b − (b − a)·0.5.
  return expf(f(b - f(f(b - a) * 0.5)));
};

function* dpm2(x: Float32Array, sigmas: readonly number[], ctx: SamplerContext): SamplerLoop {
  for (let i = 0; i < sigmas.length - 1; i++) {
    unusedDraw(ctx);
    const sigma = sigmas[i];
    const next = sigmas[i + 1];
    const denoised = yield { x, sigma };
    const d = toD(x, sigma, denoised);
    if (next === 0) {
      x = addScaled(x, d, f(next - sigma));
      continue;
    }
    const mid = midSigma(sigma, next);
    const x2 = addScaled(x, d, f(mid - sigma));
    const denoised2 = yield { x: x2, sigma: mid };
    x = addScaled(x, toD(x2, mid, denoised2), f(next - sigma));
  }
  return x;
}

function* dpm2Ancestral(x: Float32Array, sigmas: readonly number[], ctx: SamplerContext): SamplerLoop {
  for (let i = 0; i < sigmas.length - 1; i++) {
    const sigma = sigmas[i];
    const denoised = yield { x, sigma };
    const { down, up } = ancestralStep(sigma, sigmas[i + 1]);
    const d = toD(x, sigma, denoised);
    if (down === 0) {
      x = addScaled(x, d, f(down - sigma));
      continue;
    }
    const mid = midSigma(sigma, down);
    const x2 = addScaled(x, d, f(mid - sigma));
    const denoised2 = yield { x: x2, sigma: mid };
    x = addScaled(x, toD(x2, mid, denoised2), f(down - sigma));
    const noise = ctx.randn();
    for (let k = 0; k < x.length; k++) x[k] = x[k] + f(noise[k] * up);
  }
  return x;
}

function* dpmpp2m(x: Float32Array, sigmas: readonly number[]): SamplerLoop {
  // torch.log/exp/expm1 on these 0-dim float32 tensors are SLEEF's (see rng/sleef.ts), not libm's.
  const tOf = (s: number): number => -logf(s);
  let old: Float32Array | null = null;
  for (let i = 0; i < sigmas.length - 1; i++) {
    const denoised = yield { x, sigma: sigmas[i] };
    const t = tOf(sigmas[i]);
    const tNext = tOf(sigmas[i + 1]);
    const h = f(tNext - t);
    const ratio = f(expf(-tNext) / expf(-t));
    const coef = expm1f(-h);
    let target = denoised;
    if (old !== null && sigmas[i + 1] !== 0) {
      const r = f(f(t - tOf(sigmas[i - 1])) / h);
      const half = f(1 / f(2 * r));
      const a = f(1 + half);
      const prev = old;
      target = denoised.map((v, k) => f(f(a * v) - f(half * prev[k])));
    }
    const out = new Float32Array(x.length);
    for (let k = 0; k < x.length; k++) out[k] = f(ratio * x[k]) - f(coef * target[k]);
    x = out;
    old = denoised;
  }
  return x;
}

/** ∫ over [t_i, t_{i+1}] of the Lagrange basis polynomial j on t_i, t_{i-1}, … (exact: Gauss–Legendre on a cubic at most). */
function lmsCoefficient(order: number, t: readonly number[], i: number, j: number): number {
  const basis = (tau: number): number => {
    let prod = 1;
    // k-diffusion passes the σ as numpy float32 scalars: τ − t_k is float64, but t_j − t_k stays float32.
    for (let k = 0; k < order; k++) if (k !== j) prod *= (tau - t[i - k]) / f(t[i - j] - t[i - k]);
    return prod;
  };
  const a = t[i];
  const b = t[i + 1];
  const mid = (a + b) / 2;
  const half = (b - a) / 2;
  const nodes = [-0.8611363115940526, -0.3399810435848563, 0.3399810435848563, 0.8611363115940526];
  const weights = [0.3478548451374538, 0.6521451548625461, 0.6521451548625461, 0.3478548451374538];
  return half * nodes.reduce((acc, n, k) => acc + weights[k] * basis(mid + half * n), 0);
}

function* lms(x: Float32Array, sigmas: readonly number[], ctx: SamplerContext): SamplerLoop {
  const order = 4;
  const ds: Float32Array[] = [];
  for (let i = 0; i < sigmas.length - 1; i++) {
    const denoised = yield { x, sigma: sigmas[i] };
    ds.push(toD(x, sigmas[i], denoised));
    if (ds.length > order) ds.shift();
    // ComfyUI: the step to σ = 0 is x = denoised.
    if (ctx.tool === 'comfyui' && sigmas[i + 1] === 0) {
      x = denoised;
      continue;
    }
    const cur = Math.min(i + 1, order);
    const coeffs = Array.from({ length: cur }, (_, j) => f(lmsCoefficient(cur, sigmas, i, j)));
    const sum = new Float32Array(x.length);
    coeffs.forEach((c, j) => {
      const d = ds[ds.length - 1 - j];
      for (let k = 0; k < x.length; k++) sum[k] = sum[k] + f(c * d[k]);
    });
    x = x.map((v, k) => v + sum[k]);
  }
  return x;
}

/** ComfyUI sample_lcm: x = denoised, re-noised to the next σ with the seeded noise sampler. */
function* lcm(x: Float32Array, sigmas: readonly number[], ctx: SamplerContext): SamplerLoop {
  for (let i = 0; i < sigmas.length - 1; i++) {
    const denoised = yield { x, sigma: sigmas[i] };
    x = denoised;
    const next = sigmas[i + 1];
    if (next > 0) {
      const noise = ctx.randn();
      x = denoised.map((v, k) => f(noise[k] * next) + v);
    }
  }
  return x;
}

function twoCallsPerStep(second: (sigma: number, next: number) => number): (sigmas: readonly number[]) => number[] {
  return (sigmas) => sigmas.slice(0, -1).flatMap((s, i) => (sigmas[i + 1] === 0 ? [s] : [s, second(s, sigmas[i + 1])]));
}

export const SAMPLERS = {
  euler: { run: euler, calls: oneCallPerStep },
  euler_ancestral: { run: eulerAncestral, calls: oneCallPerStep },
  heun: { run: heun, calls: twoCallsPerStep((_, next) => next) },
  dpm_2: { run: dpm2, calls: twoCallsPerStep(midSigma) },
  dpm_2_ancestral: { run: dpm2Ancestral, calls: twoCallsPerStep((sigma, next) => midSigma(sigma, ancestralStep(sigma, next).down)) },
  dpmpp_2m: { run: dpmpp2m, calls: oneCallPerStep },
  lms: { run: lms, calls: oneCallPerStep },
  lcm: { run: lcm, calls: oneCallPerStep },
  uni_pc: { run: uniPc, calls: oneCallPerStep },
} satisfies Record<string, SamplerDef>;
export type SamplerKind = keyof typeof SAMPLERS;

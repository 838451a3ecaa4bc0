import { describe, expect, it } from 'vitest';
import { KDiffusionScheduler } from '../../src/kdiffusion/scheduler.js';
import { SAMPLERS, type SamplerKind } from '../../src/kdiffusion/samplers.js';
import { resolveSampling } from '../../src/kdiffusion/names.js';
import { sigmaTable, type Tool } from '../../src/kdiffusion/tables.js';
import { QueuedNoise } from '../../src/rng/noise.js';

const f = Math.fround;

/** Drives a sampler loop with a denoiser that always answers `target`; returns the result and the σ of every call. */
function drive(kind: SamplerKind, tool: Tool, sigmas: number[], x: Float32Array, target: number, noise: () => Float32Array = () => new Float32Array(x.length)) {
  const loop = SAMPLERS[kind].run(x, sigmas, { tool, randn: noise });
  const calls: number[] = [];
  let next = loop.next();
  while (!next.done) {
    calls.push(next.value.sigma);
    next = loop.next(new Float32Array(x.length).fill(target));
  }
  return { x: next.value, calls };
}

const sigmas = resolveSampling({ tool: 'a1111', sampler: 'Euler', scheduleType: 'Karras' }).sigmas(10);
const start = Float32Array.from({ length: 8 }, (_, i) => (i - 4) * sigmas[0]);

describe('k-diffusion sampler loops', () => {
  it.each(['euler', 'heun', 'dpm_2', 'dpmpp_2m', 'lms'] as const)('%s: a denoiser that always says x0 = c ends at c (the ODE is linear in σ)', (kind) => {
    for (const tool of ['a1111', 'comfyui'] as const) {
      const { x, calls } = drive(kind, tool, sigmas, start, 0.5);
      for (const v of x) expect(v).toBeCloseTo(0.5, 4);
      expect(calls).toEqual(SAMPLERS[kind].calls(sigmas));
    }
  });

  it('Heun and DPM2 make two model calls per step but one on the last (σ_next = 0)', () => {
    expect(SAMPLERS.heun.calls(sigmas)).toHaveLength(2 * 10 - 1);
    expect(SAMPLERS.dpm_2.calls(sigmas)).toHaveLength(2 * 10 - 1);
    const mid = SAMPLERS.dpm_2.calls(sigmas)[1];
    expect(mid).toBeCloseTo(Math.sqrt(sigmas[0] * sigmas[1]), 4);
  });

  it("A1111's Euler, Heun and DPM2 draw one unused noise tensor per step; ComfyUI's draw none", () => {
    for (const kind of ['euler', 'heun', 'dpm_2'] as const) {
      let a1111 = 0;
      let comfy = 0;
      drive(kind, 'a1111', sigmas, start, 0, () => (a1111++, new Float32Array(8)));
      drive(kind, 'comfyui', sigmas, start, 0, () => (comfy++, new Float32Array(8)));
      expect([kind, a1111, comfy]).toEqual([kind, 10, 0]);
    }
  });

  it('Euler a: A1111 adds noise on every step but the last; ComfyUI on every step but the last, whose x is denoised', () => {
    let a1111 = 0;
    let comfy = 0;
    const one = () => new Float32Array(8).fill(1);
    const a = drive('euler_ancestral', 'a1111', sigmas, start, 0.25, () => (a1111++, one()));
    const c = drive('euler_ancestral', 'comfyui', sigmas, start, 0.25, () => (comfy++, one()));
    expect([a1111, comfy]).toEqual([9, 9]);
    expect(Array.from(c.x)).toEqual(new Array(8).fill(0.25));
    for (const v of a.x) expect(v).toBeCloseTo(0.25, 5);
  });

  it('LMS: ComfyUI ends with x = denoised, A1111 integrates down to σ = 0', () => {
    const c = drive('lms', 'comfyui', sigmas, start, 0.5);
    expect(Array.from(c.x)).toEqual(new Array(8).fill(0.5));
  });

  it('LCM re-noises x0 to the next σ with the noise sampler', () => {
    const lcm = drive('lcm', 'comfyui', [2, 1, 0], start, 0.5, () => new Float32Array(8).fill(1));
    expect(Array.from(lcm.x)).toEqual(new Array(8).fill(0.5));
    const loop = SAMPLERS.lcm.run(start, [2, 1, 0], { tool: 'comfyui', randn: () => new Float32Array(8).fill(1) });
    loop.next();
    expect(loop.next(new Float32Array(8).fill(0.5)).value).toEqual({ x: new Float32Array(8).fill(1.5), sigma: 1 });
  });
});

describe('KDiffusionScheduler (the scheduler contract)', () => {
  it('x_T: ComfyUI scales by √(1 + σ_max²) at full denoise, A1111 by σ_max', () => {
    const comfy = new KDiffusionScheduler({ tool: 'comfyui', samplerName: 'euler', scheduler: 'normal' });
    const a1111 = new KDiffusionScheduler({ tool: 'a1111', sampler: 'Euler', scheduleType: 'Automatic' });
    comfy.setTimesteps(10);
    a1111.setTimesteps(10);
    expect(comfy.initNoiseSigma).toBeCloseTo(14.6488, 4);
    expect(a1111.initNoiseSigma).toBe(a1111.sigmas[0]);
    expect(a1111.initNoiseSigma).toBeCloseTo(sigmaTable('a1111').sigmaMax, 5);
  });

  it('timesteps are what the UNet gets: ComfyUI integers, A1111 interpolated; one per model call', () => {
    const comfy = new KDiffusionScheduler({ tool: 'comfyui', samplerName: 'heun', scheduler: 'karras' });
    const a1111 = new KDiffusionScheduler({ tool: 'a1111', sampler: 'Heun', scheduleType: 'Karras' });
    comfy.setTimesteps(8);
    a1111.setTimesteps(8);
    expect(comfy.timesteps).toHaveLength(15);
    expect(comfy.timesteps.every(Number.isInteger)).toBe(true);
    expect(a1111.timesteps.some((t) => !Number.isInteger(t))).toBe(true);
  });

  it('the denoiser adapter applies CFG to denoised outputs ([negative, positive] rows)', () => {
    const s = new KDiffusionScheduler({ tool: 'comfyui', samplerName: 'euler', scheduler: 'normal' });
    s.setTimesteps(2);
    const sigma = s.sigmas[0];
    const x = Float32Array.of(1, 2);
    const eps = Float32Array.of(0.5, 0.25, 1, -1);
    const out = s.combine(eps, x, 3);
    const uncond = [f(1 - f(0.5 * sigma)), f(2 - f(0.25 * sigma))];
    const cond = [f(1 - f(1 * sigma)), f(2 - f(-1 * sigma))];
    expect(Array.from(out)).toEqual(uncond.map((u, i) => f(u + f(f(cond[i] - u) * 3))));
    expect(Array.from(s.combine(eps.subarray(0, 2), x, null))).toEqual(uncond);
  });

  it('a step without its noise source is refused for samplers that draw noise', () => {
    const s = new KDiffusionScheduler({ tool: 'a1111', sampler: 'Euler', scheduleType: 'Automatic' });
    s.setTimesteps(2);
    expect(() => s.step(new Float32Array(4), s.timesteps[0], new Float32Array(4))).toThrow(/pass a NoiseSource/);
  });

  it('steps past the last model call fail clearly', () => {
    const s = new KDiffusionScheduler({ tool: 'comfyui', samplerName: 'euler', scheduler: 'simple' });
    s.setTimesteps(2);
    const x = new Float32Array(4).fill(1);
    const noise = new QueuedNoise([]);
    let latents: Float32Array = x;
    for (const t of s.timesteps) latents = s.step(new Float32Array(4), t, latents, noise).prevSample;
    expect(Array.from(latents)).toEqual([0, 0, 0, 0]);
    expect(() => s.step(new Float32Array(4), 0, latents, noise)).toThrow(/after the last model call/);
  });

  it('img2img: ComfyUI denoise keeps the tail of a longer schedule and noises to σ₀ without the √(1 + σ²) factor', () => {
    const s = new KDiffusionScheduler({ tool: 'comfyui', samplerName: 'euler', scheduler: 'normal' });
    s.setImg2ImgTimesteps!(10, 0.6);
    expect(s.sigmas).toEqual(resolveSampling({ tool: 'comfyui', samplerName: 'euler', scheduler: 'normal' }).sigmas(16).slice(-11));
    const noisy = s.addNoise(Float32Array.of(1), Float32Array.of(2), s.timesteps[0]);
    expect(noisy[0]).toBe(f(f(2 * s.sigmas[0]) + 1));
  });
});

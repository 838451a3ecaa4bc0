import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseNpy } from '../../src/io/npy.js';
import { a1111ResolvedSchedule, a1111SamplerSigmas, resolveSampling, splitLegacyA1111Sampler, type A1111Sampler } from '../../src/kdiffusion/names.js';
import { A1111_SCHEDULE_TYPES, COMFY_SCHEDULERS, type A1111ScheduleType, type ComfyScheduler } from '../../src/kdiffusion/schedules.js';
import { sigmaTable } from '../../src/kdiffusion/tables.js';
import { betaPpf } from '../../src/kdiffusion/beta-ppf.js';

const GOLDEN = join(import.meta.dirname, '../../../tests/golden/kdiffusion/sigmas');
const cases = JSON.parse(readFileSync(join(GOLDEN, 'cases.json'), 'utf8').replace(/\bNaN\b/g, 'null')) as {
  comfyui: Record<string, Record<string, (number | null)[]>>;
  comfyui_ksampler: Record<string, number[]>;
  a1111: Record<string, Record<string, number[]>>;
  a1111_sampler_automatic: Record<string, { by_steps: Record<string, number[]> }>;
  sigma_to_t: { sigmas: number[]; a1111_kdiffusion_sigma_to_t: number[]; comfy_timestep: number[]; t_probe: number[]; a1111_kdiffusion_t_to_sigma: number[]; comfy_sigma: number[] };
};

/** README: exact float32, or rel 1e-6 where a port computes in another precision. */
function expectSigmas(actual: readonly number[], expected: readonly (number | null)[]): void {
  expect(actual).toHaveLength(expected.length);
  expected.forEach((e, i) => {
    if (e === null) expect(actual[i]).toBeNaN();
    else expect(Math.abs(actual[i] - e)).toBeLessThanOrEqual(1e-6 * Math.abs(e));
  });
}

const npy = (file: string) => parseNpy(new Uint8Array(readFileSync(join(GOLDEN, file)))).data as Float32Array;

describe('model sigma tables', () => {
  it.each([
    ['a1111', 'a1111'],
    ['comfyui', 'comfy'],
  ] as const)('%s: sigmas and log sigmas', (tool, prefix) => {
    const table = sigmaTable(tool);
    expectSigmas(Array.from(table.sigmas), Array.from(npy(`${prefix}_model_sigmas.npy`)));
    expectSigmas(Array.from(table.logSigmas), Array.from(npy(`${prefix}_log_sigmas.npy`)));
  });

  it('the tables differ in the last bits: σ_max 14.614642 (A1111) vs 14.614641 (ComfyUI)', () => {
    expect(sigmaTable('a1111').sigmaMax).toBe(Math.fround(14.614642143249512));
    expect(sigmaTable('comfyui').sigmaMax).toBe(Math.fround(14.614641189575195));
  });

  it('sigma_to_t: A1111 interpolates, ComfyUI takes the nearest integer', () => {
    const s = cases.sigma_to_t;
    expectSigmas(s.sigmas.map((x) => sigmaTable('a1111').sigmaToT(x)), s.a1111_kdiffusion_sigma_to_t);
    expect(s.sigmas.map((x) => sigmaTable('comfyui').sigmaToT(x))).toEqual(s.comfy_timestep);
    expectSigmas(s.t_probe.map((t) => sigmaTable('a1111').tToSigma(t)), s.a1111_kdiffusion_t_to_sigma);
    expectSigmas(s.t_probe.map((t) => sigmaTable('comfyui').tToSigma(t)), s.comfy_sigma);
  });
});

describe('ComfyUI schedulers', () => {
  const rows = COMFY_SCHEDULERS.flatMap((scheduler) => Object.keys(cases.comfyui[scheduler]).map((steps) => [scheduler, Number(steps)] as const));
  it('the golden table covers every scheduler Kirie offers', () => expect(Object.keys(cases.comfyui).sort()).toEqual([...COMFY_SCHEDULERS].sort()));
  it.each(rows)('%s, %d steps', (scheduler: ComfyScheduler, steps) => {
    expectSigmas(resolveSampling({ tool: 'comfyui', samplerName: 'euler', scheduler }).sigmas(steps), cases.comfyui[scheduler][String(steps)]);
  });
  it.each(Object.keys(cases.comfyui_ksampler).filter((k) => !k.startsWith('uni_pc')))('KSampler %s (discard-penultimate samplers, denoise)', (key) => {
    const [samplerName, scheduler, steps, denoise] = key.split('/');
    const sampling = resolveSampling({ tool: 'comfyui', samplerName: samplerName as 'euler', scheduler: scheduler as ComfyScheduler });
    expectSigmas(sampling.partialSigmas(Number(steps), Number(denoise.slice('denoise'.length))), cases.comfyui_ksampler[key]);
  });
  it('ddim_uniform can give more steps than asked (30 → 31)', () => {
    expect(resolveSampling({ tool: 'comfyui', samplerName: 'ddim', scheduler: 'ddim_uniform' }).sigmas(30)).toHaveLength(32);
  });
});

describe('A1111 schedule types', () => {
  const rows = A1111_SCHEDULE_TYPES.flatMap((type) => Object.keys(cases.a1111[type]).map((steps) => [type, Number(steps)] as const));
  it.each(rows)('%s, %d steps (Euler: no discard)', (scheduleType: A1111ScheduleType, steps) => {
    expectSigmas(resolveSampling({ tool: 'a1111', sampler: 'Euler', scheduleType }).sigmas(steps), cases.a1111[scheduleType][String(steps)]);
  });
  const automatic = Object.entries(cases.a1111_sampler_automatic).filter(([sampler]) => sampler !== 'DPM++ 3M SDE');
  it.each(automatic.flatMap(([sampler, e]) => Object.keys(e.by_steps).map((steps) => [sampler, Number(steps)] as const)))('Automatic for %s, %d steps', (sampler, steps) => {
    expectSigmas(resolveSampling({ tool: 'a1111', sampler: sampler as A1111Sampler, scheduleType: 'Automatic' }).sigmas(steps), cases.a1111_sampler_automatic[sampler].by_steps[String(steps)]);
  });
  it.each(Object.keys(cases.a1111_sampler_automatic['DPM++ 3M SDE'].by_steps).map(Number))('Automatic for DPM++ 3M SDE (Exponential, penultimate discarded; the sampler itself is refused), %d steps', (steps) => {
    expectSigmas(a1111SamplerSigmas('DPM++ 3M SDE', 'Automatic', steps), cases.a1111_sampler_automatic['DPM++ 3M SDE'].by_steps[String(steps)]);
  });
  it('Automatic resolves per sampler (v1.9+): DPM++ 2M and DPM2 → Karras, Euler → Uniform', () => {
    expect(a1111ResolvedSchedule('DPM++ 2M', 'Automatic')).toBe('Karras');
    expect(a1111ResolvedSchedule('DPM2', 'Automatic')).toBe('Karras');
    expect(a1111ResolvedSchedule('Euler', 'Automatic')).toBe('Uniform');
    expect(a1111ResolvedSchedule('Euler', 'Exponential')).toBe('Exponential');
    expect(a1111ResolvedSchedule('DPM++ 3M SDE', 'Automatic')).toBe('Exponential');
  });
  it('img2img keeps t_enc = int(min(strength, 0.999)·steps) steps of the full schedule', () => {
    const sampling = resolveSampling({ tool: 'a1111', sampler: 'Euler', scheduleType: 'Automatic' });
    expect(sampling.partialSigmas(10, 0.5)).toEqual(sampling.sigmas(10).slice(4));
    expect(sampling.partialSigmas(10, 1)).toEqual(sampling.sigmas(10).slice(0));
  });
  it('pre-1.9 infotext names carry the schedule: "DPM++ 2M Karras" = DPM++ 2M + Karras', () => {
    expect(splitLegacyA1111Sampler('DPM++ 2M Karras')).toEqual({ sampler: 'DPM++ 2M', scheduleType: 'Karras' });
    expect(splitLegacyA1111Sampler('Euler a')).toEqual({ sampler: 'Euler a', scheduleType: 'Automatic' });
    expect(splitLegacyA1111Sampler('DPM++ SDE Karras')).toBeUndefined();
  });
});

describe('beta quantile (scipy.stats.beta.ppf)', () => {
  it.each([
    [0.5, 0.5],
    [0, 0],
    [1, 1],
  ])('ppf(%f; 0.6, 0.6) = %f', (p, x) => expect(betaPpf(p, 0.6, 0.6)).toBeCloseTo(x, 15));
  it('is the inverse of a known CDF value: Beta(1, 1) is uniform, Beta(2, 1) has CDF x²', () => {
    expect(betaPpf(0.3, 1, 1)).toBeCloseTo(0.3, 14);
    expect(betaPpf(0.25, 2, 1)).toBeCloseTo(0.5, 14);
  });
});

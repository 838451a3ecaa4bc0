// The NumPy/torch numerics the tables are built from, checked on their own.
import { describe, expect, it } from 'vitest';
import { cumprodAlphas, readNoiseSchedule, torchLinspaceF32 } from '../../src/schedulers/betas.js';
import { ConfigReader } from '../../src/schedulers/config.js';
import { arange, interpOnIndexGrid, linspace, roundHalfEven } from '../../src/schedulers/numpy.js';
import { findStepIndex, karrasSigmas } from '../../src/schedulers/sigmas.js';
import { cases, loadArray } from './golden.js';

describe('NumPy helpers', () => {
  it.each([
    [0.5, 0],
    [1.5, 2],
    [2.5, 2],
    [-0.5, -0],
    [-1.5, -2],
    [937.5, 938],
    [812.5, 812],
    [2.4999999, 2],
    [7, 7],
  ])('roundHalfEven(%d) = %d', (x, want) => expect(roundHalfEven(x)).toBe(want));

  it.each([
    [0, 999, 1, true, [0]],
    [0, 999, 2, true, [0, 999]],
    [0, 999, 4, true, [0, 333, 666, 999]],
    [0, 50, 4, false, [0, 12.5, 25, 37.5]],
    [0, 1, 3, true, [0, 0.5, 1]],
  ])('linspace(%d, %d, %d, endpoint=%s)', (start, stop, num, endpoint, want) => {
    expect(linspace(start, stop, num, endpoint)).toEqual(want);
  });

  it.each([
    [1000, 0, -250, [1000, 750, 500, 250]],
    [1000, 0, -62.5, Array.from({ length: 16 }, (_, i) => 1000 - 62.5 * i)],
    [0, 3, 1, [0, 1, 2]],
    [0, 0, 1, []],
  ])('arange(%d, %d, %d)', (start, stop, step, want) => expect(arange(start, stop, step)).toEqual(want));

  it('arange with a step that does not divide the range keeps NumPy length and fill', () => {
    const values = arange(1000, 0, -1000 / 3);
    expect(values).toHaveLength(3);
    expect(values[2]).toBe(1000 + 2 * (1000 - 1000 / 3 - 1000));
  });

  it('interp on the index grid: exact hits, interior, ends', () => {
    const fp = [1, 3, 7];
    expect([-1, 0, 0.25, 1, 1.5, 2, 5].map((x) => interpOnIndexGrid(x, fp))).toEqual([1, 1, 1.5, 3, 5, 7, 7]);
  });

  it('Karras sigmas run from max to min', () => {
    const s = karrasSigmas(0.03, 14.6, 5);
    expect(s[0]).toBeCloseTo(14.6, 12);
    expect(s[4]).toBeCloseTo(0.03, 12);
    // One step: the ramp is [0], so only σ_max (what diffusers gives for a 1-step Karras schedule).
    expect(karrasSigmas(0.03, 14.6, 1)).toHaveLength(1);
    expect(karrasSigmas(0.03, 14.6, 1)[0]).toBeCloseTo(14.6, 12);
  });

  it('finds the step index as diffusers does: first match, second when repeated, -1 when absent', () => {
    expect(findStepIndex([901, 801, 801, 701], 801)).toBe(2);
    expect(findStepIndex([901, 801, 701], 801)).toBe(1);
    expect(findStepIndex([901, 801, 701], 5)).toBe(-1);
  });
});

describe('torch float32 noise schedule', () => {
  it('reproduces the reference betas and alphas_cumprod bit for bit', () => {
    const schedule = readNoiseSchedule(new ConfigReader('Test', cases.sd15_scheduler_config), {
      beta_start: 0.0001,
      beta_end: 0.02,
      beta_schedule: 'linear',
    });
    expect(Array.from(schedule.betas)).toEqual(Array.from(loadArray('betas.npy').data));
    expect(Array.from(schedule.alphasCumprod)).toEqual(Array.from(loadArray('alphas_cumprod.npy').data));
  });

  it('torch.linspace: endpoints exact, one step gives the start', () => {
    const l = torchLinspaceF32(0.0001, 0.02, 1000);
    expect(l[0]).toBe(Math.fround(0.0001));
    expect(l[999]).toBe(Math.fround(0.02));
    expect(Array.from(torchLinspaceF32(0.5, 2, 1))).toEqual([0.5]);
  });

  it('cumprod accumulates in float64', () => {
    expect(Array.from(cumprodAlphas(new Float32Array([0.5, 0.5, 0.75])))).toEqual([0.5, 0.25, 0.0625]);
  });

  it('rejects trained_betas of the wrong length and unknown schedules by name', () => {
    const read = (config: Record<string, unknown>) =>
      readNoiseSchedule(new ConfigReader('Test', config), { beta_start: 0.0001, beta_end: 0.02, beta_schedule: 'linear' });
    expect(() => read({ trained_betas: [0.1, 0.2] })).toThrow(/trained_betas has 2 values but num_train_timesteps is 1000/);
    expect(() => read({ beta_schedule: 'cosine' })).toThrow(/"beta_schedule" must be one of/);
    expect(read({ num_train_timesteps: 2, trained_betas: [0.5, 0.5] }).alphasCumprod).toEqual(new Float32Array([0.5, 0.25]));
  });

  it('rescale_betas_zero_snr drives the last ᾱ to zero and keeps the first', () => {
    const read = (zero: boolean) =>
      readNoiseSchedule(new ConfigReader('Test', { ...cases.sd15_scheduler_config, rescale_betas_zero_snr: zero }), {
        beta_start: 0.0001,
        beta_end: 0.02,
        beta_schedule: 'linear',
        zeroSnrKey: true,
      }).alphasCumprod;
    const plain = read(false);
    const rescaled = read(true);
    expect(rescaled[999]).toBe(0);
    expect(rescaled[0]).toBeCloseTo(plain[0], 6);
  });
});

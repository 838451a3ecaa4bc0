// The scheduler contract beyond the golden data: registry, config errors, state, noise draws and
// the prediction types diffusers supports (no reference recording exists for v/sample prediction).
import { describe, expect, it } from 'vitest';
import { QueuedNoise, type NoiseSource } from '../../src/rng/noise.js';
import { SCHEDULERS, createScheduler, findScheduler } from '../../src/schedulers/registry.js';
import { dummyModel } from '../../src/schedulers/conformance.js';
import { DPMSolverMultistepScheduler } from '../../src/schedulers/dpm-multistep.js';
import type { Scheduler, SchedulerConfig } from '../../src/schedulers/types.js';
import { cases } from './golden.js';

const SD15 = cases.sd15_scheduler_config;
const SIZE = 16;
const ramp = (scale: number, offset = 0): Float32Array => Float32Array.from({ length: SIZE }, (_, i) => Math.sin(i * scale + offset));

/** Counts draws; returns fixed pseudo-noise. */
class CountingNoise implements NoiseSource {
  draws = 0;
  randn(shape: readonly number[]): Float32Array {
    this.draws++;
    return Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => Math.cos(i + this.draws));
  }
}

function loop(scheduler: Scheduler, n: number, noise?: NoiseSource): Float32Array {
  scheduler.setTimesteps(n);
  let x: Float32Array = ramp(0.7).map((v) => v * scheduler.initNoiseSigma);
  for (const t of scheduler.timesteps) {
    const out = scheduler.step(dummyModel(scheduler.scaleModelInput(x, t), t), t, x, noise);
    x = out.prevSample;
  }
  return x;
}

describe('scheduler registry', () => {
  it('knows the names users type, with aliases', () => {
    expect(SCHEDULERS.map((s) => s.name)).toEqual(['ddim', 'pndm', 'euler', 'euler_karras', 'euler_ancestral', 'dpmpp_2m', 'dpmpp_2m_karras', 'lcm']);
    expect(findScheduler('euler_a')?.name).toBe('euler_ancestral');
    expect(findScheduler(' Euler_A ')?.name).toBe('euler_ancestral');
    expect(findScheduler('plms')?.name).toBe('pndm');
  });

  it.each(SCHEDULERS.map((s) => [s.name, s] as const))('%s builds its diffusers class with its options winning', (name, info) => {
    const scheduler = createScheduler(name, { ...SD15, use_karras_sigmas: !info.options.use_karras_sigmas, _class_name: 'Whatever', unknown_key: 3 });
    expect(scheduler.className).toBe(info.className);
    for (const [key, value] of Object.entries(info.options)) expect(scheduler.config[key]).toEqual(value);
    expect(scheduler.config).not.toHaveProperty('unknown_key');
  });

  it('rejects an unknown name, listing the known ones', () => {
    expect(() => createScheduler('heun')).toThrow(/unknown scheduler "heun"; known: ddim, pndm, plms, euler/);
  });

  it.each([
    ['ddim', 'leading'],
    ['pndm', 'leading'],
    ['euler', 'linspace'],
    ['euler_ancestral', 'linspace'],
    ['dpmpp_2m', 'linspace'],
    ['lcm', 'leading'],
  ])('%s defaults timestep_spacing to %s like its diffusers class', (name, spacing) => {
    expect(SD15).not.toHaveProperty('timestep_spacing');
    expect(createScheduler(name, SD15).config.timestep_spacing).toBe(spacing);
  });
});

describe('config errors name the key', () => {
  it.each([
    ['ddim', { prediction_type: 'x0' }, /DDIMScheduler: config "prediction_type" must be one of "epsilon", "v_prediction", "sample"/],
    ['euler', { timestep_spacing: 'uniform' }, /"timestep_spacing" must be one of/],
    ['euler', { num_train_timesteps: 0 }, /"num_train_timesteps" must be a positive integer/],
    ['ddim', { clip_sample: 'no' }, /"clip_sample" must be true or false/],
    ['euler_ancestral', { prediction_type: 'sample' }, /EulerAncestralDiscreteScheduler: config "prediction_type"/],
    ['dpmpp_2m', { thresholding: true }, /"thresholding" = true is not supported/],
    ['pndm', { skip_prk_steps: false }, /only the PLMS form is supported; set "skip_prk_steps": true/],
    ['euler', { interpolation_type: 'log_linear' }, /"interpolation_type" = "log_linear" is not supported/],
  ] as [string, SchedulerConfig, RegExp][])('%s %o', (name, override, message) => {
    expect(() => createScheduler(name, { ...SD15, ...override })).toThrow(message);
  });

  it.each(SCHEDULERS.map((s) => [s.name] as const))('%s rejects bad step counts and stepping before setTimesteps', (name) => {
    const scheduler = createScheduler(name, SD15);
    expect(() => scheduler.setTimesteps(0)).toThrow(/positive integer/);
    expect(() => scheduler.setTimesteps(2.5)).toThrow(/positive integer/);
    expect(() => scheduler.setTimesteps(1001)).toThrow(/exceed/);
    expect(() => scheduler.step(ramp(1), 999, ramp(2), new CountingNoise())).toThrow(/setTimesteps/);
  });

  it('DPM-Solver refuses third order', () => {
    expect(() => new DPMSolverMultistepScheduler({ ...SD15, solver_order: 3 })).toThrow(/solver_order 3 is not supported \(1 or 2\)/);
  });

  it('LCM refuses more steps than original_inference_steps', () => {
    expect(() => createScheduler('lcm', SD15).setTimesteps(51)).toThrow(/exceed original_inference_steps \(50\)/);
  });

  it('rejects mismatched tensor sizes', () => {
    const scheduler = createScheduler('ddim', SD15);
    scheduler.setTimesteps(4);
    expect(() => scheduler.step(new Float32Array(3), scheduler.timesteps[0], new Float32Array(4))).toThrow(/different sizes \(3 vs 4\)/);
  });
});

describe('clip_sample', () => {
  it.each(['ddim', 'lcm'])('%s clamps x0 to clip_sample_range', (name) => {
    const scheduler = createScheduler(name, { ...SD15, clip_sample: true, clip_sample_range: 0.5, prediction_type: 'sample' });
    scheduler.setTimesteps(4);
    const x0 = ramp(0.9).map((v) => 3 * v);
    const out = scheduler.step(x0, scheduler.timesteps[0], ramp(0.2), new CountingNoise());
    const clamped = Array.from(x0, (v) => Math.min(Math.max(v, -0.5), 0.5));
    // LCM's denoised = c_out·x0 + c_skip·x with c_out ≈ 1, c_skip ≈ 3e-9 at t = 999.
    clamped.forEach((v, i) => expect(out.predOriginalSample?.[i]).toBeCloseTo(v, 5));
  });
});

describe('state and noise', () => {
  it.each(SCHEDULERS.map((s) => [s.name] as const))('%s gives the same loop twice (state resets on setTimesteps)', (name) => {
    const scheduler = createScheduler(name, SD15);
    const first = loop(scheduler, 6, new CountingNoise());
    expect(Array.from(loop(scheduler, 6, new CountingNoise()))).toEqual(Array.from(first));
  });

  it.each([
    ['ddim', 0],
    ['pndm', 0],
    ['dpmpp_2m', 0],
    ['euler', 6],
    ['euler_ancestral', 6],
    ['lcm', 5],
  ])('%s draws %d noise tensors in a 6-step loop', (name, draws) => {
    const noise = new CountingNoise();
    loop(createScheduler(name, SD15), 6, noise);
    expect(noise.draws).toBe(draws);
  });

  it.each(['euler_ancestral', 'lcm'])('%s needs a NoiseSource', (name) => {
    expect(() => loop(createScheduler(name, SD15), 4)).toThrow(/draws random noise: pass a NoiseSource/);
  });

  it('asks the noise source for the caller-given shape', () => {
    const scheduler = createScheduler('euler_ancestral', SD15);
    scheduler.setTimesteps(2);
    const t = scheduler.timesteps[0];
    const queue = new QueuedNoise([new Float32Array(SIZE)]);
    expect(() => scheduler.step(ramp(1), t, ramp(2), queue, [1, 4, 2, 3])).toThrow(/noise tensor 0 has 16 values, 24 requested/);
  });
});

/** Signal and noise coefficients of the first step's sample: x = a·x0 + s·ε (a UNet sees x/√(σ²+1) for Euler). */
function coefficients(scheduler: Scheduler): { a: number; s: number; vScale: number } {
  const sigmas = scheduler.sigmas;
  if (scheduler.className.startsWith('Euler') && sigmas) return { a: 1, s: sigmas[0], vScale: 1 / Math.sqrt(sigmas[0] ** 2 + 1) };
  if (sigmas) {
    const alpha = 1 / Math.sqrt(sigmas[0] ** 2 + 1);
    return { a: alpha, s: sigmas[0] * alpha, vScale: 1 };
  }
  const abar = scheduler.alphasCumprod[scheduler.timesteps[0]];
  return { a: Math.sqrt(abar), s: Math.sqrt(1 - abar), vScale: 1 };
}

describe('prediction types agree on consistent model outputs', () => {
  const support: Record<string, string[]> = {
    ddim: ['v_prediction', 'sample'],
    pndm: ['v_prediction'],
    euler: ['v_prediction', 'sample'],
    euler_karras: ['v_prediction', 'sample'],
    euler_ancestral: ['v_prediction'],
    dpmpp_2m: ['v_prediction', 'sample'],
    dpmpp_2m_karras: ['v_prediction', 'sample'],
    lcm: ['v_prediction', 'sample'],
  };
  const rows = Object.entries(support).flatMap(([name, types]) => types.map((type) => [name, type] as const));

  it.each(rows)('%s with %s', (name, type) => {
    const x0 = ramp(0.3);
    const eps = ramp(1.1, 0.4);
    const run = (predictionType: string, output: (c: ReturnType<typeof coefficients>) => Float32Array) => {
      const scheduler = createScheduler(name, { ...SD15, prediction_type: predictionType, timestep_spacing: 'trailing' });
      scheduler.setTimesteps(4);
      const c = coefficients(scheduler);
      const x = x0.map((v, i) => c.a * v + c.s * eps[i]);
      return scheduler.step(output(c), scheduler.timesteps[0], x, new CountingNoise());
    };
    const reference = run('epsilon', () => eps);
    const other =
      type === 'sample'
        ? run('sample', () => x0)
        : // v = A·ε − S·x0 with (A, S) the coefficients of the UNet's (scaled) input.
          run('v_prediction', (c) => x0.map((v, i) => c.vScale * (c.a * eps[i] - c.s * v)));
    for (let i = 0; i < SIZE; i++) {
      expect(other.prevSample[i]).toBeCloseTo(reference.prevSample[i], 4);
      if (reference.predOriginalSample) expect(other.predOriginalSample?.[i]).toBeCloseTo(x0[i], 4);
    }
  });
});

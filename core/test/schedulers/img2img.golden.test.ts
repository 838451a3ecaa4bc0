// img2img partial schedules (StableDiffusionImg2ImgPipeline.get_timesteps), edge cases and add_noise.
import { describe, expect, it } from 'vitest';
import { img2imgTimesteps } from '../../src/schedulers/img2img.js';
import { referenceScheduler } from '../../src/schedulers/conformance.js';
import { LOOP_ATOL, LOOP_RTOL, TABLE_RTOL, cases, closeness, loadArray } from './golden.js';

const x0 = loadArray('x0.npy').data;
const noise = loadArray('add_noise_noise.npy').data;

describe('img2img schedules (diffusers 0.24.0)', () => {
  it.each(cases.img2img.tables.map((c) => [`${c.variant}/${c.spacing} n=${c.num_inference_steps} s=${c.strength}`, c] as const))(
    '%s',
    (_name, c) => {
      const partial = img2imgTimesteps(referenceScheduler(cases, c.variant, c.spacing), c.num_inference_steps, c.strength);
      expect([partial.initTimestep, partial.tStart, partial.effectiveSteps]).toEqual([c.init_timestep, c.t_start, c.effective_steps]);
      expect(closeness(partial.timesteps, c.timesteps, 0, TABLE_RTOL).excess).toBeLessThanOrEqual(0);
      expect(closeness([partial.latentTimestep], [c.latent_timestep], 0, TABLE_RTOL).excess).toBeLessThanOrEqual(0);
    },
  );

  it.each(cases.img2img.edge_cases.map((c) => [`${c.variant} n=${c.num_inference_steps} s=${c.strength}`, c] as const))(
    'edge case %s',
    (_name, c) => {
      const scheduler = referenceScheduler(cases, c.variant, c.spacing);
      if (c.pipeline_raises) {
        expect(() => img2imgTimesteps(scheduler, c.num_inference_steps, c.strength)).toThrow(/leaves 0 denoising steps/);
        return;
      }
      const partial = img2imgTimesteps(scheduler, c.num_inference_steps, c.strength);
      expect([partial.initTimestep, partial.effectiveSteps]).toEqual([c.init_timestep, c.effective_steps]);
      expect(partial.timesteps).toEqual(c.timesteps);
    },
  );

  it.each(cases.img2img.add_noise.map((c) => [c.id, c] as const))('add_noise %s', (_id, c) => {
    const scheduler = referenceScheduler(cases, c.variant, c.spacing);
    const { latentTimestep } = img2imgTimesteps(scheduler, c.num_inference_steps, c.strength);
    expect(closeness([latentTimestep], [c.latent_timestep], 0, TABLE_RTOL).excess).toBeLessThanOrEqual(0);
    const { excess, maxAbs } = closeness(scheduler.addNoise(x0, noise, latentTimestep), loadArray(c.file).data, LOOP_ATOL, LOOP_RTOL);
    expect(excess, `max |diff| ${maxAbs}`).toBeLessThanOrEqual(0);
  });

  it('rejects a strength outside [0, 1]', () => {
    expect(() => img2imgTimesteps(referenceScheduler(cases, 'ddim', 'leading'), 10, 1.5)).toThrow(/strength must be in \[0, 1\]/);
  });
});

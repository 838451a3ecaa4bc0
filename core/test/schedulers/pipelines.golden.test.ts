// The schedulers inside the reference pipelines (tests/golden/pipelines): start latents, UNet input
// scaling, the random draws in noise_queue order, and every step fed the recorded noise prediction and
// previous latents (so each step is checked on its own, not through the UNet's error).
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parsePythonJson } from '../../src/io/json.js';
import { parseNpy } from '../../src/io/npy.js';
import { QueuedNoise } from '../../src/rng/noise.js';
import { img2imgTimesteps } from '../../src/schedulers/img2img.js';
import { createScheduler } from '../../src/schedulers/registry.js';
import { LOOP_ATOL, LOOP_RTOL, closeness, unstack } from './golden.js';

const DIR = fileURLToPath(new URL('../../../tests/golden/pipelines/', import.meta.url));

interface PipelineCase {
  parameters: { num_inference_steps: number; strength: number | null };
  models: { unet_in_channels: number };
  scheduler: { variant: string; effective_config: Record<string, unknown>; init_noise_sigma: number };
  timesteps_run: number[];
  noise_queue: { count: number };
  files: Record<string, string>;
}

const caseIds = readdirSync(DIR, { withFileTypes: true })
  .filter((e) => e.isDirectory())
  .map((e) => e.name)
  .sort();

function load(id: string, file: string): { data: Float32Array; shape: number[] } {
  const npy = parseNpy(new Uint8Array(readFileSync(`${DIR}${id}/${file}`)));
  return { data: npy.data as Float32Array, shape: npy.shape };
}

function expectClose(actual: Float32Array, expected: Float32Array, what: string): void {
  const { excess, maxAbs } = closeness(actual, expected, LOOP_ATOL, LOOP_RTOL);
  expect(excess, `${what}: max |diff| ${maxAbs}`).toBeLessThanOrEqual(0);
}

describe('schedulers in the reference pipelines', () => {
  it('finds the pipeline cases', () => expect(caseIds.length).toBeGreaterThanOrEqual(25));

  it.each(caseIds)('%s', (id) => {
    const c = parsePythonJson<PipelineCase>(readFileSync(`${DIR}${id}/case.json`, 'utf8'));
    const scheduler = createScheduler(c.scheduler.variant, c.scheduler.effective_config);
    const n = c.parameters.num_inference_steps;
    const strength = c.parameters.strength;
    const timesteps = strength === null ? (scheduler.setTimesteps(n), scheduler.timesteps) : img2imgTimesteps(scheduler, n, strength).timesteps;
    expect(timesteps).toEqual(c.timesteps_run);
    expect(scheduler.initNoiseSigma).toBeCloseTo(c.scheduler.init_noise_sigma, 5);

    const initial = load(id, c.files.initial_latents);
    const shape = initial.shape;
    const queue = new QueuedNoise(c.noise_queue.count > 0 ? unstack(load(id, c.files.noise_queue)) : []);
    const imageLatents = c.files.image_latents ? load(id, c.files.image_latents).data : null;
    let startNoise: Float32Array | null = null;
    if (c.files.latents_T) {
      const sigma = scheduler.initNoiseSigma;
      expectClose(load(id, c.files.latents_T).data.map((v) => v * sigma), initial.data, 'initial latents');
    } else {
      startNoise = queue.randn(shape);
      const start = strength === 1 ? startNoise.map((v) => v * scheduler.initNoiseSigma) : scheduler.addNoise(imageLatents!, startNoise, timesteps[0]);
      expectClose(start, initial.data, 'initial latents');
    }

    const unetInput = unstack(load(id, c.files.steps_unet_input));
    const noisePred = unstack(load(id, c.files.steps_noise_pred));
    const stepsLatents = unstack(load(id, c.files.steps_latents));
    const blendMask = c.models.unet_in_channels === 4 && c.files.mask_latent ? load(id, c.files.mask_latent).data : null;
    const latentSize = initial.data.length;
    timesteps.forEach((t, i) => {
      const latents = i === 0 ? initial.data : stepsLatents[i - 1];
      // First batch element, first 4 channels: the scaled latents (9-channel inputs append mask + masked image).
      expectClose(scheduler.scaleModelInput(latents, t), unetInput[i].subarray(0, latentSize), `unet input ${i}`);
      let next = scheduler.step(noisePred[i], t, latents, queue, shape).prevSample;
      if (blendMask && imageLatents && startNoise) {
        const init = i < timesteps.length - 1 ? scheduler.addNoise(imageLatents, startNoise, timesteps[i + 1]) : imageLatents;
        // mask_latent [1,1,h,w] broadcasts over the 4 latent channels.
        next = next.map((v, j) => {
          const m = blendMask[j % blendMask.length];
          return (1 - m) * init[j] + m * v;
        });
      }
      expectClose(next, stepsLatents[i], `latents after step ${i}`);
    });
    expect(queue.remaining).toBe(0);
  });
});

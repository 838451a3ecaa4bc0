// A GenerateRequest's `sampling` (A1111 or ComfyUI) as the scheduler and noise source the pipeline runs.
import type { GenerateRequest } from '../request/schema.js';
import { A1111Noise } from '../rng/a1111.js';
import { ComfyNoise } from '../rng/comfyui.js';
import type { NoiseSource } from '../rng/noise.js';
import { KDiffusionScheduler } from './scheduler.js';

type Sampling = NonNullable<GenerateRequest['sampling']>;

export function samplingScheduler(sampling: Sampling): KDiffusionScheduler {
  return new KDiffusionScheduler(sampling);
}

/**
 * The tool's noise for a batch: ComfyUI draws the whole batch from `seed`; A1111 gives image i the seed
 * seed + i, except with a variation strength, where every image keeps `seed` and takes variation seed + i.
 */
export function samplingNoise(sampling: Sampling, seed: number, batchSize: number): NoiseSource {
  if (seed < 0) throw new Error('seed -1 must be resolved to a concrete seed before generating');
  if (sampling.tool === 'comfyui') return new ComfyNoise(seed);
  const varied = sampling.variationStrength !== 0 && sampling.variationSeed !== undefined;
  const index = Array.from({ length: batchSize }, (_, i) => i);
  return new A1111Noise({
    source: sampling.rng,
    seeds: index.map((i) => (varied ? seed : seed + i)),
    ...(varied ? { subseeds: index.map((i) => sampling.variationSeed! + i), subseedStrength: sampling.variationStrength } : {}),
    etaNoiseSeedDelta: sampling.etaNoiseSeedDelta,
  });
}

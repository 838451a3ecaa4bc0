// ComfyUI's noise (comfy/sample.py prepare_noise, comfy/k_diffusion/sampling.py default_noise_sampler):
// the initial noise is ONE torch CPU randn of the whole batch from manual_seed(seed), and the ancestral
// samplers' step noise comes from a second generator seeded with the same seed, so the first step noise
// repeats the initial noise.
import type { TorchSeed } from './mt19937.js';
import type { NoiseSource } from './noise.js';
import { TorchGenerator } from './torch.js';

/**
 * prepare_noise: without `batchIndex`, one draw of `shape`; with it (a latent's "batch_index"), single
 * images [1, ...] drawn in order up to the largest index and picked by index (duplicates allowed).
 */
export function comfyPrepareNoise(seed: TorchSeed, shape: readonly number[], batchIndex?: readonly number[]): Float32Array {
  const generator = new TorchGenerator(seed);
  if (!batchIndex) return generator.randn(shape);
  const [, ...image] = shape;
  const per = image.reduce((a, b) => a * b, 1);
  const drawn: Float32Array[] = [];
  const last = Math.max(...batchIndex);
  for (let i = 0; i <= last; i++) drawn.push(generator.randn([1, ...image]));
  const out = new Float32Array(batchIndex.length * per);
  batchIndex.forEach((index, j) => out.set(drawn[index], j * per));
  return out;
}

/** The extra draw of ComfyUI's `ddim` sampler (KSAMPLER with random inpaint noise): manual_seed(seed + 1), used only with a mask. */
export function comfyInpaintNoise(seed: TorchSeed, shape: readonly number[]): Float32Array {
  return new TorchGenerator(BigInt(seed) + 1n).randn(shape);
}

/** prepare_noise for the first randn, default_noise_sampler(x, seed) for every later one. */
export class ComfyNoise implements NoiseSource {
  private first = true;
  private readonly steps: TorchGenerator;

  constructor(private readonly seed: TorchSeed) {
    this.steps = new TorchGenerator(seed);
  }

  randn(shape: readonly number[]): Float32Array {
    if (!this.first) return this.steps.randn(shape);
    this.first = false;
    return comfyPrepareNoise(this.seed, shape);
  }
}

// AUTOMATIC1111's noise (modules/rng.py ImageRNG, v1.10): one generator per image, seeded seed_i
// ("NV" = rng_philox, "CPU" = torch's CPU generator); the first draw may be a variation (slerp towards
// the subseed's noise); every later draw (what k-diffusion's torch.randn_like returns in A1111) continues
// each image's own generator, or, with an eta noise seed delta, generators reseeded with seed_i + delta.
import { fmaf } from './avx-mathfun.js';
import type { TorchSeed } from './mt19937.js';
import type { NoiseSource } from './noise.js';
import { PhiloxGenerator } from './philox.js';
import { acosf, sinf } from './sleef.js';
import { TorchGenerator } from './torch.js';
import { torchSum, torchSumOverRows } from './torch-sum.js';

export const A1111_RNG_SOURCES = ['NV', 'CPU'] as const;
export type A1111RngSource = (typeof A1111_RNG_SOURCES)[number];

export interface A1111NoiseOptions {
  source: A1111RngSource;
  /** One per image (A1111's p.seeds). */
  seeds: readonly TorchSeed[];
  /** Variation seeds, one per image; used when subseedStrength ≠ 0. */
  subseeds?: readonly TorchSeed[];
  subseedStrength?: number;
  /** Settings › "Eta noise seed delta" (ENSD). */
  etaNoiseSeedDelta?: number;
}

function createGenerator(source: A1111RngSource, seed: TorchSeed): NoiseSource {
  return source === 'NV' ? new PhiloxGenerator(seed) : new TorchGenerator(seed);
}

const f = Math.fround;

/**
 * A1111's `slerp(val, low, high)` on one [C,h,w] image, bit for bit as torch 1.13 computes it on the CPU:
 * torch.norm over h (dim 1) is a sequential float sum of squares (fused multiply-adds, as the AVX2 build
 * contracts them), the dot product's `.sum(1)` and `dot.mean()` are torch's cascade sums (torch-sum.ts), and
 * acos/sin are SLEEF's (sleef.ts). It keeps A1111's branch for nearly parallel noise, which returns
 * low·val + high·(1 − val) (weights the other way round from the spherical branch).
 */
export function a1111Slerp(val: number, low: Float32Array, high: Float32Array, shape: readonly number[]): Float32Array {
  const [c, h, w] = shape;
  if (c * h * w !== low.length || low.length !== high.length) throw new Error(`slerp: tensors of ${low.length} and ${high.length} values for shape [${shape.join(', ')}]`);
  const normalized = (x: Float32Array): Float32Array => {
    const out = new Float32Array(x.length);
    for (let ci = 0; ci < c; ci++) {
      for (let wi = 0; wi < w; wi++) {
        let acc = 0;
        for (let hi = 0; hi < h; hi++) {
          const v = x[(ci * h + hi) * w + wi]!;
          acc = fmaf(v, v, acc);
        }
        const norm = f(Math.sqrt(acc));
        for (let hi = 0; hi < h; hi++) {
          const i = (ci * h + hi) * w + wi;
          out[i] = f(x[i]! / norm);
        }
      }
    }
    return out;
  };
  const lowNorm = normalized(low);
  const highNorm = normalized(high);
  const products = lowNorm.map((v, i) => f(v * highNorm[i]!));
  const dot = new Float32Array(c * w);
  for (let ci = 0; ci < c; ci++) dot.set(torchSumOverRows(products, ci * h * w, h, w), ci * w);
  const out = new Float32Array(low.length);
  const v = f(val);
  const rest = f(1 - val);
  if (f(torchSum(dot) / dot.length) > 0.9995) {
    for (let i = 0; i < out.length; i++) out[i] = f(f(low[i]! * v) + f(high[i]! * rest));
    return out;
  }
  for (let ci = 0; ci < c; ci++) {
    for (let wi = 0; wi < w; wi++) {
      const omega = acosf(dot[ci * w + wi]!);
      const so = sinf(omega);
      const a = f(sinf(f(rest * omega)) / so);
      const b = f(sinf(f(v * omega)) / so);
      for (let hi = 0; hi < h; hi++) {
        const i = (ci * h + hi) * w + wi;
        out[i] = f(f(a * low[i]!) + f(b * high[i]!));
      }
    }
  }
  return out;
}

/** ImageRNG as a NoiseSource: the first randn is `first()`, every later one `next()`; shapes are [B, C, h, w]. */
export class A1111Noise implements NoiseSource {
  private generators: NoiseSource[];
  private first = true;

  constructor(private readonly options: A1111NoiseOptions) {
    if (options.seeds.length === 0) throw new Error('A1111 noise needs at least one seed');
    this.generators = options.seeds.map((s) => createGenerator(options.source, s));
  }

  randn(shape: readonly number[]): Float32Array {
    const [batch, ...image] = shape;
    if (batch !== this.generators.length) throw new Error(`A1111 noise for a batch of ${batch} asked of ${this.generators.length} per-image generators`);
    const per = image.reduce((a, b) => a * b, 1);
    const out = new Float32Array(batch * per);
    if (!this.first) {
      this.generators.forEach((g, i) => out.set(g.randn(image), i * per));
      return out;
    }
    this.first = false;
    const { source, seeds, subseeds, subseedStrength = 0, etaNoiseSeedDelta = 0 } = this.options;
    this.generators.forEach((g, i) => {
      let noise = g.randn(image);
      if (subseeds && subseedStrength !== 0) {
        // modules.rng.randn(subseed): the global generator reseeded, i.e. a fresh one.
        const subnoise = createGenerator(source, subseeds[i] ?? 0).randn(image);
        noise = a1111Slerp(subseedStrength, noise, subnoise, image);
      }
      out.set(noise, i * per);
    });
    if (etaNoiseSeedDelta) this.generators = seeds.map((s) => createGenerator(source, BigInt(s) + BigInt(etaNoiseSeedDelta)));
    return out;
  }
}

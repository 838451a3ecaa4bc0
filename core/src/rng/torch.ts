// Gaussian noise bit-identical to PyTorch's CPU generator (checked against torch 1.13.1 on x86-64):
// `torch.randn(shape, generator=torch.Generator().manual_seed(seed))`, the call ComfyUI and
// AUTOMATIC1111 ("CPU" RNG source) use for initial noise, so a published seed re-creates its image.
//
// torch takes one of two paths per call, and both are reproduced here:
// - fewer than 16 values: double-precision Box-Muller per value, each pair yielding cos now and
//   caching sin for the next request (the cache survives between calls, as torch's generator does);
// - 16 or more: all values first drawn as float32 uniforms, then transformed 16 at a time (values j
//   and j+8 pair up) with the AVX2 float32 log/sincos; a size that is not a multiple of 16 redraws
//   the last 16 uniforms and transforms them again, overwriting the overlap.
import { logf, sincosf } from './avx-mathfun.js';
import { Mt19937, type TorchSeed } from './mt19937.js';
import type { NoiseSource } from './noise.js';

export type { TorchSeed } from './mt19937.js';

const f = Math.fround;
const TWO_POW_M24 = 2 ** -24;
const TWO_POW_M53 = 2 ** -53;
const TWO_PI_F32 = f(2 * Math.PI);

export class TorchGenerator implements NoiseSource {
  private engine: Mt19937;
  private cachedNormal: number | null = null;

  constructor(seed: TorchSeed) {
    this.engine = new Mt19937(seed);
  }

  /** Restarts the stream, as `generator.manual_seed(seed)` does (the cached normal is dropped too). */
  manualSeed(seed: TorchSeed): this {
    this.engine = new Mt19937(seed);
    this.cachedNormal = null;
    return this;
  }

  /** `torch.randn(shape, generator=this)` as float32, C order. */
  randn(shape: readonly number[]): Float32Array {
    const out = new Float32Array(numel(shape));
    if (out.length >= 16) this.fillVectorised(out);
    else for (let i = 0; i < out.length; i++) out[i] = this.nextDoubleNormal();
    return out;
  }

  private uniformFloat(): number {
    return (this.engine.nextUint32() & 0xffffff) * TWO_POW_M24;
  }

  private uniformDouble(): number {
    // random64() = first draw in the high word; 53 bits kept, so 21 from the first and all 32 from the second.
    const hi = this.engine.nextUint32() & 0x1fffff;
    const lo = this.engine.nextUint32();
    return (hi * 0x100000000 + lo) * TWO_POW_M53;
  }

  private nextDoubleNormal(): number {
    if (this.cachedNormal !== null) {
      const cached = this.cachedNormal;
      this.cachedNormal = null;
      return cached;
    }
    const u1 = this.uniformDouble();
    const u2 = this.uniformDouble();
    const r = Math.sqrt(-2 * Math.log(1 - u2));
    const theta = 2 * Math.PI * u1;
    this.cachedNormal = r * Math.sin(theta);
    return r * Math.cos(theta);
  }

  private fillVectorised(data: Float32Array): void {
    const size = data.length;
    for (let i = 0; i < size; i++) data[i] = this.uniformFloat();
    for (let i = 0; i + 16 <= size; i += 16) boxMuller16(data, i);
    if (size % 16 !== 0) {
      const start = size - 16;
      for (let i = 0; i < 16; i++) data[start + i] = this.uniformFloat();
      boxMuller16(data, start);
    }
  }
}

const sincos: [number, number] = [0, 0];

function boxMuller16(data: Float32Array, at: number): void {
  for (let j = 0; j < 8; j++) {
    const u1 = f(1 - data[at + j]!);
    const u2 = data[at + j + 8]!;
    const radius = f(Math.sqrt(f(-2 * logf(u1))));
    sincosf(f(TWO_PI_F32 * u2), sincos);
    data[at + j] = f(radius * sincos[1]);
    data[at + j + 8] = f(radius * sincos[0]);
  }
}

function numel(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new RangeError(`randn shape [${shape.join(', ')}] must hold non-negative integers`);
    n *= d;
  }
  return n;
}

/** `torch.manual_seed(seed); torch.randn(shape)`: one call for the whole batch, as ComfyUI does. */
export function torchRandn(seed: TorchSeed, shape: readonly number[]): Float32Array {
  return new TorchGenerator(seed).randn(shape);
}

/**
 * Initial noise for a batch. 'one-call': one randn of the full shape from `seed` (ComfyUI).
 * 'seed-per-image': image i drawn alone from `seed + i` (AUTOMATIC1111 with its CPU RNG source).
 */
export function torchBatchNoise(seed: TorchSeed, shape: readonly number[], mode: 'one-call' | 'seed-per-image'): Float32Array {
  if (mode === 'one-call') return torchRandn(seed, shape);
  const [batch, ...image] = shape;
  if (batch === undefined) throw new RangeError('seed-per-image noise needs a shape with a batch dimension');
  const out = new Float32Array(numel(shape));
  const per = numel(image);
  for (let i = 0; i < batch; i++) out.set(torchRandn(BigInt(seed) + BigInt(i), image), i * per);
  return out;
}

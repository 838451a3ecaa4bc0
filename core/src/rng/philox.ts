// AUTOMATIC1111's "NV" noise source (modules/rng_philox.py): its CPU emulation of CUDA's torch.randn.
// Philox-4x32 with 10 rounds over counter [offset, 0, j, 0] and the seed as a 64-bit key, then Box-Muller
// on words 0 and 1 in float64 (constants rounded to float32 first, as NumPy holds them), result float32.
// Element j of a call depends only on (seed, offset, j); the offset counts this generator's calls.
import type { NoiseSource } from './noise.js';
import type { TorchSeed } from './mt19937.js';

const M0 = 0xd2511f53;
const M1 = 0xcd9e8d57;
const W0 = 0x9e3779b9;
const W1 = 0xbb67ae85;
const TWO_POW32_INV = Math.fround(2.3283064e-10);
const TWO_POW32_INV_2PI = Math.fround(2.3283064e-10 * 6.2831855);

/** High 32 bits of the 64-bit product of two uint32 (doubles hold 48-bit partial products exactly). */
function mulHi(a: number, b: number): number {
  const lo = (a & 0xffff) * b;
  const hi = (a >>> 16) * b;
  return (Math.floor(hi / 0x10000) + Math.floor(((hi % 0x10000) * 0x10000 + lo) / 0x100000000)) >>> 0;
}

/** Words 0 and 1 of Philox-4x32-10 for counter [c0, 0, c2, 0] and key [k0, k1]. */
function philoxWords(c0: number, c2: number, k0: number, k1: number, out: [number, number]): void {
  let x0 = c0;
  let x1 = 0;
  let x2 = c2;
  let x3 = 0;
  for (let round = 0; round < 10; round++) {
    if (round > 0) {
      k0 = (k0 + W0) >>> 0;
      k1 = (k1 + W1) >>> 0;
    }
    const hi0 = mulHi(x0, M0);
    const lo0 = Math.imul(x0, M0) >>> 0;
    const hi2 = mulHi(x2, M1);
    const lo2 = Math.imul(x2, M1) >>> 0;
    x0 = (hi2 ^ x1 ^ k0) >>> 0;
    x1 = lo2;
    x2 = (hi0 ^ x3 ^ k1) >>> 0;
    x3 = lo0;
  }
  out[0] = x0;
  out[1] = x1;
}

function seedWords(seed: TorchSeed): [number, number] {
  const s = BigInt(seed);
  if (s < 0n || s >= 1n << 64n) throw new RangeError(`seed ${seed} is outside [0, 2^64)`);
  return [Number(s & 0xffffffffn), Number(s >> 32n)];
}

export class PhiloxGenerator implements NoiseSource {
  private offset = 0;
  private readonly key: [number, number];

  constructor(seed: TorchSeed) {
    this.key = seedWords(seed);
  }

  /** rng_philox.Generator.randn(shape): float32, C order; the next call gets the next offset. */
  randn(shape: readonly number[]): Float32Array {
    const n = shape.reduce((a, b) => a * b, 1);
    if (n > 0x100000000) throw new RangeError('rng_philox draws at most 2^32 values per call');
    const out = new Float32Array(n);
    const words: [number, number] = [0, 0];
    const offset = this.offset++ >>> 0;
    for (let j = 0; j < n; j++) {
      philoxWords(offset, j, this.key[0], this.key[1], words);
      const u = words[0] * TWO_POW32_INV + TWO_POW32_INV / 2;
      const v = words[1] * TWO_POW32_INV_2PI + TWO_POW32_INV_2PI / 2;
      out[j] = Math.sqrt(-2 * Math.log(u)) * Math.sin(v);
    }
    return out;
  }
}

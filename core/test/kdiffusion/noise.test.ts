import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseNpy } from '../../src/io/npy.js';
import { A1111Noise, a1111Slerp } from '../../src/rng/a1111.js';
import { ComfyNoise, comfyInpaintNoise, comfyPrepareNoise } from '../../src/rng/comfyui.js';
import { PhiloxGenerator } from '../../src/rng/philox.js';
import { TorchGenerator, torchRandn } from '../../src/rng/torch.js';

const GOLDEN = join(import.meta.dirname, '../../../tests/golden/kdiffusion/noise');
const golden = JSON.parse(readFileSync(join(GOLDEN, 'cases.json'), 'utf8')) as {
  rng_philox_docstring_check: { computed: number[][] };
  cases: { name: string; file: string; shape: number[] }[];
};

function draws(file: string): Float32Array[] {
  const npy = parseNpy(new Uint8Array(readFileSync(join(GOLDEN, file))));
  const per = npy.data.length / npy.shape[0];
  return Array.from({ length: npy.shape[0] }, (_, k) => (npy.data as Float32Array).slice(k * per, (k + 1) * per));
}

function sameBits(a: Float32Array, b: Float32Array): boolean {
  return a.length === b.length && Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)) === 0;
}

describe('A1111 "NV" source (rng_philox)', () => {
  it("reproduces rng_philox's docstring draw (what it computes, not CUDA's values)", () => {
    expect(Array.from(new PhiloxGenerator(0).randn([3, 4]))).toEqual(golden.rng_philox_docstring_check.computed.flat());
  });

  it.each([
    [0, 'a1111_nv_s0_1x4x8x8.npy'],
    [4294967295, 'a1111_nv_s4294967295_1x4x8x8.npy'],
    [123456789012, 'a1111_nv_s123456789012_1x4x8x8.npy'],
  ])('seed %d: four sequential draws are bit-identical (64-bit key, offset per call)', (seed, file) => {
    const g = new PhiloxGenerator(seed);
    for (const expected of draws(file)) expect(sameBits(g.randn([1, 4, 8, 8]), expected)).toBe(true);
  });

  it('element j of a call depends only on (seed, offset, j): a longer draw starts with the shorter one', () => {
    expect(Array.from(new PhiloxGenerator(5).randn([100])).slice(0, 10)).toEqual(Array.from(new PhiloxGenerator(5).randn([10])));
  });
});

describe('A1111 ImageRNG', () => {
  it.each(['nv', 'cpu'] as const)('%s batch of 2: image i is seed + i, continued by its own generator (2^32 - 1 → 2^32)', (source) => {
    const rng = new A1111Noise({ source: source === 'nv' ? 'NV' : 'CPU', seeds: [4294967295, 4294967296] });
    for (const expected of draws(`a1111_${source}_s4294967295_2x4x8x12.npy`)) expect(sameBits(rng.randn([2, 4, 8, 12]), expected)).toBe(true);
  });

  it('CPU image noise is torch CPU randn of [C,h,w] per image', () => {
    const rng = new A1111Noise({ source: 'CPU', seeds: [42] });
    expect(sameBits(rng.randn([1, 4, 8, 8]), torchRandn(42, [4, 8, 8]))).toBe(true);
  });

  it.each(['nv', 'cpu'] as const)('%s eta noise seed delta: draws after the first come from seed + ENSD', (source) => {
    const rng = new A1111Noise({ source: source === 'nv' ? 'NV' : 'CPU', seeds: [42], etaNoiseSeedDelta: 31337 });
    for (const expected of draws(`a1111_${source}_ensd31337_s42_1x4x8x8.npy`)) expect(sameBits(rng.randn([1, 4, 8, 8]), expected)).toBe(true);
  });

  it('variation strength 1 is the subseed noise; step noise stays on the seed generator', () => {
    const rng = new A1111Noise({ source: 'NV', seeds: [42], subseeds: [7], subseedStrength: 1 });
    const first = rng.randn([1, 4, 8, 8]);
    const sub = new PhiloxGenerator(7).randn([4, 8, 8]);
    for (let i = 0; i < first.length; i++) expect(first[i]).toBeCloseTo(sub[i], 5);
    const seeded = new PhiloxGenerator(42);
    seeded.randn([4, 8, 8]);
    expect(sameBits(rng.randn([1, 4, 8, 8]), seeded.randn([4, 8, 8]))).toBe(true);
  });

  const variations = golden.cases.filter((c) => c.name.includes('_var_')) as unknown as {
    name: string;
    file: string;
    shape: number[];
    randn_source: 'NV' | 'CPU';
    image_seeds: number[];
    image_subseeds: number[];
    subseed_strength: number;
  }[];

  it.each(variations.map((c) => [c.name, c] as const))('%s: variation seed (slerp) and later draws are bit-identical', (_name, c) => {
    const [, ...shape] = c.shape;
    const rng = new A1111Noise({ source: c.randn_source, seeds: c.image_seeds, subseeds: c.image_subseeds, subseedStrength: c.subseed_strength });
    for (const expected of draws(c.file)) expect(sameBits(rng.randn(shape), expected)).toBe(true);
  });

  it('covers the spherical branch at three strengths, the parallel branch and batches', () => {
    expect(variations).toHaveLength(10);
    expect(new Set(variations.map((c) => c.subseed_strength))).toEqual(new Set([0.05, 0.3, 0.5, 1]));
    expect(variations.some((c) => c.image_seeds.length === 2 && c.shape.at(-1) === 12)).toBe(true);
  });

  it("slerp of a tensor with itself takes A1111's parallel branch, low·val + high·(1 − val)", () => {
    const low = torchRandn(1, [4, 8, 8]);
    const high = Float32Array.from(low, (v) => 2 * v);
    const out = a1111Slerp(0.25, low, high, [4, 8, 8]);
    expect(out[3]).toBe(Math.fround(Math.fround(low[3] * 0.25) + Math.fround(high[3] * 0.75)));
  });
});

describe('ComfyUI noise', () => {
  it.each([0, 42, 123456789012])('seed %d: one draw for the whole batch, then the ancestral noise sampler restarts the same seed', (seed) => {
    const noise = new ComfyNoise(seed);
    const expected = draws(`comfy_s${seed}_2x4x8x12.npy`);
    for (const e of expected) expect(sameBits(noise.randn([2, 4, 8, 12]), e)).toBe(true);
    expect(sameBits(expected[0], expected[1])).toBe(true);
  });

  it('batch 1 equals A1111 CPU noise; a batch is not per-image seeds', () => {
    expect(sameBits(comfyPrepareNoise(0, [1, 4, 8, 8]), new A1111Noise({ source: 'CPU', seeds: [0] }).randn([1, 4, 8, 8]))).toBe(true);
    const batch = comfyPrepareNoise(0, [2, 4, 8, 8]);
    expect(sameBits(batch.slice(256), torchRandn(1, [4, 8, 8]))).toBe(false);
  });

  it('batch_index draws single images in order and picks them', () => {
    const [expected] = [parseNpy(new Uint8Array(readFileSync(join(GOLDEN, 'comfy_batchindex_s42_3_1.npy')))).data as Float32Array];
    expect(sameBits(comfyPrepareNoise(42, [2, 4, 8, 8], [3, 1]), expected)).toBe(true);
    const g = new TorchGenerator(42);
    const singles = [0, 1, 2, 3].map(() => g.randn([1, 4, 8, 8]));
    expect(sameBits(expected.slice(0, 256), singles[3])).toBe(true);
  });

  it("ddim's inpaint noise is manual_seed(seed + 1)", () => {
    const expected = parseNpy(new Uint8Array(readFileSync(join(GOLDEN, 'comfy_ddim_inpaint_noise_s42_1x4x8x8.npy')))).data as Float32Array;
    expect(sameBits(comfyInpaintNoise(42, [1, 4, 8, 8]), expected)).toBe(true);
  });
});

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseNpy } from '../../src/io/npy.js';
import { fmaf, logf, sincosf } from '../../src/rng/avx-mathfun.js';
import { Mt19937 } from '../../src/rng/mt19937.js';
import { TorchGenerator, torchBatchNoise, torchRandn } from '../../src/rng/torch.js';

const GOLDEN = join(import.meta.dirname, '../../../tests/golden/rng');

interface RngCase {
  name: string;
  seed: number;
  shape: number[];
  file: string;
}

const cases = (JSON.parse(readFileSync(join(GOLDEN, 'cases.json'), 'utf8')) as { cases: RngCase[] }).cases;

function differentBits(a: Float32Array, b: Float32Array): number {
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  let mismatches = 0;
  for (let i = 0; i < ua.length; i++) if (ua[i] !== ub[i]) mismatches++;
  return mismatches;
}

describe('torch.randn golden cases (bit-identical float32)', () => {
  it('covers both torch code paths', () => {
    expect(cases.some((c) => c.shape.reduce((a, b) => a * b, 1) < 16)).toBe(true);
    expect(cases.some((c) => c.shape.reduce((a, b) => a * b, 1) % 16 !== 0 && c.shape.reduce((a, b) => a * b, 1) > 16)).toBe(true);
  });
  it.each(cases)('$name', (c) => {
    const expected = parseNpy(new Uint8Array(readFileSync(join(GOLDEN, c.file)))).data as Float32Array;
    const actual = torchRandn(c.seed, c.shape);
    expect(actual.length).toBe(expected.length);
    expect(differentBits(actual, expected)).toBe(0);
  });
});

describe('TorchGenerator state', () => {
  it('keeps the cached Box-Muller partner between small calls, as torch does', () => {
    const pair = new TorchGenerator(7).randn([2]);
    const g = new TorchGenerator(7);
    const first = g.randn([1]);
    const second = g.randn([1]);
    expect([first[0], second[0]]).toEqual([pair[0], pair[1]]);
  });
  it('continues one stream across calls and restarts on manualSeed', () => {
    const g = new TorchGenerator(3);
    const a = g.randn([4, 8]);
    const b = g.randn([4, 8]);
    expect(differentBits(a, b)).toBeGreaterThan(0);
    g.manualSeed(3);
    expect(differentBits(g.randn([4, 8]), a)).toBe(0);
  });
  it('uses only the low 32 bits of a 64-bit seed', () => {
    expect(differentBits(torchRandn(2n ** 32n + 5n, [20]), torchRandn(5, [20]))).toBe(0);
    expect(differentBits(torchRandn(2n ** 64n - 1n, [20]), torchRandn(4294967295, [20]))).toBe(0);
  });
  it.each([
    [-1, /non-negative/],
    [1.5, /non-negative safe integer/],
    [2n ** 64n, /outside/],
  ])('rejects seed %s', (seed, message) => {
    expect(() => new TorchGenerator(seed)).toThrow(message);
  });
  it('rejects a bad shape', () => {
    expect(() => torchRandn(0, [2, -1])).toThrow(/non-negative integers/);
    expect(() => torchRandn(0, [2.5])).toThrow(/non-negative integers/);
  });
  it('returns empty noise for an empty shape dimension', () => {
    expect(torchRandn(0, [0, 4]).length).toBe(0);
  });
});

describe('batch noise', () => {
  const shape = [3, 4, 8, 8];
  it('one-call = a single randn of the whole batch (ComfyUI)', () => {
    expect(differentBits(torchBatchNoise(11, shape, 'one-call'), torchRandn(11, shape))).toBe(0);
  });
  it('seed-per-image = seed + i for image i, each drawn alone (AUTOMATIC1111)', () => {
    const batch = torchBatchNoise(11, shape, 'seed-per-image');
    const per = 4 * 8 * 8;
    for (let i = 0; i < 3; i++) expect(differentBits(batch.subarray(i * per, (i + 1) * per), torchRandn(11 + i, [4, 8, 8]))).toBe(0);
  });
});

describe('Mt19937', () => {
  it('matches the C++ standard check value (10000th output for seed 5489)', () => {
    const mt = new Mt19937(5489);
    let v = 0;
    for (let i = 0; i < 10000; i++) v = mt.nextUint32();
    expect(v).toBe(4123659995);
  });
});

describe('float32 kernels', () => {
  it('fmaf rounds once where a*b+c in doubles would round twice', () => {
    const a = 8 + 2 ** -20;
    const b = 8 - 2 ** -20;
    const c = 2 ** 30 + 128;
    expect(Math.fround(a * b + c)).toBe(2 ** 30 + 256);
    expect(fmaf(a, b, c)).toBe(2 ** 30 + 128);
  });
  it.each([1e-7, 0.001, 0.5, 0.70710677, 0.75, 1])('logf(%s) is within 2 float ulps of log', (x) => {
    const xf = Math.fround(x);
    expect(Math.abs(logf(xf) - Math.log(xf))).toBeLessThanOrEqual(2 * 2 ** -23 * Math.max(1, Math.abs(Math.log(xf))));
  });
  it('logf is NaN outside its domain', () => {
    expect(logf(0)).toBeNaN();
    expect(logf(-1)).toBeNaN();
  });
  it.each([0, 0.1, 1, 2, 3.14159, 4, 5.5, 6.2831855])('sincosf(%s) is within 2e-7 of sin/cos', (x) => {
    const [s, c] = sincosf(Math.fround(x));
    expect(Math.abs(s - Math.sin(Math.fround(x)))).toBeLessThan(2e-7);
    expect(Math.abs(c - Math.cos(Math.fround(x)))).toBeLessThan(2e-7);
  });
});

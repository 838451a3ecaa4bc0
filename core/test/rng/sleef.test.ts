// SLEEF's float32 acos, sin, log, exp and expm1 (the u10 variants torch's Vectorized<float> calls): 1-ulp
// functions, so every value lies within one float32 ulp of the correctly rounded result; the exact bits are
// checked against the tools' recorded runs (core/test/kdiffusion/replay.test.ts: DPM++ 2M and DPM2 replay bit
// for bit only with these) and A1111's variation-seed noise (bridge/test/verify/kdiffusion-golden.test.ts).
import { describe, expect, it } from 'vitest';
import { acosf, expf, expm1f, logf, sinf, SINF_MAX_ARGUMENT } from '../../src/rng/sleef.js';

const f = Math.fround;
const bits = new Uint32Array(new Float32Array(1).buffer);
const view = new Float32Array(bits.buffer);
function ulpsApart(a: number, b: number): number {
  view[0] = a;
  const x = bits[0];
  view[0] = b;
  return Math.abs(x - bits[0]);
}

const grid = (from: number, to: number, n: number): number[] => Array.from({ length: n }, (_, i) => f(from + ((to - from) * i) / (n - 1)));

describe('sinf', () => {
  it.each([
    ['[0, π] (the angles slerp takes)', grid(0, Math.PI, 20001)],
    ['[−125, 125] (the whole short-reduction range)', grid(-124.99, 124.99, 20001)],
  ])('is within one ulp of the correctly rounded sine on %s', (_range, xs) => {
    for (const x of xs) expect(ulpsApart(sinf(x), f(Math.sin(x))), `sin(${x})`).toBeLessThanOrEqual(1);
  });

  it('is odd, keeps −0 and is exact at 0', () => {
    for (const x of grid(0.001, 3, 301)) expect(sinf(-x)).toBe(-sinf(x));
    expect(Object.is(sinf(-0), -0)).toBe(true);
    expect(sinf(0)).toBe(0);
  });

  it('refuses arguments beyond the short reduction range instead of guessing', () => {
    expect(() => sinf(SINF_MAX_ARGUMENT)).toThrow(/outside SLEEF's short reduction range/);
    expect(() => sinf(Number.NaN)).toThrow(RangeError);
  });
});

describe('acosf', () => {
  it('is within one ulp of the correctly rounded arccosine on [−1, 1] (both branches: |x| < 0.5 and the sqrt one)', () => {
    for (const x of grid(-1, 1, 40001)) expect(ulpsApart(acosf(x), f(Math.acos(x))), `acos(${x})`).toBeLessThanOrEqual(1);
  });

  it('gives 0, π/2 and π at 1, 0 and −1', () => {
    expect(acosf(1)).toBe(0);
    expect(acosf(0)).toBe(f(Math.PI / 2));
    expect(acosf(-1)).toBe(f(Math.PI));
  });
});

describe('logf, expf, expm1f (the k-diffusion σ arithmetic)', () => {
  it('log is within one ulp over the sigma range and exact at 1', () => {
    for (const x of grid(0.001, 20, 40001)) expect(ulpsApart(logf(x), f(Math.log(x))), `log(${x})`).toBeLessThanOrEqual(1);
    expect(logf(1)).toBe(0);
    expect(logf(0)).toBe(Number.NEGATIVE_INFINITY);
    expect(logf(-1)).toBeNaN();
  });

  it('exp is within one ulp and saturates where SLEEF does', () => {
    for (const x of grid(-20, 20, 40001)) expect(ulpsApart(expf(x), f(Math.exp(x))), `exp(${x})`).toBeLessThanOrEqual(1);
    expect(expf(0)).toBe(1);
    expect(expf(-105)).toBe(0);
    expect(expf(101)).toBe(Number.POSITIVE_INFINITY);
  });

  it('expm1 is within one ulp (tiny arguments included) and keeps −0', () => {
    for (const x of [...grid(-16, 10, 40001), ...grid(-1e-3, 1e-3, 2001)]) expect(ulpsApart(expm1f(x), f(Math.expm1(x))), `expm1(${x})`).toBeLessThanOrEqual(1);
    expect(Object.is(expm1f(-0), -0)).toBe(true);
    expect(expm1f(-17)).toBe(-1);
  });
});

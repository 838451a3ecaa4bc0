// Comparison helpers shared by verify kinds and golden tests.
import type { NpyData } from '@kirie/core/io/npy';

type Numeric = ArrayLike<number> | NpyData;

export function maxAbsDiff(actual: Numeric, expected: Numeric): number {
  if (actual.length !== expected.length) throw new Error(`length mismatch: got ${actual.length}, expected ${expected.length}`);
  let max = 0;
  for (let i = 0; i < actual.length; i++) {
    const d = Math.abs(Number(actual[i]) - Number(expected[i]));
    if (Number.isNaN(d)) return Number.POSITIVE_INFINITY;
    if (d > max) max = d;
  }
  return max;
}

/** Worst excess over `atol + rtol·|expected|` (≤ 0 means within tolerance), with the plain max abs diff. */
export function allClose(actual: Numeric, expected: Numeric, atol: number, rtol = 0): { maxAbsDiff: number; pass: boolean } {
  if (actual.length !== expected.length) throw new Error(`length mismatch: got ${actual.length}, expected ${expected.length}`);
  let max = 0;
  let pass = true;
  for (let i = 0; i < actual.length; i++) {
    const e = Number(expected[i]);
    const d = Math.abs(Number(actual[i]) - e);
    if (!(d <= atol + rtol * Math.abs(e))) pass = false;
    if (Number.isNaN(d)) max = Number.POSITIVE_INFINITY;
    else if (d > max) max = d;
  }
  return { maxAbsDiff: max, pass };
}

// torch's CPU float32 sum order (SumKernel.cpp cascade_sum), checked on sums whose rounding tells the orders
// apart: 1 + 2^-24 rounds back to 1 (ties to even), 2^-24 + 2^-24 = 2^-23 does not vanish when added to 1.
// The golden check is A1111's variation-seed noise (core/test/kdiffusion/noise.test.ts), bit for bit only
// with this order.
import { describe, expect, it } from 'vitest';
import { torchSum, torchSumOverRows } from '../../src/rng/torch-sum.js';

const TINY = 2 ** -24;
const sequential = (xs: readonly number[]) => xs.reduce((a, b) => Math.fround(a + b), 0);

/** A [rows, cols] block, zero but for `column`, which holds `values` down its rows. */
function block(rows: number, cols: number, column: number, values: readonly number[]): Float32Array {
  const x = new Float32Array(rows * cols);
  values.forEach((v, r) => (x[r * cols + column] = v));
  return x;
}

describe('torchSumOverRows (dim 1 of [C, h, w])', () => {
  const eightRows = [1, TINY, 0, 0, 0, TINY, 0, 0];

  it('reads the rows as a (-1, 4) array (row_sum): rows 1 and 5 meet before they meet 1', () => {
    expect(sequential(eightRows)).toBe(1);
    expect(torchSumOverRows(block(8, 8, 3, eightRows), 0, 8, 8)[3]).toBe(1 + 2 ** -23);
    expect(torchSumOverRows(block(8, 12, 10, eightRows), 0, 8, 12)[10]).toBe(1 + 2 ** -23);
  });

  it('sums the first 32 columns straight down (multi_row_sum), later ones through row_sum', () => {
    expect(torchSumOverRows(block(8, 40, 3, eightRows), 0, 8, 40)[3]).toBe(1);
    expect(torchSumOverRows(block(8, 40, 35, eightRows), 0, 8, 40)[35]).toBe(1 + 2 ** -23);
  });

  it('cascades chunks of 16 rows: the small terms after the first chunk add up before they meet 1', () => {
    const rows = [1, ...new Array<number>(63).fill(TINY)];
    expect(sequential(rows)).toBe(1);
    expect(torchSumOverRows(block(64, 32, 0, rows), 0, 64, 32)[0]).toBe(1 + 3 * 2 ** -20);
  });

  it('reads the block at its offset and returns one sum per column', () => {
    const x = new Float32Array(2 * 3 * 8).map((_, i) => i);
    const second = torchSumOverRows(x, 24, 3, 8);
    expect(Array.from(second)).toEqual([24 + 32 + 40, 25 + 33 + 41, 26 + 34 + 42, 27 + 35 + 43, 28 + 36 + 44, 29 + 37 + 45, 30 + 38 + 46, 31 + 39 + 47]);
  });
});

describe('torchSum (a whole contiguous tensor)', () => {
  it('sums 8 lanes first, then the lanes in order', () => {
    const x = new Array<number>(16).fill(0);
    x[0] = 1;
    x[1] = TINY;
    x[9] = TINY;
    expect(sequential(x)).toBe(1);
    expect(torchSum(x)).toBe(1 + 2 ** -23);
  });

  it('adds the tail beyond the last full vector before the lanes', () => {
    const x = new Array<number>(19).fill(0);
    x[0] = 1;
    x[16] = TINY;
    x[17] = TINY;
    expect(torchSum(x)).toBe(1 + 2 ** -23);
    expect(torchSum([1, 2, 3])).toBe(6);
  });
});

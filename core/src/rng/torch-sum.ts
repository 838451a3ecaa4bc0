// torch.sum on CPU float32 tensors (aten/src/ATen/native/cpu/SumKernel.cpp, cascade_sum; torch 1.13 as the
// golden references ran it), reproduced operation for operation: the order of the additions decides the last
// bits, and A1111's variation-seed slerp feeds those bits through acos. Two layouts are needed: a sum over
// the rows of a [rows, cols] block (dim 1 of a [C, h, w] image: "outer" reduction, the columns contiguous)
// and the sum of a whole contiguous tensor ("inner" reduction).
const f = Math.fround;

/** AVX2 lanes of Vectorized<float>. */
const LANES = 8;
const LEVELS = 4;
const ILP = 4;

/**
 * multi_row_sum for one lane: running sums over chunks of 2^levelPower terms, the chunk sums carried up
 * through 4 levels, so only terms of similar magnitude are added together.
 */
function cascadeSum(terms: readonly number[]): number {
  const n = terms.length;
  const ceilLog2 = n <= 2 ? 1 : Math.ceil(Math.log2(n));
  const power = Math.max(4, Math.floor(ceilLog2 / LEVELS));
  const step = 2 ** power;
  const acc = new Array<number>(LEVELS).fill(0);
  let i = 0;
  while (i + step <= n) {
    for (let j = 0; j < step; j++, i++) acc[0] = f(acc[0]! + terms[i]!);
    for (let j = 1; j < LEVELS; j++) {
      acc[j] = f(acc[j]! + acc[j - 1]!);
      acc[j - 1] = 0;
      if (i % 2 ** ((j + 1) * power) !== 0) break;
    }
  }
  for (; i < n; i++) acc[0] = f(acc[0]! + terms[i]!);
  let sum = acc[0]!;
  for (let j = 1; j < LEVELS; j++) sum = f(sum + acc[j]!);
  return sum;
}

/** row_sum: the terms read as a (−1, 4) array, four cascades over its columns, the leftover terms added to the first. */
function rowSum(terms: readonly number[]): number {
  const rows = Math.floor(terms.length / ILP);
  const partial = Array.from({ length: ILP }, (_, k) => cascadeSum(Array.from({ length: rows }, (_, r) => terms[r * ILP + k]!)));
  for (let i = rows * ILP; i < terms.length; i++) partial[0] = f(partial[0]! + terms[i]!);
  let sum = partial[0]!;
  for (let k = 1; k < ILP; k++) sum = f(sum + partial[k]!);
  return sum;
}

/**
 * Sum over the rows of the [rows, cols] block at `offset` of `x` (row-major), one value per column: torch's
 * vectorized_outer_sum (cols ≥ 8; groups of 32 columns cascade over the rows directly, later columns go
 * through row_sum) or scalar_outer_sum (fewer columns; groups of 4 cascade, the rest row_sum).
 */
export function torchSumOverRows(x: ArrayLike<number>, offset: number, rows: number, cols: number): Float32Array {
  const column = (c: number) => Array.from({ length: rows }, (_, r) => x[offset + r * cols + c]!);
  const cascaded = cols >= LANES ? cols - (cols % (ILP * LANES)) : cols - (cols % ILP);
  return Float32Array.from({ length: cols }, (_, c) => (c < cascaded ? cascadeSum(column(c)) : rowSum(column(c))));
}

/** Sum of a whole contiguous tensor: vectorized_inner_sum (8 lanes through row_sum, the tail, then the lanes in order). */
export function torchSum(x: ArrayLike<number>): number {
  if (x.length < LANES) return rowSum(Array.from(x));
  const vectors = Math.floor(x.length / LANES);
  let sum = 0;
  for (let i = vectors * LANES; i < x.length; i++) sum = f(sum + x[i]!);
  for (let lane = 0; lane < LANES; lane++) sum = f(sum + rowSum(Array.from({ length: vectors }, (_, v) => x[v * LANES + lane]!)));
  return sum;
}

/** `n` reproducible values in [−1, 1) from a linear congruential generator: graph inputs and weights for tests. */
export function seeded(n: number, seed: number): Float32Array {
  let s = seed;
  return Float32Array.from({ length: n }, () => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return s / 2 ** 30 - 1;
  });
}

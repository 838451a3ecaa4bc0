// Timings are noisy in one direction (a GC or a context switch only ever adds time): suites report the
// median of their runs, the upper one for an even count.
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error('median of no values');
  return [...values].sort((a, b) => a - b)[values.length >> 1]!;
}

// Access to tests/golden/schedulers for the scheduler tests.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parsePythonJson } from '../../src/io/json.js';
import { parseNpy } from '../../src/io/npy.js';
import type { SchedulerCases } from '../../src/schedulers/conformance.js';

export const SUITE_DIR = fileURLToPath(new URL('../../../tests/golden/schedulers/', import.meta.url));

export const cases = parsePythonJson<SchedulerCases>(readFileSync(SUITE_DIR + 'cases.json', 'utf8'));

export function loadArray(relative: string): { data: Float32Array; shape: number[] } {
  // A copy, not the Buffer: small files come from Node's shared pool, and parseNpy's Buffer.slice
  // there would be a view whose .buffer is the whole pool.
  const npy = parseNpy(new Uint8Array(readFileSync(SUITE_DIR + relative)));
  if (!(npy.data instanceof Float32Array)) throw new Error(`${relative}: expected float32, got ${npy.dtype}`);
  return { data: npy.data, shape: npy.shape };
}

/** Rows of a stacked [n, ...] array. */
export function unstack(array: { data: Float32Array; shape: number[] }): Float32Array[] {
  const rows = array.shape[0];
  const size = array.data.length / rows;
  return Array.from({ length: rows }, (_, i) => array.data.subarray(i * size, (i + 1) * size));
}

/** Largest excess over atol + rtol·|expected| (≤ 0: within tolerance) and the max abs difference. */
export function closeness(actual: ArrayLike<number>, expected: ArrayLike<number>, atol: number, rtol: number): { excess: number; maxAbs: number } {
  if (actual.length !== expected.length) throw new Error(`length ${actual.length} vs expected ${expected.length}`);
  let excess = -Infinity;
  let maxAbs = 0;
  for (let i = 0; i < actual.length; i++) {
    const d = Math.abs(actual[i] - expected[i]);
    excess = Math.max(excess, Number.isNaN(d) ? Infinity : d - (atol + rtol * Math.abs(expected[i])));
    maxAbs = Math.max(maxAbs, d);
  }
  return { excess, maxAbs };
}

/** README tolerances: float tables rel 1e-6; loops atol 1e-4 + rtol 1e-5. */
export const TABLE_RTOL = 1e-6;
export const LOOP_ATOL = 1e-4;
export const LOOP_RTOL = 1e-5;

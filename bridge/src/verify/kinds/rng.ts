// Verify kind for seeded-noise cases (tests/golden/rng/cases.json and any folder in its format): each
// case's torch.randn tensor must come out bit for bit, and hash to its recorded sha256 when one is given.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { parseNpy } from '@kirie/core/io/npy';
import { torchRandn } from '@kirie/core/rng/torch';
import { maxAbsDiff } from '../compare.js';
import type { CaseResult, VerifyKind } from '../types.js';

interface RngCase {
  name: string;
  seed: number;
  shape: number[];
  file: string;
  dtype?: string;
  sha256_f32le?: string;
}

function casesOf(json: Record<string, unknown>): RngCase[] | null {
  const cases = json.cases;
  if (!Array.isArray(cases) || cases.length === 0) return null;
  const first = cases[0] as Record<string, unknown>;
  return 'seed' in first && Array.isArray(first.shape) && typeof first.file === 'string' ? (cases as RngCase[]) : null;
}

function differentBits(a: Float32Array, b: Float32Array): number {
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  let n = 0;
  for (let i = 0; i < ua.length; i++) if (ua[i] !== ub[i]) n++;
  return n;
}

function runCase(dir: string, c: RngCase): CaseResult {
  const name = `${basename(dir)}/${c.name}`;
  const fail = (detail: string): CaseResult => ({ case: name, kind: 'rng', maxAbsDiff: Number.NaN, tolerance: 0, pass: false, detail });
  if (c.dtype !== undefined && c.dtype !== 'float32') return fail(`dtype ${c.dtype} is not supported (float32 only)`);
  // JSON numbers above 2^53 have already lost bits: such a seed cannot be reproduced from this file.
  if (!Number.isSafeInteger(c.seed) || c.seed < 0) return fail(`seed ${c.seed} is not an exactly representable non-negative integer`);
  // A plain copy: parseNpy's internal slice would otherwise view the whole Buffer from offset 0.
  const expected = parseNpy(new Uint8Array(readFileSync(join(dir, c.file))));
  if (expected.dtype !== 'f4') return fail(`${c.file} holds ${expected.dtype}, expected float32`);
  const actual = torchRandn(c.seed, c.shape);
  if (actual.length !== expected.data.length) return fail(`shape [${c.shape}] gives ${actual.length} values, ${c.file} holds ${expected.data.length}`);
  const bits = differentBits(actual, expected.data as Float32Array);
  const problems: string[] = [];
  if (bits > 0) problems.push(`${bits} of ${actual.length} values differ`);
  if (c.sha256_f32le) {
    const hash = createHash('sha256').update(new Uint8Array(actual.buffer, actual.byteOffset, actual.byteLength)).digest('hex');
    if (hash !== c.sha256_f32le) problems.push(`sha256 ${hash} ≠ recorded ${c.sha256_f32le}`);
  }
  return {
    case: name,
    kind: 'rng',
    maxAbsDiff: maxAbsDiff(actual, expected.data),
    tolerance: 0,
    pass: problems.length === 0,
    detail: problems.length > 0 ? problems.join('; ') : `seed ${c.seed}, shape [${c.shape}]: bit-identical`,
  };
}

export const rngKind: VerifyKind = {
  kind: 'rng',
  // Cases naming another tool's noise (A1111, ComfyUI) belong to the noise kind, which is tried first.
  matches: (file) => casesOf(file.json) !== null,
  async *run(file) {
    for (const c of casesOf(file.json)!) yield runCase(file.dir, c);
  },
};

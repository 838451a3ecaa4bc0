// DeepCache's full/shallow schedule, as tests/golden/deepcache/README.md states the helper's rule.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { deepCacheFullCalls, nonUniformFullSteps } from '../../src/pipeline/deepcache.js';

const full = (flags: boolean[]) => flags.flatMap((f, i) => (f ? [i] : []));
const DDIM_10 = [901, 801, 701, 601, 501, 401, 301, 201, 101, 1];

describe('deepCacheFullCalls', () => {
  it('with 10 steps: N = 2 → 0,2,4,6,8; N = 3 → 0,3,6,9; N = 1 → every call', () => {
    expect(full(deepCacheFullCalls(DDIM_10, { interval: 2, branch: 0 }))).toEqual([0, 2, 4, 6, 8]);
    expect(full(deepCacheFullCalls(DDIM_10, { interval: 3, branch: 0 }))).toEqual([0, 3, 6, 9]);
    expect(full(deepCacheFullCalls(DDIM_10, { interval: 1, branch: 0 }))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it("gives a repeated timestep (PNDM's) the earlier index: N = 2 → full calls 0, 4, 6, 8, 10", () => {
    const plms = [901, 801, 801, 701, 601, 501, 401, 301, 201, 101, 1];
    expect(full(deepCacheFullCalls(plms, { interval: 2, branch: 0 }))).toEqual([0, 4, 6, 8, 10]);
  });

  it("runs the experimental pipeline's non-uniform schedule over the loop index", () => {
    // txt2img_ddim_i3_nonuniform_c5: n 10, N 3, center 5, pow 1.4 → full steps 0, 3, 5, 7.
    expect(full(deepCacheFullCalls(DDIM_10, { interval: 3, branch: 1, nonUniform: { center: 5, pow: 1.4 } }))).toEqual([0, 3, 5, 7]);
    expect(() => deepCacheFullCalls(DDIM_10, { interval: 0, branch: 0 })).toThrow(/interval/);
  });
});

describe('nonUniformFullSteps', () => {
  // The reference function tabulated (tests/golden/deepcache/nonuniform_schedules.json). Its endpoints land
  // within an ulp of an integer, so libm rounding decides some truncations (README): one row of 224 differs
  // with V8's Math functions (n 50, N 2, center 3, pow 1.4: the reference settles at pow 1.18, this at 1.38).
  const table = JSON.parse(readFileSync(join(import.meta.dirname, '../../../tests/golden/deepcache/nonuniform_schedules.json'), 'utf8')) as {
    rows: { num_inference_steps: number; cache_interval: number; center: number; pow: number; full_steps?: number[]; error?: string }[];
  };
  const known = (r: (typeof table.rows)[number]) => r.num_inference_steps === 50 && r.cache_interval === 2 && r.center === 3 && r.pow === 1.4;

  it('reproduces every other row of the reference table: the steps, or the ValueError', () => {
    const rows = table.rows.filter((r) => !known(r));
    expect(rows.length).toBe(223);
    for (const r of rows) {
      const run = () => nonUniformFullSteps(r.num_inference_steps, r.cache_interval, r.center, r.pow);
      if (r.error) expect(run, JSON.stringify(r)).toThrow(/no power/);
      else expect(run(), JSON.stringify(r)).toEqual(r.full_steps);
    }
  });
});

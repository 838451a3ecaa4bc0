// DeepCache's full/shallow schedule, as tests/golden/deepcache/README.md states the helper's rule.
import { describe, expect, it } from 'vitest';
import { deepCacheFullCalls } from '../../src/pipeline/deepcache.js';

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

  it('takes explicit full steps (the non-uniform schedule) and refuses one without the first call', () => {
    expect(full(deepCacheFullCalls(DDIM_10, { interval: 3, branch: 1, fullSteps: [0, 3, 5, 7] }))).toEqual([0, 3, 5, 7]);
    expect(() => deepCacheFullCalls(DDIM_10, { interval: 3, branch: 1, fullSteps: [2, 5] })).toThrow(/first call full/);
    expect(() => deepCacheFullCalls(DDIM_10, { interval: 0, branch: 0 })).toThrow(/interval/);
  });
});

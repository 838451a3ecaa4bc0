// Every tests/golden/lora case through the verify kinds that `kirie verify` uses: per-module deltas, text
// encoder and UNet with LoRAs, textual inversion (lora-components) and the whole pipelines (pipelines).
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { verifyKinds } from '../../src/verify/kinds/index.js';
import { releasePipelineModels } from '../../src/verify/kinds/pipelines.js';
import { findCaseFiles } from '../../src/verify/run.js';
import type { CaseResult } from '../../src/verify/types.js';

const dir = join(import.meta.dirname, '../../../tests/golden/lora');

afterAll(releasePipelineModels);

describe('lora golden cases', () => {
  const files = [...findCaseFiles(dir)];

  it.each(files.map((f) => [f.path.slice(dir.length + 1), f] as const))('%s matches the reference within the README tolerances', async (_, file) => {
    const kind = verifyKinds.find((k) => k.matches(file));
    expect(kind).toBeDefined();
    expect(kind!.missingFeatures?.(file)).toBeUndefined();
    const results: CaseResult[] = [];
    for await (const r of kind!.run(file)) results.push(r);
    expect(results.filter((r) => !r.pass), JSON.stringify(results.filter((r) => !r.pass), null, 1)).toEqual([]);
    expect(results.length).toBeGreaterThanOrEqual(4);
  }, 300_000);

  it('covers the components case and every pipeline case', () => {
    expect(files.length).toBe(13);
  });
});

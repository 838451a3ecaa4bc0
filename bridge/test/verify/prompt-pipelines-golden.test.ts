// tests/golden/prompts/pipelines: diffusers runs on A1111's long-prompt conditioning (a 90-token prompt in two
// chunks, a 154-token context), with the negative padded by A1111's "Pad conds" or repeated (A1111's default of
// separate UNet calls), on the tiny text encoder with the README's LayerNorm override.
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findCaseFiles } from '../../src/verify/run.js';
import { checkPipelineCase, releasePipelineModels, pipelinesKind } from '../../src/verify/kinds/pipelines.js';
import type { CaseResult } from '../../src/verify/types.js';

const GOLDEN = join(import.meta.dirname, '../../../tests/golden/prompts/pipelines');

afterAll(releasePipelineModels);

describe('A1111 long-prompt pipelines', () => {
  it.each(['a1111_long_ddim_padconds', 'a1111_long_ddim_nopad', 'a1111_long_ddim_padconds_128', 'a1111_long_ddim_nopad_128'])('%s', async (id) => {
    const [file] = [...findCaseFiles(join(GOLDEN, id))];
    expect(pipelinesKind.matches(file!)).toBe(true);
    expect(pipelinesKind.missingFeatures!(file!)).toBeUndefined();
    const results: CaseResult[] = [];
    for await (const r of checkPipelineCase(file!)) results.push(r);
    expect(results.map((r) => r.case.split('/').pop())).toEqual(['final_latents', 'steps_latents', 'image', 'image_png']);
    for (const r of results) expect(r.pass, `${r.case}: ${r.detail} max |diff| ${r.maxAbsDiff} > ${r.tolerance}`).toBe(true);
  });
});

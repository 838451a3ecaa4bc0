// Tiled VAE decode/encode and a txt2img run with enable_vae_tiling() against diffusers 0.24
// (tests/golden/vae-tiling): the tiny VAE built as the bridge builds it, tiled by core/src/pipeline/vae-tiling.ts.
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeGrid, encodeGrid, SD15_VAE_TILING } from '@kirie/core/pipeline/vae-tiling';
import { findCaseFiles } from '../../src/verify/run.js';
import { checkPipelineCase, releasePipelineModels } from '../../src/verify/kinds/pipelines.js';
import { vaeTilingKind } from '../../src/verify/kinds/vae-tiling.js';
import type { CaseResult } from '../../src/verify/types.js';

const GOLDEN = join(import.meta.dirname, '../../../tests/golden/vae-tiling');

function caseFile(id: string) {
  const [file] = findCaseFiles(join(GOLDEN, id));
  if (!file) throw new Error(`no case ${id}`);
  return file;
}

async function results(run: AsyncIterable<CaseResult>): Promise<CaseResult[]> {
  const out: CaseResult[] = [];
  for await (const r of run) out.push(r);
  return out;
}

afterAll(releasePipelineModels);

describe('VAE tiling grid', () => {
  it("is the README's: SD1.5 decode stride 48 latents, blend 128 px, keep 384 px; encode stride 384 px, blend 16, keep 48 latents", () => {
    expect(decodeGrid(SD15_VAE_TILING)).toEqual({ tileIn: 64, stride: 48, blendExtent: 128, rowLimit: 384 });
    expect(encodeGrid(SD15_VAE_TILING)).toEqual({ tileIn: 512, stride: 384, blendExtent: 16, rowLimit: 48 });
    // decode_h96_w96_overlap030: int() rounding gives stride 5 latents (40 px) but keeps 45 px per tile.
    expect(decodeGrid({ sampleSize: 64, latentSize: 8, overlap: 0.3 })).toEqual({ tileIn: 8, stride: 5, blendExtent: 19, rowLimit: 45 });
  });
});

describe('tiled VAE against diffusers enable_tiling()', () => {
  it.each([
    ['decode_h160_w224', ['trigger', 'decoded_raw', 'image_png']], // 4×5 tiles, partial last row and column
    ['decode_h96_w96_overlap030', ['trigger', 'decoded_raw', 'image_png']], // output larger than 8× (106 px)
    ['decode_h64_w64_not_tiled', ['trigger', 'decoded_raw', 'image_png']], // within one tile: the plain path
    ['encode_h160_w224', ['trigger', 'moments', 'mean']],
    ['encode_h96_w160_overlap050', ['trigger', 'moments', 'mean']],
  ])('%s', async (id, parts) => {
    const found = await results(vaeTilingKind.run(caseFile(id)));
    expect(found.map((r) => r.case.split('/').pop())).toEqual(parts);
    for (const r of found) expect(r.pass, `${r.case}: ${r.detail} max |diff| ${r.maxAbsDiff} > ${r.tolerance}`).toBe(true);
  });

  it('txt2img_euler_h192_w256_tiled: the loop is untouched, the final decode tiled (4×6 tiles)', async () => {
    const found = await results(checkPipelineCase(caseFile('txt2img_euler_h192_w256_tiled')));
    expect(found.map((r) => r.case.split('/').pop())).toEqual(['final_latents', 'steps_latents', 'decoded_raw', 'image_png']);
    for (const r of found) expect(r.pass, `${r.case}: max |diff| ${r.maxAbsDiff} > ${r.tolerance}`).toBe(true);
  });
});

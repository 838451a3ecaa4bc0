// A prompt without any syntax (no brackets, weights, BREAK, under 75 tokens) is read alike in every syntax:
// the diffusers-exact SD1.5 and SDXL golden runs come out the same with promptSyntax 'a1111' and 'comfyui'
// (SDXL: each encoder chunked on its own, '!' padding after the first EOS, pooled from the second encoder's
// first chunk, zeroed empty negatives). So the panels' A1111 default costs nothing on such prompts.
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { caseRequest, compare, recordedNoise, releasePipelineModels, runCaseRequest } from '../../src/verify/kinds/pipelines.js';
import { readJson, readNpy } from '../../src/verify/files.js';
import { findCaseFiles } from '../../src/verify/run.js';

const GOLDEN = join(import.meta.dirname, '../../../tests/golden');

afterAll(releasePipelineModels);

describe('plain prompts in A1111 and ComfyUI syntax', () => {
  it.each([
    ['pipelines/txt2img_euler', 'a1111'],
    ['pipelines/txt2img_euler', 'comfyui'],
    ['sdxl/pipelines/txt2img_euler', 'a1111'],
    ['sdxl/pipelines/txt2img_euler_zero_negative', 'a1111'],
    ['sdxl/pipelines/txt2img_euler_prompt_2', 'comfyui'],
  ] as const)('%s as %s', async (id, syntax) => {
    const [file] = [...findCaseFiles(join(GOLDEN, id))];
    const c = file!.json as never as Parameters<typeof caseRequest>[0];
    const { request, imageFiles } = caseRequest(c);
    const run = (promptSyntax: 'plain' | typeof syntax) => runCaseRequest(file!, c.models, { ...request, promptSyntax }, imageFiles, () => ({ noise: recordedNoise(file!.dir, c) }));
    const [plain, styled] = [await run('plain'), await run(syntax)];
    const same = compare(id, 'final latents, syntax vs plain', styled.result.latents, plain.result.latents, 1e-5);
    expect(same.pass, `${same.detail}: max |diff| ${same.maxAbsDiff}`).toBe(true);
    const atol = readJson<{ cases: Record<string, { final_latents_atol: number }> }>(join(file!.dir, '..', 'tolerances.json')).cases[c.id]!.final_latents_atol;
    const golden = compare(id, 'final latents', styled.result.latents, readNpy(join(file!.dir, c.files.final_latents!)).data as Float32Array, atol);
    expect(golden.pass, `${golden.detail}: max |diff| ${golden.maxAbsDiff} > ${atol}`).toBe(true);
  }, 60_000);
});

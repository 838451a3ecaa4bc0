// Case files a kind recognises but that ask for features this version lacks (other tools'
// pipelines, parameters of features not built) are skipped with the reason, never run without the feature and failed, never passed;
// the cases this version does implement stay checkable.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { verifyKinds } from '../../src/verify/kinds/index.js';
import { findCaseFiles } from '../../src/verify/run.js';

const GOLDEN = join(import.meta.dirname, '../../../tests/golden');

function triage(folder: string): { name: string; kind: string; missing: string | undefined }[] {
  return [...findCaseFiles(join(GOLDEN, folder))].flatMap((file) => {
    const kind = verifyKinds.find((k) => k.matches(file));
    return kind ? [{ name: file.path.slice(GOLDEN.length + 1), kind: kind.kind, missing: kind.missingFeatures?.(file) }] : [];
  });
}

describe('verify kinds name the features a case needs', () => {
  it.each(['prompts', 'pipelines', 'rng', 'components', 'controlnet', 'schedulers', 'tokenizer', 'lora', 'vae-tiling', 'sdxl'])('%s: every case stays checkable', (folder) => {
    const cases = triage(folder);
    expect(cases.length).toBeGreaterThan(0);
    for (const c of cases) expect(c.missing, c.name).toBeUndefined();
  });

  it('kdiffusion: the tools\' noise, schedules and runs are all checkable', () => {
    const cases = triage('kdiffusion');
    expect(new Set(cases.map((c) => c.kind))).toEqual(new Set(['noise', 'sigmas', 'kdiffusion']));
    expect(cases.filter((c) => c.kind === 'kdiffusion')).toHaveLength(46);
    for (const c of cases) expect(c.missing, c.name).toBeUndefined();
  });

  it('a parameter of a feature this version lacks is named; LoRAs, embeddings, VAE tiling and text-encoder overrides are no longer such features', () => {
    const [file] = [...findCaseFiles(join(GOLDEN, 'pipelines/txt2img_euler'))];
    const pipelines = verifyKinds.find((k) => k.kind === 'pipelines')!;
    const json = structuredClone(file!.json) as { parameters: Record<string, unknown> };
    json.parameters.loras = [{ file: 'x.safetensors', unet_scale: 1, te_scale: 1 }];
    json.parameters.embeddings = [{ file: 'e.safetensors', token: '<e>' }];
    expect(pipelines.missingFeatures!({ ...file!, json })).toBeUndefined();
    json.parameters.vae_tiling = true;
    expect(pipelines.missingFeatures!({ ...file!, json })).toBeUndefined();
    json.parameters.guidance_rescale = 0.7;
    expect(pipelines.missingFeatures!({ ...file!, json })).toBe('parameter "guidance_rescale"');
    delete json.parameters.guidance_rescale;
    // tests/golden/prompts' text-encoder LayerNorm override is a model entry Kirie applies.
    (json as unknown as { models: Record<string, unknown> }).models.text_encoder_override = { file: 'prompts/text_encoder_final_layer_norm.safetensors' };
    expect(pipelines.missingFeatures!({ ...file!, json })).toBeUndefined();
  });
});

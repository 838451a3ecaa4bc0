// Bad build options fail before any weight is read, with a message naming the option.
import { describe, expect, it } from 'vitest';
import { SD15_ARCH } from '../../src/models/arch.js';
import { buildComponent } from '../../src/models/build.js';
import { GeneratedSource } from '../../src/models/generated-source.js';
import type { BuildOptions, Component } from '../../src/models/types.js';

const source = new GeneratedSource(new Map([['first_stage_model.decoder.conv_in.weight', [512, 4, 3, 3]]]));

describe('buildComponent options', () => {
  const cases: [string, Component, Record<string, unknown>, RegExp][] = [
    ['precision', 'unet', { precision: 'bf16' }, /precision must be 'fp32' or 'fp16', got bf16/],
    ['negative chunks', 'unet', { attentionChunks: -1 }, /attentionChunks must be an integer ≥ 0, got -1/],
    ['fractional chunks', 'controlnet', { attentionChunks: 1.5 }, /attentionChunks must be an integer ≥ 0, got 1.5/],
    ['clip skip 0', 'text_encoder', { clipSkip: 0 }, /clipSkip must be an integer from 1 to 12, got 0/],
    ['clip skip past the layers', 'text_encoder', { clipSkip: 13 }, /clipSkip must be an integer from 1 to 12, got 13/],
    ['component', 'vae' as Component, {}, /unknown component vae for SD 1.x; known: text_encoder, unet, vae_encoder, vae_decoder, controlnet/],
  ];
  it.each(cases)('%s', async (_, component, options, message) => {
    await expect(buildComponent(component, source, SD15_ARCH, { precision: 'fp32', ...options } as BuildOptions)).rejects.toThrow(message);
    expect(source.reads).toEqual([]);
  });

  it('names a missing tensor and the shape it expected', async () => {
    await expect(buildComponent('vae_decoder', source, SD15_ARCH, { precision: 'fp32' })).rejects.toThrow(
      'checkpoint has no tensor first_stage_model.post_quant_conv.weight (expected shape [4,4,1,1])',
    );
  });
});

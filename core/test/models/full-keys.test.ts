// The key mapping against real full-size checkpoints' key listings (tests/golden/tiny-sd15/sd15-full-keys.json):
// building every component must read each weight key exactly once with its listed shape, none left over.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SD15_ARCH } from '../../src/models/arch.js';
import { buildComponent } from '../../src/models/build.js';
import type { BuildOptions, Component } from '../../src/models/types.js';
import { CountingSink, GeneratedSource } from '../../src/models/generated-source.js';

type Listing = Record<string, [number[], string]>;
const listing = JSON.parse(readFileSync(join(import.meta.dirname, '../../../tests/golden/tiny-sd15/sd15-full-keys.json'), 'utf8')) as Record<
  string,
  Listing
>;

/** Keys a loader ignores: position_ids (an index buffer the graph computes). */
const isWeight = (key: string) => !key.endsWith('embeddings.position_ids');

function shapes(l: Listing): Map<string, number[]> {
  return new Map(Object.entries(l).map(([k, [shape]]) => [k, shape]));
}

async function readsOf(source: GeneratedSource, components: [Component, Partial<BuildOptions>][]): Promise<string[]> {
  for (const [component, opts] of components) {
    const sink = new CountingSink();
    const bytes = await buildComponent(component, source, SD15_ARCH, { precision: 'fp32', externalData: sink, ...opts });
    // Weights live in the sink: the proto itself is just the graph (a few hundred KB).
    expect(bytes.byteLength).toBeLessThan(4_000_000);
    expect(sink.size).toBeGreaterThan(1_000_000);
  }
  return source.reads;
}

function expectEachWeightOnce(reads: string[], l: Listing) {
  const expected = Object.keys(l).filter(isWeight).sort();
  expect([...reads].sort()).toEqual(expected);
}

describe('SD1.5 full-size key mapping', () => {
  it('counts match the listing', () => {
    const c = listing.counts as unknown as Record<string, number>;
    const sd = Object.keys(listing.sd15);
    expect(sd.filter((k) => k.startsWith('model.diffusion_model.')).length).toBe(c.sd15_unet);
    expect(sd.filter((k) => k.startsWith('first_stage_model.')).length).toBe(c.sd15_vae);
    expect(sd.filter((k) => k.startsWith('cond_stage_model.')).length).toBe(c.sd15_text);
  });

  it('SD1.5: text encoder, UNet, VAE encoder and decoder consume every weight once with its shape', async () => {
    const source = new GeneratedSource(shapes(listing.sd15));
    const reads = await readsOf(source, [['text_encoder', {}], ['unet', {}], ['vae_encoder', {}], ['vae_decoder', {}]]);
    expectEachWeightOnce(reads, listing.sd15);
  });

  it('SD1.5 inpainting (9-channel UNet, with ControlNet residual inputs) consumes every weight', async () => {
    const arch = { ...SD15_ARCH, unet: { ...SD15_ARCH.unet, inChannels: 9 } };
    const source = new GeneratedSource(shapes(listing.sd15_inpainting));
    for (const c of ['text_encoder', 'vae_encoder', 'vae_decoder'] as const) {
      await buildComponent(c, source, arch, { precision: 'fp32', externalData: new CountingSink() });
    }
    await buildComponent('unet', source, arch, { precision: 'fp32', externalData: new CountingSink(), controlResiduals: true });
    expectEachWeightOnce(source.reads, listing.sd15_inpainting);
  });

  it('ControlNet 1.1 consumes every control_model weight', async () => {
    const source = new GeneratedSource(shapes(listing.controlnet_v11_sd15));
    const reads = await readsOf(source, [['controlnet', {}]]);
    expectEachWeightOnce(reads, listing.controlnet_v11_sd15);
  });

  it('rejects a checkpoint whose shapes do not fit the architecture, naming the key', async () => {
    const source = new GeneratedSource(shapes(listing.sd15));
    const tiny = { ...SD15_ARCH, vae: { ...SD15_ARCH.vae, ch: 64 } };
    await expect(buildComponent('vae_decoder', source, tiny, { precision: 'fp32' })).rejects.toThrow(
      /first_stage_model\.post_quant_conv|first_stage_model\.decoder\.conv_in\.weight: shape \[512,4,3,3\] does not match/,
    );
  });

  it('rejects leftover tensors under a component prefix', async () => {
    const s = shapes(listing.controlnet_v11_sd15);
    s.set('control_model.output_blocks.0.0.in_layers.0.weight', [2560]);
    await expect(buildComponent('controlnet', new GeneratedSource(s), SD15_ARCH, { precision: 'fp32', externalData: new CountingSink() })).rejects.toThrow(
      /1 checkpoint tensor\(s\) not used .*control_model\.output_blocks\.0\.0\.in_layers\.0\.weight \[2560\]/,
    );
  });
});

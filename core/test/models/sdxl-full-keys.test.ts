// The SDXL key mapping against a real full-size checkpoint's key listing (tests/golden/tiny-sd15/sdxl-full-keys.json):
// the architecture read from the shapes alone must be SDXL base 1.0's, and building every component must read
// each weight key exactly once with its listed shape; the only keys left unread are the ones SDXL never uses.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildComponent } from '../../src/models/build.js';
import { identifyWeights } from '../../src/models/detect.js';
import { SDXL_FAMILY } from '../../src/models/family.js';
import { CountingSink, GeneratedSource } from '../../src/models/generated-source.js';
import { SDXL_ARCH, sdxlArchFromShapes } from '../../src/models/sdxl-arch.js';
import { resolveArchitecture } from '../../src/models/sidecar.js';
import type { Component } from '../../src/models/types.js';

type Listing = Record<string, [number[], string]>;
const listing = JSON.parse(readFileSync(join(import.meta.dirname, '../../../tests/golden/tiny-sd15/sdxl-full-keys.json'), 'utf8')) as Record<string, Listing>;

const TE1 = SDXL_FAMILY.prefixes.text_encoder!;
const TE2 = SDXL_FAMILY.prefixes.text_encoder_2!;
const COMPONENTS: Component[] = ['text_encoder', 'text_encoder_2', 'unet', 'vae_encoder', 'vae_decoder'];

/** What SDXL's conditioning never reads: CLIP-L's last layer and final norm (it takes hidden_states[-2]), index and temperature buffers. */
function unused(key: string): boolean {
  return key.startsWith(`${TE1}encoder.layers.11.`) || key.startsWith(`${TE1}final_layer_norm.`) || key === `${TE1}embeddings.position_ids` || key === `${TE2}logit_scale`;
}

function shapes(l: Listing): Map<string, number[]> {
  return new Map(Object.entries(l).map(([k, [shape]]) => [k, shape]));
}

/** Builds `components` from the listing's shapes; their prefixes' keys must each be read once (all of them for every component). */
async function expectEachWeightReadOnce(l: Listing, components: Component[] = COMPONENTS): Promise<void> {
  const s = shapes(l);
  const keys = [...s.keys()];
  const arch = sdxlArchFromShapes(keys, (k) => s.get(k));
  const source = new GeneratedSource(s);
  const prefixes = components.map((c) => SDXL_FAMILY.prefixes[c]!);
  for (const component of components) {
    const sink = new CountingSink();
    const bytes = await buildComponent(component, source, arch, { precision: 'fp32', externalData: sink, controlResiduals: component === 'unet' });
    expect(bytes.byteLength).toBeLessThan(8_000_000);
  }
  expect([...source.reads].sort()).toEqual(keys.filter((k) => prefixes.some((p) => k.startsWith(p)) && !unused(k)).sort());
  // Each read once: a second read of a key throws inside the builder, and the count matches.
  expect(new Set(source.reads).size).toBe(source.reads.length);
}

describe('SDXL full-size key mapping', () => {
  it('counts match the listing', () => {
    const c = listing.counts as unknown as Record<string, number>;
    const keys = Object.keys(listing.sdxl_base);
    expect(keys.filter((k) => k.startsWith('model.diffusion_model.')).length).toBe(c.unet);
    expect(keys.filter((k) => k.startsWith('first_stage_model.')).length).toBe(c.vae);
    expect(keys.filter((k) => k.startsWith(TE1)).length).toBe(c.text_encoder_1);
    expect(keys.filter((k) => k.startsWith(TE2)).length).toBe(c.text_encoder_2);
  });

  it('is identified as SDXL, and as SDXL inpainting with 9 input channels', () => {
    for (const [name, channels] of [['sdxl_base', 4], ['sdxl_inpainting_9ch', 9]] as const) {
      const s = shapes(listing[name]);
      expect(identifyWeights([...s.keys()], (k) => s.get(k))).toMatchObject({ family: 'sdxl', unetInChannels: channels });
    }
  });

  it("reads SDXL base 1.0's architecture from the shapes alone", () => {
    const s = shapes(listing.sdxl_base);
    expect(sdxlArchFromShapes([...s.keys()], (k) => s.get(k))).toEqual(SDXL_ARCH);
  });

  // 2.6e9 weights are made and transposed: minutes on a busy 2-core machine.
  it('SDXL base: both text encoders, UNet (with ControlNet residual inputs), VAE consume every weight once with its shape', async () => {
    await expectEachWeightReadOnce(listing.sdxl_base);
  }, 1_200_000);

  it('SDXL inpainting: the 9-channel UNet consumes every UNet weight once (its encoders and VAE are the base listing)', async () => {
    const base = Object.entries(listing.sdxl_base).filter(([k]) => !k.startsWith('model.diffusion_model.'));
    expect(Object.entries(listing.sdxl_inpainting_9ch).filter(([k]) => !k.startsWith('model.diffusion_model.'))).toEqual(base);
    await expectEachWeightReadOnce(listing.sdxl_inpainting_9ch, ['unet']);
  }, 1_200_000);

  it('without a sidecar, refuses widths that 64-wide heads do not divide (head counts are not in the weights), asking for the yaml', () => {
    const s = shapes(listing.sdxl_base);
    s.set(`${TE1}embeddings.token_embedding.weight`, [49408, 32]);
    const opts = { keys: [...s.keys()], shapeOf: (k: string) => s.get(k), label: 'odd.safetensors', sidecarName: 'odd.yaml', family: 'sdxl' as const };
    expect(() => resolveArchitecture(opts)).toThrow(/odd\.safetensors: widths 320, 640, 1280, 32, 1280 are not all multiples of SDXL's 64-wide attention heads.*put a odd\.yaml/);
    expect(resolveArchitecture({ ...opts, shapeOf: (k: string) => shapes(listing.sdxl_base).get(k) })).toEqual(SDXL_ARCH);
  });

  it('identification ignores the optional non-weight key denoiser.sigmas', () => {
    const s = shapes(listing.sdxl_base);
    s.set('denoiser.sigmas', [1000]);
    expect(identifyWeights([...s.keys()], (k) => s.get(k)).family).toBe('sdxl');
  });
});

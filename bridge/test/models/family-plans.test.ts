// What a checkpoint's family builds: SD1.x its one text encoder with adapter inputs; SDXL both encoders, the
// UNet with ControlNet residual inputs (encoders and UNet with adapter inputs), and the VAE in float32 even for float16 (GPU) builds.
import { describe, expect, it } from 'vitest';
import { SD1_FAMILY, SDXL_FAMILY } from '@kirie/core/models/family';
import { familyPlans, sd1Plans } from '../../src/models/load.js';

describe('familyPlans', () => {
  it('SD1.x: the plans it always had', () => {
    expect(familyPlans(SD1_FAMILY, 'fp16')).toEqual(sd1Plans('fp16'));
  });

  it('SDXL: two text encoders and a residual-taking UNet with adapter inputs, a float32 VAE at fp16', () => {
    const plans = familyPlans(SDXL_FAMILY, 'fp16');
    expect(plans.map((p) => [p.component, p.options.precision])).toEqual([
      ['text_encoder', 'fp16'],
      ['text_encoder_2', 'fp16'],
      ['unet', 'fp16'],
      ['vae_decoder', 'fp32'],
      ['vae_encoder', 'fp32'],
    ]);
    expect(plans.find((p) => p.component === 'unet')!.options).toMatchObject({ controlResiduals: true });
    // LoRAs: adapter inputs on both text encoders and the UNet (core/src/adapters), none on the VAE.
    expect(plans.filter((p) => p.options.adapterSlots).map((p) => p.component)).toEqual(['text_encoder', 'text_encoder_2', 'unet']);
  });
});

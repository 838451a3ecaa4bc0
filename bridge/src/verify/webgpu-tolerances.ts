// Tolerances for `kirie verify --device webgpu`, written down once from a measurement, never from failures.
// WebGPU computes in float32 like the CPU but sums in other orders (and on GPUs with other fma/exp units), so
// its differences from the diffusers references can be larger than the CPU's. Rule, as the golden README's:
// atol = max(the CPU tolerance, 3 × the measured max |WebGPU − reference|), rounded up to one digit.
// Factor 3 (not the README's 10): these measurements are of the provider itself, not an estimate of float32
// error; it leaves room for other adapters' summation orders while a miscomputing op (|diff| ~ 1, as the
// 9-channel Conv gave) still fails by far.
//
// Measured on Mesa 25.0.7 llvmpipe (Vulkan, software) with onnxruntime-node 1.30.0, 2026-12-06, by running
// `kirie verify tests/golden --device webgpu` and reading each case's maxAbsDiff (max over the case's items).

/** Rounds up to one significant digit (0.0178 → 0.02), as the golden README's tolerance rule does. */
export function roundUpOneDigit(x: number): number {
  const scale = 10 ** Math.floor(Math.log10(x));
  return Math.ceil(Number((x / scale).toFixed(9))) * scale;
}

export const WEBGPU_FACTOR = 3;

export type ComponentCheck = 'text_encoder' | 'vae_decode' | 'vae_encode' | 'unet' | 'unet_inpaint' | 'controlnet' | 'controlnet_unet';

export interface MeasuredTolerance {
  atol: number;
  /** Max |WebGPU − reference| measured over the case's items. */
  measured: number;
  /** The CPU tolerance for the same check (the floor). */
  cpu: number;
}

/**
 * tests/golden/components, per check, measured with the graphs built for WebGPU (padded 9-channel conv_in,
 * two-pass GroupNorm/LayerNorm). Without those workarounds the same run measured: unet 5.9e-3, unet_inpaint
 * 1.15, controlnet 6.0e-3, controlnet_unet 2.2e-3 (the others unchanged). CPU figures for comparison.
 */
export const WEBGPU_COMPONENT_TOLERANCES: Record<ComponentCheck, MeasuredTolerance> = {
  // 6 prompts + 4 clip-skip items; CPU 1.2e-6.
  text_encoder: { atol: 1e-4, measured: 1.19e-6, cpu: 1e-4 },
  // raw and image_hwc; CPU 3.8e-6.
  vae_decode: { atol: 1e-4, measured: 5.13e-6, cpu: 1e-4 },
  // mean, std, mean_scaled; CPU 2.0e-6.
  vae_encode: { atol: 1e-4, measured: 2.29e-6, cpu: 1e-4 },
  // t = 999, 500, 1 (outputs up to 1.1); CPU 2.5e-5.
  unet: { atol: 3e-4, measured: 7.86e-5, cpu: 2e-4 },
  // 9-channel UNet, t = 999, 500, 1; CPU 5.8e-6.
  unet_inpaint: { atol: 2e-4, measured: 3.64e-6, cpu: 2e-4 },
  // 13 residuals at scales 1 and 0.5; CPU 6.3e-6.
  controlnet: { atol: 2e-4, measured: 7.14e-6, cpu: 2e-4 },
  // The UNet fed those residuals; CPU 2.5e-5.
  controlnet_unet: { atol: 2e-4, measured: 1.69e-5, cpu: 2e-4 },
};

/** Pipeline tolerances in the golden tolerances.json's terms. */
export interface PipelineTolerances {
  final_latents_atol: number;
  steps_latents_atol: number;
  image_atol: number;
  image_png_levels: number;
}

/** tests/golden/pipelines cases measured on WebGPU, with the max |WebGPU − reference| each tolerance comes from. */
interface MeasuredPipeline extends PipelineTolerances {
  /** Max |WebGPU − reference|: latents after the last step, after every step, image (HWC float or decoder output), PNG levels. */
  measured: { final_latents: number; steps_latents: number; image: number; image_png: number };
  /** The case's CPU tolerances (tests/golden/pipelines/tolerances.json), the floor. PNG levels: max(CPU, measured). */
  cpu: PipelineTolerances;
}

/**
 * Every case of tests/golden/pipelines, measured with the WebGPU graphs (workarounds in core/src/models/onnx/webgpu.ts).
 * Before them the final latents differed by: txt2img_ddim 0.68, img2img_euler_s060 0.076, inpaint4_ddim_s100
 * 0.45, inpaint9_ddim_s100 0.60, controlnet_ddim_s100 0.63. Now every case is within its CPU tolerance, so each
 * WebGPU tolerance equals the CPU's; CPU differences for the five above: 4.4e-3, 2.5e-4, 1.2e-4, 8.5e-2, 3.5e-2.
 */
export const WEBGPU_PIPELINE_TOLERANCES: Record<string, MeasuredPipeline> = {
  controlnet_ddim_s050: {
    final_latents_atol: 0.08, steps_latents_atol: 0.08, image_atol: 0.003, image_png_levels: 2,
    measured: { final_latents: 0.0148, steps_latents: 0.0148, image: 0.000386, image_png: 1 },
    cpu: { final_latents_atol: 0.08, steps_latents_atol: 0.08, image_atol: 0.003, image_png_levels: 2 },
  },
  controlnet_ddim_s050_128: {
    final_latents_atol: 0.001, steps_latents_atol: 0.001, image_atol: 0.001, image_png_levels: 1,
    measured: { final_latents: 4.96e-05, steps_latents: 4.96e-05, image: 1.76e-06, image_png: 1 },
    cpu: { final_latents_atol: 0.001, steps_latents_atol: 0.001, image_atol: 0.001, image_png_levels: 1 },
  },
  controlnet_ddim_s100: {
    final_latents_atol: 0.3, steps_latents_atol: 0.3, image_atol: 0.009, image_png_levels: 2,
    measured: { final_latents: 0.0672, steps_latents: 0.0672, image: 0.0029, image_png: 1 },
    cpu: { final_latents_atol: 0.3, steps_latents_atol: 0.3, image_atol: 0.009, image_png_levels: 2 },
  },
  controlnet_ddim_s100_128: {
    final_latents_atol: 0.001, steps_latents_atol: 0.001, image_atol: 0.001, image_png_levels: 1,
    measured: { final_latents: 4.67e-05, steps_latents: 4.67e-05, image: 1.73e-06, image_png: 1 },
    cpu: { final_latents_atol: 0.001, steps_latents_atol: 0.001, image_atol: 0.001, image_png_levels: 1 },
  },
  img2img_euler_s060: {
    final_latents_atol: 0.001, steps_latents_atol: 0.001, image_atol: 0.001, image_png_levels: 1,
    measured: { final_latents: 0.000289, steps_latents: 0.000289, image: 4.11e-05, image_png: 1 },
    cpu: { final_latents_atol: 0.001, steps_latents_atol: 0.001, image_atol: 0.001, image_png_levels: 1 },
  },
  img2img_euler_s060_128: {
    final_latents_atol: 0.001, steps_latents_atol: 0.001, image_atol: 0.001, image_png_levels: 1,
    measured: { final_latents: 1.91e-05, steps_latents: 1.91e-05, image: 5.66e-06, image_png: 1 },
    cpu: { final_latents_atol: 0.001, steps_latents_atol: 0.001, image_atol: 0.001, image_png_levels: 1 },
  },
  inpaint4_ddim_s075_softmask: {
    final_latents_atol: 0.009, steps_latents_atol: 0.009, image_atol: 0.003, image_png_levels: 2,
    measured: { final_latents: 0.00189, steps_latents: 0.00189, image: 0.000561, image_png: 1 },
    cpu: { final_latents_atol: 0.009, steps_latents_atol: 0.009, image_atol: 0.003, image_png_levels: 2 },
  },
  inpaint4_ddim_s075_softmask_128: {
    final_latents_atol: 0.001, steps_latents_atol: 0.001, image_atol: 0.001, image_png_levels: 1,
    measured: { final_latents: 2e-05, steps_latents: 2e-05, image: 6.38e-06, image_png: 1 },
    cpu: { final_latents_atol: 0.001, steps_latents_atol: 0.001, image_atol: 0.001, image_png_levels: 1 },
  },
  inpaint4_ddim_s100: {
    final_latents_atol: 0.002, steps_latents_atol: 0.002, image_atol: 0.001, image_png_levels: 1,
    measured: { final_latents: 0.000316, steps_latents: 0.000316, image: 1.27e-05, image_png: 1 },
    cpu: { final_latents_atol: 0.002, steps_latents_atol: 0.002, image_atol: 0.001, image_png_levels: 1 },
  },
  inpaint4_ddim_s100_128: {
    final_latents_atol: 0.001, steps_latents_atol: 0.001, image_atol: 0.001, image_png_levels: 1,
    measured: { final_latents: 6.63e-05, steps_latents: 6.63e-05, image: 4.05e-06, image_png: 1 },
    cpu: { final_latents_atol: 0.001, steps_latents_atol: 0.001, image_atol: 0.001, image_png_levels: 1 },
  },
  inpaint4_euler_s075: {
    final_latents_atol: 0.002, steps_latents_atol: 0.002, image_atol: 0.001, image_png_levels: 1,
    measured: { final_latents: 0.000203, steps_latents: 0.000203, image: 5.38e-05, image_png: 1 },
    cpu: { final_latents_atol: 0.002, steps_latents_atol: 0.002, image_atol: 0.001, image_png_levels: 1 },
  },
  inpaint4_euler_s075_128: {
    final_latents_atol: 0.001, steps_latents_atol: 0.001, image_atol: 0.001, image_png_levels: 1,
    measured: { final_latents: 2.15e-05, steps_latents: 2.19e-05, image: 8.29e-06, image_png: 1 },
    cpu: { final_latents_atol: 0.001, steps_latents_atol: 0.001, image_atol: 0.001, image_png_levels: 1 },
  },
  inpaint9_ddim_s100: {
    final_latents_atol: 2, steps_latents_atol: 2, image_atol: 0.06, image_png_levels: 2,
    measured: { final_latents: 0.0819, steps_latents: 0.0819, image: 0.00281, image_png: 1 },
    cpu: { final_latents_atol: 2, steps_latents_atol: 2, image_atol: 0.06, image_png_levels: 2 },
  },
  inpaint9_ddim_s100_128: {
    final_latents_atol: 0.009, steps_latents_atol: 0.009, image_atol: 0.001, image_png_levels: 1,
    measured: { final_latents: 0.000843, steps_latents: 0.000843, image: 2.07e-05, image_png: 1 },
    cpu: { final_latents_atol: 0.009, steps_latents_atol: 0.009, image_atol: 0.001, image_png_levels: 1 },
  },
  txt2img_ddim: {
    final_latents_atol: 0.04, steps_latents_atol: 0.04, image_atol: 0.001, image_png_levels: 1,
    measured: { final_latents: 0.00539, steps_latents: 0.00539, image: 0.00012, image_png: 1 },
    cpu: { final_latents_atol: 0.04, steps_latents_atol: 0.04, image_atol: 0.001, image_png_levels: 1 },
  },
  txt2img_ddim_128: {
    final_latents_atol: 0.001, steps_latents_atol: 0.001, image_atol: 0.001, image_png_levels: 1,
    measured: { final_latents: 4.77e-05, steps_latents: 4.86e-05, image: 2.06e-06, image_png: 1 },
    cpu: { final_latents_atol: 0.001, steps_latents_atol: 0.001, image_atol: 0.001, image_png_levels: 1 },
  },
  txt2img_ddim_h96_w64: {
    final_latents_atol: 0.001, steps_latents_atol: 0.001, image_atol: 0.001, image_png_levels: 1,
    measured: { final_latents: 4.96e-05, steps_latents: 4.96e-05, image: 1.58e-06, image_png: 1 },
    cpu: { final_latents_atol: 0.001, steps_latents_atol: 0.001, image_atol: 0.001, image_png_levels: 1 },
  },
  txt2img_dpmpp_2m_karras: {
    final_latents_atol: 0.002, steps_latents_atol: 0.002, image_atol: 0.001, image_png_levels: 1,
    measured: { final_latents: 0.00016, steps_latents: 0.000162, image: 3.04e-06, image_png: 1 },
    cpu: { final_latents_atol: 0.002, steps_latents_atol: 0.002, image_atol: 0.001, image_png_levels: 1 },
  },
  txt2img_dpmpp_2m_karras_128: {
    final_latents_atol: 0.001, steps_latents_atol: 0.001, image_atol: 0.001, image_png_levels: 1,
    measured: { final_latents: 7.2e-05, steps_latents: 7.2e-05, image: 1.79e-06, image_png: 1 },
    cpu: { final_latents_atol: 0.001, steps_latents_atol: 0.001, image_atol: 0.001, image_png_levels: 1 },
  },
  txt2img_euler: {
    final_latents_atol: 0.002, steps_latents_atol: 0.002, image_atol: 0.001, image_png_levels: 1,
    measured: { final_latents: 0.00052, steps_latents: 0.00052, image: 1.43e-05, image_png: 1 },
    cpu: { final_latents_atol: 0.002, steps_latents_atol: 0.002, image_atol: 0.001, image_png_levels: 1 },
  },
  txt2img_euler_128: {
    final_latents_atol: 0.001, steps_latents_atol: 0.001, image_atol: 0.001, image_png_levels: 1,
    measured: { final_latents: 0.000107, steps_latents: 0.000107, image: 2.86e-06, image_png: 1 },
    cpu: { final_latents_atol: 0.001, steps_latents_atol: 0.001, image_atol: 0.001, image_png_levels: 1 },
  },
  txt2img_euler_ancestral: {
    final_latents_atol: 0.001, steps_latents_atol: 0.001, image_atol: 0.001, image_png_levels: 1,
    measured: { final_latents: 0.000131, steps_latents: 0.000132, image: 1.91e-06, image_png: 1 },
    cpu: { final_latents_atol: 0.001, steps_latents_atol: 0.001, image_atol: 0.001, image_png_levels: 1 },
  },
  txt2img_euler_ancestral_128: {
    final_latents_atol: 0.002, steps_latents_atol: 0.002, image_atol: 0.001, image_png_levels: 1,
    measured: { final_latents: 0.000158, steps_latents: 0.000164, image: 2.71e-06, image_png: 1 },
    cpu: { final_latents_atol: 0.002, steps_latents_atol: 0.002, image_atol: 0.001, image_png_levels: 1 },
  },
  txt2img_lcm: {
    final_latents_atol: 0.001, steps_latents_atol: 0.001, image_atol: 0.001, image_png_levels: 1,
    measured: { final_latents: 2.19e-05, steps_latents: 2.19e-05, image: 1.37e-06, image_png: 1 },
    cpu: { final_latents_atol: 0.001, steps_latents_atol: 0.001, image_atol: 0.001, image_png_levels: 1 },
  },
  txt2img_lcm_128: {
    final_latents_atol: 0.001, steps_latents_atol: 0.001, image_atol: 0.001, image_png_levels: 1,
    measured: { final_latents: 3.43e-05, steps_latents: 3.43e-05, image: 1.1e-06, image_png: 1 },
    cpu: { final_latents_atol: 0.001, steps_latents_atol: 0.001, image_atol: 0.001, image_png_levels: 1 },
  },
};

/** The case's WebGPU tolerances, or undefined when the case was never measured on WebGPU. */
export function webgpuPipelineTolerances(id: string): PipelineTolerances | undefined {
  return WEBGPU_PIPELINE_TOLERANCES[id];
}

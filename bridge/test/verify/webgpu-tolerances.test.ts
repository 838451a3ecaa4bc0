// The WebGPU tolerances are data: each must follow from its measurement by the file's rule, so none is loosened
// by hand to make a failing check pass.
import { describe, expect, it } from 'vitest';
import { WEBGPU_COMPONENT_TOLERANCES, WEBGPU_FACTOR, WEBGPU_PIPELINE_TOLERANCES, roundUpOneDigit } from '../../src/verify/webgpu-tolerances.js';

const rule = (cpu: number, measured: number) => Math.max(cpu, roundUpOneDigit(WEBGPU_FACTOR * measured));

describe('WebGPU tolerances', () => {
  it.each(Object.entries(WEBGPU_COMPONENT_TOLERANCES))('component check %s follows from its measurement', (_, t) => {
    expect(t.atol).toBeCloseTo(rule(t.cpu, t.measured), 12);
  });

  it.each(Object.entries(WEBGPU_PIPELINE_TOLERANCES))('pipeline case %s follows from its measurement', (_, t) => {
    expect(t.final_latents_atol).toBeCloseTo(rule(t.cpu.final_latents_atol, t.measured.final_latents), 12);
    expect(t.steps_latents_atol).toBeCloseTo(rule(t.cpu.steps_latents_atol, t.measured.steps_latents), 12);
    expect(t.image_atol).toBeCloseTo(rule(t.cpu.image_atol, t.measured.image), 12);
    expect(t.image_png_levels).toBe(Math.max(t.cpu.image_png_levels, t.measured.image_png));
  });
});

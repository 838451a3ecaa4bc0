// The samplers' own arithmetic against the tools' recorded runs (tests/golden/kdiffusion/pipelines, 64×64
// cases, which record what the denoiser got and gave): fed the recorded denoised outputs and step noise,
// every sampler must ask for the recorded x at every model call and end on the recorded latents, bit for bit
// (the σ arithmetic uses torch's SLEEF log/exp/expm1, as the tools' 0-dim tensor ops do).
// This separates the sampler from the UNet: a remaining pipeline difference is the model's, not the loop's.
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseNpy } from '../../src/io/npy.js';
import { COMFY_SAMPLERS, A1111_SAMPLERS, type A1111Sampler, type ComfySampler } from '../../src/kdiffusion/names.js';
import { SAMPLERS } from '../../src/kdiffusion/samplers.js';

const PIPELINES = join(import.meta.dirname, '../../../tests/golden/kdiffusion/pipelines');
const cases = readdirSync(PIPELINES).filter((id) => existsSync(join(PIPELINES, id, 'calls_x.npy')));

function load(id: string) {
  const dir = join(PIPELINES, id);
  const c = JSON.parse(readFileSync(join(dir, 'case.json'), 'utf8'));
  const npy = (name: string) => parseNpy(new Uint8Array(readFileSync(join(dir, name)))) as { data: Float32Array; shape: number[] };
  return { c, npy, hasStepNoise: existsSync(join(dir, 'step_noise.npy')) };
}

/** ComfyUI's UniPC (its own float32 algebra in the VP parametrisation) agrees to the last bits only. */
const NOT_BIT_EXACT: Record<string, number> = { comfy_uni_pc_normal: 1e-5 };

function firstDifference(actual: Float32Array, expected: Float32Array, atol: number): string | null {
  if (actual.length !== expected.length) return `${actual.length} values vs ${expected.length}`;
  for (let i = 0; i < expected.length; i++) {
    const off = atol === 0 ? !Object.is(actual[i], expected[i]) : !(Math.abs(actual[i] - expected[i]) <= atol);
    if (off) return `value ${i}: ${actual[i]} vs ${expected[i]}`;
  }
  return null;
}

describe('samplers replaying the recorded denoiser outputs', () => {
  it('covers every 64×64 case', () => expect(cases).toHaveLength(23));

  it.each(cases)('%s', (id) => {
    const { c, npy, hasStepNoise } = load(id);
    const p = c.parameters;
    const kind = c.tool === 'comfyui' ? COMFY_SAMPLERS[p.sampler_name as ComfySampler] : A1111_SAMPLERS[p.sampler as A1111Sampler].kind;
    const x0 = npy('initial_latents.npy').data;
    const per = x0.length;
    const part = (t: { data: Float32Array }, k: number) => t.data.slice(k * per, (k + 1) * per);
    const denoised = npy('calls_denoised.npy');
    const callsX = npy('calls_x.npy');
    const noise = hasStepNoise ? npy('step_noise.npy') : undefined;
    let draws = 0;
    const loop = SAMPLERS[kind].run(new Float32Array(x0), Array.from(npy('sigmas.npy').data), {
      tool: c.tool,
      randn: () => {
        if (!noise || draws >= noise.shape[0]) throw new Error(`${id}: the sampler drew more noise than the tool did`);
        return part(noise, draws++);
      },
    });
    const atol = NOT_BIT_EXACT[id] ?? 0;
    let call = 0;
    for (let r = loop.next(); ; r = loop.next(part(denoised, call++))) {
      if (r.done) {
        expect(firstDifference(r.value, npy('final_latents.npy').data, atol), 'final latents').toBeNull();
        break;
      }
      expect(firstDifference(r.value.x, part(callsX, call), atol), `x at model call ${call}`).toBeNull();
    }
    expect(call).toBe(c.num_model_calls);
    expect(draws).toBe(noise?.shape[0] ?? 0);
  });
});

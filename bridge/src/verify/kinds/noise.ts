// Verify kind for other tools' noise (tests/golden/kdiffusion/noise/cases.json): AUTOMATIC1111's ImageRNG
// ("NV" philox and "CPU" sources, batches, variation seeds, eta noise seed delta) and ComfyUI's
// prepare_noise, batch_index and ancestral noise sampler, each drawn in the case's call sequence and
// compared bit for bit (and by sha256).
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { A1111Noise, type A1111RngSource } from '@kirie/core/rng/a1111';
import { ComfyNoise, comfyInpaintNoise, comfyPrepareNoise } from '@kirie/core/rng/comfyui';
import { maxAbsDiff } from '../compare.js';
import { readNpy } from '../files.js';
import type { CaseFile, CaseResult, VerifyKind } from '../types.js';

const KIND = 'noise';

interface NoiseCase {
  name: string;
  file: string;
  /** [draws, B, C, h, w], or the tensor's own shape for single draws. */
  shape: number[];
  tool: 'a1111' | 'comfyui';
  seed: number;
  draws?: number;
  randn_source?: A1111RngSource;
  image_seeds?: number[];
  image_subseeds?: number[];
  subseed_strength?: number;
  eta_noise_seed_delta?: number;
  batch_index?: number[];
  sha256_f32le?: string;
}

function casesOf(json: Record<string, unknown>): NoiseCase[] | null {
  const cases = json.cases;
  if (!Array.isArray(cases) || cases.length === 0) return null;
  return cases.every((c) => typeof c === 'object' && c !== null && 'tool' in c && typeof c.file === 'string') ? (cases as NoiseCase[]) : null;
}

/** Every draw the case recorded, concatenated, from the noise source the case names. */
export function drawNoiseCase(c: NoiseCase): Float32Array {
  if (c.tool === 'comfyui' && c.batch_index) return comfyPrepareNoise(c.seed, c.shape, c.batch_index);
  if (c.tool === 'comfyui' && c.name.includes('inpaint')) return comfyInpaintNoise(c.seed, c.shape);
  const [draws, ...latent] = c.shape;
  let source;
  if (c.tool === 'comfyui') source = new ComfyNoise(c.seed);
  else {
    if (!c.randn_source) throw new Error(`${c.name}: an A1111 case needs randn_source`);
    source = new A1111Noise({
      source: c.randn_source,
      seeds: c.image_seeds ?? [c.seed],
      ...(c.image_subseeds ? { subseeds: c.image_subseeds, subseedStrength: c.subseed_strength ?? 0 } : {}),
      etaNoiseSeedDelta: c.eta_noise_seed_delta ?? 0,
    });
  }
  const per = latent.reduce((a, b) => a * b, 1);
  const out = new Float32Array(draws * per);
  for (let k = 0; k < draws; k++) out.set(source.randn(latent), k * per);
  return out;
}

function differentValues(a: Float32Array, b: Float32Array): number {
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  let n = 0;
  for (let i = 0; i < ua.length; i++) if (ua[i] !== ub[i]) n++;
  return n;
}

function runCase(dir: string, c: NoiseCase): CaseResult {
  const name = `noise/${c.name}`;
  try {
    const expected = readNpy(join(dir, c.file));
    if (!(expected.data instanceof Float32Array)) throw new Error(`${c.file} holds ${expected.dtype}, expected float32`);
    const actual = drawNoiseCase(c);
    if (actual.length !== expected.data.length) throw new Error(`drew ${actual.length} values, ${c.file} holds ${expected.data.length}`);
    const problems: string[] = [];
    const differing = differentValues(actual, expected.data);
    if (differing > 0) problems.push(`${differing} of ${actual.length} values differ`);
    const hash = createHash('sha256').update(new Uint8Array(actual.buffer, actual.byteOffset, actual.byteLength)).digest('hex');
    if (c.sha256_f32le && hash !== c.sha256_f32le) problems.push(`sha256 ${hash} ≠ recorded ${c.sha256_f32le}`);
    const pass = problems.length === 0;
    return { case: name, kind: KIND, maxAbsDiff: maxAbsDiff(actual, expected.data), tolerance: 0, pass, detail: pass ? `${c.tool}: bit-identical` : problems.join('; ') };
  } catch (err) {
    return { case: name, kind: KIND, maxAbsDiff: Number.NaN, tolerance: 0, pass: false, detail: `crashed: ${(err as Error).message}` };
  }
}

export const noiseKind: VerifyKind = {
  kind: KIND,
  matches: (file: CaseFile) => casesOf(file.json) !== null,
  async *run(file) {
    for (const c of casesOf(file.json)!) yield runCase(file.dir, c);
  },
};

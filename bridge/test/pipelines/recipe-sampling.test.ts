// kirie generate --recipe with a pasted A1111 text: the recipe's sampler, schedule and noise become the
// request's A1111 sampling; --scheduler replaces them with one of Kirie's diffusers schedulers, and says so.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodePng } from '@kirie/core/image/png';
import { prepareGeneration } from '../../src/generate/options.js';
import { withText } from '../../src/generate/png-text.js';

const MODEL = join(import.meta.dirname, '../../../tests/golden/tiny-sd15/tiny-sd15.safetensors');
const dir = mkdtempSync(join(tmpdir(), 'kirie-recipe-'));

function recipePng(parameters: string): string {
  const path = join(dir, `r${Math.random().toString(36).slice(2)}.png`);
  writeFileSync(path, withText(encodePng({ width: 1, height: 1, channels: 3, data: new Uint8Array(3) }), { parameters }));
  return path;
}

const text = 'a lighthouse\nNegative prompt: blurry\nSteps: 12, Sampler: DPM++ 2M Karras, CFG scale: 6, Seed: 77, Size: 64x64, Model: tiny, RNG: CPU, ENSD: 31337';

describe('kirie generate --recipe with A1111 text', () => {
  it("samples as A1111 did: its sampler, schedule, RNG and ENSD", () => {
    const { request, notes } = prepareGeneration({ recipe: recipePng(text), model: MODEL });
    expect(request).toMatchObject({ prompt: 'a lighthouse', steps: 12, guidance: 6, seed: 77, width: 64, height: 64 });
    expect(request.sampling).toEqual({ tool: 'a1111', sampler: 'DPM++ 2M', scheduleType: 'Karras', rng: 'CPU', variationStrength: 0, etaNoiseSeedDelta: 31337 });
    expect(notes).toEqual([]);
  });

  it('--scheduler replaces the recipe\'s sampler with a diffusers one, and says so', () => {
    const { request, notes } = prepareGeneration({ recipe: recipePng(text), model: MODEL, scheduler: 'euler_a' });
    expect(request.sampling).toBeUndefined();
    expect(request.scheduler).toBe('euler_a');
    expect(notes).toContain("--scheduler euler_a replaces the recipe's A1111 sampler");
  });

  it('names RNG: GPU as not carried exactly (NV stands in)', () => {
    const { request, notes } = prepareGeneration({ recipe: recipePng('p\nSteps: 2, Sampler: Euler a, Seed: 1, Size: 64x64, RNG: GPU'), model: MODEL });
    expect(request.sampling).toMatchObject({ tool: 'a1111', sampler: 'Euler a', rng: 'NV' });
    expect(notes).toEqual(['recipe settings Kirie does not use: RNG']);
  });
});

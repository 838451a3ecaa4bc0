import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { identifyWeights } from '@kirie/core/models/detect';
import { assetPath } from '../../src/models/assets.js';
import { openCheckpoint } from '../../src/models/checkpoint.js';
import { initFor, writeRandomCheckpoint } from '../../src/models/random.js';
import { SafetensorsFile } from '../../src/models/safetensors-file.js';
import { tempDirPerFile } from './temp-dir.js';

const golden = new URL('../../../tests/golden/tiny-sd15/', import.meta.url).pathname;
const tmp = tempDirPerFile('kirie-random-');

async function layout(path: string): Promise<Record<string, [number[], string]>> {
  const f = await SafetensorsFile.open(path);
  const out = Object.fromEntries(f.keys().map((k) => [k, [f.shape(k), f.dtype(k)] as [number[], string]]));
  await f.close();
  return out;
}

describe('initFor', () => {
  const table: [string, number[], object][] = [
    ['model.diffusion_model.input_blocks.0.0.weight', [320, 4, 3, 3], { bound: 1 / 6 }],
    ['model.diffusion_model.input_blocks.0.0.bias', [320], { constant: 0 }],
    ['model.diffusion_model.out.0.weight', [320], { constant: 1 }],
    ['cond_stage_model.transformer.text_model.final_layer_norm.weight', [768], { constant: 1 }],
    ['cond_stage_model.transformer.text_model.encoder.layers.0.mlp.fc1.weight', [3072, 768], { bound: 1 / Math.sqrt(768) }],
    ['first_stage_model.decoder.mid.attn_1.q.weight', [512, 512, 1, 1], { bound: 1 / Math.sqrt(512) }],
  ];
  it.each(table)('%s', (name, shape, expected) => {
    expect(initFor(name, shape)).toEqual(expected);
  });
});

describe('writeRandomCheckpoint', () => {
  it.each([
    ['sd15', 'tiny-sd15'],
    ['sd15_inpainting', 'tiny-sd15-inpainting'],
    ['controlnet', 'tiny-controlnet'],
  ] as const)('tiny %s has the golden file’s keys, shapes and sidecar, and opens as that kind', async (kind, goldenName) => {
    const out = join(tmp.path, `${goldenName}.safetensors`);
    const result = await writeRandomCheckpoint({ arch: 'tiny', kind, seed: 3, out });
    expect(await layout(out)).toEqual(await layout(join(golden, `${goldenName}.safetensors`)));
    expect(await readFile(result.sidecar!, 'utf8')).toBe(readFileSync(join(golden, `${goldenName}.yaml`), 'utf8'));
    const ckpt = await openCheckpoint(out);
    await ckpt.file.close();
    expect(ckpt.kind.kind).toBe(kind === 'controlnet' ? 'controlnet' : 'checkpoint');
  });

  it('draws PyTorch-default statistics, reproducibly per seed, in float32 or float16', async () => {
    const a = join(tmp.path, 'a.safetensors');
    const b = join(tmp.path, 'b.safetensors');
    const c = join(tmp.path, 'c.safetensors');
    await writeRandomCheckpoint({ arch: 'tiny', kind: 'sd15', seed: 11, out: a });
    await writeRandomCheckpoint({ arch: 'tiny', kind: 'sd15', seed: 11, out: b });
    await writeRandomCheckpoint({ arch: 'tiny', kind: 'sd15', seed: 12, out: c, fp16: true });
    expect((await readFile(a)).equals(await readFile(b))).toBe(true);
    const fa = await SafetensorsFile.open(a);
    const fc = await SafetensorsFile.open(c);
    try {
      const key = 'model.diffusion_model.input_blocks.1.0.in_layers.2.weight'; // [32, 32, 3, 3], fan_in 288
      const w = await fa.read(key);
      const bound = 1 / Math.sqrt(288);
      const mean = w.reduce((s, v) => s + v, 0) / w.length;
      const std = Math.sqrt(w.reduce((s, v) => s + (v - mean) ** 2, 0) / w.length);
      expect(Math.max(...w)).toBeLessThanOrEqual(bound);
      expect(Math.min(...w)).toBeGreaterThanOrEqual(-bound);
      expect(Math.abs(mean)).toBeLessThan(0.05 * bound);
      expect(std).toBeCloseTo(bound / Math.sqrt(3), 3);
      expect([...(await fa.read('model.diffusion_model.input_blocks.1.0.in_layers.0.weight'))].every((v) => v === 1)).toBe(true);
      expect([...(await fa.read('model.diffusion_model.input_blocks.1.0.in_layers.0.bias'))].every((v) => v === 0)).toBe(true);
      const ids = await fa.readBytes('cond_stage_model.transformer.text_model.embeddings.position_ids');
      expect([...new BigInt64Array(ids.buffer)].map(Number)).toEqual(Array.from({ length: 77 }, (_, i) => i));
      expect(fc.dtype(key)).toBe('F16');
      expect(fc.dtype('cond_stage_model.transformer.text_model.embeddings.position_ids')).toBe('I64');
      const half = await fc.read(key);
      expect(half).not.toEqual(w); // another seed
      expect(Math.max(...half.map(Math.abs))).toBeLessThanOrEqual(bound * 1.001);
    } finally {
      await fa.close();
      await fc.close();
    }
  });

  it('refuses a bad seed', async () => {
    await expect(writeRandomCheckpoint({ arch: 'tiny', kind: 'sd15', seed: -1, out: join(tmp.path, 'x.safetensors') })).rejects.toThrow(/--seed must be a non-negative integer, got -1/);
  });
});

describe('kirie models random --arch sdxl', () => {
  it("writes the golden full-size SDXL listing's keys and shapes (base and 9-channel inpainting), identified as SDXL", async () => {
    const golden = JSON.parse(await readFile(join(import.meta.dirname, '../../../tests/golden/tiny-sd15/sdxl-full-keys.json'), 'utf8')) as Record<string, Record<string, [number[], string]>>;
    const asset = JSON.parse(await readFile(assetPath('sdxl-keys.json'), 'utf8')) as Record<string, [string, number[], string][]>;
    for (const [kind, listing] of [['sdxl', golden.sdxl_base!], ['sdxl_inpainting', golden.sdxl_inpainting_9ch!]] as const) {
      const keys = asset[kind]!;
      expect(Object.fromEntries(keys.map(([name, shape]) => [name, shape]))).toEqual(Object.fromEntries(Object.entries(listing).map(([name, [shape]]) => [name, shape])));
      const shapes = new Map(keys.map(([name, shape]) => [name, shape]));
      expect(identifyWeights([...shapes.keys()], (k) => shapes.get(k))).toMatchObject({ family: 'sdxl', unetInChannels: kind === 'sdxl' ? 4 : 9 });
    }
  });

  it('has no SDXL ControlNet to write', async () => {
    await expect(writeRandomCheckpoint({ arch: 'sdxl', kind: 'controlnet', seed: 1, out: join(tmpdir(), 'never.safetensors') })).rejects.toThrow(/--arch sdxl has no controlnet model/);
  });
});

import { copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { parseNpy } from '@kirie/core/io/npy';
import { encodeText } from '@kirie/core/pipeline/models';
import { buildCheckpoint, openControlNet, openModel, sd1Plans } from '../../src/models/load.js';
import { LazySession } from '../../src/models/lazy-session.js';
import { fixtureModel, type IoSpec } from './onnx-fixtures.js';
import { tempDirPerFile } from './temp-dir.js';

const golden = new URL('../../../tests/golden/', import.meta.url).pathname;
const tmp = tempDirPerFile('kirie-folder-');

type F = IoSpec['type'];
const io = (name: string, type: F, shape: (number | string)[]): IoSpec => ({ name, type, shape });

interface Layout {
  ids: F;
  ts: F;
  tsShape: (number | string)[];
  float: F;
  channels: number | string;
  encoder?: 'latent_parameters' | 'latent_sample';
  unetDir?: 'unet' | 'controlnet';
  residuals?: boolean;
}

async function writeFolder(name: string, l: Layout, extra: Record<string, string> = {}): Promise<string> {
  const dir = join(tmp.path, name);
  const f = l.float;
  const graphs: Record<string, Uint8Array> = {
    text_encoder: fixtureModel([io('input_ids', l.ids, ['batch', 77])], [io('last_hidden_state', f, ['batch', 77, 768]), io('pooler_output', f, ['batch', 768])]),
    [l.unetDir ?? 'unet']: fixtureModel(
      [
        io('sample', f, ['batch', l.channels, 'h', 'w']),
        io('timestep', l.ts, l.tsShape),
        io('encoder_hidden_states', f, ['batch', 77, 768]),
        ...(l.residuals ? [...Array.from({ length: 12 }, (_, i) => io(`down_block_${i}_additional_residual`, f, ['b', 'c', 'h', 'w'])), io('mid_block_additional_residual', f, ['b', 1280, 'h', 'w'])] : []),
      ],
      [io('out_sample', f, ['batch', 4, 'h', 'w'])],
    ),
    vae_decoder: fixtureModel([io('latent_sample', f, ['batch', 4, 'h', 'w'])], [io('sample', f, ['batch', 3, 'H', 'W'])]),
  };
  if (l.encoder) graphs.vae_encoder = fixtureModel([io('sample', f, ['batch', 3, 'H', 'W'])], [io(l.encoder, f, ['batch', 8, 'h', 'w'])]);
  for (const [sub, bytes] of Object.entries(graphs)) {
    await mkdir(join(dir, sub), { recursive: true });
    await writeFile(join(dir, sub, 'model.onnx'), bytes);
  }
  for (const [path, text] of Object.entries(extra)) {
    await mkdir(join(dir, path, '..'), { recursive: true });
    await writeFile(join(dir, path), text);
  }
  return dir;
}

async function withTokenizer(dir: string): Promise<void> {
  await mkdir(join(dir, 'tokenizer'), { recursive: true });
  for (const f of ['vocab.json', 'merges.txt']) await copyFile(join(golden, 'tokenizer', f), join(dir, 'tokenizer', f));
}

describe('openModel on ONNX folders', () => {
  it('optimum export: int32 ids, int64 timestep, latent_parameters, its tokenizer, scheduler and VAE configs', async () => {
    const dir = await writeFolder(
      'optimum',
      { ids: 'int32', ts: 'int64', tsShape: ['steps'], float: 'float32', channels: 4, encoder: 'latent_parameters' },
      { 'scheduler/scheduler_config.json': '{"_class_name": "PNDMScheduler", "beta_schedule": "scaled_linear"}', 'vae_decoder/config.json': '{"scaling_factor": 0.13025}' },
    );
    await withTokenizer(dir);
    const logs: string[] = [];
    const model = await openModel(dir, { device: 'cpu', log: (m) => logs.push(m) });
    await model.release();
    // Described from its file; only img2img or inpainting would create its session.
    expect(model.vaeEncoder).toBeInstanceOf(LazySession);
    expect((model.vaeEncoder as LazySession).opened).toBe(false);
    expect(model.io).toMatchObject({ inputIds: 'int32', timestep: { type: 'int64', rank: 1 }, unetInChannels: 4, unetTakesResiduals: false, vaeEncoderOutput: 'latent_parameters', floatType: 'float32' });
    expect(model.schedulerConfig).toEqual({ _class_name: 'PNDMScheduler', beta_schedule: 'scaled_linear' });
    expect(model.vaeScalingFactor).toBe(0.13025);
    expect(Array.from(model.tokenizer.encodePadded('a cat').slice(0, 4))).toEqual([49406, 320, 2368, 49407]);
    expect(logs).toEqual([]);
  });

  it("diffusers' script: int64 ids, float timestep, sampling encoder; no tokenizer folder -> CLIP's, logged", async () => {
    const dir = await writeFolder('diffusers', { ids: 'int64', ts: 'float32', tsShape: [1], float: 'float32', channels: 4, encoder: 'latent_sample' });
    const logs: string[] = [];
    const model = await openModel(dir, { device: 'cpu', log: (m) => logs.push(m) });
    await model.release();
    expect(model.io).toMatchObject({ inputIds: 'int64', timestep: { type: 'float32', rank: 1 }, vaeEncoderOutput: 'latent_sample' });
    expect(model.vaeScalingFactor).toBe(0.18215);
    expect(logs).toEqual(['diffusers: no tokenizer/ folder, using CLIP\'s standard vocabulary']);
    expect(Array.from(model.tokenizer.encodePadded('a cat').slice(0, 4))).toEqual([49406, 320, 2368, 49407]);
  });

  it('Olive float16 inpainting with a symbolic channel dim: channels from unet/config.json', async () => {
    const dir = await writeFolder('olive', { ids: 'int32', ts: 'float16', tsShape: ['unet_time_batch'], float: 'float16', channels: 'unet_sample_channels' }, { 'unet/config.json': '{"in_channels": 9}' });
    const model = await openModel(dir, { device: 'cpu' });
    await model.release();
    expect(model.io).toMatchObject({ floatType: 'float16', timestep: { type: 'float16' }, unetInChannels: 9 });
    expect(model.vaeEncoder).toBeUndefined();
  });

  it('OnnxStack/Amuse: the ControlNet UNet under controlnet/ is used (and unet/ is not needed)', async () => {
    const dir = await writeFolder('onnxstack', { ids: 'int32', ts: 'int64', tsShape: ['b'], float: 'float16', channels: 4, unetDir: 'controlnet', residuals: true });
    const model = await openModel(dir, { device: 'cpu' });
    await model.release();
    expect(model.io.unetTakesResiduals).toBe(true);
    expect(model.io.names.unet.downResiduals).toHaveLength(12);
  });

  it('a controlnet/ that is not a residual UNet falls back to unet/', async () => {
    const dir = await writeFolder('mixed', { ids: 'int32', ts: 'int64', tsShape: [1], float: 'float32', channels: 4 });
    await mkdir(join(dir, 'controlnet'));
    await writeFile(join(dir, 'controlnet', 'model.onnx'), fixtureModel([io('sample', 'float32', [1, 4, 8, 8])], [io('mid_block_additional_residual', 'float32', [1, 1280, 1, 1])]));
    const model = await openModel(dir, { device: 'cpu' });
    await model.release();
    expect(model.io.unetTakesResiduals).toBe(false);
  });

  it('names what is missing or wrong', async () => {
    const dir = await writeFolder('broken', { ids: 'int32', ts: 'int64', tsShape: [1], float: 'float32', channels: 4 });
    await rm(join(dir, 'vae_decoder'), { recursive: true });
    await expect(openModel(dir, { device: 'cpu' })).rejects.toThrow(/broken: not an ONNX Stable Diffusion folder \(missing vae_decoder\/model\.onnx\)/);
    const torch = join(tmp.path, 'torch');
    await mkdir(join(torch, 'unet'), { recursive: true });
    await writeFile(join(torch, 'unet', 'diffusion_pytorch_model.safetensors'), '');
    await expect(openModel(torch, { device: 'cpu' })).rejects.toThrow(/is a diffusers PyTorch folder/);
    const wrong = await writeFolder('sdxl-ish', { ids: 'int32', ts: 'int64', tsShape: [1], float: 'float32', channels: 4 });
    await writeFile(join(wrong, 'text_encoder', 'model.onnx'), fixtureModel([io('input_ids', 'float32', [1, 77])], [io('last_hidden_state', 'float32', [1, 77, 768])]));
    await expect(openModel(wrong, { device: 'cpu' })).rejects.toThrow(/text_encoder: input_ids is float32, expected int32 or int64/);
  });

  it('a folder exported from the tiny checkpoint runs and matches the reference', async () => {
    const cacheDir = join(tmp.path, 'cache');
    const built = await buildCheckpoint(join(golden, 'tiny-sd15', 'tiny-sd15.safetensors'), sd1Plans('fp32'), { cacheDir }, 'checkpoint');
    const dir = join(tmp.path, 'exported');
    for (const c of ['text_encoder', 'unet', 'vae_decoder', 'vae_encoder']) {
      await mkdir(join(dir, c), { recursive: true });
      await copyFile(join(built.dir, `${c}.onnx`), join(dir, c, 'model.onnx'));
      // The graph names its external data file; it must sit next to model.onnx.
      await copyFile(join(built.dir, `${c}.onnx.data`), join(dir, c, `${c}.onnx.data`));
    }
    await withTokenizer(dir);
    const model = await openModel(dir, { device: 'cpu' });
    try {
      const cases = JSON.parse(readFileSync(join(golden, 'components', 'case.json'), 'utf8')).cases;
      const item = cases.text_encoder.items[2];
      const ids = model.tokenizer.encodePadded(item.prompt);
      expect(Array.from(ids)).toEqual(item.input_ids);
      // Through the pipeline's own call: the built graphs also take (idle) LoRA and added-token inputs.
      const actual = await encodeText(ort, model, Array.from(ids));
      const expected = parseNpy(new Uint8Array(await readFile(join(golden, 'components', item.last_hidden_state)))).data as Float32Array;
      expect(Math.max(...actual.map((v, i) => Math.abs(v - expected[i])))).toBeLessThan(1e-4);
    } finally {
      await model.release();
    }
  });
});

describe('openControlNet on ONNX', () => {
  it('reads a ControlNet folder', async () => {
    const dir = join(tmp.path, 'cn');
    await mkdir(dir);
    const f = 'float16' as const;
    await writeFile(
      join(dir, 'model.onnx'),
      fixtureModel(
        [io('sample', f, ['b', 4, 'h', 'w']), io('timestep', 'int64', ['b']), io('encoder_hidden_states', f, ['b', 77, 768]), io('controlnet_cond', f, ['b', 3, 'H', 'W']), io('conditioning_scale', 'float64', [])],
        [...Array.from({ length: 12 }, (_, i) => io(`down_block_${i}_additional_residual`, f, ['b', 320, 'h', 'w'])), io('mid_block_additional_residual', f, ['b', 1280, 'h', 'w'])],
      ),
    );
    const cn = await openControlNet(dir, { device: 'cpu' });
    await cn.release();
    expect(cn.io).toMatchObject({ cond: 'controlnet_cond', floatType: 'float16', scale: { name: 'conditioning_scale', type: 'float64', rank: 0 } });
  });
});

// Opening a model fast: ONNX Runtime's optimised graphs stored beside the build and reused (keyed by provider,
// rebuilt when damaged, giving the same outputs), and the VAE encoder created only by a job that encodes.
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { graphIoMetadata } from '@kirie/core/models/graph-io';
import { decodeLatents, encodeImageMean, encodeText, predictNoise, zeroResiduals } from '@kirie/core/pipeline/models';
import { generateFromRequest } from '@kirie/core/pipeline/request';
import { parseGenerateRequest } from '@kirie/core/request/parse';
import type { RasterImage } from '@kirie/core/image/png';
import { buildCheckpoint, openModel, sd1Plans, type LoadedModel } from '../../src/models/load.js';
import { LazySession } from '../../src/models/lazy-session.js';
import { openBuiltSession, optimizedEntry, optimizedKey, storeOptimized } from '../../src/models/optimized.js';
import { createSession } from '../../src/runtime/session.js';
import { tempDirPerFile } from './temp-dir.js';

const TINY = join(import.meta.dirname, '../../../tests/golden/tiny-sd15/tiny-sd15.safetensors');
const cache = tempDirPerFile('kirie-optimized-');
const COMPONENTS = ['text_encoder', 'unet', 'vae_decoder', 'vae_encoder'] as const;
type Component = (typeof COMPONENTS)[number];

async function builtDir(): Promise<string> {
  return (await buildCheckpoint(TINY, sd1Plans('fp32'), { cacheDir: cache.path }, 'checkpoint')).dir;
}

/** The stored optimised-graph folders, by component. */
async function entries(dir: string): Promise<Map<string, string>> {
  const names = (await readdir(join(dir, 'ort')).catch(() => [] as string[])).filter((n) => !n.startsWith('.'));
  return new Map(names.map((n) => [n.slice(0, n.lastIndexOf('-')), join(dir, 'ort', n)]));
}

/** Every network's output on fixed inputs, through the pipeline's own calls. */
async function outputs(model: LoadedModel): Promise<Float32Array[]> {
  const ids = Array.from(model.tokenizer.encodePadded('a red fox in the snow'));
  const hidden = await encodeText(ort, model, ids);
  const dims = [1, 4, 8, 8];
  const latents = Float32Array.from({ length: 256 }, (_, i) => Math.sin(i * 0.37));
  const context = { data: hidden, dims: [1, ids.length, hidden.length / ids.length] };
  const noise = await predictNoise(ort, model, { data: latents, dims }, 500, context, zeroResiduals(model, dims));
  const image = await decodeLatents(ort, model, { data: latents, dims });
  const mean = await encodeImageMean(ort, model, { data: image, dims: [1, 3, 64, 64] });
  return [hidden, noise, image, mean];
}

/** The same model with every session created as before stored optimised graphs: from the built graph, optimised at load. */
async function todaysSessions(model: LoadedModel, dir: string): Promise<LoadedModel> {
  const open = async (c: Component) => (await createSession(join(dir, `${c}.onnx`), { device: 'cpu' })).session;
  return { ...model, textEncoder: await open('text_encoder'), unet: await open('unet'), vaeDecoder: await open('vae_decoder'), vaeEncoder: await open('vae_encoder') };
}

async function releaseSessions(model: LoadedModel): Promise<void> {
  await Promise.all([model.textEncoder, model.unet, model.vaeDecoder, model.vaeEncoder].map((s) => s?.release()));
}

function expectSameOutputs(actual: Float32Array[], expected: Float32Array[]): void {
  expect(actual.map((a) => a.length)).toEqual(expected.map((e) => e.length));
  // Bit for bit: the stored graph is what ONNX Runtime would have run anyway.
  actual.forEach((a, i) => expect(Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(expected[i].buffer, expected[i].byteOffset, expected[i].byteLength))).toBe(true));
}

describe('stored optimised graphs', () => {
  it('are written by the first open, reused by the next, and give exactly what the unstored sessions give', async () => {
    const logs: string[] = [];
    const cold = await openModel(TINY, { device: 'cpu', cacheDir: cache.path, log: (m) => logs.push(m) });
    const dir = await builtDir();
    let today: LoadedModel | undefined;
    try {
      // txt2img's sessions were stored; the VAE encoder has not been created yet.
      const stored = await entries(dir);
      expect([...stored.keys()].sort()).toEqual(['text_encoder', 'unet', 'vae_decoder']);
      today = await todaysSessions(cold, dir);
      const expected = await outputs(today);
      expectSameOutputs(await outputs(cold), expected);
      expect([...(await entries(dir)).keys()].sort()).toEqual(['text_encoder', 'unet', 'vae_decoder', 'vae_encoder']);

      const before = new Map(await Promise.all([...(await entries(dir))].map(async ([c, p]) => [c, (await stat(join(p, 'model.onnx'))).ino] as const)));
      const warm = await openModel(TINY, { device: 'cpu', cacheDir: cache.path, log: (m) => logs.push(m) });
      try {
        expectSameOutputs(await outputs(warm), expected);
      } finally {
        await warm.release();
      }
      // Reused as they were: nothing rewritten, nothing logged.
      const after = new Map(await Promise.all([...(await entries(dir))].map(async ([c, p]) => [c, (await stat(join(p, 'model.onnx'))).ino] as const)));
      expect(after).toEqual(before);
      expect(logs).toEqual([]);
      for (const c of COMPONENTS) expect((await openBuiltSessionOrigin(join(dir, `${c}.onnx`)))).toBe('reused');
    } finally {
      await cold.release();
      if (today) await releaseSessions(today);
    }
  });

  it('are stored ahead of the first open by `kirie models build` (storeOptimized): that open optimises nothing', async () => {
    const cacheDir = join(cache.path, 'built-ahead');
    const built = await buildCheckpoint(TINY, sd1Plans('fp32'), { cacheDir }, 'checkpoint');
    const graphs = COMPONENTS.map((c) => join(built.dir, built.models[c]!));
    expect((await storeOptimized(graphs, { device: 'cpu' })).map((s) => s.origin)).toEqual(['stored', 'stored', 'stored', 'stored']);
    const inodes = async () => new Map(await Promise.all([...(await entries(built.dir))].map(async ([c, p]) => [c, (await stat(join(p, 'model.onnx'))).ino] as const)));
    const before = await inodes();
    expect([...before.keys()].sort()).toEqual([...COMPONENTS]);
    const model = await openModel(TINY, { device: 'cpu', cacheDir });
    try {
      await encodeImageMean(ort, model, { data: new Float32Array(3 * 64 * 64), dims: [1, 3, 64, 64] });
    } finally {
      await model.release();
    }
    expect(await inodes()).toEqual(before);
    expect((await storeOptimized(graphs, { device: 'cpu' })).map((s) => s.origin)).toEqual(['reused', 'reused', 'reused', 'reused']);
  });

  it('are keyed by provider: another provider never finds the CPU provider\'s graph', async () => {
    const dir = await builtDir();
    const graph = join(dir, 'unet.onnx');
    await openBuiltSessionOrigin(graph);
    const cpu = await optimizedEntry(graph, 'cpu');
    const webgpu = await optimizedEntry(graph, 'webgpu');
    expect(existsSync(join(cpu.entry, 'model.onnx'))).toBe(true);
    expect(webgpu.key).not.toBe(cpu.key);
    expect(existsSync(webgpu.entry)).toBe(false);
    // Thread counts do not change what the optimiser writes: one entry serves every count.
    expect((await optimizedEntry(graph, 'cpu', 1)).key).toBe((await optimizedEntry(graph, 'cpu', 7)).key);
    // What does change it: the optimisation level and other shaping options, the graph, its weights file.
    const bytes = await readFile(graph);
    expect(optimizedKey(bytes, 100, 'cpu', { ...cpu.options, graphOptimizationLevel: 'extended' })).not.toBe(optimizedKey(bytes, 100, 'cpu', cpu.options));
    expect(optimizedKey(bytes.subarray(1), 100, 'cpu', cpu.options)).not.toBe(optimizedKey(bytes, 100, 'cpu', cpu.options));
    expect(optimizedKey(bytes, 101, 'cpu', cpu.options)).not.toBe(optimizedKey(bytes, 100, 'cpu', cpu.options));
  });

  it('under another key are removed when a component is stored again (another ORT version, other options)', async () => {
    const dir = await builtDir();
    const stale = join(dir, 'ort', `unet-${'0'.repeat(32)}`);
    await mkdir(stale, { recursive: true });
    await writeFile(join(stale, 'model.onnx'), 'from an older ONNX Runtime');
    const { entry } = await optimizedEntry(join(dir, 'unet.onnx'), 'cpu');
    await rm(entry, { recursive: true, force: true });
    const others = [...(await entries(dir))].filter(([c]) => c !== 'unet');
    expect(await openBuiltSessionOrigin(join(dir, 'unet.onnx'))).toBe('stored');
    expect(existsSync(stale)).toBe(false);
    expect(existsSync(entry)).toBe(true);
    // Other components' graphs stay.
    for (const [, path] of others) expect(existsSync(path)).toBe(true);
  });

  const damages: [string, (entry: string) => Promise<void>, RegExp][] = [
    ['a graph with flipped bytes', async (e) => {
      const bytes = await readFile(join(e, 'model.onnx'));
      for (let i = 0; i < bytes.length; i += 97) bytes[i] ^= 0xff;
      await writeFile(join(e, 'model.onnx'), bytes);
    }, /damaged \(model\.onnx does not match its checksum\)/],
    ['truncated weights', (e) => truncate(join(e, 'model.onnx.data'), 1000), /damaged \(model\.onnx\.data is 1000 bytes/],
    ['a manifest that is not JSON', (e) => writeFile(join(e, 'manifest.json'), '{"format": "kirie-ort'), /damaged \(its manifest is not JSON\)/],
    ['a graph ONNX Runtime cannot load, listed in a consistent manifest', async (e) => {
      const garbage = new TextEncoder().encode('not an onnx model');
      await writeFile(join(e, 'model.onnx'), garbage);
      const manifest = JSON.parse(await readFile(join(e, 'manifest.json'), 'utf8'));
      manifest.files['model.onnx'] = garbage.length;
      manifest.graphSha256 = createHash('sha256').update(garbage).digest('hex');
      await writeFile(join(e, 'manifest.json'), JSON.stringify(manifest));
    }, /does not load/],
  ];
  for (const [what, damage, message] of damages) {
    it(`are rebuilt, with a log line, from ${what}`, async () => {
      const dir = await builtDir();
      const graph = join(dir, 'vae_decoder.onnx');
      await openBuiltSessionOrigin(graph);
      const { entry } = await optimizedEntry(graph, 'cpu');
      await damage(entry);
      const logs: string[] = [];
      const rebuilt = await openBuiltSession(graph, { device: 'cpu', log: (m) => logs.push(m) });
      try {
        expect(rebuilt.origin).toBe('stored');
        expect(logs).toHaveLength(1);
        expect(logs[0]).toMatch(message);
        expect(logs[0]).toContain('optimising vae_decoder.onnx again');
        const latent = new ort.Tensor('float32', new Float32Array(256).fill(0.5), [1, 4, 8, 8]);
        const out = await rebuilt.session.run({ latent_sample: latent });
        expect(out.sample.dims).toEqual([1, 3, 64, 64]);
      } finally {
        await rebuilt.session.release();
      }
      expect(await openBuiltSessionOrigin(graph)).toBe('reused');
    });
  }

  it('still open, with a log line, where nothing can be stored', async () => {
    const dir = await builtDir();
    await rm(join(dir, 'ort'), { recursive: true, force: true });
    // A file where the folder of stored graphs would go: as unwritable as a read-only cache, even for root.
    await writeFile(join(dir, 'ort'), 'in the way');
    const logs: string[] = [];
    try {
      const opened = await openBuiltSession(join(dir, 'vae_decoder.onnx'), { device: 'cpu', log: (m) => logs.push(m) });
      try {
        expect(opened.origin).toBe('not stored');
        const out = await opened.session.run({ latent_sample: new ort.Tensor('float32', new Float32Array(256).fill(0.5), [1, 4, 8, 8]) });
        expect(out.sample.dims).toEqual([1, 3, 64, 64]);
      } finally {
        await opened.session.release();
      }
      expect(logs).toHaveLength(1);
      expect(logs[0]).toMatch(/vae_decoder\.onnx: ONNX Runtime could not store its optimised graph \(.+\); opening it without storing/);
    } finally {
      await rm(join(dir, 'ort'), { force: true });
    }
  });
});

/** Opens and releases `graph` on the CPU; says where the session came from. */
async function openBuiltSessionOrigin(graph: string): Promise<string> {
  const { session, origin } = await openBuiltSession(graph, { device: 'cpu' });
  await session.release();
  return origin;
}

describe('sessions a job does not need', () => {
  const S = 64;
  const init: RasterImage = { width: S, height: S, channels: 3, data: Uint8Array.from({ length: S * S * 3 }, (_, i) => (i * 7) % 256) };

  it('the VAE encoder is described from its file and created by the first img2img, never by txt2img', async () => {
    const model = await openModel(TINY, { device: 'cpu', cacheDir: cache.path });
    try {
      const encoder = model.vaeEncoder;
      expect(encoder).toBeInstanceOf(LazySession);
      expect((encoder as LazySession).opened).toBe(false);
      expect(model.io.names.vaeEncoder).toEqual({ image: 'sample', latent: 'latent_parameters' });
      const run = (extra: object) =>
        generateFromRequest(parseGenerateRequest({ prompt: 'a red fox', width: S, height: S, steps: 2, scheduler: 'ddim', seed: 1, ...extra }), {
          ort,
          model,
          controlNet: () => Promise.reject(new Error('no ControlNet in this job')),
          image: async () => init,
        });
      await run({});
      expect((encoder as LazySession).opened).toBe(false);
      await run({ initImage: 'init', strength: 0.5 });
      expect((encoder as LazySession).opened).toBe(true);
    } finally {
      await model.release();
    }
  });

  it('a graph described from its file reads as ONNX Runtime describes the session', async () => {
    const dir = await builtDir();
    for (const c of COMPONENTS) {
      const graph = join(dir, `${c}.onnx`);
      const { session } = await createSession(graph, { device: 'cpu' });
      try {
        const described = graphIoMetadata(await readFile(graph));
        expect(described.inputMetadata).toEqual(session.inputMetadata);
        expect(described.inputNames).toEqual(session.inputNames);
        expect(described.outputNames).toEqual(session.outputNames);
        // Outputs: ONNX Runtime reports a dimension its shape inference resolved (the UNet's DeepCache feature
        // channels) as a number where the file declares a name; everything else is as declared.
        described.outputMetadata.forEach((m, i) => {
          const actual = session.outputMetadata[i]!;
          expect({ ...m, shape: undefined }).toEqual({ ...actual, shape: undefined });
          if (!m.isTensor || !actual.isTensor) return;
          expect(m.shape.map((d, j) => (typeof d === 'string' && typeof actual.shape[j] === 'number' ? actual.shape[j] : d))).toEqual(actual.shape);
        });
      } finally {
        await session.release();
      }
    }
  });
});

// The models folder as the bridge lists it (kinds read from the weights, not names), ids, defaults,
// and the LRU that keeps loaded sessions under the memory budget.
import { spawnSync } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classifyModel } from '../../src/registry/classify.js';
import { LruCache } from '../../src/registry/lru.js';
import { FolderRegistry, modelPath, type ModelClassifier } from '../../src/registry/registry.js';

const GOLDEN = resolve(import.meta.dirname, '../../../tests/golden/tiny-sd15');
let dir: string;
let registry: FolderRegistry;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kirie-registry-'));
  await copyFile(join(GOLDEN, 'tiny-sd15.safetensors'), join(dir, 'tiny.safetensors'));
  await mkdir(join(dir, 'inpaint', 'sd15'), { recursive: true });
  await copyFile(join(GOLDEN, 'tiny-sd15-inpainting.safetensors'), join(dir, 'inpaint', 'sd15', 'tiny-inpainting.safetensors'));
  await copyFile(join(GOLDEN, 'tiny-controlnet.safetensors'), join(dir, 'pose-controlnet.safetensors'));
  for (const sub of ['text_encoder', 'unet', 'vae_decoder']) {
    await mkdir(join(dir, 'onnx-model', sub), { recursive: true });
    await writeFile(join(dir, 'onnx-model', sub, 'model.onnx'), 'x');
  }
  await writeFile(join(dir, 'notes.txt'), 'not a model');
  await writeFile(join(dir, 'garbage.safetensors'), 'not a safetensors file');
  await writeFile(join(dir, '.hidden.safetensors'), 'skipped');
  registry = new FolderRegistry({ dir, classify: classifyModel, notes: { 'tiny.safetensors': 'random weights' } });
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('FolderRegistry', () => {
  it('lists each model with the kind its weights say, checkpoints first', async () => {
    const models = await registry.list('tiny.safetensors');
    expect(models.map((m) => [m.id, m.kind, m.loaded])).toEqual([
      ['tiny.safetensors', 'checkpoint', true],
      ['onnx-model', 'onnx', false],
      ['inpaint/sd15/tiny-inpainting.safetensors', 'inpaint', false],
      ['pose-controlnet.safetensors', 'controlnet', false],
    ]);
    expect(models[0]).toMatchObject({ name: 'tiny', note: 'random weights' });
    expect(models[0]!.sizeBytes).toBeGreaterThan(20e6);
  });

  it.each([
    ['default', 'tiny.safetensors'],
    ['pose-controlnet.safetensors', 'pose-controlnet.safetensors'],
    ['inpaint/sd15/tiny-inpainting.safetensors', 'inpaint/sd15/tiny-inpainting.safetensors'],
  ])('resolves %s', async (id, expected) => {
    expect((await registry.resolve(id, 'model')).id).toBe(expected);
  });

  it('resolves only what it lists: hidden files are unknown, files that are no model say so', async () => {
    await expect(registry.resolve('.hidden.safetensors', 'model')).rejects.toMatchObject({ code: 'unknown_model' });
    for (const id of ['notes.txt', 'inpaint', 'inpaint/sd15']) {
      await expect(registry.resolve(id, 'model')).rejects.toMatchObject({ code: 'unsupported_model', field: 'model', message: `model "${id}" is not a model Kirie can run (\`kirie models info\` says what it looks like)` });
    }
  });

  it('reports a damaged model as damaged, in the user\'s terms, without the folder\'s path', async () => {
    const err = (await registry.resolve('garbage.safetensors', 'model').catch((e: unknown) => e)) as Error;
    expect(err).toMatchObject({ status: 400, code: 'damaged_model', field: 'model', message: expect.stringMatching(/^model "garbage\.safetensors" is damaged: \S/) });
    expect(err.message).not.toContain(dir);
  });

  it('names the field and the known models for an unknown id', async () => {
    await expect(registry.resolve('sdxl.safetensors', 'control.0.model')).rejects.toMatchObject({
      status: 400,
      field: 'control.0.model',
      message: expect.stringContaining('known models: tiny.safetensors, onnx-model'),
    });
  });

  it('says how to get a model when the folder has none', async () => {
    const empty = new FolderRegistry({ dir: join(dir, 'missing'), classify: classifyModel });
    expect(await empty.list(null)).toEqual([]);
    await expect(empty.resolve('default', 'model')).rejects.toMatchObject({ code: 'no_model', message: expect.stringContaining('kirie models random') });
  });

  it.each(['../token', 'a/../../b', '/etc/passwd', 'a//b', '.'])('refuses %j as a model path', (id) => {
    expect(() => modelPath(dir, id)).toThrow(/is not a model id/);
  });
});

describe('a models folder that stops answering', () => {
  it.runIf(process.platform !== 'win32')('answers 503, reports slow then stuck, holds one file-I/O thread at most, and recovers', async () => {
    const folder = await mkdtemp(join(tmpdir(), 'kirie-stuck-'));
    await writeFile(join(folder, 'a.safetensors'), 'x');
    const fifo = join(folder, 'pipe');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    // A read that blocks in libuv's thread pool as one of a dead network drive does: opening a FIFO
    // waits for a writer.
    let released = false;
    const hanging: ModelClassifier = async () => {
      if (!released) await (await open(fifo, 'r')).close();
      return 'checkpoint';
    };
    const stuck = new FolderRegistry({ dir: folder, classify: hanging, readTimeoutMs: 800 });
    const seen = new Set([stuck.health()]);
    const watch = setInterval(() => seen.add(stuck.health()), 10);
    // Six requests at once: with a thread each they would hold every thread of the pool (4) for good.
    const reads = await Promise.all(Array.from({ length: 6 }, () => stuck.list(null).catch((e: unknown) => e)));
    // The refusals and the last sample can fall in the same tick: sample once more before stopping.
    seen.add(stuck.health());
    clearInterval(watch);
    for (const err of reads) expect(err).toMatchObject({ status: 503, code: 'models_folder_stuck', message: expect.stringContaining('the models folder has not answered for 0.8 s') });
    expect([...seen]).toEqual(['ok', 'slow', 'stuck']);
    expect(stuck.health()).toBe('stuck');
    // Uploads, results and records still get their threads.
    expect((await Promise.all(Array.from({ length: 8 }, () => readFile(join(folder, 'a.safetensors'), 'utf8')))).join('')).toBe('x'.repeat(8));
    // The drive answers again: the held read returns, health recovers, the folder lists.
    released = true;
    const writer = openSync(fifo, 'r+');
    try {
      while (stuck.health() !== 'ok') await new Promise((r) => setTimeout(r, 10));
      expect((await stuck.list(null)).map((m) => m.id)).toEqual(['a.safetensors']);
    } finally {
      closeSync(writer);
      await rm(folder, { recursive: true, force: true });
    }
  });
});

describe('LruCache', () => {
  it.each([
    // budget, [key, bytes] set in order with 'get:k' reads between, keys kept, keys disposed
    [100, [['a', 40], ['b', 40], ['c', 40]], ['b', 'c'], ['a']],
    [100, [['a', 40], ['b', 40], 'get:a', ['c', 40]], ['a', 'c'], ['b']],
    [100, [['a', 60], ['b', 60], ['c', 10]], ['b', 'c'], ['a']],
    [50, [['a', 10], ['big', 80]], ['big'], ['a']],
    [100, [['a', 40], ['a', 50]], ['a'], ['a']],
    // 'pin:k' keeps k from eviction (the running job uses it), even over budget
    [100, ['pin:a', ['a', 60], ['b', 60], ['c', 10]], ['a', 'c'], ['b']],
    [100, ['pin:a', 'pin:b', ['a', 60], ['b', 60]], ['a', 'b'], []],
  ] as const)('budget %i: %j → keeps %j', async (budget, steps, kept, disposed) => {
    const gone: string[] = [];
    const pinned = new Set<string>();
    const cache = new LruCache<string, string>(budget, (k) => void gone.push(k));
    for (const step of steps) {
      if (typeof step === 'string' && step.startsWith('pin:')) pinned.add(step.slice(4));
      else if (typeof step === 'string') cache.get(step.slice(4));
      else await cache.set(step[0], `${step[0]}${step[1]}`, step[1], pinned);
    }
    expect(cache.keys()).toEqual(kept);
    expect(gone).toEqual(disposed);
  });
});

describe('model families in the listing', () => {
  it('lists SDXL checkpoints (and their 9-channel inpainting variant) with family sdxl, SD1.x ones with sd1, ControlNets without one', async () => {
    const own = await mkdtemp(join(tmpdir(), 'kirie-families-'));
    try {
      await copyFile(join(GOLDEN, 'tiny-sdxl.safetensors'), join(own, 'xl.safetensors'));
      await copyFile(join(GOLDEN, 'tiny-sdxl-inpainting.safetensors'), join(own, 'xl-inpainting.safetensors'));
      await copyFile(join(GOLDEN, 'tiny-sd15.safetensors'), join(own, 'sd15.safetensors'));
      await copyFile(join(GOLDEN, 'tiny-controlnet.safetensors'), join(own, 'cn.safetensors'));
      const models = await new FolderRegistry({ dir: own, classify: classifyModel }).list(null);
      expect(models.map((m) => [m.id, m.kind, m.family])).toEqual([
        ['sd15.safetensors', 'checkpoint', 'sd1'],
        ['xl.safetensors', 'checkpoint', 'sdxl'],
        ['xl-inpainting.safetensors', 'inpaint', 'sdxl'],
        ['cn.safetensors', 'controlnet', undefined],
      ]);
    } finally {
      await rm(own, { recursive: true, force: true });
    }
  });
});

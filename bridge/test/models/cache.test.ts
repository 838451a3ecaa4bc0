import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { build as esbuild } from 'esbuild';
import { mkdir, mkdtemp, readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildComponent } from '@kirie/core/models/build';
import { buildIntoCache, cacheKey, lookup, type Builder, type ComponentPlan } from '../../src/models/cache.js';
import { openCheckpoint, type OpenedCheckpoint } from '../../src/models/checkpoint.js';

const golden = new URL('../../../tests/golden/tiny-sd15/', import.meta.url).pathname;
const plans: ComponentPlan[] = [
  { component: 'text_encoder', options: { precision: 'fp32', clipSkip: 1 }, external: true },
  { component: 'vae_decoder', options: { precision: 'fp32' }, external: true },
];

let root: string;
let cacheDir: string;
let ckpt: OpenedCheckpoint;
let key: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'kirie-cache-'));
  ckpt = await openCheckpoint(join(golden, 'tiny-sd15.safetensors'));
  key = await cacheKey(ckpt.file, plans, ckpt.sidecarText);
});
afterAll(async () => {
  await ckpt.file.close();
  await rm(root, { recursive: true, force: true });
});
beforeEach(async () => {
  cacheDir = await mkdtemp(join(root, 'c-'));
});

const build = (builder?: Builder) => buildIntoCache({ cacheDir, key, source: ckpt.file, arch: ckpt.arch, plans, build: builder });

describe('cache key', () => {
  it('is stable and depends on the plans, the sidecar and the content', async () => {
    expect(await cacheKey(ckpt.file, plans, ckpt.sidecarText)).toBe(key);
    expect(key).toMatch(/^[0-9a-f]{32}$/);
    expect(await cacheKey(ckpt.file, [{ ...plans[0], options: { precision: 'fp16' } }], ckpt.sidecarText)).not.toBe(key);
    expect(await cacheKey(ckpt.file, plans, `${ckpt.sidecarText}\n# edited`)).not.toBe(key);
    const inpaint = await openCheckpoint(join(golden, 'tiny-sd15-inpainting.safetensors'));
    expect(await cacheKey(inpaint.file, plans, ckpt.sidecarText)).not.toBe(key);
    await inpaint.file.close();
  });
});

describe('buildIntoCache', () => {
  it('writes graphs, external data and a manifest that lookup trusts', async () => {
    const { dir, manifest } = await build();
    expect(dir).toBe(join(cacheDir, key));
    expect(manifest.models).toEqual({ text_encoder: 'text_encoder.onnx', vae_decoder: 'vae_decoder.onnx' });
    expect(Object.keys(manifest.files).sort()).toEqual(['text_encoder.onnx', 'text_encoder.onnx.data', 'vae_decoder.onnx', 'vae_decoder.onnx.data']);
    expect(manifest.files['text_encoder.onnx.data']).toBeGreaterThan(manifest.files['text_encoder.onnx']);
    expect(await lookup(cacheDir, key)).toEqual({ dir, manifest });
    const session = await ort.InferenceSession.create(join(dir, 'vae_decoder.onnx'));
    expect(session.inputNames).toEqual(['latent_sample']);
    await session.release();
  });

  it('a build that fails half-way leaves nothing a later start trusts, and the next build succeeds', async () => {
    let calls = 0;
    const failing: Builder = async (component, source, arch, options) => {
      if (++calls === 2) {
        // Some weights already streamed into the external file, then the disk fills up.
        await options.externalData!.write(new Uint8Array(1000));
        throw new Error('ENOSPC: no space left on device');
      }
      return buildComponent(component, source, arch, options);
    };
    await expect(build(failing)).rejects.toThrow(/ENOSPC/);
    expect(await readdir(cacheDir)).toEqual([]);
    expect(await lookup(cacheDir, key)).toBeNull();
    expect((await build()).manifest.models.vae_decoder).toBe('vae_decoder.onnx');
  });

  it('a process killed mid-build leaves a temp folder that is ignored and removed', async () => {
    // A pid that certainly no longer runs: a child that has exited.
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
    const abandoned = join(cacheDir, `.tmp-${key}-${dead}-deadbeef`);
    await mkdir(abandoned);
    await writeFile(join(abandoned, 'text_encoder.onnx.data'), new Uint8Array(4096));
    // Crash between the data and the manifest: no manifest, so nothing is trusted.
    expect(await lookup(cacheDir, key)).toBeNull();
    await build();
    expect((await readdir(cacheDir)).sort()).toEqual([key]);
  });

  it('two builds of the same checkpoint at once both succeed and leave one folder', async () => {
    const [a, b] = await Promise.all([build(), build()]);
    expect(a.manifest).toEqual(b.manifest);
    expect(await readdir(cacheDir)).toEqual([key]);
  });

  it('a build process killed mid-way (SIGKILL) leaves nothing trusted, and the next build succeeds', async () => {
    // The child is this repo's cache code bundled by esbuild (tests have no TS runner for child processes),
    // placed under node_modules so its external packages resolve.
    const entry = fileURLToPath(new URL('../../../node_modules/.cache/kirie-test/kill-build.mjs', import.meta.url));
    const child = `
      import { buildIntoCache } from '../../src/models/cache.js';
      import { openCheckpoint } from '../../src/models/checkpoint.js';
      import { buildComponent } from '@kirie/core/models/build';
      const [cacheDir, key, plans] = [process.argv[2], process.argv[3], JSON.parse(process.argv[4])];
      const ckpt = await openCheckpoint(process.argv[5]);
      let built = 0;
      await buildIntoCache({ cacheDir, key, source: ckpt.file, arch: ckpt.arch, plans, build: async (...args) => {
        if (built++ === 1) { process.stdout.write('HALFWAY\\n'); await new Promise(() => setInterval(() => {}, 1000)); }
        return buildComponent(...args);
      } });`;
    await esbuild({
      stdin: { contents: child, resolveDir: fileURLToPath(new URL('.', import.meta.url)), loader: 'ts' },
      bundle: true,
      platform: 'node',
      format: 'esm',
      outfile: entry,
      logLevel: 'error',
      plugins: [{ name: 'external', setup: (b) => b.onResolve({ filter: /^[^./]/ }, (a) => (a.path.startsWith('@kirie/') ? undefined : { path: a.path, external: true })) }],
    });
    const proc = spawn(process.execPath, [entry, cacheDir, key, JSON.stringify(plans), join(golden, 'tiny-sd15.safetensors')], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      proc.stdout.on('data', (d) => String(d).includes('HALFWAY') && resolve());
      proc.on('exit', (code) => reject(new Error(`child exited early (${code})`)));
    });
    proc.kill('SIGKILL');
    await new Promise((resolve) => proc.once('exit', resolve));
    const left = await readdir(cacheDir);
    expect(left).toHaveLength(1);
    expect(left[0]).toMatch(new RegExp(`^\\.tmp-${key}-${proc.pid}-`));
    expect(await readdir(join(cacheDir, left[0]))).toContain('text_encoder.onnx');
    expect(await lookup(cacheDir, key)).toBeNull();
    await build();
    expect(await readdir(cacheDir)).toEqual([key]);
  });

  it('a cached folder whose files were damaged is not trusted and is rebuilt', async () => {
    const { dir, manifest } = await build();
    await truncate(join(dir, 'text_encoder.onnx.data'), 100);
    expect(await lookup(cacheDir, key)).toBeNull();
    const rebuilt = await build();
    expect(rebuilt.manifest.files).toEqual(manifest.files);
    // A manifest from another builder version is not trusted either.
    const text = await readFile(join(dir, 'manifest.json'), 'utf8');
    await writeFile(join(dir, 'manifest.json'), text.replace(/"builder": "[^"]+"/, '"builder": "old"'));
    expect(await lookup(cacheDir, key)).toBeNull();
  });
});

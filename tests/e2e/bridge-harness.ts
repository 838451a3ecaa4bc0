// A real bridge for end-to-end tests: the worker bundled by esbuild exactly as `kirie serve` runs it,
// the tiny random-weight demo model written by the project's own tool, a random port, temp folders.
import { build, type Plugin } from 'esbuild';
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import WebSocket from 'ws';
import { KirieClient } from '@kirie/core/client/client';
import type { WebSocketConstructorLike } from '@kirie/core/client/transport';
import { writeRandomCheckpoint } from '../../bridge/src/models/random.js';
import { classifyModel } from '../../bridge/src/registry/classify.js';
import { FolderRegistry } from '../../bridge/src/registry/registry.js';
import type { Limits } from '../../bridge/src/server/limits.js';
import { bridgePaths } from '../../bridge/src/server/paths.js';
import { startBridge, type RunningBridge } from '../../bridge/src/server/start.js';
import { ProcessRunner } from '../../bridge/src/worker/process-runner.js';
import { onBridgePort } from '../../bridge/test/server/harness.js';
import { KIRIE_VERSION } from '../../bridge/src/version.js';

export const ROOT = resolve(import.meta.dirname, '../..');
export const DEMO = 'demo-tiny.safetensors';
// Built graphs are cached across test runs (the folder is git-ignored), so only the first run builds.
const CACHE = join(ROOT, '.kirie-cache');

// Same rule as esbuild.config.mjs: npm packages load from node_modules, @kirie/* is bundled.
export const externalNpm: Plugin = {
  name: 'external-npm',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) => (args.path.startsWith('@kirie/') ? undefined : { path: args.path, external: true }));
  },
};

export async function bundleWorker(outdir: string): Promise<string> {
  const outfile = join(outdir, 'worker.mjs');
  await build({ entryPoints: [join(ROOT, 'bridge/src/worker/main.ts')], outfile, bundle: true, platform: 'node', format: 'esm', target: 'node20', plugins: [externalNpm], logLevel: 'error' });
  return outfile;
}

export async function bundlePlayground(outdir: string): Promise<void> {
  await build({ entryPoints: [join(ROOT, 'bridge/src/playground/app.ts')], outfile: join(outdir, 'app.js'), bundle: true, platform: 'browser', format: 'esm', target: 'es2022', logLevel: 'error' });
  for (const f of ['index.html', 'style.css']) await copyFile(join(ROOT, 'bridge/src/playground', f), join(outdir, f));
}

export interface E2eBridge extends RunningBridge {
  home: string;
  client: KirieClient;
  modelsDir: string;
  dispose(): Promise<void>;
}

/** `portInRange`: on a port the plugins' panels accept (see onBridgePort), for tests that drive a panel. */
/** Copies a tiny golden model (`tiny-sd15`, `tiny-sdxl`, `tiny-controlnet`…) and its YAML sidecar, which says it is tiny, into the models folder as `as`. */
export async function addTinyModel(modelsDir: string, name: string, as: string): Promise<void> {
  for (const ext of ['safetensors', 'yaml']) await copyFile(join(ROOT, 'tests/golden/tiny-sd15', `${name}.${ext}`), join(modelsDir, `${as}.${ext}`));
}

export async function startE2eBridge(options: { limits?: Partial<Limits>; playground?: boolean; cancelGraceMs?: number; portInRange?: boolean } = {}): Promise<E2eBridge> {
  const home = await mkdtemp(join(tmpdir(), 'kirie-e2e-'));
  const paths = bridgePaths({ home });
  await mkdir(paths.models, { recursive: true });
  await writeRandomCheckpoint({ arch: 'tiny', kind: 'sd15', seed: 0, out: join(paths.models, DEMO) });
  // Where `kirie serve` keeps it (bridge/dist): npm imports resolve from node_modules, assets from bridge/.
  await mkdir(join(ROOT, 'bridge/dist'), { recursive: true });
  const bundleDir = await mkdtemp(join(ROOT, 'bridge/dist/e2e-'));
  const runner = new ProcessRunner({ workerPath: await bundleWorker(bundleDir), modelsDir: paths.models, cacheDir: CACHE, device: 'cpu', memoryBudget: 2 ** 30, version: KIRIE_VERSION, cancelGraceMs: options.cancelGraceMs ?? 3000 });
  let playgroundDir: string | undefined;
  if (options.playground) {
    playgroundDir = join(home, 'playground');
    await bundlePlayground(playgroundDir);
  }
  const start = (port: number) => startBridge({ paths, registry: new FolderRegistry({ dir: paths.models, classify: classifyModel }), runner, port, ...(options.limits ? { limits: options.limits } : {}), ...(playgroundDir ? { playgroundDir } : {}) });
  const bridge = options.portInRange ? await onBridgePort(start) : await start(0);
  const client = new KirieClient({ url: bridge.url, token: bridge.token, WebSocket: WebSocket as unknown as WebSocketConstructorLike });
  return {
    ...bridge,
    home,
    client,
    modelsDir: paths.models,
    async dispose() {
      await bridge.close('cancel');
      await rm(home, { recursive: true, force: true });
      await rm(bundleDir, { recursive: true, force: true });
    },
  };
}

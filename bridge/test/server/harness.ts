// Starts a real bridge on a random port in temporary folders. The runner is the caller's: scripted ones
// make queue timing deterministic; the real pipeline runs through the worker process.
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BRIDGE_PORTS } from '@kirie/core/client/ports';
import { encodePng } from '@kirie/core/image/png';
import type { JobRunner, RunContext, RunInput, RunOutput } from '../../src/jobs/runner.js';
import { RunCancelled } from '../../src/jobs/runner.js';
import { FolderRegistry, type ModelClassifier } from '../../src/registry/registry.js';
import type { Limits } from '../../src/server/limits.js';
import { bridgePaths } from '../../src/server/paths.js';
import { startBridge, type RunningBridge } from '../../src/server/start.js';

export interface TestBridge extends RunningBridge {
  home: string;
  auth: Record<string, string>;
  dispose(): Promise<void>;
}

/** A classifier good enough for folders the tests write themselves. */
export const byExtension: ModelClassifier = async (path) => (path.endsWith('.safetensors') ? 'checkpoint' : null);

/**
 * Starts a bridge on a free port of BRIDGE_PORTS, the only ports the plugins' panels accept (for the
 * browser tests that drive a panel's Bridge form); the top ones first, leaving 7860 to a running bridge.
 */
export async function onBridgePort<T>(start: (port: number) => Promise<T>): Promise<T> {
  for (let port: number = BRIDGE_PORTS.last; port > BRIDGE_PORTS.first; port--) {
    try {
      return await start(port);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
    }
  }
  throw new Error(`no free port in ${BRIDGE_PORTS.first + 1}–${BRIDGE_PORTS.last} for a test bridge`);
}

export async function startTestBridge(options: { runner: JobRunner; limits?: Partial<Limits>; lan?: boolean; classify?: ModelClassifier; playgroundDir?: string; home?: string; portInRange?: boolean }): Promise<TestBridge> {
  const home = options.home ?? (await mkdtemp(join(tmpdir(), 'kirie-test-')));
  const paths = bridgePaths({ home });
  await mkdir(paths.models, { recursive: true });
  if (!options.classify) await writeFile(join(paths.models, 'test-model.safetensors'), 'not a real model: the scripted runner never opens it');
  const registry = new FolderRegistry({ dir: paths.models, classify: options.classify ?? byExtension });
  const start = (port: number) => startBridge({ paths, registry, runner: options.runner, port, ...(options.lan ? { lan: true } : {}), ...(options.limits ? { limits: options.limits } : {}), ...(options.playgroundDir ? { playgroundDir: options.playgroundDir } : {}) });
  const bridge = options.portInRange ? await onBridgePort(start) : await start(0);
  return {
    ...bridge,
    home,
    auth: { authorization: `Bearer ${bridge.token}` },
    async dispose() {
      await bridge.close('cancel');
      if (!options.home) await rm(home, { recursive: true, force: true });
    },
  };
}

export function solidPng(width: number, height: number, rgb: [number, number, number] = [200, 40, 40]): Uint8Array {
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) data.set(rgb, i * 3);
  return encodePng({ width, height, channels: 3, data });
}

/** A runner that takes `stepMs` per step, honours cancel between steps, and returns solid PNGs. */
export class ScriptedRunner implements JobRunner {
  readonly started: RunInput[] = [];
  fail: string | null = null;

  constructor(private readonly stepMs = 10) {}

  async run(input: RunInput, context: RunContext): Promise<RunOutput> {
    this.started.push(input);
    const total = input.request.steps;
    for (let step = 1; step <= total; step++) {
      await new Promise((r) => setTimeout(r, this.stepMs));
      if (context.signal.aborted) throw new RunCancelled();
      if (this.fail) throw new Error(this.fail);
      context.onProgress({ phase: 'denoising', step, total, preview: solidPng(8, 8, [step, 0, 0]) });
    }
    const { width, height } = input.request;
    return { images: Array.from({ length: input.request.batchSize }, (_, i) => solidPng(width, height, [i, input.request.seed % 256, 7])), model: { id: input.request.model, name: 'scripted' }, device: 'cpu' };
  }

  status() {
    return { device: 'cpu', loadedModel: null };
  }

  async close(): Promise<void> {}
}

/** Collects every event a WebSocket receives. */
export async function openEvents(bridge: TestBridge): Promise<{ events: Record<string, unknown>[]; close(): void; waitFor(pred: (e: Record<string, unknown>) => boolean, ms?: number): Promise<Record<string, unknown>> }> {
  const { default: WebSocket } = await import('ws');
  const ws = new WebSocket(`ws://127.0.0.1:${bridge.port}/v1/events`, ['kirie.v1', `kirie.token.${bridge.token}`]);
  const events: Record<string, unknown>[] = [];
  const waiters: (() => void)[] = [];
  ws.on('message', (data) => {
    events.push(JSON.parse(String(data)) as Record<string, unknown>);
    for (const w of waiters.splice(0)) w();
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return {
    events,
    close: () => ws.close(),
    async waitFor(pred, ms = 10_000) {
      const deadline = Date.now() + ms;
      for (;;) {
        const hit = events.find(pred);
        if (hit) return hit;
        if (Date.now() > deadline) throw new Error(`no matching event within ${ms} ms; got ${JSON.stringify(events.map((e) => e.type))}`);
        await new Promise<void>((r) => {
          waiters.push(r);
          setTimeout(r, 50);
        });
      }
    },
  };
}

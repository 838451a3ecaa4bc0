// Soak: a real bridge (server + generation process + tiny random-weight model) runs 200 tiny jobs over
// the real protocol; resident memory after 20 and after 200 jobs shows leaks (target < 5 % drift).
// Then the bridge's own cost per 1024x1024 inpaint request with inference excluded (a runner that
// answers at once): upload image and mask, submit, wait for `done`, fetch the result (target ≤ 50 ms),
// against the same number of bare health round trips on the same server.
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import WebSocket from 'ws';
import { KirieClient } from '@kirie/core/client/client';
import type { JobEvent } from '@kirie/core/client/protocol';
import type { WebSocketConstructorLike } from '@kirie/core/client/transport';
import { encodePng } from '@kirie/core/image/png';
import type { JobRunner } from '../jobs/runner.js';
import { writeRandomCheckpoint } from '../models/random.js';
import { classifyModel } from '../registry/classify.js';
import { FolderRegistry } from '../registry/registry.js';
import { bridgePaths } from '../server/paths.js';
import { startBridge } from '../server/start.js';
import { ProcessRunner } from '../worker/process-runner.js';
import type { BenchSuite } from './types.js';
import { median } from './stats.js';
import { KIRIE_VERSION } from '../version.js';

const MODEL = 'soak-tiny.safetensors';
const JOBS = 200;
const OVERHEAD_REQUESTS = 30;

// Garbage not yet collected is not a leak: collect before measuring this process.
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

/** Resident set size of a process in bytes (Linux /proc for the generation process). */
function rssOf(pid: number): number {
  if (pid === process.pid) {
    collectGarbage();
    return process.memoryUsage().rss;
  }
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) * 1024;
}

async function finish(events: AsyncIterable<JobEvent>): Promise<Extract<JobEvent, { type: 'done' }>> {
  let last: JobEvent | undefined;
  for await (const e of events) last = e;
  if (last?.type !== 'done') throw new Error(`soak job ended with ${JSON.stringify(last)}`);
  return last;
}

async function soak(home: string, report: Parameters<BenchSuite['run']>[0]): Promise<void> {
  const paths = bridgePaths({ home });
  await mkdir(paths.models, { recursive: true });
  await writeRandomCheckpoint({ arch: 'tiny', kind: 'sd15', seed: 0, out: join(paths.models, MODEL) });
  const runner = new ProcessRunner({ workerPath: fileURLToPath(new URL('./worker.mjs', import.meta.url)), modelsDir: paths.models, cacheDir: paths.cache, device: 'cpu', memoryBudget: 2 ** 30, version: KIRIE_VERSION });
  const bridge = await startBridge({ paths, registry: new FolderRegistry({ dir: paths.models, classify: classifyModel }), runner, port: 0 });
  try {
    const client = new KirieClient({ url: bridge.url, token: bridge.token, WebSocket: WebSocket as unknown as WebSocketConstructorLike });
    const rss: Record<number, { bridge: number; worker: number }> = {};
    const started = performance.now();
    for (let i = 1; i <= JOBS; i++) {
      const done = await finish(client.generate({ model: MODEL, prompt: `soak ${i}`, width: 64, height: 64, steps: 2, seed: i }));
      await client.image(done.images[0]!);
      if (i === 20 || i === JOBS) rss[i] = { bridge: rssOf(process.pid), worker: rssOf(runner.pid!) };
    }
    const perJob = (performance.now() - started) / JOBS;
    const mb = (b: number) => b / 2 ** 20;
    const drift = (a: number, b: number) => (100 * (b - a)) / a;
    report({ name: `bridge RSS after ${JOBS} jobs`, value: mb(rss[JOBS]!.bridge), unit: 'MiB', baseline: { name: 'after 20', value: mb(rss[20]!.bridge) } });
    report({ name: 'bridge RSS drift 20 → 200 jobs', value: drift(rss[20]!.bridge, rss[JOBS]!.bridge), unit: '%', target: '< 5 %' });
    report({ name: `generation process RSS after ${JOBS} jobs`, value: mb(rss[JOBS]!.worker), unit: 'MiB', baseline: { name: 'after 20', value: mb(rss[20]!.worker) } });
    report({ name: 'generation process RSS drift 20 → 200 jobs', value: drift(rss[20]!.worker, rss[JOBS]!.worker), unit: '%', target: '< 5 %' });
    report({ name: 'tiny job (64x64, 2 steps) end to end', value: perJob, unit: 'ms' });
  } finally {
    await bridge.close('cancel');
  }
}

/** Returns a ready 1024x1024 PNG at once: what remains of a request is the bridge's own work. */
function instantRunner(result: Uint8Array): JobRunner {
  return {
    run: async () => ({ images: [result], model: { id: MODEL, name: 'instant' }, device: 'none' }),
    status: () => ({ device: 'none', loadedModel: null }),
    close: async () => {},
  };
}

function testImage(size: number, seed: number): Uint8Array {
  const data = new Uint8Array(size * size * 3);
  for (let i = 0; i < data.length; i++) data[i] = (i * 2654435761 + seed * 40503) >>> 24;
  return encodePng({ width: size, height: size, channels: 3, data });
}

async function overhead(home: string, report: Parameters<BenchSuite['run']>[0]): Promise<void> {
  const paths = bridgePaths({ home: join(home, 'overhead') });
  await mkdir(paths.models, { recursive: true });
  await writeRandomCheckpoint({ arch: 'tiny', kind: 'sd15', seed: 0, out: join(paths.models, MODEL) });
  const size = 1024;
  const mask = new Uint8Array(size * size);
  for (let y = 256; y < 768; y++) mask.fill(255, y * size + 256, y * size + 768);
  const maskPng = encodePng({ width: size, height: size, channels: 1, data: mask });
  const bridge = await startBridge({ paths, registry: new FolderRegistry({ dir: paths.models, classify: classifyModel }), runner: instantRunner(testImage(size, 999)), port: 0 });
  try {
    const client = new KirieClient({ url: bridge.url, token: bridge.token, WebSocket: WebSocket as unknown as WebSocketConstructorLike });
    const times: number[] = [];
    const bare: number[] = [];
    for (let i = 0; i < OVERHEAD_REQUESTS; i++) {
      // A new image each time: nothing is served from the content-addressed store's earlier copies.
      const image = testImage(size, i);
      const t0 = performance.now();
      const [init, m] = await Promise.all([client.uploadImage(image), client.uploadImage(maskPng)]);
      const done = await finish(client.generate({ model: MODEL, prompt: 'a window', width: size, height: size, steps: 20, seed: i, initImage: init.id, mask: m.id, inpaint: {} }));
      await client.image(done.images[0]!);
      times.push(performance.now() - t0);
      const t1 = performance.now();
      for (let k = 0; k < 4; k++) await client.health();
      bare.push(performance.now() - t1);
    }
    report({ name: 'bridge overhead per 1024x1024 inpaint request (inference excluded)', value: median(times), unit: 'ms', baseline: { name: '4 health round trips', value: median(bare) }, target: '≤ 50 ms' });
  } finally {
    await bridge.close('cancel');
  }
}

export const soakSuite: BenchSuite = {
  name: 'soak',
  description: `${JOBS} tiny jobs through a real bridge (memory drift), and the bridge's own overhead per 1024x1024 inpaint request`,
  async run(report) {
    const home = await mkdtemp(join(tmpdir(), 'kirie-soak-'));
    try {
      // Overhead first, on a quiet disk: the soak writes hundreds of files whose writeback then stalls the
      // overhead run's 3 MB uploads (measured: uploads 20 ms before the soak, 25-70 ms after it). The soak's
      // drift compares job 20 with job 200, long after the overhead run's buffers are collected.
      await overhead(home, report);
      await soak(home, report);
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  },
};

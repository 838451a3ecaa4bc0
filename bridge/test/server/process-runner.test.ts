// ProcessRunner's failure paths with a scripted child: a crash fails only that job, a job that ignores
// cancel is ended by killing the process, a hung one by the watchdog, and the next job gets a fresh one.
import { build } from 'esbuild';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseGenerateRequest } from '@kirie/core/request/parse';
import { RunCancelled, type RunContext, type RunProgress } from '../../src/jobs/runner.js';
import { ProcessRunner } from '../../src/worker/process-runner.js';

let dir: string;
let workerPath: string;
let runner: ProcessRunner;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'kirie-runner-'));
  workerPath = join(dir, 'worker.mjs');
  await build({ entryPoints: [join(import.meta.dirname, 'fixtures/scripted-worker.ts')], outfile: workerPath, bundle: true, platform: 'node', format: 'esm', logLevel: 'error' });
  runner = new ProcessRunner({ workerPath, modelsDir: dir, cacheDir: dir, device: 'cpu', memoryBudget: 1, version: 'test', cancelGraceMs: 200 });
});
afterAll(async () => {
  await runner.close();
  await rm(dir, { recursive: true, force: true });
});

const input = (prompt: string) => ({ jobId: prompt + Math.random(), request: parseGenerateRequest({ prompt, model: 'm' }), imagePaths: {} });

function context(): RunContext & { abort: AbortController; progress: RunProgress[] } {
  const abort = new AbortController();
  const progress: RunProgress[] = [];
  return { abort, progress, signal: abort.signal, onProgress: (p) => progress.push(p) };
}

it('returns results and progress from the child', async () => {
  const ctx = context();
  const out = await runner.run(input('ok'), ctx);
  expect(out.images).toEqual([new Uint8Array([1, 2, 3])]);
  expect(ctx.progress).toEqual([{ phase: 'denoising', step: 1, total: 2 }]);
});

it('fails only the running job when the child crashes, and restarts it for the next', async () => {
  await expect(runner.run(input('crash'), context())).rejects.toThrow(/generation process exited \(code 3\) while running the job/);
  expect((await runner.run(input('ok'), context())).images).toHaveLength(1);
});

it('cancels cooperatively, and kills a child that ignores the cancel', async () => {
  const polite = context();
  const waiting = runner.run(input('hang-but-listen'), polite);
  polite.abort.abort();
  await expect(waiting).rejects.toBeInstanceOf(RunCancelled);

  const stubborn = context();
  const t0 = performance.now();
  const hung = runner.run(input('stubborn'), stubborn);
  await new Promise((r) => setTimeout(r, 50));
  stubborn.abort.abort();
  await expect(hung).rejects.toBeInstanceOf(RunCancelled);
  expect(performance.now() - t0).toBeGreaterThanOrEqual(200);
  expect((await runner.run(input('ok'), context())).images).toHaveLength(1);
});

describe('watchdog', () => {
  let watched: ProcessRunner;
  const log: string[] = [];
  beforeAll(() => {
    watched = new ProcessRunner({ workerPath, modelsDir: dir, cacheDir: dir, device: 'cpu', memoryBudget: 1, version: 'test', hangTimeoutMs: 1500, progressTimeoutMs: 4000, log: (l) => log.push(l) });
  });
  afterAll(() => watched.close());

  it('kills a stopped process, fails its job with the reason, and runs the next job on a fresh one', async () => {
    await watched.start();
    const frozenPid = watched.pid!;
    await expect(watched.run(input('freeze'), context())).rejects.toThrow(/^the generation process stopped responding \(no sign of life for \d+(\.\d)? s\) while running the job; the bridge restarts it for the next job$/);
    expect(log.some((l) => /stopped responding.*restarting the generation process/.test(l))).toBe(true);
    expect((await watched.run(input('ok'), context())).images).toHaveLength(1);
    expect(watched.pid).not.toBe(frozenPid);
  });

  it('lets a main thread busy for longer than the hang timeout finish: the heartbeat comes from its own thread', async () => {
    expect((await watched.run(input('busy'), context())).images).toHaveLength(1);
  });

  it('fails a job that beats but makes no progress, after the progress timeout', async () => {
    await expect(watched.run(input('silent'), context())).rejects.toThrow(/made no progress for \d+(\.\d)? s/);
    expect((await watched.run(input('ok'), context())).images).toHaveLength(1);
  });
});

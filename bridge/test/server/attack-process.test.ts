// The bridge attacked as a process: `kirie serve` as users start it (the bundled CLI in a process of its
// own), then SIGKILL / SIGTERM / SIGSTOP of the bridge and of its generation process mid-job, a FIFO and
// an unreadable models folder, loosened file modes; after each restart the job records must tell what
// happened (done / cancelled / interrupted / error), no temp file may be left and health must answer.
// Persistence failures are injected into the queue in-process, and the crash policy runs in a child.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { build } from 'esbuild';
import { readFileSync } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobEvent, JobInfo } from '@kirie/core/client/protocol';
import { decodePng } from '@kirie/core/image/png';
import { parseGenerateRequest } from '@kirie/core/request/parse';
import type { GenerateRequest } from '@kirie/core/request/schema';
import { ImageStore } from '../../src/jobs/images.js';
import { JobQueue } from '../../src/jobs/queue.js';
import { buildIntoCache } from '../../src/models/cache.js';
import { openCheckpoint } from '../../src/models/checkpoint.js';
import { bundleWorker, externalNpm, ROOT } from '../../../tests/e2e/bridge-harness.js';
import { ScriptedRunner, solidPng } from './harness.js';

const DEMO = 'kirie-demo-tiny-random.safetensors';
// The demo model is the e2e harness's model (same seed): its built graphs are shared across test runs.
const CACHE = join(ROOT, '.kirie-cache');
const isRoot = process.getuid?.() === 0;
const cleanup: (() => Promise<unknown>)[] = [];

let dist: string;
let cli: string;
beforeAll(async () => {
  await mkdir(join(ROOT, 'bridge/dist'), { recursive: true });
  dist = await mkdtemp(join(ROOT, 'bridge/dist/e2e-attack-'));
  cleanup.push(() => rm(dist, { recursive: true, force: true }));
  cli = join(dist, 'kirie.mjs');
  await build({ entryPoints: [join(ROOT, 'bridge/src/cli.ts')], outfile: cli, bundle: true, platform: 'node', format: 'esm', target: 'node20', plugins: [externalNpm], logLevel: 'error' });
  await bundleWorker(dist);
}, 60_000);
afterAll(async () => {
  for (const step of cleanup.reverse()) await step().catch(() => {});
});

interface Bridge {
  proc: ChildProcess;
  base: string;
  token: string;
  log(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts `kirie serve`; `ownCache` keeps the build cache in the home folder instead of the shared one. */
async function serve(home: string, args: string[] = [], options: { as?: { uid: number; gid: number }; ownCache?: boolean } = {}): Promise<Bridge> {
  const env: NodeJS.ProcessEnv = { ...process.env, KIRIE_CACHE: CACHE };
  if (options.ownCache) delete env.KIRIE_CACHE;
  const proc = spawn(process.execPath, [cli, 'serve', '--port', '0', '--home', home, '--device', 'cpu', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env, ...(options.as ?? {}) });
  let out = '';
  proc.stdout!.on('data', (d) => (out += d));
  proc.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
  cleanup.push(async () => {
    for (const pid of childPids(proc.pid!)) process.kill(pid, 'SIGKILL');
    proc.kill('SIGKILL');
  });
  const deadline = Date.now() + 60_000;
  while (!/playground\s+(http\S+)/.test(out)) {
    if (Date.now() > deadline || proc.exitCode !== null) throw new Error(`kirie serve did not start:\n${out}`);
    await sleep(50);
  }
  const playground = /playground\s+(http\S+)/.exec(out)![1]!;
  return { proc, base: playground.split('/#')[0]!, token: /#token=([0-9a-f]{64})/.exec(playground)![1]!, log: () => out, exited };
}

/** The generation process(es) a bridge forked. */
function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

async function workerPid(bridge: Bridge): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const [pid] = childPids(bridge.proc.pid!);
    if (pid) return pid;
    await sleep(50);
  }
  throw new Error('the bridge has no generation process');
}

async function api<T = Record<string, unknown>>(bridge: Bridge, method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
  const headers: Record<string, string> = { authorization: `Bearer ${bridge.token}` };
  let payload: string | Uint8Array<ArrayBuffer> | undefined;
  if (body instanceof Uint8Array) {
    headers['content-type'] = 'image/png';
    payload = new Uint8Array(body);
  } else if (body !== undefined) {
    headers['content-type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  const res = await fetch(`${bridge.base}/v1${path}`, { method, headers, ...(payload ? { body: payload } : {}), signal: AbortSignal.timeout(15_000) });
  return { status: res.status, body: (await res.json()) as T };
}

async function submit(bridge: Bridge, extra: Record<string, unknown> = {}): Promise<string> {
  const res = await api<{ jobId: string }>(bridge, 'POST', '/jobs', { prompt: 'a red fox', width: 64, height: 64, steps: 2, model: DEMO, ...extra });
  expect(res.status).toBe(202);
  return res.body.jobId;
}

async function job(bridge: Bridge, id: string): Promise<JobInfo> {
  const res = await api<JobInfo>(bridge, 'GET', `/jobs/${id}`);
  expect(res.status).toBe(200);
  return res.body;
}

async function until(bridge: Bridge, id: string, done: (j: JobInfo) => boolean, ms = 45_000): Promise<JobInfo> {
  const deadline = Date.now() + ms;
  for (;;) {
    const info = await job(bridge, id);
    if (done(info)) return info;
    if (Date.now() > deadline) throw new Error(`job ${id} is still ${info.status}; the bridge said:\n${bridge.log().slice(-2000)}`);
    await sleep(50);
  }
}
const ended = (j: JobInfo) => !['queued', 'running'].includes(j.status);

async function health(bridge: Bridge): Promise<Record<string, unknown>> {
  const res = await api(bridge, 'GET', '/health');
  expect(res.status).toBe(200);
  return res.body;
}

async function mode(path: string): Promise<string> {
  return ((await stat(path)).mode & 0o777).toString(8);
}

/** Every temp file under the bridge's folders (a write that was cut off and never cleaned up). */
async function tempFiles(home: string): Promise<string[]> {
  const found: string[] = [];
  for (const sub of ['outputs', 'images', 'unfinished']) {
    for (const name of await readdir(join(home, sub)).catch(() => [] as string[])) if (name.endsWith('.tmp')) found.push(`${sub}/${name}`);
  }
  return found;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

describe('kirie serve under signals, with hostile folders', () => {
  let home: string;
  let bridge: Bridge;
  let done0: JobInfo;
  let killedMidJob: string[];

  it('makes its folders 0700 and its files 0600, and leaves the models folder as the user made it', async () => {
    home = await mkdtemp(join(tmpdir(), 'kirie-attack-'));
    cleanup.push(() => rm(home, { recursive: true, force: true }));
    await mkdir(join(home, 'models'));
    await chmod(join(home, 'models'), 0o755);
    await chmod(home, 0o755);
    bridge = await serve(home, ['--demo']);
    const id = await submit(bridge);
    done0 = await until(bridge, id, ended);
    expect(done0).toMatchObject({ status: 'done', images: [expect.any(String)] });
    const modes = {
      home: await mode(home),
      token: await mode(join(home, 'token')),
      outputs: await mode(join(home, 'outputs')),
      images: await mode(join(home, 'images')),
      unfinished: await mode(join(home, 'unfinished')),
      record: await mode(join(home, 'outputs', `${id}.json`)),
      result: await mode(join(home, 'outputs', `${id}-0.png`)),
      image: await mode(join(home, 'images', `${done0.images![0]}.png`)),
      models: await mode(join(home, 'models')),
    };
    expect(modes).toEqual({ home: '700', token: '600', outputs: '700', images: '700', unfinished: '700', record: '600', result: '600', image: '600', models: '755' });
  });

  it('writes the build cache 0700 / 0600', async () => {
    const ckpt = await openCheckpoint(join(ROOT, 'tests/golden/tiny-sd15/tiny-sd15.safetensors'));
    const cacheDir = join(home, 'cache-probe');
    cleanup.push(() => rm(cacheDir, { recursive: true, force: true }));
    try {
      const { dir, manifest } = await buildIntoCache({ cacheDir, key: 'probe', source: ckpt.file, arch: ckpt.arch, plans: [{ component: 'vae_decoder', options: { precision: 'fp32' }, external: true }] });
      const modes = [await mode(cacheDir), await mode(dir), ...(await Promise.all(Object.keys(manifest.files).map((f) => mode(join(dir, f))))), await mode(join(dir, 'manifest.json'))];
      expect(modes).toEqual(['700', '700', '600', '600', '600']);
    } finally {
      await ckpt.file.close();
    }
  });

  it('SIGKILL of the bridge mid-job: after a restart the running and the waiting job read `interrupted`, finished work is intact', async () => {
    const worker = await workerPid(bridge);
    // A stopped generation process holds the job in `running` for as long as the test needs.
    process.kill(worker, 'SIGSTOP');
    const running = await submit(bridge);
    const waiting = await submit(bridge);
    await until(bridge, running, (j) => j.status === 'running');
    bridge.proc.kill('SIGKILL');
    expect(await bridge.exited).toEqual({ code: null, signal: 'SIGKILL' });
    process.kill(worker, 'SIGKILL');
    // A temp file of a writer that died mid-write (this pid does not exist: above the kernel's pid_max).
    await writeFile(join(home, 'outputs', `${running}-0.png.99999999-0123456789ab.tmp`), 'half a PNG');
    killedMidJob = [running, waiting];

    bridge = await serve(home, ['--hang-timeout', '2']);
    for (const id of killedMidJob) {
      expect(await job(bridge, id)).toMatchObject({ id, status: 'interrupted', error: expect.stringMatching(/bridge stopped .* before this job finished/) });
    }
    expect(await job(bridge, done0.id)).toEqual(done0);
    const png = await fetch(`${bridge.base}/v1/images/${done0.images![0]}`, { headers: { authorization: `Bearer ${bridge.token}` } });
    expect(decodePng(new Uint8Array(await png.arrayBuffer())).width).toBe(64);
    expect(await tempFiles(home)).toEqual([]);
    expect(await readdir(join(home, 'unfinished'))).toEqual([]);
    expect(await health(bridge)).toMatchObject({ ok: true, registry: 'ok', queue: { running: 0, queued: 0 } });
    expect(bridge.log()).toMatch(/2 job\(s\) were unfinished when the bridge last stopped/);
  });

  it('SIGSTOP and SIGKILL of the generation process mid-job fail that job alone; health answers throughout', async () => {
    const stopped = await workerPid(bridge);
    process.kill(stopped, 'SIGSTOP');
    const frozen = await submit(bridge);
    await until(bridge, frozen, (j) => j.status === 'running');
    expect(await health(bridge)).toMatchObject({ ok: true, queue: { running: 1 } });
    expect(await until(bridge, frozen, ended)).toMatchObject({ status: 'error', error: expect.stringMatching(/^the generation process stopped responding \(no sign of life for [\d.]+ s\) while running the job/) });

    // The next job starts a fresh process; killed while it loads, it fails that job alone too.
    const killed = await submit(bridge);
    let fresh = await workerPid(bridge);
    while (fresh === stopped) {
      await sleep(20);
      fresh = await workerPid(bridge);
    }
    process.kill(fresh, 'SIGKILL');
    expect(await until(bridge, killed, ended)).toMatchObject({ status: 'error', error: expect.stringMatching(/^the generation process exited \(SIGKILL\)/) });
    expect(await health(bridge)).toMatchObject({ ok: true, queue: { running: 0 } });
    expect((await until(bridge, await submit(bridge), ended)).status).toBe('done');
    expect([stopped, fresh]).not.toContain(await workerPid(bridge));
  });

  it('SIGSTOP of the bridge itself: after SIGCONT it serves on, and the watchdog does not mistake its own pause for a hang', async () => {
    const worker = await workerPid(bridge);
    bridge.proc.kill('SIGSTOP');
    await sleep(3000);
    bridge.proc.kill('SIGCONT');
    expect(await health(bridge)).toMatchObject({ ok: true });
    expect((await until(bridge, await submit(bridge), ended)).status).toBe('done');
    expect(await workerPid(bridge)).toBe(worker);
  });

  it('a FIFO named *.safetensors is skipped: listing, uploads and jobs do not hang, and naming it says what it is', async () => {
    expect(spawnSync('mkfifo', [join(home, 'models', 'trap.safetensors')]).status).toBe(0);
    const models = await api<{ models: { id: string }[] }>(bridge, 'GET', '/models');
    expect(models.body.models.map((m) => m.id)).toEqual([DEMO]);
    expect(await api(bridge, 'POST', '/jobs', { prompt: 'x', width: 64, height: 64, steps: 2, model: 'trap.safetensors' })).toEqual({
      status: 400,
      body: { error: { code: 'unsupported_model', field: 'model', message: 'model "trap.safetensors" is not a regular file (a pipe, socket or device): no model can be read from it' } },
    });
    expect((await api(bridge, 'PUT', '/images', solidPng(16, 16))).status).toBe(200);
    expect((await until(bridge, await submit(bridge), ended)).status).toBe('done');
    expect(await health(bridge)).toMatchObject({ registry: 'ok' });
    await rm(join(home, 'models', 'trap.safetensors'));
  });

  it('a models folder that cannot be read is named in the user\'s terms, with no internal path', async () => {
    const models = join(home, 'models');
    await rename(models, `${models}.away`);
    await writeFile(models, 'not a folder');
    const res = await api(bridge, 'GET', '/models');
    expect(res).toEqual({ status: 503, body: { error: { code: 'models_folder_unreadable', message: 'the models folder cannot be read (it is not a folder)' } } });
    await rm(models);
    await rename(`${models}.away`, models);
    expect(await health(bridge)).toMatchObject({ ok: true, registry: 'ok' });
  });

  it.runIf(process.platform === 'linux')('a models folder without read permission says "permission denied"', async () => {
    // Root reads through permissions: the bridge then runs as nobody, as a normal user would.
    const locked = await mkdtemp(join(tmpdir(), 'kirie-locked-'));
    cleanup.push(() => rm(locked, { recursive: true, force: true }));
    await mkdir(join(locked, 'models'));
    const as = isRoot ? { uid: 65534, gid: 65534 } : undefined;
    if (as) {
      await chown(locked, as.uid, as.gid);
      await chown(join(locked, 'models'), as.uid, as.gid);
    }
    await chmod(join(locked, 'models'), 0o000);
    await chmod(dist, 0o755);
    const other = await serve(locked, [], as ? { as } : {});
    const res = await api(other, 'GET', '/models');
    expect(res).toEqual({ status: 503, body: { error: { code: 'models_folder_unreadable', message: 'the models folder cannot be read (permission denied)' } } });
    expect(JSON.stringify(res.body)).not.toContain(locked);
    other.proc.kill('SIGTERM');
    expect((await other.exited).code).toBe(0);
  });

  it('SIGTERM mid-job finishes the running job, records the waiting one cancelled, and exits 0', async () => {
    const running = await submit(bridge, { steps: 20 });
    const waiting = await submit(bridge);
    bridge.proc.kill('SIGTERM');
    expect((await bridge.exited).code).toBe(0);
    const record = async (id: string) => JSON.parse(await readFile(join(home, 'outputs', `${id}.json`), 'utf8')) as JobInfo;
    expect((await record(running)).status).toBe('done');
    expect(await record(waiting)).toMatchObject({ status: 'cancelled', finishedAt: expect.any(String) });
    expect(await readdir(join(home, 'unfinished'))).toEqual([]);
    expect(await tempFiles(home)).toEqual([]);
    killedMidJob.push(running, waiting);
  });

  it('a restart tightens modes someone loosened (home, folders, token, results, images, cache), never the models folder', async () => {
    // A build cache an older version left world-readable, in the home folder.
    const built = join(home, 'cache', '0123abcd');
    await mkdir(built, { recursive: true, mode: 0o755 });
    await writeFile(join(built, 'unet.onnx'), 'graph', { mode: 0o644 });
    const loose = [home, join(home, 'outputs'), join(home, 'images'), join(home, 'cache'), built, join(home, 'unfinished')];
    for (const dir of loose) await chmod(dir, 0o755);
    const files = [join(home, 'token'), join(home, 'outputs', `${done0.id}.json`), join(home, 'outputs', `${done0.id}-0.png`), join(home, 'images', `${done0.images![0]}.png`), join(built, 'unet.onnx')];
    for (const file of files) await chmod(file, 0o644);
    bridge = await serve(home, [], { ownCache: true });
    for (const dir of loose) expect([dir, await mode(dir)]).toEqual([dir, '700']);
    for (const file of files) expect([file, await mode(file)]).toEqual([file, '600']);
    expect(await mode(join(home, 'models'))).toBe('755');
    const statuses = await Promise.all(killedMidJob.map(async (id) => (await job(bridge, id)).status));
    expect(statuses).toEqual(['interrupted', 'interrupted', 'done', 'cancelled']);
    bridge.proc.kill('SIGTERM');
    expect((await bridge.exited).code).toBe(0);
  });
});

describe('a job record that cannot be written fails that job alone', () => {
  async function queueWith(write?: (path: string, data: string | Uint8Array) => Promise<void>) {
    const dir = await mkdtemp(join(tmpdir(), 'kirie-persist-'));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    const log: string[] = [];
    const queue = new JobQueue({ runner: new ScriptedRunner(1), images: new ImageStore(join(dir, 'images')), outputs: join(dir, 'outputs'), unfinished: join(dir, 'unfinished'), capacity: 8, bridgeVersion: 'test', log: (l) => log.push(l), ...(write ? { write } : {}) });
    const events: JobEvent[] = [];
    queue.subscribe((e) => events.push(e));
    const ended = async (id: string): Promise<JobEvent> => {
      for (;;) {
        const end = events.find((e) => e.jobId === id && ['done', 'error', 'cancelled'].includes(e.type));
        if (end) return end;
        await sleep(5);
      }
    };
    return { dir, queue, events, log, ended };
  }
  const request = (extra: Record<string, unknown> = {}) => ({ ...parseGenerateRequest({ prompt: 'x', width: 64, height: 64, steps: 2 }), ...extra }) as GenerateRequest;
  let deep: Record<string, unknown> = {};
  for (let i = 0; i < 100_000; i++) deep = { d: deep };

  it.each([
    ['a value JSON cannot express (BigInt)', { note: 1n }, /^the job ran, but its record could not be saved: Do not know how to serialize a BigInt$/],
    ['a value nested too deep to serialise', { pose: deep }, /^the job ran, but its record could not be saved: Maximum call stack size exceeded$/],
  ])('%s: error event, error state, and the next job runs', async (_name, extra, message) => {
    const { queue, log, ended } = await queueWith();
    const bad = (await queue.submit(request(extra))).job.id;
    expect(await ended(bad)).toMatchObject({ type: 'error', message: expect.stringMatching(message) });
    expect(await queue.get(bad)).toMatchObject({ status: 'error' });
    expect(log.some((l) => l.includes(bad) && /could not note it as unfinished/.test(l))).toBe(true);
    const next = (await queue.submit(request())).job.id;
    expect(await ended(next)).toMatchObject({ type: 'done' });
    await queue.close('cancel');
  });

  it.each([
    ['ENOSPC', 'the disk is full'],
    ['EACCES', 'permission denied'],
    ['EIO', 'an input/output error (a failing disk or a disconnected drive?)'],
  ])('a writer failing with %s on records: the job fails saying "%s", no path in the message', async (code, words) => {
    const failing = async (path: string) => {
      if (path.endsWith('.json')) throw Object.assign(new Error(`${code}: failed, open '${path}'`), { code });
    };
    const { dir, queue, ended, log } = await queueWith(failing);
    const id = (await queue.submit(request())).job.id;
    const event = await ended(id);
    expect(event).toEqual({ type: 'error', jobId: id, message: `the job ran, but its record could not be saved: ${words}` });
    expect(JSON.stringify(event)).not.toContain(dir);
    // A cancel whose record cannot be written is answered all the same.
    const queued = [(await queue.submit(request({ steps: 50 }))).job.id, (await queue.submit(request())).job.id];
    expect(queue.cancel(queued[1]!)).toMatchObject({ status: 'cancelled' });
    await queue.close('cancel');
    expect(log.filter((l) => l.includes('cancelled record could not be saved'))).toHaveLength(2);
  });

  it('a writer failing on the result images fails the job with the reason', async () => {
    const failing = async (path: string) => {
      if (path.endsWith('.png')) throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
    };
    const { queue, ended } = await queueWith(failing);
    const id = (await queue.submit(request())).job.id;
    expect(await ended(id)).toMatchObject({ type: 'error', message: 'the images could not be saved: the disk is full' });
    await queue.close('cancel');
  });
});

describe('crash policy of kirie serve', () => {
  it('logs a rejection nobody handled and keeps serving; an uncaught exception is logged and exits 1', async () => {
    const script = join(dist, 'crash-policy-probe.mjs');
    await build({
      stdin: {
        contents: `import { installCrashPolicy } from './bridge/src/commands/crash-policy.ts';
installCrashPolicy((line) => console.log('LOG ' + line.split('\\n')[0]));
Promise.reject(new Error('lost rejection'));
setTimeout(() => { console.log('still serving'); if (process.argv[2] === 'throw') setTimeout(() => { throw new Error('thrown from a timer'); }); else process.exit(0); }, 50);`,
        resolveDir: ROOT,
        loader: 'ts',
      },
      outfile: script,
      bundle: true,
      platform: 'node',
      format: 'esm',
      logLevel: 'error',
    });
    const rejection = spawnSync(process.execPath, [script], { encoding: 'utf8' });
    expect(rejection.status).toBe(0);
    expect(rejection.stdout).toMatch(/LOG an operation failed and nothing handled it \(the bridge keeps serving\): Error: lost rejection\nstill serving/);
    const thrown = spawnSync(process.execPath, [script, 'throw'], { encoding: 'utf8' });
    expect(thrown.status).toBe(1);
    expect(thrown.stdout).toMatch(/still serving\nLOG internal error, stopping .*: Error: thrown from a timer/);
  });
});

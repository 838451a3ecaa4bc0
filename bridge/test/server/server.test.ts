// The bridge's HTTP + WebSocket protocol against a real server on a random port, with a scripted runner
// so queue timing is deterministic (the real pipeline is exercised in tests/e2e).
import { request as httpRequest } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEvents, ScriptedRunner, solidPng, startTestBridge, type TestBridge } from './harness.js';

let bridge: TestBridge;
let runner: ScriptedRunner;

beforeAll(async () => {
  runner = new ScriptedRunner(20);
  bridge = await startTestBridge({ runner, limits: { queue: 3, pixels: 256 * 256, imageBytes: 512 * 1024, jsonBytes: 16 * 1024, steps: 50, batchSize: 2, promptChars: 100 } });
});
afterAll(() => bridge.dispose());

const api = (path: string) => `${bridge.url}/v1${path}`;
const getJson = async (path: string) => (await fetch(api(path), { headers: bridge.auth })).json() as Promise<Record<string, any>>;
const post = (body: unknown) => fetch(api('/jobs'), { method: 'POST', headers: { ...bridge.auth, 'content-type': 'application/json' }, body: JSON.stringify(body) });
const upload = (bytes: Uint8Array, type = 'image/png') => fetch(api('/images'), { method: 'PUT', headers: { ...bridge.auth, 'content-type': type }, body: new Uint8Array(bytes) });

/** Raw request with a chosen Host header (fetch will not send a foreign one). */
function rawRequest(host: string, path: string, method = 'GET', headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port: bridge.port, path, method, headers: { host, ...headers } }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function waitStatus(jobId: string, status: string, ms = 10_000): Promise<Record<string, any>> {
  const deadline = Date.now() + ms;
  for (;;) {
    const job = await getJson(`/jobs/${jobId}`);
    if (job.status === status) return job;
    if (Date.now() > deadline) throw new Error(`job ${jobId} is ${job.status}, expected ${status}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('security', () => {
  it('answers health without a token with who it is only, and with the token with what it is doing', async () => {
    const res = await fetch(api('/health'));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true, name: 'kirie', version: expect.any(String), apiVersion: 'v1' });
    const full = (await getJson('/health')) as Record<string, any>;
    expect(full).toMatchObject({ ok: true, name: 'kirie', apiVersion: 'v1', device: 'cpu', loadedModel: null, queue: { capacity: 3 } });
    const wrong = await fetch(api('/health'), { headers: { authorization: `Bearer ${'0'.repeat(64)}` } });
    expect(wrong.status).toBe(401);
  });

  it.each(['/models', '/styles', '/jobs/x', '/images/x', '/openapi.json'])('refuses %s without a token and with a wrong one', async (path) => {
    const none = await fetch(api(path));
    expect(none.status).toBe(401);
    expect(((await none.json()) as any).error.code).toBe('unauthorized');
    const wrong = await fetch(api(path), { headers: { authorization: `Bearer ${'0'.repeat(64)}` } });
    expect(wrong.status).toBe(401);
  });

  it('listens on both loopbacks, 127.0.0.1 and ::1', async () => {
    const v6 = await fetch(`http://[::1]:${bridge.port}/v1/health`);
    expect(((await v6.json()) as { ok: boolean }).ok).toBe(true);
    const { default: WebSocket } = await import('ws');
    const ws = new WebSocket(`ws://[::1]:${bridge.port}/v1/events`, ['kirie.v1', `kirie.token.${bridge.token}`]);
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    ws.close();
  });

  it('refuses a job without a token', async () => {
    const res = await fetch(api('/jobs'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"prompt":"x"}' });
    expect(res.status).toBe(401);
  });

  it.each([
    ['localhost', 200],
    ['127.0.0.1:7860', 200],
    ['[::1]:7860', 200],
    ['LOCALHOST:1', 200],
    ['evil.example', 421],
    ['evil.example:7860', 421],
    ['127.0.0.1.nip.io', 421],
    ['localhost.evil.example', 421],
    ['192.168.1.5:7860', 421],
  ])('Host %s → %i', async (host, status) => {
    const res = await rawRequest(host, '/v1/health');
    expect(res.status).toBe(status);
    if (status !== 200) expect(JSON.parse(res.body).error.code).toBe('bad_host');
  });

  it('serves other Host names only when started for the LAN', async () => {
    const lan = await startTestBridge({ runner: new ScriptedRunner(), lan: true });
    try {
      const res = await new Promise<number>((resolve, reject) => {
        const req = httpRequest({ host: '127.0.0.1', port: lan.port, path: '/v1/models', headers: { host: 'studio-pc.local:7860', ...lan.auth } }, (r) => {
          r.resume();
          resolve(r.statusCode!);
        });
        req.on('error', reject);
        req.end();
      });
      expect(res).toBe(200);
    } finally {
      await lan.dispose();
    }
  });

  it('answers CORS preflights without a token and allows any origin without credentials', async () => {
    const res = await rawRequest(`127.0.0.1:${bridge.port}`, '/v1/jobs', 'OPTIONS', {
      origin: 'https://www.figma.com',
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'authorization, content-type',
      'access-control-request-private-network': 'true',
    });
    expect(res.status).toBe(204);
    expect(res.headers['access-control-allow-origin']).toBe('*');
    expect(res.headers['access-control-allow-private-network']).toBe('true');
    expect(String(res.headers['access-control-allow-headers'])).toContain('authorization');
    expect(String(res.headers['access-control-allow-methods'])).toContain('DELETE');
    expect(res.headers['access-control-allow-credentials']).toBeUndefined();
    const get = await fetch(api('/styles'), { headers: { ...bridge.auth, origin: 'https://www.figma.com' } });
    expect(get.headers.get('access-control-allow-origin')).toBe('*');
  });

  it('accepts the WebSocket token as a subprotocol or a query parameter, and nothing else', async () => {
    const { default: WebSocket } = await import('ws');
    const attempt = (url: string, protocols: string[]) =>
      new Promise<string>((resolve) => {
        const ws = new WebSocket(url, protocols);
        ws.once('open', () => {
          resolve(`open:${ws.protocol}`);
          ws.close();
        });
        ws.once('unexpected-response', (req, res) => {
          resolve(`http:${res.statusCode}`);
          req.destroy();
        });
        ws.once('error', () => resolve('error'));
      });
    const base = `ws://127.0.0.1:${bridge.port}/v1/events`;
    expect(await attempt(base, ['kirie.v1', `kirie.token.${bridge.token}`])).toBe('open:kirie.v1');
    expect(await attempt(`${base}?token=${bridge.token}`, [])).toBe('open:');
    expect(await attempt(base, ['kirie.v1'])).toBe('http:401');
    expect(await attempt(base, ['kirie.v1', 'kirie.token.nope'])).toBe('http:401');
  });
});

describe('images', () => {
  it('stores a PNG under its content hash and serves it back', async () => {
    const png = solidPng(16, 8);
    const res = await upload(png);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { id: string; width: number; height: number };
    expect(body).toMatchObject({ width: 16, height: 8 });
    expect(body.id).toMatch(/^[0-9a-f]{64}$/);
    expect(((await (await upload(png)).json()) as { id: string }).id).toBe(body.id);
    const back = await fetch(api(`/images/${body.id}`), { headers: bridge.auth });
    expect(back.headers.get('content-type')).toBe('image/png');
    expect(new Uint8Array(await back.arrayBuffer())).toEqual(png);
  });

  it.each([
    ['not a PNG', new TextEncoder().encode('hello, this is definitely not an image file'), 400, 'invalid_image'],
    ['a truncated PNG', solidPng(64, 64).subarray(0, 60), 400, 'invalid_image'],
    ['an image bomb (huge IHDR)', withIhdrSize(solidPng(4, 4), 100_000, 100_000), 413, 'image_too_large'],
    ['too many pixels', solidPng(512, 512), 413, 'image_too_large'],
    ['an empty image', withIhdrSize(solidPng(4, 4), 0, 4), 400, 'invalid_image'],
  ])('refuses %s', async (_name, bytes, status, code) => {
    const res = await upload(bytes as Uint8Array);
    expect(res.status).toBe(status);
    expect(((await res.json()) as any).error).toMatchObject({ code, field: 'body' });
  });

  it('refuses a body over the byte limit and a wrong content type', async () => {
    const big = await upload(new Uint8Array(600 * 1024));
    expect(big.status).toBe(413);
    expect(((await big.json()) as any).error).toMatchObject({ code: 'body_too_large', field: 'body' });
    const wrong = await upload(solidPng(4, 4), 'text/plain');
    expect(wrong.status).toBe(415);
  });

  it('404s an unknown id and refuses ids that are paths', async () => {
    expect((await fetch(api(`/images/${'a'.repeat(64)}`), { headers: bridge.auth })).status).toBe(404);
    expect((await fetch(api('/images/..%2Ftoken'), { headers: bridge.auth })).status).toBe(404);
  });
});

describe('jobs', () => {
  it('runs a job from submit to PNG, with events and a recipe on disk', async () => {
    const events = await openEvents(bridge);
    const res = await post({ model: 'test-model.safetensors', prompt: 'a red fox', width: 64, height: 64, steps: 2, seed: 1 });
    expect(res.status).toBe(202);
    const { jobId } = (await res.json()) as { jobId: string };
    const done = (await events.waitFor((e) => e.jobId === jobId && e.type === 'done')) as any;
    const types = events.events.filter((e) => e.jobId === jobId).map((e) => e.type);
    expect(types).toEqual(['queued', 'started', 'progress', 'progress', 'done']);
    const progress = events.events.find((e) => e.jobId === jobId && e.type === 'progress') as any;
    expect(progress).toMatchObject({ step: 1, total: 2, phase: 'denoising' });
    expect(Buffer.from(progress.preview, 'base64').subarray(1, 4).toString()).toBe('PNG');
    expect(done.recipe.request).toMatchObject({ prompt: 'a red fox', seed: 1, steps: 2, width: 64 });
    const job = await getJson(`/jobs/${jobId}`);
    expect(job).toMatchObject({ status: 'done', images: done.images });
    const png = new Uint8Array(await (await fetch(api(`/images/${done.images[0]}`), { headers: bridge.auth })).arrayBuffer());
    expect(png).toEqual(new Uint8Array(await readFile(join(bridge.home, 'outputs', `${jobId}-0.png`))));
    expect(JSON.parse(await readFile(join(bridge.home, 'outputs', `${jobId}.json`), 'utf8'))).toMatchObject({ status: 'done', images: done.images });
    events.close();
  });

  it('fills every default but the prompt, resolves "default" and a random seed', async () => {
    const res = await post({ prompt: 'x', steps: 1, width: 64, height: 64 });
    const { jobId } = (await res.json()) as { jobId: string };
    const job = await waitStatus(jobId, 'done');
    expect(job.request.model).toBe('test-model.safetensors');
    expect(job.request.seed).toBeGreaterThanOrEqual(0);
  });

  it('cancels a running job promptly and a queued one', async () => {
    const events = await openEvents(bridge);
    const running = ((await (await post({ prompt: 'slow', steps: 50, width: 64, height: 64, seed: 2 })).json()) as any).jobId;
    const queued = ((await (await post({ prompt: 'next', steps: 1, width: 64, height: 64, seed: 3 })).json()) as any).jobId;
    await events.waitFor((e) => e.jobId === running && e.type === 'progress');
    const t0 = performance.now();
    const res = await fetch(api(`/jobs/${queued}`), { method: 'DELETE', headers: bridge.auth });
    const res2 = await fetch(api(`/jobs/${running}`), { method: 'DELETE', headers: bridge.auth });
    expect(performance.now() - t0).toBeLessThan(100);
    expect(((await res.json()) as any).status).toBe('cancelled');
    expect(((await res2.json()) as any).status).toBe('cancelled');
    await events.waitFor((e) => e.jobId === running && e.type === 'cancelled');
    await events.waitFor((e) => e.jobId === queued && e.type === 'cancelled');
    expect(events.events.some((e) => e.jobId === running && e.type === 'done')).toBe(false);
    expect(runner.started.some((s) => s.jobId === queued)).toBe(false);
    events.close();
  });

  it('refuses jobs with 429 when the queue is full, and takes them again after', async () => {
    const ids: string[] = [];
    const first = await post({ prompt: 'runs', steps: 30, width: 64, height: 64 });
    ids.push(((await first.json()) as any).jobId);
    await waitStatus(ids[0]!, 'running');
    for (let i = 0; i < 3; i++) {
      const r = await post({ prompt: `wait ${i}`, steps: 1, width: 64, height: 64 });
      expect(r.status).toBe(202);
      ids.push(((await r.json()) as any).jobId);
    }
    const over = await post({ prompt: 'one too many', steps: 1, width: 64, height: 64 });
    expect(over.status).toBe(429);
    expect(((await over.json()) as any).error.code).toBe('queue_full');
    for (const id of ids) await fetch(api(`/jobs/${id}`), { method: 'DELETE', headers: bridge.auth });
    const again = await post({ prompt: 'room again', steps: 1, width: 64, height: 64 });
    expect(again.status).toBe(202);
    await waitStatus(((await again.json()) as any).jobId, 'done');
  });

  it('fails a job whose generation throws with an error event, and keeps serving', async () => {
    const events = await openEvents(bridge);
    runner.fail = 'the UNet session could not be created: out of memory';
    const { jobId } = (await (await post({ prompt: 'boom', steps: 2, width: 64, height: 64 })).json()) as any;
    const error = (await events.waitFor((e) => e.jobId === jobId && e.type === 'error')) as any;
    runner.fail = null;
    expect(error.message).toContain('out of memory');
    expect((await getJson(`/jobs/${jobId}`)).status).toBe('error');
    const next = (await (await post({ prompt: 'fine', steps: 1, width: 64, height: 64 })).json()) as any;
    await waitStatus(next.jobId, 'done');
    events.close();
  });

  it('keeps a finished result retrievable after the client reconnects', async () => {
    const first = await openEvents(bridge);
    const { jobId } = (await (await post({ prompt: 'while away', steps: 3, width: 64, height: 64, seed: 9 })).json()) as any;
    first.close();
    await waitStatus(jobId, 'done');
    const second = await openEvents(bridge);
    const job = await getJson(`/jobs/${jobId}`);
    expect(job.recipe.request.seed).toBe(9);
    const res = await fetch(api(`/images/${job.images[0]}`), { headers: bridge.auth });
    expect(res.status).toBe(200);
    second.close();
  });

  it.each([
    [{ prompt: 'x'.repeat(101) }, 'prompt', 'limit_exceeded'],
    [{ prompt: 'x', negativePrompt: 'y'.repeat(101) }, 'negativePrompt', 'limit_exceeded'],
    [{ prompt: 'x', steps: 51 }, 'steps', 'limit_exceeded'],
    [{ prompt: 'x', batchSize: 3 }, 'batchSize', 'limit_exceeded'],
    [{ prompt: 'x', width: 512, height: 512 }, 'width', 'limit_exceeded'],
    [{ prompt: 'x', width: 65 }, 'width', 'invalid_request'],
    [{ steps: 2 }, 'prompt', 'invalid_request'],
    [{ prompt: 'x', width: 64, height: 64, model: 'nope.safetensors' }, 'model', 'unknown_model'],
    [{ prompt: 'x', width: 64, height: 64, initImage: 'a'.repeat(64) }, 'initImage', 'unknown_image'],
    [{ prompt: 'x', initImage: '../../token' }, 'initImage', 'invalid_request'],
    [{ prompt: 'x', mask: 'a'.repeat(64) }, 'mask', 'invalid_request'],
  ])('refuses %j naming %s', async (body, field, code) => {
    const res = await post(body);
    expect(res.status).toBe(400);
    expect(((await res.json()) as any).error).toMatchObject({ code, field });
  });

  it('refuses a JSON body over the limit and broken JSON', async () => {
    const big = await post({ prompt: 'x'.repeat(20_000) });
    expect(big.status).toBe(413);
    const broken = await fetch(api('/jobs'), { method: 'POST', headers: { ...bridge.auth, 'content-type': 'application/json' }, body: '{"prompt":' });
    expect(broken.status).toBe(400);
    expect(((await broken.json()) as any).error.code).toBe('invalid_json');
  });

  // The OpenAPI document has its own test (openapi.test.ts): parsed, and the live bridge driven from it.
  it('serves the styles', async () => {
    const { styles } = await getJson('/styles');
    expect(styles.map((s: { id: string }) => s.id)).toEqual(expect.arrayContaining(['kirie', 'pop-up-book', 'mosaic', 'isometric-3d', 'watercolour', 'line-art', 'photo']));
  });

  it('writes the token with owner-only permissions', async () => {
    expect((await stat(join(bridge.home, 'token'))).mode & 0o777).toBe(0o600);
  });
});

/** A PNG whose IHDR declares another size (CRC left stale: the check must not get as far as the CRC). */
function withIhdrSize(png: Uint8Array, width: number, height: number): Uint8Array {
  const copy = png.slice();
  const view = new DataView(copy.buffer);
  view.setUint32(16, width);
  view.setUint32(20, height);
  return copy;
}

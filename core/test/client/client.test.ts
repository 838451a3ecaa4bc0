// KirieClient over injected fetch/WebSocket fakes (the real server is exercised in tests/e2e), and the
// scriptable mock host plugins test against.
import { describe, expect, it } from 'vitest';
import { KirieClient, type ClientMessage } from '../../src/client/client';
import { MockKirieClient } from '../../src/client/mock';
import { KirieApiError, type JobEvent, type JobInfo } from '../../src/client/protocol';
import type { FetchLike, RequestInitLike, ResponseLike, WebSocketLike } from '../../src/client/transport';

function response(status: number, body: unknown): ResponseLike {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  return {
    ok: status < 400,
    status,
    headers: { get: () => null },
    json: async () => JSON.parse(text),
    text: async () => text,
    arrayBuffer: async () => new TextEncoder().encode(text).buffer as ArrayBuffer,
  };
}

/** A WebSocket whose server side the test drives. */
class FakeSocket implements WebSocketLike {
  static all: FakeSocket[] = [];
  readyState = 0;
  onopen: ((e: unknown) => void) | null = null;
  onmessage: ((e: { data: unknown }) => void) | null = null;
  onclose: ((e: { code: number; reason: string }) => void) | null = null;
  onerror: ((e: unknown) => void) | null = null;
  closed = false;
  constructor(
    readonly url: string,
    readonly protocols?: string | string[],
  ) {
    FakeSocket.all.push(this);
    queueMicrotask(() => this.onopen?.({}));
  }
  emit(event: JobEvent): void {
    this.onmessage?.({ data: JSON.stringify(event) });
  }
  drop(): void {
    this.onclose?.({ code: 1006, reason: '' });
  }
  close(): void {
    this.closed = true;
  }
}

const tick = () => new Promise((r) => setTimeout(r, 0));

function makeClient(routes: (method: string, path: string, init?: RequestInitLike) => ResponseLike) {
  const calls: { url: string; init?: RequestInitLike }[] = [];
  const fetch: FetchLike = async (url, init) => {
    calls.push({ url, ...(init ? { init } : {}) });
    return routes(init?.method ?? 'GET', url.replace('http://127.0.0.1:7860/v1', ''), init);
  };
  FakeSocket.all = [];
  const client = new KirieClient({ url: 'http://127.0.0.1:7860/', token: 'secret', fetch, WebSocket: FakeSocket });
  return { client, calls };
}

describe('KirieClient', () => {
  it.each([
    ['health', (c: KirieClient) => c.health(), 'GET', '/health'],
    ['models', (c: KirieClient) => c.models(), 'GET', '/models'],
    ['styles', (c: KirieClient) => c.styles(), 'GET', '/styles'],
    ['job', (c: KirieClient) => c.job('a b'), 'GET', '/jobs/a%20b'],
    ['cancel', (c: KirieClient) => c.cancel('j1'), 'DELETE', '/jobs/j1'],
    ['submit', (c: KirieClient) => c.submit({ prompt: 'fox' }), 'POST', '/jobs'],
    ['uploadImage', (c: KirieClient) => c.uploadImage(new Uint8Array([1, 2])), 'PUT', '/images'],
  ])('%s sends %s %s with the bearer token', async (_name, call, method, path) => {
    const { client, calls } = makeClient(() => response(200, { models: [], styles: [] }));
    await call(client);
    expect(calls[0]!.url).toBe(`http://127.0.0.1:7860/v1${path}`);
    expect(calls[0]!.init?.method).toBe(method);
    expect(calls[0]!.init?.headers?.authorization).toBe('Bearer secret');
  });

  it('sends requests as JSON and images as PNG bytes', async () => {
    const { client, calls } = makeClient(() => response(200, {}));
    await client.submit({ prompt: 'fox', steps: 2 });
    await client.uploadImage(new Uint8Array([137, 80]));
    expect(calls[0]!.init).toMatchObject({ body: '{"prompt":"fox","steps":2}', headers: { 'content-type': 'application/json' } });
    expect(calls[1]!.init).toMatchObject({ body: new Uint8Array([137, 80]), headers: { 'content-type': 'image/png' } });
  });

  it.each([
    [400, { error: { code: 'limit_exceeded', message: 'steps is 500; the limit is 150', field: 'steps' } }, 'limit_exceeded', 'steps is 500; the limit is 150', 'steps'],
    [429, { error: { code: 'queue_full', message: 'the queue is full' } }, 'queue_full', 'the queue is full', undefined],
    [502, 'Bad Gateway', 'http_error', 'HTTP 502: Bad Gateway', undefined],
  ])('turns HTTP %i into a KirieApiError', async (status, body, code, message, field) => {
    const { client } = makeClient(() => response(status, body));
    const err = (await client.submit({ prompt: 'x' }).catch((e: unknown) => e)) as KirieApiError;
    expect(err).toBeInstanceOf(KirieApiError);
    expect({ status: err.status, code: err.code, message: err.message, field: err.field }).toEqual({ status, code, message, field });
  });

  it('says the bridge is unreachable when fetch fails', async () => {
    const client = new KirieClient({ url: 'http://127.0.0.1:1', token: 't', fetch: async () => Promise.reject(new Error('ECONNREFUSED')), WebSocket: FakeSocket });
    await expect(client.health()).rejects.toThrow(/not reachable \(ECONNREFUSED\); is `kirie serve` running\?/);
  });

  it('opens the event socket with the token as a subprotocol and yields its events', async () => {
    const { client } = makeClient(() => response(200, {}));
    const stream = client.listen()[Symbol.asyncIterator]();
    expect((await stream.next()).value).toEqual({ type: 'connected' });
    const socket = FakeSocket.all[0]!;
    expect(socket.url).toBe('ws://127.0.0.1:7860/v1/events');
    expect(socket.protocols).toEqual(['kirie.v1', 'kirie.token.secret']);
    socket.emit({ type: 'started', jobId: 'j' });
    expect((await stream.next()).value).toEqual({ type: 'started', jobId: 'j' });
    socket.drop();
    expect((await stream.next()).value).toEqual({ type: 'disconnected', reason: 'connection closed (code 1006)' });
    expect((await stream.next()).done).toBe(true);
  });

  it('generate follows only its own job, through its terminal event, then closes the socket', async () => {
    const { client } = makeClient((method) => response(method === 'POST' ? 202 : 200, { jobId: 'mine', position: 0 }));
    const seen: JobEvent[] = [];
    const run = (async () => {
      for await (const e of client.generate({ prompt: 'x' })) seen.push(e);
    })();
    while (FakeSocket.all.length === 0) await tick();
    const socket = FakeSocket.all[0]!;
    await tick();
    await tick();
    socket.emit({ type: 'queued', jobId: 'other', position: 0 });
    socket.emit({ type: 'queued', jobId: 'mine', position: 1 });
    socket.emit({ type: 'progress', jobId: 'mine', phase: 'denoising', step: 1, total: 2 });
    socket.emit({ type: 'error', jobId: 'mine', message: 'out of memory' });
    socket.emit({ type: 'started', jobId: 'mine' });
    await run;
    expect(seen.map((e) => e.type)).toEqual(['queued', 'progress', 'error']);
    expect(socket.closed).toBe(true);
  });

  it('generate recovers the result from the server when the socket drops mid-job', async () => {
    let polls = 0;
    const done: JobInfo = { id: 'mine', status: 'done', request: {} as JobInfo['request'], createdAt: '', images: ['img'], recipe: { images: ['img'] } as JobInfo['recipe'] };
    const { client } = makeClient((method, path) => {
      if (method === 'POST') return response(202, { jobId: 'mine', position: 0 });
      if (path === '/jobs/mine') return response(200, polls++ === 0 ? { ...done, status: 'running' } : done);
      return response(404, { error: { code: 'not_found', message: 'no' } });
    });
    const seen: JobEvent[] = [];
    const run = (async () => {
      for await (const e of client.generate({ prompt: 'x' })) seen.push(e);
    })();
    while (FakeSocket.all.length === 0) await tick();
    await tick();
    await tick();
    FakeSocket.all[0]!.emit({ type: 'started', jobId: 'mine' });
    FakeSocket.all[0]!.drop();
    await run;
    expect(FakeSocket.all.length).toBe(2);
    expect(seen.map((e) => e.type)).toEqual(['started', 'done']);
    expect(seen[1]).toMatchObject({ type: 'done', images: ['img'] });
  });
});

describe('MockKirieClient', () => {
  it('plays the default script and serves the result image', async () => {
    const mock = new MockKirieClient();
    const events: JobEvent[] = [];
    for await (const e of mock.generate({ prompt: 'fox', steps: 3 })) events.push(e);
    expect(events.map((e) => (e.type === 'progress' ? `progress ${e.step}/${e.total}` : e.type))).toEqual(['queued', 'started', 'progress 1/3', 'progress 2/3', 'progress 3/3', 'done']);
    const done = events.at(-1) as Extract<JobEvent, { type: 'done' }>;
    expect(await mock.image(done.images[0]!)).toEqual(new Uint8Array());
    expect(mock.submitted).toEqual([{ prompt: 'fox', steps: 3 }]);
    expect((await mock.job(done.jobId)).status).toBe('done');
  });

  it('plays a custom script, and cancel stops it', async () => {
    const mock = new MockKirieClient({ script: () => [{ type: 'queued', position: 0 }, { type: 'started' }, { type: 'progress', phase: 'denoising', step: 1, total: 9, delayMs: 5 }, { type: 'done', images: [], recipe: {} as never, delayMs: 10_000 }] });
    const seen: ClientMessage[] = [];
    for await (const e of mock.generate({ prompt: 'x' })) {
      seen.push(e);
      if (e.type === 'progress') await mock.cancel(e.jobId);
    }
    expect(seen.map((e) => e.type)).toEqual(['queued', 'started', 'progress', 'cancelled']);
    expect(mock.cancelled).toHaveLength(1);
  });

  it('scripts errors the way the bridge reports them', async () => {
    const mock = new MockKirieClient({ script: () => [{ type: 'queued', position: 0 }, { type: 'error', message: 'no checkpoint in the models folder' }] });
    const events: JobEvent[] = [];
    for await (const e of mock.generate({ prompt: 'x' })) events.push(e);
    expect(events.at(-1)).toMatchObject({ type: 'error', message: 'no checkpoint in the models folder' });
    await expect(mock.image('nope')).rejects.toMatchObject({ status: 404, field: 'id' });
  });
});

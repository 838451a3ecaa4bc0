// /v1/openapi.json is the truth: a real OpenAPI 3.1 parser accepts it, its examples meet its own schemas,
// and the live bridge is driven with requests built from it: its examples, its schema's boundaries, and for
// every refusal it documents a request that earns it. Every answer is checked against the documented
// response (status, schema, error code), and at the end every documented status and code must have been seen.
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { compileErrors, dereference, validate } from '@readme/openapi-parser';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodePng } from '@kirie/core/image/png';
import { EXAMPLE_IMAGE_ID, EXAMPLE_MASK_ID, OPERATIONS } from '../../src/server/api-operations.js';
import { FolderRegistry, type ModelClassifier } from '../../src/registry/registry.js';
import { bridgePaths } from '../../src/server/paths.js';
import { startBridge as startRunningBridge, type RunningBridge } from '../../src/server/start.js';
import { ScriptedRunner, solidPng } from './harness.js';

type Json = Record<string, any>;

// Small enough to reach every refusal quickly: one PNG check at a time and none waiting, a 16 GiB memory
// budget (the same on every machine) that a square of about 1400 px overflows.
const LIMITS = { queue: 3, imageBytes: 1 << 20, pixels: 2048 * 2048, memoryBytes: 16 * 2 ** 30, pngChecks: 1, pngCheckQueue: 0 };
const CONTROLNET = 'control_v11p_sd15_openpose.safetensors';

let bridge: Bridge;
let doc: Json;
/** The document with every $ref resolved, for schemas to validate against. */
let resolved: Json;
let uploads: Record<string, string>;

const ajv = new Ajv2020({ strict: true, allErrors: true });
addFormats.default(ajv);
// zod states base64 strings as format "base64" (JSON Schema's own vocabulary only has contentEncoding).
ajv.addFormat('base64', /^[A-Za-z0-9+/]*={0,2}$/);
const compiled = new WeakMap<object, ValidateFunction>();
function schemaErrors(schema: object, value: unknown): string | null {
  let check = compiled.get(schema);
  if (!check) compiled.set(schema, (check = ajv.compile(schema)));
  return check(value) ? null : ajv.errorsText(check.errors, { dataVar: 'body' });
}

/** A running bridge and its models folder. */
type Bridge = RunningBridge & { models: string; dispose(): Promise<void> };

/** Lets the classifier's hung read (below) return, so a test's bridge can close. */
const unhang: (() => void)[] = [];

/**
 * Classifies the test's own model files by name, as the real classifier would judge such files: a
 * `damaged*` one throws (a cut-short header), `hung*` never answers (a network drive that went away).
 */
const classify: ModelClassifier = async (path) => {
  const name = basename(path);
  if (name.startsWith('hung')) return new Promise((resolve) => unhang.push(() => resolve(null)));
  if (name.startsWith('damaged')) throw new Error('the safetensors header runs past the end of the file');
  if (name.startsWith('control_')) return 'controlnet';
  return name.endsWith('.safetensors') ? 'checkpoint' : null;
};

async function startBridge(models: Record<string, string>, limits = LIMITS): Promise<Bridge> {
  const home = await mkdtemp(join(tmpdir(), 'kirie-openapi-'));
  const paths = bridgePaths({ home });
  await mkdir(paths.models, { recursive: true });
  for (const [name, content] of Object.entries(models)) await writeFile(join(paths.models, name), content);
  const registry = new FolderRegistry({ dir: paths.models, classify, readTimeoutMs: 300 });
  const started = await startRunningBridge({ paths, registry, runner: new ScriptedRunner(20), port: 0, limits });
  return {
    ...started,
    models: paths.models,
    async dispose() {
      for (const release of unhang.splice(0)) release();
      await started.close('cancel');
      await rm(home, { recursive: true, force: true });
    },
  };
}

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

interface Send {
  token?: string | null;
  headers?: Record<string, string>;
  body?: Uint8Array | string;
  on?: Bridge;
}

/** One HTTP request as a client would send it, the token as a bearer header unless `token: null`. */
function send(method: string, path: string, { token, headers = {}, body, on = bridge }: Send = {}): Promise<Answer> {
  const bearer = token === null ? {} : { authorization: `Bearer ${token ?? on.token}` };
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port: on.port, method, path, headers: { ...bearer, ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('upgrade', (res, socket) => {
      socket.destroy();
      resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.alloc(0) });
    });
    req.on('error', reject);
    req.end(body);
  });
}

const json = (value: unknown) => ({ headers: { 'content-type': 'application/json' }, body: JSON.stringify(value) });
/** A WebSocket handshake's headers (offering the protocol, not the token). */
const UPGRADE = { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==', 'sec-websocket-protocol': 'kirie.v1' };

/** Every status and error code the document promises, by operation, and those the server was seen to give. */
const documented = new Map<string, Set<string>>();
const reached = new Map<string, Set<string>>();
let requestsDriven = 0;
let edgeRequests = 0;

/** Checks an answer against the operation's documented responses, records what it reached, returns the JSON body. */
function expectDocumented(operation: string, answer: Answer, expected?: { status?: number; code?: string; field?: string }): Json {
  const [method, path] = operation.split(' ') as [string, string];
  const response = resolved.paths[path][method.toLowerCase()].responses[answer.status];
  requestsDriven++;
  const text = answer.body.toString('utf8', 0, 300);
  expect(response, `${operation} answered an undocumented ${answer.status}: ${text}`).toBeDefined();
  if (expected?.status) expect(answer.status, `${operation}: ${text}`).toBe(expected.status);
  const type = String(answer.headers['content-type'] ?? '').split(';')[0]!;
  let body: Json = {};
  if (answer.status !== 101) {
    expect(Object.keys(response.content ?? {}), `${operation} ${answer.status} answered ${type}`).toContain(type);
    if (type === 'application/json') {
      body = JSON.parse(answer.body.toString('utf8'));
      expect(schemaErrors(response.content[type].schema, body), `${operation} ${answer.status}`).toBeNull();
    } else expect([...answer.body.subarray(1, 4)]).toEqual([0x50, 0x4e, 0x47]);
  }
  const seen = reached.get(operation) ?? new Set<string>();
  seen.add(String(answer.status));
  if (body.error) {
    seen.add(`${answer.status} ${body.error.code}`);
    if (expected?.code) expect(body.error.code, text).toBe(expected.code);
    if (expected?.field) expect(body.error.field, text).toBe(expected.field);
  }
  reached.set(operation, seen);
  return body;
}

/** Each (operation, path with params filled) the document lists. */
function operations(): { operation: string; path: string; op: Json }[] {
  return Object.entries(resolved.paths).flatMap(([template, methods]) =>
    Object.entries(methods as Json).map(([method, op]) => ({ operation: `${method.toUpperCase()} ${template}`, path: template, op })),
  );
}

const withUploads = (value: unknown) => JSON.parse(JSON.stringify(value).replaceAll(EXAMPLE_IMAGE_ID, uploads.image!).replaceAll(EXAMPLE_MASK_ID, uploads.mask!));

async function submit(request: unknown, expected?: { status?: number; code?: string; field?: string }): Promise<Json> {
  const body = expectDocumented('POST /v1/jobs', await send('POST', '/v1/jobs', json(request)), expected);
  // Accepted jobs are cancelled at once, so the small queue only fills when a test means it to.
  if (body.jobId) expectDocumented('DELETE /v1/jobs/{id}', await send('DELETE', `/v1/jobs/${body.jobId}`), { status: 200 });
  return body;
}

beforeAll(async () => {
  bridge = await startBridge({ 'test-model.safetensors': 'scripted runner: never opened', [CONTROLNET]: 'scripted runner: never opened', 'notes.txt': 'not a model', 'damaged.safetensors': '' });
  doc = JSON.parse((await send('GET', '/v1/openapi.json')).body.toString('utf8'));
  resolved = await dereference(structuredClone(doc) as never);
  for (const { operation, op } of operations()) {
    const promised = new Set<string>();
    for (const [status, response] of Object.entries(op.responses as Json)) {
      promised.add(status);
      for (const code of response.content?.['application/json']?.schema?.allOf?.[1]?.properties.error.properties.code.enum ?? []) promised.add(`${status} ${code}`);
    }
    documented.set(operation, promised);
  }
  const image = expectDocumented('PUT /v1/images', await send('PUT', '/v1/images', { headers: { 'content-type': 'image/png' }, body: solidPng(512, 512) }), { status: 200 });
  const maskPng = encodePng({ width: 512, height: 512, channels: 1, data: new Uint8Array(512 * 512).fill(255) });
  const mask = expectDocumented('PUT /v1/images', await send('PUT', '/v1/images', { headers: { 'content-type': 'application/octet-stream' }, body: maskPng }), { status: 200 });
  uploads = { image: image.id, mask: mask.id };
});
afterAll(() => bridge?.dispose());

describe('the OpenAPI document', () => {
  it('is valid OpenAPI 3.1 to a real parser', async () => {
    expect(doc.openapi).toBe('3.1.0');
    const result = await validate(structuredClone(doc) as never);
    expect(result.valid ? '' : compileErrors(result)).toBe('');
  });

  it('describes exactly the routes the server registered, with the limits it enforces', () => {
    const listed = operations().map((o) => o.operation.replace(/\{(\w+)\}/g, ':$1'));
    expect(listed.sort()).toEqual(Object.keys(OPERATIONS).sort());
    expect(doc.info['x-limits']).toMatchObject(LIMITS);
    const request = resolved.components.schemas.GenerateRequest;
    expect(request.required).toEqual(['prompt']);
    expect(request.properties.width.multipleOf).toBe(8);
    expect(request.additionalProperties).toBe(false);
  });

  it('gives examples that meet their own schemas', () => {
    let checked = 0;
    for (const { operation, op } of operations()) {
      const media = [...Object.values(op.requestBody?.content ?? {}), ...Object.values(op.responses).flatMap((r: any) => Object.values(r.content ?? {}))] as Json[];
      for (const { schema, examples } of media) {
        for (const [name, example] of Object.entries((examples ?? {}) as Json)) {
          expect(schemaErrors(schema, example.value), `${operation} example ${name}`).toBeNull();
          checked++;
        }
      }
      for (const [i, event] of (op['x-websocket']?.examples ?? []).entries()) {
        expect(schemaErrors(op['x-websocket'].message, event), `event example ${i}`).toBeNull();
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(20);
  });
});

describe('the live bridge, driven from the document', () => {
  it('answers every operation as documented for a client with the token, a stranger and a foreign host', async () => {
    for (const { operation, path, op } of operations()) {
      const [method] = operation.split(' ') as [string];
      const concrete = path.replace('{id}', 'f'.repeat(64));
      expectDocumented(operation, await send(method, concrete, { headers: { host: 'evil.example' } }), { status: 421, code: 'bad_host' });
      const stranger = await send(method, concrete, { token: null, ...(op['x-websocket'] ? { headers: UPGRADE } : {}) });
      // Public routes answer a stranger (pairing's with a refusal of the empty body or unknown id, not 401).
      const answer = expectDocumented(operation, stranger, op.security?.length === 0 ? (operation === 'GET /v1/health' ? { status: 200 } : {}) : { status: 401, code: 'unauthorized' });
      if (op.security?.length === 0) expect(stranger.status, operation).not.toBe(401);
      // Health tells a stranger only its public part (PublicHealth: nothing about the bridge's use).
      if (operation === 'GET /v1/health') expect(schemaErrors(resolved.components.schemas.PublicHealth, answer)).toBeNull();
      expectDocumented(operation, await send(method, concrete, { token: 'wrong' }), { status: 401, code: 'unauthorized' });
      if (!op['x-websocket']) expectDocumented(operation, await send(method, concrete, { headers: UPGRADE }), { status: 400, code: 'not_websocket' });
      if (op.parameters?.length) {
        expectDocumented(operation, await send(method, path.replace('{id}', '%E0%A4%A')), { status: 400, code: 'bad_url' });
        expectDocumented(operation, await send(method, path.replace('{id}', 'f'.repeat(200))), { status: 414, code: 'bad_url' });
        expectDocumented(operation, await send(method, concrete), { status: 404, code: 'not_found' });
      }
    }
    for (const path of ['/v1/health', '/v1/openapi.json', '/v1/models', '/v1/adapters', '/v1/styles']) expectDocumented(`GET ${path}`, await send('GET', path), { status: 200 });
    const image = await send('GET', `/v1/images/${uploads.image}`);
    expectDocumented('GET /v1/images/{id}', image, { status: 200 });
    expect(image.body.equals(Buffer.from(solidPng(512, 512)))).toBe(true);
  });

  it('pairs a client that has no token only after the code is approved, and refuses what the document says', async () => {
    const started = expectDocumented('POST /v1/pair', await send('POST', '/v1/pair', { token: null, ...json({ client: 'Photoshop' }) }), { status: 200 });
    expect(expectDocumented('GET /v1/pair/{id}', await send('GET', `/v1/pair/${started.id}`, { token: null }), { status: 200 })).toEqual({ status: 'pending', expiresInSeconds: expect.any(Number) });
    expectDocumented('POST /v1/pair/approve', await send('POST', '/v1/pair/approve', json({ code: '000000' })), { status: 404, code: 'not_found', field: 'code' });
    expectDocumented('POST /v1/pair/approve', await send('POST', '/v1/pair/approve', json({ secret: 1 })), { status: 400, code: 'invalid_request' });
    expectDocumented('POST /v1/pair/approve', await send('POST', '/v1/pair/approve', json({ code: started.code })), { status: 200 });
    expect(expectDocumented('GET /v1/pair/{id}', await send('GET', `/v1/pair/${started.id}`, { token: null }), { status: 200 })).toEqual({ status: 'approved', token: bridge.token });
    expectDocumented('GET /v1/pair/{id}', await send('GET', `/v1/pair/${started.id}`, { token: null }), { status: 404, code: 'not_found' });
    expectDocumented('POST /v1/pair', await send('POST', '/v1/pair', { token: null, ...json({ client: ' ' }) }), { status: 400, code: 'invalid_request', field: 'client' });
    const asks = await Promise.all(Array.from({ length: 5 }, () => send('POST', '/v1/pair', { token: null, ...json({ client: 'a page' }) })));
    expect(asks.map((a) => String(expectDocumented('POST /v1/pair', a).error?.code ?? a.status)).sort()).toEqual(['200', '200', '200', '200', 'busy']);
  });

  it('detects the people in an uploaded photo and refuses what the document says', async () => {
    const detect = (body: unknown) => send('POST', '/v1/poses/detect', json(body));
    // A plain grey picture: nobody in it.
    expect(expectDocumented('POST /v1/poses/detect', await detect({ image: uploads.image }), { status: 200 })).toEqual({ canvas_width: 512, canvas_height: 512, people: [] });
    expectDocumented('POST /v1/poses/detect', await detect({ image: 'f'.repeat(64) }), { status: 400, code: 'unknown_image', field: 'image' });
    expectDocumented('POST /v1/poses/detect', await detect({ image: '../etc/passwd' }), { status: 400, code: 'invalid_request', field: 'image' });
    expectDocumented('POST /v1/poses/detect', await send('POST', '/v1/poses/detect', { headers: { 'content-type': 'application/json' }, body: '{"image":' }), { status: 400, code: 'invalid_json' });
  }, 60_000);

  it('takes a PNG as each documented content type and refuses what the document says it refuses', async () => {
    const upload = (headers: Record<string, string>, body: Uint8Array | string) => send('PUT', '/v1/images', { headers, body });
    const { content } = resolved.paths['/v1/images'].put.requestBody;
    for (const type of Object.keys(content)) expectDocumented('PUT /v1/images', await upload({ 'content-type': type }, solidPng(64, 64, [1, 2, 3])), { status: 200 });
    const { imageBytes, pixels } = doc.info['x-limits'];
    expectDocumented('PUT /v1/images', await upload({ 'content-type': 'image/png' }, 'not a png at all'), { status: 400, code: 'invalid_image' });
    expectDocumented('PUT /v1/images', await upload({ 'content-type': 'image/png' }, new Uint8Array(imageBytes + 1)), { status: 413, code: 'body_too_large' });
    const side = Math.sqrt(pixels);
    const tooMany = encodePng({ width: side + 1, height: side, channels: 1, data: new Uint8Array((side + 1) * side) });
    expectDocumented('PUT /v1/images', await upload({ 'content-type': 'image/png' }, tooMany), { status: 413, code: 'image_too_large' });
    expectDocumented('PUT /v1/images', await upload({ 'content-type': 'text/plain' }, 'hello'), { status: 415, code: 'unsupported_media_type' });
    expectDocumented('PUT /v1/images', await upload({ 'content-type': 'application/json' }, '{}'), { status: 415, code: 'unsupported_media_type' });
    // Uploads beyond the checks running and waiting are turned away at once; an RGBA PNG at the pixel limit keeps a check busy.
    const slow = encodePng({ width: side, height: side, channels: 4, data: new Uint8Array(pixels * 4) });
    let busy = 0;
    for (let round = 0; round < 5 && busy === 0; round++) {
      const answers = await Promise.all(Array.from({ length: 6 }, () => upload({ 'content-type': 'image/png' }, slow)));
      for (const answer of answers) busy += expectDocumented('PUT /v1/images', answer).error?.code === 'busy' ? 1 : 0;
    }
    expect(busy).toBeGreaterThan(0);
  });

  it('accepts every documented request example and answers its job as documented', async () => {
    const { examples } = resolved.paths['/v1/jobs'].post.requestBody.content['application/json'];
    for (const [name, example] of Object.entries(examples as Json)) {
      const { jobId } = await submit(withUploads(example.value), { status: 202 });
      expect(jobId, name).toBeTypeOf('string');
      expectDocumented('GET /v1/jobs/{id}', await send('GET', `/v1/jobs/${jobId}`), { status: 200 });
    }
  });

  it('accepts every boundary value of the request schema and refuses one step past it, naming the field', async () => {
    const request = resolved.components.schemas.GenerateRequest;
    const unit = { model: CONTROLNET, image: uploads.image };
    // Where each object's fields are varied, and what else a request needs for that object to count.
    const known: { path: (string | number)[]; base: Json }[] = [
      { path: [], base: {} },
      { path: ['inpaint'], base: { initImage: uploads.image, mask: uploads.mask } },
      { path: ['control', 0], base: { control: [unit] } },
    ];
    // Every other nested object (schedulerConfig, LoRAs, …) needs settings or files of its own to be accepted,
    // and its settings may interlock (a schedule must still run): there only each bound's far side is a sure refusal.
    const nested = Object.entries(request.properties as Json).flatMap(([key, property]) =>
      property.type === 'object' && property.properties ? [[key]] : property.type === 'array' && property.items?.properties ? [[key, 0]] : [],
    );
    const at = (path: (string | number)[]) => path.reduce((schema: Json, key) => (typeof key === 'number' ? schema.items : schema.properties[key]), request);
    const containers = [
      ...known.map((c) => ({ ...c, schema: at(c.path), acceptsEdges: true })),
      ...nested
        .filter((path) => !known.some((c) => c.path.join('.') === path.join('.')))
        .map((path) => ({ path, schema: at(path), base: withPath(path, minimal(at(path))), acceptsEdges: false })),
    ];
    expect(containers.map((c) => c.path.join('.'))).toEqual(expect.arrayContaining(['', 'inpaint', 'control.0', 'schedulerConfig']));
    const ruleRefusals = (doc.paths['/v1/jobs'].post['x-cross-field-rules'] as { code: string; field: string }[]).map((r) => `${r.code} ${r.field}`);
    let sent = 0;
    let refusedByRule = 0;
    for (const { path, schema, base, acceptsEdges } of containers) {
      for (const [key, property] of Object.entries(schema.properties as Json)) {
        const field = [...path, key].join('.');
        for (const { value, ok } of edges(property)) {
          if (ok && !acceptsEdges) continue;
          const body: Json = { prompt: 'a red fox', ...structuredClone(base), ...(key.startsWith('mask') && !path.length ? { initImage: uploads.image, mask: uploads.mask } : {}) };
          setPath(body, [...path, key], value);
          if (ok) {
            // An edge the schema allows may still break a rule across fields (a control unit's end = 0 is never
            // after its start): then the refusal must be the one a documented rule gives.
            const answer = await submit(body);
            if (answer.error) expect(ruleRefusals, `${field} = ${JSON.stringify(value)}: ${answer.error.message}`).toContain(`${answer.error.code} ${answer.error.field}`);
            else expect(answer.jobId).toBeTypeOf('string');
            refusedByRule += answer.error ? 1 : 0;
          } else await submit(body, { status: 400, field });
          sent++;
        }
      }
    }
    expect(sent).toBeGreaterThan(100);
    expect(refusedByRule).toBeLessThan(sent / 10);
    edgeRequests = sent;
    await submit({ prompt: 'a red fox', surprise: 1 }, { status: 400, code: 'invalid_request', field: 'surprise' });
  });

  it('refuses each cross-field rule the document states, naming the field', async () => {
    const rules = doc.paths['/v1/jobs'].post['x-cross-field-rules'] as { rule: string; code: string; field: string; refused: unknown }[];
    expect(rules.length).toBeGreaterThan(5);
    for (const { rule, code, field, refused } of rules) {
      const body = await submit(withUploads(refused));
      expect(body.error, rule).toMatchObject({ code, field });
    }
  });

  it('refuses broken and oversized bodies, a full queue, and an empty models folder as documented', async () => {
    expectDocumented('POST /v1/jobs', await send('POST', '/v1/jobs', { headers: { 'content-type': 'application/json' }, body: '{"prompt":' }), { status: 400, code: 'invalid_json' });
    const depth = doc.info['x-limits'].jsonDepth;
    const deep = `{"prompt":"x","control":${'['.repeat(depth)}${']'.repeat(depth)}}`;
    expectDocumented('POST /v1/jobs', await send('POST', '/v1/jobs', { headers: { 'content-type': 'application/json' }, body: deep }), { status: 400, code: 'too_deep', field: 'body' });
    expectDocumented('POST /v1/jobs', await send('POST', '/v1/jobs', json({ prompt: 'x', negativePrompt: 'x'.repeat(doc.info['x-limits'].jsonBytes) })), { status: 413, code: 'body_too_large' });
    expectDocumented('POST /v1/jobs', await send('POST', '/v1/jobs', { headers: { 'content-type': 'application/xml' }, body: '<prompt/>' }), { status: 415, code: 'unsupported_media_type' });
    const jobs: string[] = [];
    let answer: Json = {};
    for (let i = 0; i <= doc.info['x-limits'].queue + 1 && !answer.error; i++) {
      answer = expectDocumented('POST /v1/jobs', await send('POST', '/v1/jobs', json({ prompt: 'a red fox', steps: 50 })));
      if (answer.jobId) jobs.push(answer.jobId);
    }
    expect(answer.error?.code).toBe('queue_full');
    for (const id of jobs) expectDocumented('DELETE /v1/jobs/{id}', await send('DELETE', `/v1/jobs/${id}`), { status: 200 });

    const empty = await startBridge({});
    try {
      const example = resolved.paths['/v1/jobs'].post.requestBody.content['application/json'].examples.txt2img.value;
      expectDocumented('POST /v1/jobs', await send('POST', '/v1/jobs', { ...json(example), on: empty }), { status: 400, code: 'no_model', field: 'model' });
    } finally {
      await empty.dispose();
    }
  });

  it('streams events that meet the documented message schema, under each documented security scheme', async () => {
    const { default: WebSocket } = await import('ws');
    const op = resolved.paths['/v1/events'].get;
    const schemes = doc.components.securitySchemes as Json;
    const events: Json[] = [];
    const sockets = await Promise.all(
      op.security.map(async (requirement: Json) => {
        const scheme = schemes[Object.keys(requirement)[0]!];
        const url = `ws://127.0.0.1:${bridge.port}/v1/events${scheme.in === 'query' ? `?${scheme.name}=${bridge.token}` : ''}`;
        const protocols = ['kirie.v1', ...(scheme.in === 'header' ? [`kirie.token.${bridge.token}`] : [])];
        const ws = new WebSocket(url, protocols, scheme.type === 'http' ? { headers: { authorization: `Bearer ${bridge.token}` } } : {});
        ws.on('message', (data) => events.push(JSON.parse(String(data))));
        await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
        expect(ws.protocol).toBe(op['x-websocket'].subprotocol);
        expectDocumented('GET /v1/events', { status: 101, headers: {}, body: Buffer.alloc(0) });
        return ws;
      }),
    );
    const { jobId } = expectDocumented('POST /v1/jobs', await send('POST', '/v1/jobs', json({ prompt: 'a red fox', steps: 3 })), { status: 202 });
    const deadline = Date.now() + 10_000;
    while (events.filter((e) => e.jobId === jobId && e.type === 'done').length < sockets.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    for (const ws of sockets) ws.close();
    const types = new Set(events.filter((e) => e.jobId === jobId).map((e) => e.type));
    expect([...types].sort()).toEqual(['done', 'progress', 'queued', 'started']);
    for (const event of events) expect(schemaErrors(op['x-websocket'].message, event), JSON.stringify(event).slice(0, 200)).toBeNull();
    expectDocumented('GET /v1/jobs/{id}', await send('GET', `/v1/jobs/${jobId}`), { status: 200 });
  });

  it('refuses models it cannot use, and answers 503 while the models folder is unreadable or stops answering', async () => {
    await symlink('loop.safetensors', join(bridge.models, 'loop.safetensors'));
    for (const [model, code] of [['notes.txt', 'unsupported_model'], ['damaged.safetensors', 'damaged_model'], ['loop.safetensors', 'unreadable_model']] as const) {
      await submit({ prompt: 'a red fox', model }, { status: 400, code, field: 'model' });
    }
    const unreadable = await startBridge({ 'test-model.safetensors': 'scripted runner: never opened' });
    const stuck = await startBridge({ 'test-model.safetensors': 'scripted runner: never opened', 'hung.safetensors': '' });
    try {
      await rm(unreadable.models, { recursive: true });
      await writeFile(unreadable.models, 'a file where the folder was');
      // Every operation that documents these refusals gets each, sent with its first documented example body.
      for (const [on, code] of [[unreadable, 'models_folder_unreadable'], [stuck, 'models_folder_stuck']] as const) {
        for (const { operation, path } of operations().filter(({ operation }) => documented.get(operation)!.has(`503 ${code}`))) {
          const example = Object.values(resolved.paths[path][operation.split(' ')[0]!.toLowerCase()].requestBody?.content['application/json']?.examples ?? {})[0] as Json | undefined;
          expectDocumented(operation, await send(operation.split(' ')[0]!, path, { ...(example ? json(example.value) : {}), on }), { status: 503, code });
        }
      }
      expect(expectDocumented('GET /v1/health', await send('GET', '/v1/health', { on: stuck }), { status: 200 }).registry).toBe('stuck');
    } finally {
      await unreadable.dispose();
      await stuck.dispose();
    }
  });

  it('answers 503 to a job sent while the bridge shuts down', async () => {
    const closing = await startBridge({ 'test-model.safetensors': 'scripted runner: never opened' });
    try {
      expectDocumented('POST /v1/jobs', await send('POST', '/v1/jobs', { ...json({ prompt: 'a red fox', steps: 20 }), on: closing }), { status: 202 });
      const shutdown = closing.close('finish');
      expectDocumented('POST /v1/jobs', await send('POST', '/v1/jobs', { ...json({ prompt: 'a red fox' }), on: closing }), { status: 503, code: 'shutting_down' });
      await shutdown;
    } finally {
      await closing.dispose();
    }
  });

  it('reached every status and refusal code the document promises, and nothing it does not', () => {
    for (const [operation, promised] of documented) expect([...(reached.get(operation) ?? [])].sort(), operation).toEqual([...promised].sort());
    const statuses = new Set([...reached.values()].flatMap((s) => [...s].filter((k) => !k.includes(' '))));
    console.log(`openapi: ${documented.size} operations, ${[...documented.values()].reduce((n, s) => n + [...s].filter((k) => !k.includes(' ')).length, 0)} documented responses, ${requestsDriven} requests driven (${edgeRequests} at schema edges), statuses reached: ${[...statuses].sort().join(' ')}`);
  });
});

/** A schema's edges: each bound and enum value (accepted) and one step past each bound, a wrong type (refused). */
function edges(schema: Json): { value: unknown; ok: boolean }[] {
  const out: { value: unknown; ok: boolean }[] = [];
  const step = schema.type === 'integer' ? 1 : 0.5;
  if (schema.maximum !== undefined) out.push({ value: schema.maximum, ok: true }, { value: schema.maximum + step, ok: false });
  if (schema.minimum !== undefined) out.push({ value: schema.minimum, ok: true }, { value: schema.minimum - step, ok: false });
  if (schema.exclusiveMinimum !== undefined) out.push({ value: schema.exclusiveMinimum, ok: false });
  if (schema.exclusiveMaximum !== undefined) out.push({ value: schema.exclusiveMaximum, ok: false });
  if (schema.multipleOf !== undefined) out.push({ value: schema.minimum + schema.multipleOf / 2, ok: false });
  if (schema.maxLength !== undefined) out.push({ value: 'x'.repeat(schema.maxLength), ok: true }, { value: 'x'.repeat(schema.maxLength + 1), ok: false });
  if (schema.maxItems !== undefined && schema.items?.type !== 'object') out.push({ value: Array(schema.maxItems + 1).fill(0), ok: false });
  if (schema.enum) out.push(...schema.enum.map((value: unknown) => ({ value, ok: true })), { value: `not-${schema.enum[0]}`, ok: false });
  if (schema.type === 'integer' || schema.type === 'number') out.push({ value: String(schema.maximum ?? 1), ok: false });
  if (schema.type === 'boolean') out.push({ value: true, ok: true }, { value: 'yes', ok: false });
  return out;
}

function setPath(target: Json, path: (string | number)[], value: unknown): void {
  let at = target;
  path.slice(0, -1).forEach((key, i) => (at = at[key] ??= typeof path[i + 1] === 'number' ? [] : {}));
  at[path.at(-1)!] = value;
}

function withPath(path: (string | number)[], value: unknown): Json {
  const target: Json = {};
  setPath(target, path, value);
  return target;
}

/** The smallest object a schema accepts: its required fields at their lowest values. */
function minimal(schema: Json): Json {
  const value = (property: Json): unknown =>
    property.enum?.[0] ?? property.const ?? (property.type === 'string' ? 'x'.repeat(property.minLength ?? 1) : property.type === 'boolean' ? false : property.type === 'object' ? minimal(property) : (property.minimum ?? 0));
  return Object.fromEntries((schema.required ?? []).map((key: string) => [key, value(schema.properties[key])]));
}

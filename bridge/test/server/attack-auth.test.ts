// The token check attacked the way a hostile page or a local user would (issue 10), against the real server.
// Every route fastify has registered, read from fastify's own route tree so that a route added later is
// attacked too, is asked for without the token under every spelling the router might resolve to it:
// percent-escapes, double escapes, doubled slashes, dot segments, absolute-form request lines, mixed case,
// trailing slashes, `;` parameters, the token in the query, wrong and malformed bearers, other headers that
// some servers trust, Host variants; the event stream also through WebSocket handshakes, raw and via `ws`.
// Requests go out over raw sockets, byte for byte (fetch would normalise the path). Only the routes listed in
// PUBLIC below may answer 2xx or 101 without the token.
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundlePlayground } from '../../../tests/e2e/bridge-harness.js';
import { ScriptedRunner, startTestBridge, type TestBridge } from './harness.js';

let bridge: TestBridge;
let playgroundDir: string;
let playgroundFiles: string[];

beforeAll(async () => {
  playgroundDir = await mkdtemp(join(tmpdir(), 'kirie-playground-'));
  await bundlePlayground(playgroundDir);
  playgroundFiles = await readdir(playgroundDir);
  bridge = await startTestBridge({ runner: new ScriptedRunner(), playgroundDir });
});
afterAll(async () => {
  await bridge?.dispose();
  await rm(playgroundDir, { recursive: true, force: true });
});

/** The routes a caller without the token may use: health, asking to pair and polling it, CORS preflights of /v1, the playground's files. */
function isPublic(method: string, pattern: string): boolean {
  if (pattern === '/v1/health') return method === 'GET' || method === 'HEAD';
  if (pattern === '/v1/pair') return method === 'POST';
  if (pattern === '/v1/pair/:id') return method === 'GET' || method === 'HEAD';
  if (pattern === '/v1/*') return method === 'OPTIONS';
  return (method === 'GET' || method === 'HEAD') && (pattern === '/' || playgroundFiles.includes(pattern.slice(1)));
}

interface Route {
  method: string;
  pattern: string;
  /** The pattern with its parameters filled in. */
  path: string;
}

/** Every method and path fastify routes, read from its route tree (printRoutes: one node a line, children indented 4). */
function registeredRoutes(app: FastifyInstance): Route[] {
  const routes: Route[] = [];
  const segments: string[] = [];
  for (const line of app.printRoutes().split('\n')) {
    const node = /^((?:│ {3}| {4})*)[├└]── (\S*)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (!node) continue;
    segments.length = node[1]!.length / 4;
    segments.push(node[2]!);
    const pattern = segments.join('');
    const path = pattern.replace(/:\w+/g, 'a'.repeat(64)).replace(/\*$/, 'anything');
    for (const method of node[3]?.split(', ') ?? []) routes.push({ method, pattern, path });
  }
  return routes;
}

interface Answer {
  status: number;
  head: string;
  body: string;
  header(name: string): string | undefined;
}

/**
 * Sends exactly these bytes on a fresh connection and reads the answer until the server closes it (an
 * accepted upgrade: until its head). A refused handshake left open would hold a socket: that fails too.
 */
function exchange(bytes: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const socket = connect(bridge.port, '127.0.0.1');
    let data = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the connection stayed open after ${JSON.stringify(bytes.split('\r\n')[0])}: ${JSON.stringify(data.slice(0, 200))}`));
    }, 15_000); // generous: app.js is a few hundred KB and CI runs many test files at once
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      const end = data.indexOf('\r\n\r\n');
      const head = end < 0 ? data : data.slice(0, end);
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? NaN);
      if (Number.isNaN(status)) return reject(new Error(`no HTTP answer to ${JSON.stringify(bytes.split('\r\n')[0])}: ${JSON.stringify(data.slice(0, 200))}`));
      const header = (name: string) => new RegExp(`^${name}: (.*)$`, 'im').exec(head)?.[1];
      resolve({ status, head, body: end < 0 ? '' : data.slice(end + 4), header });
    };
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      data += chunk;
      if (data.startsWith('HTTP/1.1 101') && data.includes('\r\n\r\n')) done();
    });
    socket.on('close', done);
    socket.on('error', () => {});
    socket.write(bytes, 'latin1');
  });
}

/** Header lines in order; a line named '-host' means: send no Host line at all. */
type Headers = [string, string][];

function requestBytes(method: string, target: string, headers: Headers): string {
  const names = new Set(headers.map(([name]) => name.toLowerCase()));
  const all: Headers = [...(names.has('host') || names.has('-host') ? [] : [['Host', `127.0.0.1:${bridge.port}`] as [string, string]]), ...headers.filter(([name]) => name !== '-host')];
  if (!names.has('connection')) all.push(['Connection', 'close']);
  if (method === 'PUT' || method === 'POST') all.push(['Content-Type', 'application/json'], ['Content-Length', '2']);
  return `${method} ${target} HTTP/1.1\r\n${all.map(([n, v]) => `${n}: ${v}\r\n`).join('')}\r\n${method === 'PUT' || method === 'POST' ? '{}' : ''}`;
}

const pct = (c: string) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`;

/** Spellings of `path` that a router or a proxy might resolve to it. */
function pathVariants(path: string): [string, string][] {
  const port = bridge.port;
  const [, first = '', ...rest] = path.split('/');
  const tail = rest.length > 0 ? `/${rest.join('/')}` : '';
  const escapeFirstChar = (segment: string) => (segment ? pct(segment[0]!) + segment.slice(1) : segment);
  const variants: [string, string][] = [
    ['plain', path],
    ['first letter escaped', `/${escapeFirstChar(first)}${tail}`],
    ['first letter escaped, lower-case hex', `/${escapeFirstChar(first).toLowerCase()}${tail}`],
    ['digit escaped', path.replace(/\d/, (d) => pct(d))],
    ['every letter and digit escaped', path.replace(/[A-Za-z0-9]/g, pct)],
    ['last segment escaped', path.replace(/\/([^/]+)$/, (_, s: string) => `/${escapeFirstChar(s)}`)],
    ['slash escaped', path.replace(/(.)\//, (_, c: string) => `${c}%2F`)],
    ['slash escaped, lower-case', path.replace(/(.)\//, (_, c: string) => `${c}%2f`)],
    ['double-escaped letter', `/%25${pct(first[0] ?? 'x').slice(1)}${first.slice(1)}${tail}`],
    ['double-escaped slash', path.replace(/(.)\//, (_, c: string) => `${c}%252F`)],
    ['overlong UTF-8 slash', path.replace(/(.)\//, (_, c: string) => `${c}%C0%AF`)],
    ['leading double slash', `/${path}`],
    ['inner double slash', path.replace(/(.)\//, (_, c: string) => `${c}//`)],
    ['dot-dot segment', `/x/..${path}`],
    ['escaped dot-dot segment', `/x/%2E%2E${path}`],
    ['dot segment', `/.${path}`],
    ['inner dot segment', path.replace(/(.)\//, (_, c: string) => `${c}/./`)],
    ['backslash', path.replace(/(.)\//, (_, c: string) => `${c}\\`)],
    ['upper case', path.toUpperCase()],
    ['first segment capitalised', `/${first.charAt(0).toUpperCase()}${first.slice(1)}${tail}`],
    ['trailing slash', `${path.replace(/\/$/, '')}/`],
    ['semicolon suffix', `${path};`],
    ['semicolon parameter', `${path};token=${bridge.token}`],
    ['semicolon in first segment', `/${first};x${tail}`],
    ['fragment', `${path}#x`],
    ['token in the query', `${path}?token=${bridge.token}`],
    ['token in the query, escaped path', `/${escapeFirstChar(first)}${tail}?token=${bridge.token}`],
    ['absolute-form', `http://127.0.0.1:${port}${path}`],
    ['absolute-form, upper-case scheme', `HTTP://localhost:${port}${path}`],
    ['absolute-form, IPv6', `http://[::1]:${port}${path}`],
    ['absolute-form, https', `https://127.0.0.1${path}`],
    ['absolute-form, escaped path', `http://127.0.0.1:${port}/${escapeFirstChar(first)}${tail}`],
    ['absolute-form, foreign host', `http://evil.example${path}`],
  ];
  return variants;
}

const WRONG = 'f'.repeat(64);

/** Headers that must not stand in for the token, on the plain path. */
function headerVariants(): [string, Headers][] {
  const t = bridge.token;
  return [
    ['no token', []],
    ['wrong bearer', [['Authorization', `Bearer ${WRONG}`]]],
    ['wrong bearer after extra spaces', [['Authorization', `Bearer    ${WRONG}`]]],
    ['token split by a space', [['Authorization', `Bearer ${t.slice(0, 32)} ${t.slice(32)}`]]],
    ['token and more', [['Authorization', `Bearer ${t}x`]]],
    ['token cut short', [['Authorization', `Bearer ${t.slice(0, -1)}`]]],
    ['token twice', [['Authorization', `Bearer ${t} ${t}`]]],
    ['token upper-cased', [['Authorization', `Bearer ${t.toUpperCase()}`]]],
    ['empty bearer', [['Authorization', 'Bearer']]],
    ['other scheme', [['Authorization', `Basic ${t}`]]],
    ['scheme missing', [['Authorization', t]]],
    ['token as a WebSocket subprotocol on plain HTTP', [['Sec-WebSocket-Protocol', `kirie.v1, kirie.token.${t}`]]],
    ['token in a cookie', [['Cookie', `token=${t}`]]],
    ['rewrite headers', [['X-Original-URL', '/v1/health'], ['X-Rewrite-URL', '/v1/health'], ['X-Forwarded-Host', 'localhost'], ['X-Forwarded-For', '127.0.0.1']]],
    ['method override', [['X-HTTP-Method-Override', 'OPTIONS']]],
    ['Host localhost', [['Host', 'localhost']]],
    ['Host upper case', [['Host', `LOCALHOST:${bridge.port}`]]],
    ['Host IPv6', [['Host', `[::1]:${bridge.port}`]]],
    ['Host foreign', [['Host', 'evil.example']]],
    ['Host foreign suffix', [['Host', '127.0.0.1.evil.example']]],
    ['Host missing', [['-host', '']]],
  ];
}

function handshakeHeaders(extra: Headers = []): Headers {
  return [['Upgrade', 'websocket'], ['Connection', 'Upgrade'], ['Sec-WebSocket-Key', randomBytes(16).toString('base64')], ['Sec-WebSocket-Version', '13'], ...extra];
}

const served = (status: number) => (status >= 200 && status < 300) || status === 101;

/**
 * What the router did with a spelling, seen with the right token: reached a route (whatever the route then
 * answered), or was refused before one (token, Host, malformed URL, Node's parser) or matched none.
 */
function reachedARoute(answer: Answer): boolean {
  if (answer.status === 401 || answer.status === 421) return false;
  const code = /"code":"([^"]*)"/.exec(answer.body)?.[1];
  if (answer.status === 400 && (code === undefined || code === 'bad_url' || code === 'not_websocket')) return false;
  return !(answer.status === 404 && answer.body.includes('no route'));
}

describe('the token cannot be walked around', () => {
  it('finds every route fastify serves, health and the event stream among them', () => {
    const routes = registeredRoutes(bridge.app).map((r) => `${r.method} ${r.pattern}`);
    expect(routes).toEqual(expect.arrayContaining(['GET /v1/health', 'POST /v1/jobs', 'DELETE /v1/jobs/:id', 'GET /v1/images/:id', 'PUT /v1/images', 'GET /v1/events', 'OPTIONS /v1/*', 'GET /', 'GET /app.js']));
  });

  it('serves no route without the token under any spelling, except the public ones', async () => {
    const routes = registeredRoutes(bridge.app);
    let tried = 0;
    let aliases = 0;
    const servedPrivate: string[] = [];
    const enumerable: string[] = [];
    const leaks: string[] = [];
    for (const route of routes) {
      const open = isPublic(route.method, route.pattern);
      const attempts: [string, string, Headers][] = [
        ...pathVariants(route.path).map(([name, target]): [string, string, Headers] => [name, target, []]),
        ...headerVariants().map(([name, headers]): [string, string, Headers] => [name, route.path, headers]),
      ];
      await Promise.all(
        attempts.map(async ([name, target, headers]) => {
          const answer = await exchange(requestBytes(route.method, target, headers));
          tried++;
          const what = `${route.method} ${route.pattern} [${name}] ${target} → ${answer.status}`;
          if (!open && served(answer.status)) servedPrivate.push(what);
          // Without the token every path that is not public answers alike: nothing tells which exist.
          if (!open && ![400, 401, 421].includes(answer.status)) enumerable.push(what);
          if (answer.body.includes(bridge.token)) leaks.push(`${what}: the token is in the body`);
          if (answer.header('access-control-allow-private-network') !== (route.method === 'OPTIONS' && served(answer.status) ? 'true' : undefined)) leaks.push(`${what}: Private Network Access header off a /v1 preflight`);
          if (route.pattern === '/v1/health' && answer.status === 200 && route.method === 'GET' && Object.keys(JSON.parse(answer.body)).join() !== 'ok,name,version,apiVersion') leaks.push(`${what}: health says ${answer.body}`);
        }),
      );
      // The same spellings with the token: those that reach a route are the ones a raw-URL check would miss.
      if (!open) {
        for (const [name, target] of pathVariants(route.path)) {
          if (name !== 'plain' && reachedARoute(await exchange(requestBytes(route.method, target, [['Authorization', `Bearer ${bridge.token}`]])))) aliases++;
        }
      }
    }
    console.log(`attack-auth: ${tried} requests without the token over ${routes.length} method+route pairs; ${aliases} other spellings of their paths reach a non-public route with the token; ${servedPrivate.length} served without it`);
    expect(servedPrivate).toEqual([]);
    expect(enumerable).toEqual([]);
    expect(leaks).toEqual([]);
    expect(tried).toBeGreaterThan(500);
    // The spellings are live: the router does resolve escaped and absolute-form paths to the routes.
    expect(aliases).toBeGreaterThan(routes.filter((r) => !isPublic(r.method, r.pattern)).length * 4);
  });

  it('serves the right token on every non-public route through the header (so the refusals above are about the token)', async () => {
    for (const route of registeredRoutes(bridge.app).filter((r) => !isPublic(r.method, r.pattern))) {
      const answer = await exchange(requestBytes(route.method, route.path, [['Authorization', `Bearer ${bridge.token}`]]));
      expect(reachedARoute(answer), `${route.method} ${route.path} → ${answer.status}`).toBe(true);
    }
  });
});

describe('the event stream takes the token in its handshake only', () => {
  it('opens with the token as a subprotocol or in the query, and for nothing else', async () => {
    let tried = 0;
    const attempt = async (target: string, extra: Headers) => {
      tried++;
      return (await exchange(requestBytes('GET', target, handshakeHeaders(extra)))).status;
    };
    expect(await attempt('/v1/events', [['Sec-WebSocket-Protocol', `kirie.v1, kirie.token.${bridge.token}`]])).toBe(101);
    expect(await attempt(`/v1/events?token=${bridge.token}`, [])).toBe(101);
    const opened: string[] = [];
    for (const [name, target] of pathVariants('/v1/events')) {
      for (const [how, extra] of [
        ['no token', []],
        ['wrong subprotocol token', [['Sec-WebSocket-Protocol', `kirie.v1, kirie.token.${WRONG}`]]],
        ['token subprotocol upper-cased', [['Sec-WebSocket-Protocol', `kirie.v1, KIRIE.TOKEN.${bridge.token}`]]],
        ['wrong bearer', [['Authorization', `Bearer ${WRONG}`], ['Sec-WebSocket-Protocol', `kirie.token.${bridge.token}`]]],
        ['token in a cookie', [['Cookie', `token=${bridge.token}`]]],
        ['foreign Host', [['Host', 'evil.example'], ['Sec-WebSocket-Protocol', `kirie.token.${bridge.token}`]]],
      ] as [string, Headers][]) {
        // The right token in the handshake's query is a credential here: these spellings carry a wrong one.
        const withoutTheToken = target.replace(bridge.token, WRONG);
        if ((await attempt(withoutTheToken, extra)) === 101) opened.push(`[${name}, ${how}] ${withoutTheToken}`);
      }
    }
    // The token opens no other route as a WebSocket, public or not.
    for (const route of registeredRoutes(bridge.app).filter((r) => r.method === 'GET' && r.pattern !== '/v1/events')) {
      const status = await attempt(`${route.path}?token=${bridge.token}`, [['Sec-WebSocket-Protocol', `kirie.v1, kirie.token.${bridge.token}`]]);
      if (status === 101) opened.push(`upgrade to ${route.path}`);
    }
    console.log(`attack-auth: ${tried} WebSocket handshakes over raw sockets`);
    expect(opened).toEqual([]);
  });

  it('refuses the same spellings through the ws client', async () => {
    const open = (url: string, protocols: string[], headers: Record<string, string> = {}) =>
      new Promise<string>((resolve) => {
        const ws = new WebSocket(url, protocols, { headers });
        ws.once('open', () => {
          resolve('open');
          ws.close();
        });
        ws.once('unexpected-response', (req, res) => {
          resolve(`http:${res.statusCode}`);
          req.destroy();
        });
        ws.once('error', (err) => resolve(`error:${err.message}`));
      });
    const base = `ws://127.0.0.1:${bridge.port}`;
    expect(await open(`${base}/v1/events`, ['kirie.v1', `kirie.token.${bridge.token}`])).toBe('open');
    const paths = ['/v1/events', '/%761/events', '/v%31/events', '/v1/%65vents', '/V1/events', '/v1/events/', '//v1/events', '/v1//events', '/v1/events;x', `/v1/events?token=${WRONG}`, `/%761/events?token=${WRONG}`];
    const answers = await Promise.all(paths.flatMap((p) => [open(`${base}${p}`, ['kirie.v1']), open(`${base}${p}`, ['kirie.v1', `kirie.token.${WRONG}`]), open(`${base}${p}`, [], { authorization: `Bearer ${WRONG}` })]));
    console.log(`attack-auth: ${answers.length} WebSocket handshakes through ws`);
    expect(answers.filter((a) => a === 'open')).toEqual([]);
    expect(answers.every((a) => a === 'http:401' || a === 'http:400')).toBe(true);
  });
});

describe('nothing is echoed, and the headers hold', () => {
  const probe = 'echo-probe-7d1c';

  it('never echoes the URL or the token, malformed URLs included, and keeps Host, CORS and the token check on them', async () => {
    const auth: Headers = [['Authorization', `Bearer ${bridge.token}`]];
    const cases: [string, Headers][] = [
      [`/v1/nothing-${probe}?token=${bridge.token}`, auth],
      [`/v1/images/${probe}`, auth],
      [`/v1/jobs/${probe}`, auth],
      [`/%zz${probe}?token=${bridge.token}`, []],
      [`/v1/models/%E0%A4%A${probe}?token=${bridge.token}`, auth],
      [`/v1/images/%${probe}`, auth],
      [`/v1/nothing-${probe}?token=${bridge.token}`, []],
    ];
    for (const [target, headers] of cases) {
      const answer = await exchange(requestBytes('GET', target, headers));
      expect(answer.status, target).toBeGreaterThanOrEqual(400);
      expect(answer.body, target).not.toContain(probe);
      expect(answer.body, target).not.toContain(bridge.token);
      expect(answer.header('access-control-allow-origin'), target).toBe('*');
    }
    // URLs the router refuses are refused like any other path without the token: an over-long id is only
    // noticed on routes with ids, so answering 414 first would tell which paths exist.
    for (const [target, status] of [[`/%zz${probe}`, 400], [`/v1/jobs/${'a'.repeat(101)}`, 414]] as const) {
      expect((await exchange(requestBytes('GET', target, []))).status, target).toBe(401);
      const refused = await exchange(requestBytes('GET', target, auth));
      expect(refused.status, target).toBe(status);
      expect(JSON.parse(refused.body).error.code).toBe('bad_url');
    }
    const foreign = await exchange(requestBytes('GET', `/%zz${probe}`, [['Host', 'evil.example']]));
    expect(foreign.status).toBe(421);
    expect(foreign.body).not.toContain(probe);
  });

  it('sends a strict content security policy and no framing on every playground file', async () => {
    for (const target of ['/', ...playgroundFiles.map((f) => `/${f}`)]) {
      const answer = await exchange(requestBytes('GET', target, []));
      expect(answer.status, target).toBe(200);
      const csp = answer.header('content-security-policy') ?? '';
      for (const directive of ["default-src 'none'", "script-src 'self'", "style-src 'self'", "img-src 'self' blob: data:", `connect-src 'self' ws://127.0.0.1:${bridge.port}`, "frame-ancestors 'none'", "base-uri 'none'"]) {
        expect(csp, target).toContain(directive);
      }
      expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|\*/);
      expect(answer.header('x-frame-options'), target).toBe('DENY');
    }
  });

  it('allows Private Network Access only on preflights of /v1 routes', async () => {
    const preflight: Headers = [['Origin', 'https://www.figma.com'], ['Access-Control-Request-Method', 'POST'], ['Access-Control-Request-Private-Network', 'true']];
    const api = await exchange(requestBytes('OPTIONS', '/v1/jobs', preflight));
    expect(api.status).toBe(204);
    expect(api.header('access-control-allow-private-network')).toBe('true');
    for (const target of ['/', '/index.html', '/app.js', '/v1']) {
      const answer = await exchange(requestBytes('OPTIONS', target, preflight));
      expect(answer.header('access-control-allow-private-network'), target).toBeUndefined();
    }
    const get = await exchange(requestBytes('GET', '/v1/models', [['Authorization', `Bearer ${bridge.token}`], ...preflight.slice(0, 1)]));
    expect(get.header('access-control-allow-private-network')).toBeUndefined();
  });

  it('tells a caller without the token who it is, not what it is doing', async () => {
    const anonymous = await exchange(requestBytes('GET', '/v1/health', []));
    expect(JSON.parse(anonymous.body)).toEqual({ ok: true, name: 'kirie', version: expect.any(String), apiVersion: 'v1' });
    const withToken = await exchange(requestBytes('GET', '/v1/health', [['Authorization', `Bearer ${bridge.token}`]]));
    expect(JSON.parse(withToken.body)).toMatchObject({ ok: true, device: 'cpu', loadedModel: null, queue: { running: 0 } });
  });
});

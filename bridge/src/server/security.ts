// The three guards between a web page and the GPU: the Host header (defeats DNS rebinding: a hostile
// domain resolving to 127.0.0.1 still sends its own name), the bearer token (a page cannot read it), and
// CORS that allows any origin but never credentials, since the token, not a cookie, is the credential.
import { timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { API_PREFIX, KirieApiError, WS_TOKEN_PREFIX } from '@kirie/core/client/protocol';

const LOCAL_HOST = /^(localhost|127\.0\.0\.1|\[::1\])(:\d{1,5})?$/i;

export function isLocalHost(host: string | undefined): boolean {
  return host !== undefined && LOCAL_HOST.test(host);
}

export function checkHost(request: FastifyRequest, lan: boolean): void {
  if (lan) return;
  if (!isLocalHost(request.headers.host)) {
    throw new KirieApiError(421, 'bad_host', `Host "${request.headers.host ?? ''}" is not localhost, 127.0.0.1 or [::1]; start the bridge with --lan to serve other names`);
  }
}

/** Paths any caller may read without the token. Everything else under /v1 needs it. */
function isPublic(path: string): boolean {
  return path === `${API_PREFIX}/health` || !path.startsWith(`${API_PREFIX}/`);
}

function sameToken(given: string, token: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The token a request carries: Authorization header, or for WebSockets a subprotocol or ?token=. */
function presentedToken(request: FastifyRequest): string | null {
  const auth = request.headers.authorization;
  if (auth) return /^Bearer\s+(\S+)$/i.exec(auth)?.[1] ?? null;
  const protocols = request.headers['sec-websocket-protocol'];
  if (typeof protocols === 'string') {
    const offered = protocols.split(',').map((p) => p.trim()).find((p) => p.startsWith(WS_TOKEN_PREFIX));
    if (offered) return offered.slice(WS_TOKEN_PREFIX.length);
  }
  const query = request.query as Record<string, unknown> | undefined;
  return typeof query?.token === 'string' ? query.token : null;
}

export function checkAuth(request: FastifyRequest, token: string): void {
  const path = request.url.split('?')[0]!;
  if (isPublic(path)) return;
  const given = presentedToken(request);
  if (given === null) throw new KirieApiError(401, 'unauthorized', 'missing token: send "Authorization: Bearer <token>" (see `kirie token`)');
  if (!sameToken(given, token)) throw new KirieApiError(401, 'unauthorized', 'wrong token (see `kirie token`)');
}

export function addCorsHeaders(reply: FastifyReply): void {
  reply.header('access-control-allow-origin', '*');
  reply.header('access-control-expose-headers', 'content-type, content-length');
}

export function answerPreflight(reply: FastifyReply): void {
  reply
    .header('access-control-allow-methods', 'GET, PUT, POST, DELETE, OPTIONS')
    .header('access-control-allow-headers', 'authorization, content-type')
    // Chrome's Private Network Access: a public page may call a loopback server only if it says so.
    .header('access-control-allow-private-network', 'true')
    .header('access-control-max-age', '600')
    .code(204)
    .send();
}

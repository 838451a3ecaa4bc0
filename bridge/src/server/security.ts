// The guards between a web page and the GPU: the Host header (defeats DNS rebinding: a hostile domain
// resolving to 127.0.0.1 still sends its own name), the bearer token (a page cannot read it), and CORS that
// allows any origin but never credentials, since the token, not a cookie, is the credential.
//
// Access is decided on the route fastify matched, never on the raw URL: the router decodes %-escapes and
// accepts absolute-form targets, so any string test on request.url can be walked around (/%761/models was
// served as /v1/models). A route is public only if it declares `config: { public: true }`; every other
// route, and every unmatched path, needs the token, so a caller without it learns nothing about which
// paths exist.
import { timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type {} from '@fastify/websocket'; // request.ws: the request arrived as an upgrade
import { KirieApiError, WS_TOKEN_PREFIX } from '@kirie/core/client/protocol';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Served without the token. A route that does not say so needs it. */
    public?: boolean;
    /** Takes a WebSocket upgrade, whose token may come as a subprotocol or ?token= (browsers cannot set headers there). */
    webSocket?: boolean;
  }
  interface FastifyRequest {
    /** The request carried the right token (public routes answer more to such callers). */
    authenticated: boolean;
  }
}

const LOCAL_HOST = /^(localhost|127\.0\.0\.1|\[::1\])(:\d{1,5})?$/i;

function isLocalHost(host: string | undefined): boolean {
  return host !== undefined && LOCAL_HOST.test(host);
}

/**
 * 421 unless the request names a loopback host, both in its Host header and, for an absolute-form request
 * line (`GET http://host/v1/... HTTP/1.1`, which the router accepts), in its target.
 */
function hostRefusal(request: FastifyRequest, lan: boolean): KirieApiError | null {
  if (lan) return null;
  const { host } = request.headers;
  if (!isLocalHost(host)) {
    return new KirieApiError(421, 'bad_host', `Host "${host ?? ''}" is not localhost, 127.0.0.1 or [::1]; start the bridge with --lan to serve other names`);
  }
  const targetAuthority = /^[^/:?#]+:\/\/([^/?#]*)/.exec(request.url)?.[1];
  if (targetAuthority !== undefined && !isLocalHost(targetAuthority)) {
    return new KirieApiError(421, 'bad_host', 'the request line names a host that is not localhost, 127.0.0.1 or [::1]');
  }
  return null;
}

function sameToken(given: string, token: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * The token a request presents, '' for a malformed Authorization header, null for none. Only a WebSocket
 * handshake to a WebSocket route may carry it in the subprotocol or the query; on any other request those
 * are not credentials (a token in a URL ends up in logs and histories).
 */
function presentedToken(request: FastifyRequest, webSocketHandshake: boolean): string | null {
  const auth = request.headers.authorization;
  if (auth !== undefined) return /^Bearer +(\S+)$/i.exec(auth)?.[1] ?? '';
  if (!webSocketHandshake) return null;
  const protocols = request.headers['sec-websocket-protocol'];
  if (typeof protocols === 'string') {
    const offered = protocols.split(',').map((p) => p.trim()).find((p) => p.startsWith(WS_TOKEN_PREFIX));
    if (offered) return offered.slice(WS_TOKEN_PREFIX.length);
  }
  const query = request.query as Record<string, unknown> | undefined;
  return typeof query?.token === 'string' ? query.token : null;
}

/**
 * Why a request may not go on, or null (and then request.authenticated says whether it carried the token).
 * Runs after routing: in onRequest, after @fastify/websocket's hook has set request.ws, and for URLs the
 * router refused (no route: nothing public). Host first, then the token unless the matched route is public.
 * A token that is presented must be right even on a public route, so a client with a stale token hears so
 * at once. Only WebSocket routes take an upgrade.
 */
export function accessRefusal(request: FastifyRequest, token: string, lan: boolean): KirieApiError | null {
  const hostRefused = hostRefusal(request, lan);
  if (hostRefused) return hostRefused;
  const route = request.routeOptions.config ?? {};
  const upgrade = request.ws === true;
  const given = presentedToken(request, upgrade && route.webSocket === true);
  if (given !== null) {
    if (!sameToken(given, token)) return new KirieApiError(401, 'unauthorized', 'wrong token: send "Authorization: Bearer <token>" (see `kirie token`)');
    request.authenticated = true;
  } else if (route.public !== true) {
    return new KirieApiError(401, 'unauthorized', 'missing token: send "Authorization: Bearer <token>" (see `kirie token`)');
  }
  if (upgrade && route.webSocket !== true) return new KirieApiError(400, 'not_websocket', 'only the event stream, /v1/events, takes a WebSocket');
  return null;
}

export function addCorsHeaders(reply: FastifyReply): void {
  reply.header('access-control-allow-origin', '*');
  reply.header('access-control-expose-headers', 'content-type, content-length');
}

/** The answer to a CORS preflight of a /v1 route (the only routes a page on another origin may call). */
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

/**
 * Headers for the playground's files: it may not be framed (clickjacking the Generate button), and its
 * page may load only its own script and styles, show only its own, blob: and data: images, and talk only
 * to this bridge over HTTP and WebSocket. The ws: origin is spelled out because older browsers do not count
 * it as 'self'; it is built from a Host already checked (or, with --lan, only if it looks like one).
 */
export function addPlaygroundHeaders(request: FastifyRequest, reply: FastifyReply): void {
  const { host } = request.headers;
  const webSocketOrigin = host !== undefined && /^[a-z0-9.\-[\]:]+$/i.test(host) ? ` ws://${host}` : '';
  reply.header(
    'content-security-policy',
    `default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; connect-src 'self'${webSocketOrigin}; ` +
      "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  );
  reply.header('x-frame-options', 'DENY');
}

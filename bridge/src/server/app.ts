// The bridge's HTTP + WebSocket server. Guards run first on every request, after routing (Host, CORS, and
// the token unless the matched route declares itself public), then the routes, which only validate and hand
// work to the queue: nothing here waits on the device.
import fastifyStatic from '@fastify/static';
import fastifyWebsocket from '@fastify/websocket';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { API_PREFIX, KirieApiError, WS_PROTOCOL, type Health, type PublicHealth } from '@kirie/core/client/protocol';
import { loraStyle, STYLE_PRESETS } from '@kirie/core/styles/presets';
import type { ImageStore } from '../jobs/images.js';
import type { JobQueue } from '../jobs/queue.js';
import type { JobRunner } from '../jobs/runner.js';
import type { ModelRegistry } from '../registry/registry.js';
import { checkJsonDepth, type Limits } from './limits.js';
import { openApiDocument, recordApiRoutes } from './openapi.js';
import { CheckGate, checkPng } from './png-check.js';
import { checkSubmission } from './submit.js';
import { accessRefusal, addCorsHeaders, addPlaygroundHeaders, answerPreflight } from './security.js';
import { registerPairing } from './pairing.js';
import { registerPoseDetection } from './pose-detection.js';
import type { PoseDetector } from '@kirie/core/control/detector';
import { sharedPoseDetector } from '../control/lazy-detector.js';

export interface AppOptions {
  token: string;
  queue: JobQueue;
  images: ImageStore;
  registry: ModelRegistry;
  runner: JobRunner;
  limits: Limits;
  version: string;
  /** Serve other Host names than localhost (started with --lan). */
  lan: boolean;
  /** Folder of the built playground (index.html + app.js); omitted = no playground. */
  playgroundDir?: string;
  /** Finds people in photos for POST /v1/poses/detect (default: MoveNet, loaded on first use). */
  poseDetector?: PoseDetector;
}

export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const { queue, images, registry, limits } = options;
  const app = Fastify({
    bodyLimit: limits.jsonBytes,
    logger: false,
    return503OnClosing: true,
    forceCloseConnections: true,
    // URLs the router refuses before any hook runs (malformed escapes, over-long ids) answer in the same
    // shape, after the same Host, CORS and token handling (an over-long id is refused only on routes with
    // ids: without the token that would tell which paths exist), and without the URL: it may hold the token.
    frameworkErrors: (err, request, reply) => {
      addCorsHeaders(reply);
      closeUpgradeAfterAnswer(request, reply);
      const status = err.statusCode ?? 400;
      const refusal = accessRefusal(request, options.token, options.lan) ?? new KirieApiError(status, 'bad_url', status === 414 ? 'a path segment of the URL is too long' : 'the URL is malformed (a bad %-escape or an unsupported request target)');
      void (reply as FastifyReply).code(refusal.status).send(refusal.body());
    },
  });

  app.setErrorHandler((err: FastifyError | KirieApiError, request, reply) => {
    closeUpgradeAfterAnswer(request, reply);
    if (err instanceof KirieApiError) return reply.code(err.status).send(err.body());
    const status = err.statusCode && err.statusCode >= 400 ? err.statusCode : 500;
    const field = err.code?.startsWith('FST_ERR_CTP_') ? 'body' : undefined;
    return reply.code(status).send(new KirieApiError(status, fastifyCode(err), err.message, field).body());
  });
  // Reached only with the token (unmatched paths are not public); the URL is not echoed, it may hold the token.
  app.setNotFoundHandler((request, reply) => {
    reply.code(404).send(new KirieApiError(404, 'not_found', `no route for ${request.method} at this path; the API is described at ${API_PREFIX}/openapi.json`).body());
  });

  app.addHook('onRoute', (route) => {
    if (route.websocket) route.config = { ...route.config, webSocket: true };
  });
  // After the hook above, so the document sees each route's public / WebSocket flags as the guards do.
  const apiRoutes = recordApiRoutes(app);
  app.decorateRequest('authenticated', false);

  // JSON bodies are measured for depth before they are parsed (then fastify's own secure-json-parse).
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: limits.jsonBytes }, (request, body, done) => {
    const text = body as string; // parseAs: 'string'
    try {
      checkJsonDepth(text, limits.jsonDepth);
    } catch (err) {
      return done(err as KirieApiError, undefined);
    }
    return parseJson(request, text, done);
  });
  const pngChecks = new CheckGate(limits.pngChecks, limits.pngCheckQueue);
  app.addContentTypeParser(['image/png', 'application/octet-stream'], { parseAs: 'buffer', bodyLimit: limits.imageBytes }, (_request, body, done) => done(null, body));

  await app.register(fastifyWebsocket, {
    options: {
      maxPayload: 64 * 1024,
      // Answer with the protocol name, never echo the token subprotocol back.
      handleProtocols: (protocols: Set<string>) => (protocols.has(WS_PROTOCOL) ? WS_PROTOCOL : false),
    },
  });
  // After @fastify/websocket's own onRequest hook, which sets request.ws.
  app.addHook('onRequest', async (request, reply) => {
    addCorsHeaders(reply);
    const refusal = accessRefusal(request, options.token, options.lan);
    if (refusal) throw refusal;
  });

  app.options(`${API_PREFIX}/*`, { config: { public: true } }, async (_request, reply) => answerPreflight(reply));

  // Public so a client can find the bridge before it has the token; what the bridge is doing (device,
  // loaded model, queue) only with it.
  app.get(`${API_PREFIX}/health`, { config: { public: true } }, async (request): Promise<Health | PublicHealth> => {
    const found: PublicHealth = { ok: true, name: 'kirie', version: options.version, apiVersion: 'v1' };
    if (!request.authenticated) return found;
    const status = options.runner.status();
    const health: Health = {
      ...found,
      device: status.device,
      ...(status.deviceNote ? { deviceNote: status.deviceNote } : {}),
      loadedModel: status.loadedModel,
      queue: queue.counts(),
      registry: registry.health(),
    };
    return health;
  });
  app.get(`${API_PREFIX}/openapi.json`, async () => openApiDocument({ version: options.version, limits, routes: apiRoutes }));
  app.get(`${API_PREFIX}/models`, async () => ({ models: await registry.list(options.runner.status().loadedModel) }));
  app.get(`${API_PREFIX}/adapters`, async () => ({ adapters: await registry.adapters() }));
  // The presets, then every LoRA in the models folder as a style of its own.
  app.get(`${API_PREFIX}/styles`, async () => ({ styles: [...STYLE_PRESETS, ...(await registry.adapters()).filter((a) => a.kind === 'lora' && !a.problem).map(loraStyle)] }));
  registerPairing(app, options.token);

  app.put(`${API_PREFIX}/images`, { bodyLimit: limits.imageBytes }, async (request) => {
    if (!Buffer.isBuffer(request.body)) throw new KirieApiError(415, 'unsupported_media_type', 'send the PNG bytes as the body with Content-Type: image/png', 'body');
    const png = request.body;
    const { width, height } = await pngChecks.run(() => checkPng(png, limits.pixels));
    return { id: await images.put(png), width, height };
  });
  app.get<{ Params: { id: string } }>(`${API_PREFIX}/images/:id`, async (request, reply) => {
    const png = await images.get(request.params.id);
    if (!png) throw new KirieApiError(404, 'not_found', 'no image with this id on the bridge', 'id');
    return reply.type('image/png').header('cache-control', 'private, max-age=31536000, immutable').send(Buffer.from(png.buffer, png.byteOffset, png.byteLength));
  });

  registerPoseDetection(app, images, options.poseDetector ?? sharedPoseDetector);

  app.post(`${API_PREFIX}/jobs`, async (request, reply) => {
    const { job, position } = await queue.submit(await checkSubmission(request.body, { limits, registry, images }));
    return reply.code(202).send({ jobId: job.id, position });
  });
  app.get<{ Params: { id: string } }>(`${API_PREFIX}/jobs/:id`, async (request) => {
    const job = await queue.get(request.params.id);
    if (!job) throw new KirieApiError(404, 'not_found', 'no job with this id on the bridge', 'id');
    return job;
  });
  app.delete<{ Params: { id: string } }>(`${API_PREFIX}/jobs/:id`, async (request) => {
    const job = queue.cancel(request.params.id) ?? (await queue.get(request.params.id));
    if (!job) throw new KirieApiError(404, 'not_found', 'no job with this id on the bridge', 'id');
    return job;
  });

  app.get(`${API_PREFIX}/events`, { websocket: true }, (socket) => {
    const unsubscribe = queue.subscribe((event) => {
      // A slow client loses previews, never state changes.
      if (event.type === 'progress' && event.preview && socket.bufferedAmount > 1024 * 1024) {
        const { preview: _dropped, ...rest } = event;
        socket.send(JSON.stringify(rest));
      } else socket.send(JSON.stringify(event));
    });
    socket.on('close', unsubscribe);
    socket.on('message', () => socket.close(1008, 'this stream only sends; use the HTTP endpoints to act'));
  });

  if (options.playgroundDir) {
    const root = options.playgroundDir;
    // The playground's files carry no secrets: public, each as its own route (no wildcard, which would
    // also match every unknown /v1 path and answer it without the token).
    await app.register(async (playground) => {
      playground.addHook('onRoute', (route) => {
        route.config = { ...route.config, public: true };
      });
      playground.addHook('onRequest', async (request, reply) => addPlaygroundHeaders(request, reply));
      await playground.register(fastifyStatic, { root, prefix: '/', index: 'index.html', wildcard: false });
    });
  }
  return app;
}

/**
 * A WebSocket handshake that is answered over HTTP owns a raw socket the HTTP server no longer tracks: close
 * it after the answer, or it would linger (and hold up shutdown) until the client gives up.
 */
function closeUpgradeAfterAnswer(request: FastifyRequest, reply: FastifyReply): void {
  if (request.headers.upgrade) reply.header('connection', 'close').raw.once('finish', () => request.socket.destroy());
}

function fastifyCode(err: FastifyError): string {
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return 'body_too_large';
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return 'unsupported_media_type';
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return 'invalid_json';
    default:
      return (err.statusCode ?? 500) >= 500 ? 'internal_error' : 'bad_request';
  }
}

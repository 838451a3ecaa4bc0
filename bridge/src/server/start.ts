// Assembles a running bridge: state folders, token, image store, model registry, generation process,
// queue and HTTP server. `kirie serve` and the end-to-end tests both start the bridge through here.
import { createServer } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { ImageStore } from '../jobs/images.js';
import { JobQueue } from '../jobs/queue.js';
import type { JobRunner } from '../jobs/runner.js';
import type { ModelRegistry } from '../registry/registry.js';
import { buildApp } from './app.js';
import { DEFAULT_LIMITS, type Limits } from './limits.js';
import { prepareBridgeFolders, type BridgePaths } from './paths.js';
import { loadOrCreateToken } from './token.js';
import { KIRIE_VERSION } from '../version.js';

export interface StartOptions {
  paths: BridgePaths;
  registry: ModelRegistry;
  runner: JobRunner;
  port: number;
  /** Listen on every interface instead of loopback only. */
  lan?: boolean;
  limits?: Partial<Limits>;
  playgroundDir?: string;
  log?: (line: string) => void;
}

export interface RunningBridge {
  url: string;
  port: number;
  token: string;
  tokenCreated: boolean;
  app: FastifyInstance;
  queue: JobQueue;
  /** Graceful: no new jobs, waiting ones cancelled, the running one finished ('finish') or cancelled. */
  close(mode?: 'finish' | 'cancel'): Promise<void>;
}

/**
 * Serves the same app on [::1]:port too. (Fastify's "localhost" binds what the resolver returns, which is
 * often 127.0.0.1 alone, so clients that resolve localhost to ::1 would find nothing.) A machine without
 * IPv6 keeps serving on 127.0.0.1.
 */
async function listenOnIpv6Loopback(app: FastifyInstance, port: number, log: (line: string) => void = () => {}): Promise<() => Promise<void>> {
  const v6 = createServer();
  v6.on('request', (req, res) => app.server.emit('request', req, res));
  v6.on('upgrade', (req, socket, head) => app.server.emit('upgrade', req, socket, head));
  const listening = await new Promise<boolean>((resolve) => {
    v6.once('error', (err) => {
      log(`not listening on [::1]:${port} (${err.message}); 127.0.0.1:${port} works`);
      resolve(false);
    });
    v6.listen(port, '::1', () => resolve(true));
  });
  // An 'error' without a listener would end the process; after listening, one is only worth a log line.
  v6.on('error', (err) => log(`[::1]:${port}: ${err.message}`));
  if (!listening) return async () => {};
  return async () => {
    v6.closeAllConnections();
    await new Promise<void>((resolve) => v6.close(() => resolve()));
  };
}

export async function startBridge(options: StartOptions): Promise<RunningBridge> {
  const limits: Limits = { ...DEFAULT_LIMITS, ...options.limits };
  await prepareBridgeFolders(options.paths);
  const { token, created } = await loadOrCreateToken(options.paths.token);
  const images = new ImageStore(options.paths.images);
  const { outputs, unfinished } = options.paths;
  const queue = new JobQueue({ runner: options.runner, images, outputs, unfinished, capacity: limits.queue, bridgeVersion: KIRIE_VERSION, ...(options.log ? { log: options.log } : {}) });
  await queue.recover();
  const app = await buildApp({
    token,
    queue,
    images,
    registry: options.registry,
    runner: options.runner,
    limits,
    version: KIRIE_VERSION,
    lan: options.lan ?? false,
    ...(options.playgroundDir ? { playgroundDir: options.playgroundDir } : {}),
  });
  await app.listen({ host: options.lan ? '::' : '127.0.0.1', port: options.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  const closeIpv6 = options.lan ? async () => {} : await listenOnIpv6Loopback(app, port, options.log);
  let closing: Promise<void> | null = null;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    token,
    tokenCreated: created,
    app,
    queue,
    close(mode = 'cancel') {
      closing ??= (async () => {
        await queue.close(mode);
        await app.close();
        await closeIpv6();
        await options.runner.close();
      })();
      return closing;
    },
  };
}

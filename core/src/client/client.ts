// KirieClient: the one implementation of the bridge protocol every host uses. No dependencies: fetch and
// WebSocket come from the host (globals by default). Jobs are followed as an async iterator of events,
// and a job whose socket drops is recovered from GET /v1/jobs/:id, so a finished result is never lost.
import type { AdapterInfo, GenerateRequestInput, Health, ImageUploaded, JobEvent, JobInfo, JobSubmitted, ModelInfo, StyleInfo } from './protocol.js';
import { API_PREFIX, KirieApiError, TERMINAL_EVENTS, WS_PROTOCOL, WS_TOKEN_PREFIX } from './protocol.js';
import { callBridge } from './call.js';
import type { PairingApproval, PairingApproved } from './pairing.js';
import type { PoseJson } from '../control/openpose.js';
import { AsyncQueue, type FetchLike, type WebSocketConstructorLike, type WebSocketLike } from './transport.js';

/** What the event stream yields: the server's job events plus the connection's own state. */
export type ClientMessage = JobEvent | { type: 'connected' } | { type: 'disconnected'; reason: string };

/** The protocol as every host sees it; KirieClient talks to a bridge, MockKirieClient plays a script. */
export interface KirieApi {
  health(): Promise<Health>;
  models(): Promise<ModelInfo[]>;
  styles(): Promise<StyleInfo[]>;
  /** LoRAs and embeddings in the models folder (header text is untrusted: show it as text). */
  adapters(): Promise<AdapterInfo[]>;
  uploadImage(png: Uint8Array): Promise<ImageUploaded>;
  image(id: string): Promise<Uint8Array>;
  submit(request: GenerateRequestInput): Promise<JobSubmitted>;
  job(id: string): Promise<JobInfo>;
  cancel(id: string): Promise<JobInfo>;
  /** Every job's events, live, until the iterator is returned. */
  listen(): AsyncIterable<ClientMessage>;
  /** Submits and yields this job's events through its terminal one (done, error or cancelled). */
  generate(request: GenerateRequestInput): AsyncIterable<JobEvent>;
}

export interface KirieClientOptions {
  /** e.g. "http://127.0.0.1:7860" */
  url: string;
  token: string;
  fetch?: FetchLike;
  WebSocket?: WebSocketConstructorLike;
}

export class KirieClient implements KirieApi {
  private readonly base: string;
  private readonly fetchImpl: FetchLike;
  private readonly WebSocketImpl: WebSocketConstructorLike | undefined;

  constructor(private readonly options: KirieClientOptions) {
    this.base = options.url.replace(/\/+$/, '');
    const globals = globalThis as { fetch?: FetchLike; WebSocket?: WebSocketConstructorLike };
    const fetchImpl = options.fetch ?? globals.fetch?.bind(globalThis);
    if (!fetchImpl) throw new Error('no fetch available: pass one in KirieClientOptions.fetch');
    this.fetchImpl = fetchImpl;
    this.WebSocketImpl = options.WebSocket ?? globals.WebSocket;
  }

  health(): Promise<Health> {
    return this.json('GET', '/health');
  }
  models(): Promise<ModelInfo[]> {
    return this.json<{ models: ModelInfo[] }>('GET', '/models').then((r) => r.models);
  }
  styles(): Promise<StyleInfo[]> {
    return this.json<{ styles: StyleInfo[] }>('GET', '/styles').then((r) => r.styles);
  }
  adapters(): Promise<AdapterInfo[]> {
    return this.json<{ adapters: AdapterInfo[] }>('GET', '/adapters').then((r) => r.adapters);
  }
  uploadImage(png: Uint8Array): Promise<ImageUploaded> {
    return this.json('PUT', '/images', png, 'image/png');
  }
  async image(id: string): Promise<Uint8Array> {
    const response = await this.request('GET', `/images/${encodeURIComponent(id)}`);
    return new Uint8Array(await response.arrayBuffer());
  }
  submit(request: GenerateRequestInput): Promise<JobSubmitted> {
    return this.json('POST', '/jobs', JSON.stringify(request), 'application/json');
  }
  /** The people in an uploaded photo (uploadImage's id) as OpenPose JSON in its pixels; none found = no people. */
  detectPose(imageId: string): Promise<PoseJson> {
    return this.json('POST', '/poses/detect', JSON.stringify({ image: imageId }), 'application/json');
  }
  job(id: string): Promise<JobInfo> {
    return this.json('GET', `/jobs/${encodeURIComponent(id)}`);
  }
  cancel(id: string): Promise<JobInfo> {
    return this.json('DELETE', `/jobs/${encodeURIComponent(id)}`);
  }

  listen(): AsyncIterable<ClientMessage> {
    const WebSocketImpl = this.WebSocketImpl;
    if (!WebSocketImpl) throw new Error('no WebSocket available: pass one in KirieClientOptions.WebSocket');
    let socket: WebSocketLike | null = null;
    const queue = new AsyncQueue<ClientMessage>(() => socket?.close(1000, 'client stopped listening'));
    socket = new WebSocketImpl(`${this.base.replace(/^http/, 'ws')}${API_PREFIX}/events`, [WS_PROTOCOL, WS_TOKEN_PREFIX + this.options.token]);
    socket.onopen = () => queue.push({ type: 'connected' });
    socket.onmessage = (event) => {
      try {
        queue.push(JSON.parse(typeof event.data === 'string' ? event.data : String(event.data)) as JobEvent);
      } catch {
        queue.push({ type: 'disconnected', reason: 'the bridge sent a message that is not JSON' });
        queue.end();
      }
    };
    socket.onclose = (event) => {
      queue.push({ type: 'disconnected', reason: event.reason || `connection closed (code ${event.code})` });
      queue.end();
    };
    socket.onerror = () => {};
    return queue;
  }

  async *generate(request: GenerateRequestInput): AsyncGenerator<JobEvent> {
    // Listen before submitting so no event of this job can slip past.
    let stream = this.listen()[Symbol.asyncIterator]();
    let jobId: string | null = null;
    try {
      await this.awaitConnected(stream);
      jobId = (await this.submit(request)).jobId;
      for (;;) {
        const next = (await stream.next()).value;
        if (next === undefined || next.type === 'disconnected') {
          // The socket dropped: the job's state on the server is the truth; reconnect if it is still going.
          const terminal = await this.terminalEventFromServer(jobId);
          if (terminal) {
            yield terminal;
            return;
          }
          await stream.return?.();
          stream = this.listen()[Symbol.asyncIterator]();
          await this.awaitConnected(stream);
          const again = await this.terminalEventFromServer(jobId);
          if (again) {
            yield again;
            return;
          }
          continue;
        }
        if (next.type === 'connected' || next.jobId !== jobId) continue;
        yield next;
        if (TERMINAL_EVENTS.includes(next.type)) return;
      }
    } finally {
      await stream.return?.();
    }
  }

  private async awaitConnected(stream: AsyncIterator<ClientMessage>): Promise<void> {
    const first = await stream.next();
    if (first.done || first.value.type !== 'connected') {
      const reason = !first.done && first.value.type === 'disconnected' ? first.value.reason : 'closed before opening';
      throw new KirieApiError(0, 'events_unavailable', `could not open the bridge's event stream: ${reason}`);
    }
  }

  private async terminalEventFromServer(jobId: string): Promise<JobEvent | null> {
    const info = await this.job(jobId);
    if (info.status === 'done' && info.recipe) return { type: 'done', jobId, images: info.images ?? [], recipe: info.recipe };
    if (info.status === 'error' || info.status === 'interrupted') return { type: 'error', jobId, message: info.error ?? 'the job failed' };
    if (info.status === 'cancelled') return { type: 'cancelled', jobId };
    return null;
  }

  private async json<T>(method: string, path: string, body?: string | Uint8Array, contentType?: string): Promise<T> {
    const response = await this.request(method, path, body, contentType);
    return (await response.json()) as T;
  }

  /** Approves the pairing request whose panel shows this code (core/src/client/pairing.ts). */
  approvePairing(code: string): Promise<PairingApproved> {
    return this.json('POST', '/pair/approve', JSON.stringify({ code } satisfies PairingApproval), 'application/json');
  }

  private request(method: string, path: string, body?: string | Uint8Array, contentType?: string) {
    return callBridge(this.fetchImpl, this.base, method, path, { token: this.options.token, ...(body !== undefined ? { body } : {}), ...(contentType ? { contentType } : {}) });
  }
}

// A scriptable stand-in for the bridge, for host-plugin tests: it implements the same KirieApi as
// KirieClient, keeps uploads in memory, and plays each job as a script of events the test chooses.
import type { ClientMessage, KirieApi } from './client.js';
import type { AdapterInfo, GenerateRequestInput, Health, ImageUploaded, JobEvent, JobInfo, JobSubmitted, ModelInfo, Recipe, StyleInfo } from './protocol.js';
import { KirieApiError, TERMINAL_EVENTS } from './protocol.js';
import { AsyncQueue } from './transport.js';

// Timers are host globals (browser, Node, UXP); the core's own typings include no host.
const host = globalThis as unknown as { setTimeout(callback: () => void, ms: number): unknown };

type WithoutJob<E> = E extends unknown ? Omit<E, 'jobId'> : never;

/** One scripted step: an event to send (jobId filled in), after an optional delay in ms. */
export type MockStep = WithoutJob<JobEvent> & { delayMs?: number };

export interface MockOptions {
  models?: ModelInfo[];
  styles?: StyleInfo[];
  adapters?: AdapterInfo[];
  /** The events a submitted job plays; default: queued, started, one progress step per `steps`, done. */
  script?: (request: GenerateRequestInput, jobId: string, mock: MockKirieClient) => MockStep[];
}

export class MockKirieClient implements KirieApi {
  readonly submitted: GenerateRequestInput[] = [];
  readonly cancelled: string[] = [];
  private readonly images = new Map<string, Uint8Array>();
  private readonly jobs = new Map<string, JobInfo>();
  private readonly listeners = new Set<AsyncQueue<ClientMessage>>();
  private nextId = 1;

  constructor(private readonly options: MockOptions = {}) {}

  async health(): Promise<Health> {
    const running = [...this.jobs.values()].filter((j) => j.status === 'running').length;
    const queued = [...this.jobs.values()].filter((j) => j.status === 'queued').length;
    return { ok: true, name: 'kirie', version: 'mock', apiVersion: 'v1', device: 'cpu', loadedModel: null, queue: { running, queued, capacity: 32 }, registry: 'ok' };
  }
  async models(): Promise<ModelInfo[]> {
    return this.options.models ?? [];
  }
  async styles(): Promise<StyleInfo[]> {
    return this.options.styles ?? [];
  }
  async adapters(): Promise<AdapterInfo[]> {
    return this.options.adapters ?? [];
  }
  async uploadImage(png: Uint8Array): Promise<ImageUploaded> {
    const id = `mock-image-${this.nextId++}`;
    this.images.set(id, png);
    return { id, width: 0, height: 0 };
  }
  async image(id: string): Promise<Uint8Array> {
    const png = this.images.get(id);
    if (!png) throw new KirieApiError(404, 'not_found', `no image with id "${id}"`, 'id');
    return png;
  }

  async submit(request: GenerateRequestInput): Promise<JobSubmitted> {
    this.submitted.push(request);
    const jobId = `mock-job-${this.nextId++}`;
    const info = { id: jobId, status: 'queued', request, createdAt: new Date(0).toISOString() } as JobInfo;
    this.jobs.set(jobId, info);
    const script = (this.options.script ?? defaultScript)(request, jobId, this);
    void this.play(info, script);
    return { jobId, position: 0 };
  }

  async job(id: string): Promise<JobInfo> {
    const info = this.jobs.get(id);
    if (!info) throw new KirieApiError(404, 'not_found', `no job with id "${id}"`, 'id');
    return info;
  }

  async cancel(id: string): Promise<JobInfo> {
    const info = await this.job(id);
    this.cancelled.push(id);
    if (info.status === 'queued' || info.status === 'running') this.apply(info, { type: 'cancelled', jobId: id });
    return info;
  }

  listen(): AsyncIterable<ClientMessage> {
    const queue: AsyncQueue<ClientMessage> = new AsyncQueue(() => this.listeners.delete(queue));
    this.listeners.add(queue);
    queue.push({ type: 'connected' });
    return queue;
  }

  async *generate(request: GenerateRequestInput): AsyncGenerator<JobEvent> {
    const stream = this.listen()[Symbol.asyncIterator]();
    await stream.next();
    try {
      const { jobId } = await this.submit(request);
      for (;;) {
        const { value, done } = await stream.next();
        if (done) return;
        if (value.type === 'connected' || value.type === 'disconnected' || value.jobId !== jobId) continue;
        yield value;
        if (TERMINAL_EVENTS.includes(value.type)) return;
      }
    } finally {
      await stream.return?.();
    }
  }

  /** Stores a result image the way the bridge would, for scripts that finish with `done`. */
  addImage(png: Uint8Array): string {
    const id = `mock-image-${this.nextId++}`;
    this.images.set(id, png);
    return id;
  }

  private async play(info: JobInfo, script: MockStep[]): Promise<void> {
    for (const { delayMs, ...step } of script) {
      await new Promise<void>((r) => host.setTimeout(r, delayMs ?? 0));
      if (info.status === 'cancelled') return;
      this.apply(info, { ...step, jobId: info.id } as JobEvent);
    }
  }

  private apply(info: JobInfo, event: JobEvent): void {
    if (event.type === 'started') info.status = 'running';
    else if (event.type === 'done') Object.assign(info, { status: 'done', images: event.images, recipe: event.recipe });
    else if (event.type === 'error') Object.assign(info, { status: 'error', error: event.message });
    else if (event.type === 'cancelled') info.status = 'cancelled';
    for (const listener of this.listeners) listener.push(event);
  }
}

/** queued → started → progress per step → done with one (empty) image and a minimal recipe. */
function defaultScript(request: GenerateRequestInput, _jobId: string, mock: MockKirieClient): MockStep[] {
  const total = request.steps ?? 2;
  const image = mock.addImage(new Uint8Array());
  const recipe = { request, images: [image], model: { id: request.model ?? 'default', name: 'mock' }, device: 'cpu', bridgeVersion: 'mock', createdAt: new Date(0).toISOString(), durationMs: 0 } as unknown as Recipe;
  return [
    { type: 'queued', position: 0 },
    { type: 'started' },
    ...Array.from({ length: total }, (_, i): MockStep => ({ type: 'progress', phase: 'denoising', step: i + 1, total })),
    { type: 'done', images: [image], recipe },
  ];
}

// The job queue: bounded, one job on the device at a time, every state change broadcast as a JobEvent.
// A finished job's images and recipe are on disk before `done` is sent, so a client that reconnects
// later can always fetch what it missed (from memory, or from the output folder after a restart).
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { KirieApiError, type JobEvent, type JobInfo, type Recipe } from '@kirie/core/client/protocol';
import type { GenerateRequest } from '@kirie/core/request/schema';
import { writeFileAtomic } from './atomic.js';
import type { ImageStore } from './images.js';
import { RunCancelled, type JobRunner } from './runner.js';

export interface JobQueueOptions {
  runner: JobRunner;
  images: ImageStore;
  /** Folder the result PNGs and `<jobId>.json` records are written to. */
  outputs: string;
  /** Jobs that may wait behind the running one. */
  capacity: number;
  bridgeVersion: string;
  /** Finished jobs kept in memory; older ones are read back from the output folder. */
  keep?: number;
}

type Listener = (event: JobEvent) => void;

interface Entry {
  info: JobInfo;
  abort: AbortController;
}

const JOB_ID = /^[0-9a-f-]{36}$/;

export class JobQueue {
  private readonly jobs = new Map<string, Entry>();
  private readonly waiting: Entry[] = [];
  private running: Entry | null = null;
  private runningDone: Promise<void> = Promise.resolve();
  private readonly listeners = new Set<Listener>();
  private closed = false;

  constructor(private readonly options: JobQueueOptions) {}

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  counts(): { running: number; queued: number; capacity: number } {
    return { running: this.running ? 1 : 0, queued: this.waiting.length, capacity: this.options.capacity };
  }

  /** Queues a job; `position` counts the jobs ahead of it (the running one included). */
  submit(request: GenerateRequest): { job: JobInfo; position: number } {
    if (this.closed) throw new KirieApiError(503, 'shutting_down', 'the bridge is shutting down');
    if (this.waiting.length >= this.options.capacity) {
      throw new KirieApiError(429, 'queue_full', `the queue is full (${this.options.capacity} jobs waiting); wait for one to finish or cancel one`);
    }
    const entry: Entry = { info: { id: randomUUID(), status: 'queued', request, createdAt: new Date().toISOString() }, abort: new AbortController() };
    this.jobs.set(entry.info.id, entry);
    this.waiting.push(entry);
    const position = this.waiting.length - 1 + (this.running ? 1 : 0);
    this.emit({ type: 'queued', jobId: entry.info.id, position });
    this.pump();
    return { job: entry.info, position };
  }

  async get(id: string): Promise<JobInfo | null> {
    const entry = this.jobs.get(id);
    if (entry) return entry.info;
    if (!JOB_ID.test(id)) return null;
    try {
      return JSON.parse(await readFile(join(this.options.outputs, `${id}.json`), 'utf8')) as JobInfo;
    } catch {
      return null;
    }
  }

  /** Cancels a queued or running job; a finished one is returned unchanged. */
  cancel(id: string): JobInfo | null {
    const entry = this.jobs.get(id);
    if (!entry) return null;
    const { status } = entry.info;
    if (status !== 'queued' && status !== 'running') return entry.info;
    if (status === 'queued') this.waiting.splice(this.waiting.indexOf(entry), 1);
    // A running job is answered at once; its runner stops at the next step, then the next job starts.
    else entry.abort.abort();
    this.finish(entry, { status: 'cancelled' });
    this.emit({ type: 'cancelled', jobId: id });
    return entry.info;
  }

  /** Stops taking jobs, cancels the waiting ones and either lets the running one finish or cancels it. */
  async close(mode: 'finish' | 'cancel'): Promise<void> {
    this.closed = true;
    for (const entry of [...this.waiting]) this.cancel(entry.info.id);
    if (mode === 'cancel' && this.running) this.cancel(this.running.info.id);
    await this.runningDone;
  }

  private pump(): void {
    if (this.running || this.waiting.length === 0) return;
    const entry = this.waiting.shift()!;
    this.running = entry;
    this.runningDone = this.execute(entry).finally(() => {
      this.running = null;
      this.pump();
    });
  }

  private async execute(entry: Entry): Promise<void> {
    const { info } = entry;
    const started = Date.now();
    info.status = 'running';
    info.startedAt = new Date(started).toISOString();
    this.emit({ type: 'started', jobId: info.id });
    try {
      const imagePaths: Record<string, string> = {};
      for (const [, id] of imageFields(info.request)) {
        if (!(await this.options.images.has(id))) throw new Error(`image ${id} is not on the bridge (upload it with PUT /v1/images first)`);
        imagePaths[id] = this.options.images.path(id);
      }
      const output = await this.options.runner.run(
        { jobId: info.id, request: info.request, imagePaths },
        {
          signal: entry.abort.signal,
          onProgress: (p) => {
            if (info.status !== 'running') return;
            info.progress = { phase: p.phase, step: p.step, total: p.total };
            this.emit({ type: 'progress', jobId: info.id, phase: p.phase, step: p.step, total: p.total, ...(p.preview ? { preview: Buffer.from(p.preview).toString('base64') } : {}) });
          },
        },
      );
      if (info.status !== 'running') return;
      const images = await Promise.all(output.images.map((png) => this.options.images.put(png)));
      const recipe: Recipe = {
        request: info.request,
        images,
        model: output.model,
        device: output.device,
        bridgeVersion: this.options.bridgeVersion,
        createdAt: new Date().toISOString(),
        durationMs: Date.now() - started,
      };
      await Promise.all(output.images.map((png, i) => writeFileAtomic(join(this.options.outputs, `${info.id}-${i}.png`), png)));
      if (info.status !== 'running') return;
      this.finish(entry, { status: 'done', images, recipe });
      await this.persist(info);
      this.emit({ type: 'done', jobId: info.id, images, recipe });
    } catch (err) {
      if (info.status !== 'running') return;
      if (err instanceof RunCancelled) {
        this.finish(entry, { status: 'cancelled' });
        this.emit({ type: 'cancelled', jobId: info.id });
        return;
      }
      const message = err instanceof Error ? err.message : String(err);
      this.finish(entry, { status: 'error', error: message });
      await this.persist(info).catch(() => {});
      this.emit({ type: 'error', jobId: info.id, message });
    }
  }

  private finish(entry: Entry, update: Partial<JobInfo>): void {
    Object.assign(entry.info, update, { finishedAt: new Date().toISOString() });
    delete entry.info.progress;
    this.forgetOld();
  }

  private persist(info: JobInfo): Promise<void> {
    return writeFileAtomic(join(this.options.outputs, `${info.id}.json`), `${JSON.stringify(info, null, 2)}\n`);
  }

  /** Drops the oldest finished jobs from memory once more than `keep` are held (done/error ones stay on disk). */
  private forgetOld(): void {
    const keep = this.options.keep ?? 1000;
    if (this.jobs.size <= keep) return;
    for (const [id, entry] of this.jobs) {
      if (this.jobs.size <= keep) break;
      if (entry.info.status !== 'queued' && entry.info.status !== 'running') this.jobs.delete(id);
    }
  }

  private emit(event: JobEvent): void {
    for (const listener of this.listeners) listener(event);
  }
}

/** Every image a request refers to, with the field that names it. */
export function imageFields(request: GenerateRequest): [field: string, id: string][] {
  const fields: [string, string | undefined][] = [
    ['initImage', request.initImage],
    ['mask', request.mask],
    ...request.control.map((c, i): [string, string | undefined] => [`control.${i}.image`, c.image]),
  ];
  return fields.filter((f): f is [string, string] => f[1] !== undefined);
}

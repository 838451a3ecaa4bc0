// The job queue: bounded, one job on the device at a time, every state change broadcast as a JobEvent.
// A finished job's images and recipe are on disk before `done` is sent, so a client that reconnects
// later can always fetch what it missed (from memory, or from the output folder after a restart).
//
// Every job leaves a record: `<outputs>/<jobId>.json` once it ends (done, error or cancelled), and while it
// is queued or running a note in the `unfinished` folder. A note still there when the bridge starts
// belongs to a job the last process never finished (killed, crashed): it becomes an `interrupted` record.
// A record that cannot be written (disk full, permissions, an unserialisable request) fails that job
// alone; nothing here rejects into the void.
import { randomUUID } from 'node:crypto';
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { KirieApiError, type JobEvent, type JobInfo, type Recipe } from '@kirie/core/client/protocol';
import type { GenerateRequest } from '@kirie/core/request/schema';
import { removeAbandonedTempFiles, writeFileAtomic } from './atomic.js';
import { describeFsError } from './fs-error.js';
import type { ImageStore } from './images.js';
import { RunCancelled, type JobRunner } from './runner.js';

export interface JobQueueOptions {
  runner: JobRunner;
  images: ImageStore;
  /** Folder the result PNGs and `<jobId>.json` records are written to. */
  outputs: string;
  /** Folder of the notes of queued and running jobs. */
  unfinished: string;
  /** Jobs that may wait behind the running one. */
  capacity: number;
  bridgeVersion: string;
  /** Finished jobs kept in memory; older ones are read back from the output folder. */
  keep?: number;
  /** How files are written (tests inject failing writers). */
  write?: (path: string, data: string | Uint8Array) => Promise<void>;
  log?: (line: string) => void;
}

type Listener = (event: JobEvent) => void;

interface Entry {
  info: JobInfo;
  abort: AbortController;
  /** The unfinished note being written: removed only after it landed, or it could outlive the job. */
  noted: Promise<void>;
  /** The final record being written (close() waits for it). */
  recorded: Promise<void>;
}

const JOB_ID = /^[0-9a-f-]{36}$/;
const RECORD = /^([0-9a-f-]{36})\.json$/;
const INTERRUPTED = 'the bridge stopped (it was killed or crashed) before this job finished; submit it again';

export class JobQueue {
  private readonly jobs = new Map<string, Entry>();
  private readonly waiting: Entry[] = [];
  private running: Entry | null = null;
  private runningDone: Promise<void> = Promise.resolve();
  private readonly listeners = new Set<Listener>();
  private closed = false;
  private readonly write: (path: string, data: string | Uint8Array) => Promise<void>;
  private readonly log: (line: string) => void;

  constructor(private readonly options: JobQueueOptions) {
    this.write = options.write ?? writeFileAtomic;
    this.log = options.log ?? (() => {});
  }

  /**
   * Turns the notes a previous process left into `interrupted` records, and removes the temp files of
   * writes it never finished. Run once, before the first job.
   */
  async recover(): Promise<void> {
    await removeAbandonedTempFiles(this.options.outputs);
    await removeAbandonedTempFiles(this.options.unfinished);
    await removeAbandonedTempFiles(this.options.images.dir);
    let interrupted = 0;
    for (const name of await readdir(this.options.unfinished).catch(() => [] as string[])) {
      const id = RECORD.exec(name)?.[1];
      if (!id) continue;
      const note = join(this.options.unfinished, name);
      const final = join(this.options.outputs, name);
      try {
        // The job's own record won the race with the process's death: it is the truth.
        if (!(await exists(final))) {
          const info = JSON.parse(await readFile(note, 'utf8')) as JobInfo;
          delete info.progress;
          await this.writeRecord(final, { ...info, status: 'interrupted', error: INTERRUPTED, finishedAt: new Date().toISOString() });
          interrupted++;
        }
        await rm(note, { force: true });
      } catch (err) {
        if (err instanceof SyntaxError) {
          // Notes are written whole (atomic rename): one that does not parse was edited by hand.
          this.log(`job ${id}: its unfinished note is not a job record; removed`);
          await rm(note, { force: true }).catch(() => {});
        } else this.log(`job ${id}: could not record it as interrupted (${describeFsError(err)}); its note is kept for the next start`);
      }
    }
    if (interrupted) this.log(`${interrupted} job(s) were unfinished when the bridge last stopped: recorded as interrupted`);
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  counts(): { running: number; queued: number; capacity: number } {
    return { running: this.running ? 1 : 0, queued: this.waiting.length, capacity: this.options.capacity };
  }

  /**
   * Queues a job; `position` counts the jobs ahead of it (the running one included). Answers once the
   * job is noted as unfinished, so a bridge killed right after accepting it still has its record.
   */
  async submit(request: GenerateRequest): Promise<{ job: JobInfo; position: number }> {
    if (this.closed) throw new KirieApiError(503, 'shutting_down', 'the bridge is shutting down');
    if (this.waiting.length >= this.options.capacity) {
      throw new KirieApiError(429, 'queue_full', `the queue is full (${this.options.capacity} jobs waiting); wait for one to finish or cancel one`);
    }
    const info: JobInfo = { id: randomUUID(), status: 'queued', request, createdAt: new Date().toISOString() };
    const entry: Entry = { info, abort: new AbortController(), noted: Promise.resolve(), recorded: Promise.resolve() };
    entry.noted = this.writeRecord(this.notePath(info.id), info).catch((err: unknown) => {
      this.log(`job ${info.id}: could not note it as unfinished (${describeFsError(err)}); if the bridge dies now, its record is lost`);
    });
    this.jobs.set(info.id, entry);
    this.waiting.push(entry);
    const position = this.waiting.length - 1 + (this.running ? 1 : 0);
    this.emit({ type: 'queued', jobId: info.id, position });
    this.pump();
    await entry.noted;
    return { job: info, position };
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
    void this.record(entry);
    return entry.info;
  }

  /** Stops taking jobs, cancels the waiting ones and either lets the running one finish or cancels it. */
  async close(mode: 'finish' | 'cancel'): Promise<void> {
    this.closed = true;
    for (const entry of [...this.waiting]) this.cancel(entry.info.id);
    if (mode === 'cancel' && this.running) this.cancel(this.running.info.id);
    await this.runningDone;
    // Cancelled records are written in the background: the last ones must land before the process goes.
    await Promise.all([...this.jobs.values()].map((e) => e.recorded));
  }

  private pump(): void {
    if (this.running || this.waiting.length === 0) return;
    const entry = this.waiting.shift()!;
    this.running = entry;
    this.runningDone = this.execute(entry)
      .catch((err: unknown) => this.log(`job ${entry.info.id}: ${err instanceof Error ? err.stack : String(err)}`))
      .finally(() => {
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
    let outcome: Partial<JobInfo>;
    try {
      outcome = await this.run(entry, started);
    } catch (err) {
      if (info.status !== 'running') return;
      if (err instanceof RunCancelled) {
        this.finish(entry, { status: 'cancelled' });
        this.emit({ type: 'cancelled', jobId: info.id });
        await this.record(entry);
        return;
      }
      outcome = { status: 'error', error: errorMessage(err) };
    }
    // Cancelled meanwhile: cancel() answered, announced and recorded it.
    if (info.status !== 'running') return;
    this.finish(entry, outcome);
    const failure = await this.record(entry);
    if (failure && outcome.status === 'done') {
      // Announcing `done` for a job no later GET could find would be a fake success.
      outcome = { status: 'error', error: `the job ran, but its record could not be saved: ${failure}` };
      delete info.images;
      delete info.recipe;
      this.finish(entry, outcome);
      await this.record(entry);
    }
    if (outcome.status === 'done') this.emit({ type: 'done', jobId: info.id, images: outcome.images!, recipe: outcome.recipe! });
    else this.emit({ type: 'error', jobId: info.id, message: outcome.error! });
  }

  /** Runs the job and stores its images; the outcome to record. */
  private async run(entry: Entry, started: number): Promise<Partial<JobInfo>> {
    const { info } = entry;
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
    if (info.status !== 'running') return {};
    try {
      const images = await Promise.all(output.images.map((png) => this.options.images.put(png)));
      await Promise.all(output.images.map((png, i) => this.write(join(this.options.outputs, `${info.id}-${i}.png`), png)));
      const recipe: Recipe = {
        request: info.request,
        images,
        model: output.model,
        device: output.device,
        bridgeVersion: this.options.bridgeVersion,
        createdAt: new Date().toISOString(),
        durationMs: Date.now() - started,
      };
      return { status: 'done', images, recipe };
    } catch (err) {
      throw new Error(`the images could not be saved: ${describeFsError(err)}`);
    }
  }

  private finish(entry: Entry, update: Partial<JobInfo>): void {
    Object.assign(entry.info, update, { finishedAt: new Date().toISOString() });
    delete entry.info.progress;
    this.forgetOld();
  }

  /**
   * Writes the job's final record, then drops its unfinished note. Never rejects: the reason a record
   * could not be written is returned (and logged), null when it was.
   */
  private record(entry: Entry): Promise<string | null> {
    const { info } = entry;
    const recorded = (async () => {
      try {
        await this.writeRecord(join(this.options.outputs, `${info.id}.json`), info);
      } catch (err) {
        const reason = describeFsError(err);
        this.log(`job ${info.id}: its ${info.status} record could not be saved (${reason})`);
        return reason;
      }
      await entry.noted;
      await rm(this.notePath(info.id), { force: true }).catch((err: unknown) => this.log(`job ${info.id}: its unfinished note could not be removed (${describeFsError(err)})`));
      return null;
    })();
    entry.recorded = recorded.then(() => {});
    return recorded;
  }

  /** Serialising inside the promise: a request JSON cannot express becomes a rejection, never a throw. */
  private async writeRecord(path: string, info: JobInfo): Promise<void> {
    await this.write(path, `${JSON.stringify(info, null, 2)}\n`);
  }

  private notePath(id: string): string {
    return join(this.options.unfinished, `${id}.json`);
  }

  /** Drops the oldest finished jobs from memory once more than `keep` are held (their records stay on disk). */
  private forgetOld(): void {
    const keep = this.options.keep ?? 1000;
    if (this.jobs.size <= keep) return;
    for (const [id, entry] of this.jobs) {
      if (this.jobs.size <= keep) break;
      if (entry.info.status !== 'queued' && entry.info.status !== 'running') this.jobs.delete(id);
    }
  }

  private emit(event: JobEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (err) {
        // One broken client connection must not stop the others hearing, nor the job finishing.
        this.log(`an event listener failed on ${event.type} of job ${event.jobId}: ${errorMessage(err)}`);
      }
    }
  }
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
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

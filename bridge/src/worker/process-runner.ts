// Runs generations in a child process: inference never blocks the HTTP loop (health and cancel answer at
// once), a native crash or out-of-memory takes down only the child, and a job that ignores cancellation
// is ended by killing the child, which is restarted for the next job.
//
// A watchdog ends a child that hangs: one that stops beating its heartbeat (stopped, frozen: the beat
// comes from a thread of its own, so a long synchronous ONNX call does not silence it), or whose job
// reports no progress for far longer than any step takes (stuck on a dead network drive, deadlocked).
import { fork, type ChildProcess } from 'node:child_process';
import { constants, setPriority } from 'node:os';
import type { Readable } from 'node:stream';
import type { JobRunner, RunContext, RunInput, RunOutput } from '../jobs/runner.js';
import { RunCancelled } from '../jobs/runner.js';
import { HEARTBEAT_FD, type FromWorker, type ToWorker, type WorkerConfig } from './messages.js';

export interface ProcessRunnerOptions extends Omit<WorkerConfig, 'heartbeatMs'> {
  /** The bundled worker entry (dist/worker.mjs). */
  workerPath: string;
  /** How long a cancelled job may take to stop before the process is killed. */
  cancelGraceMs?: number;
  /** Silence (no heartbeat) after which the process is taken for hung, killed and restarted. */
  hangTimeoutMs?: number;
  /**
   * How long a job may go without any progress. Generous: loading a large checkpoint (hashing it, building
   * and opening its sessions) or one big step on a CPU can take minutes without a progress event.
   */
  progressTimeoutMs?: number;
  log?: (line: string) => void;
}

export const DEFAULT_HANG_TIMEOUT_MS = 30_000;
export const DEFAULT_PROGRESS_TIMEOUT_MS = 15 * 60_000;

interface Current {
  jobId: string;
  context: RunContext;
  lastProgress: number;
  settle: (err: Error | null, output?: RunOutput) => void;
}

export class ProcessRunner implements JobRunner {
  private child: ChildProcess | null = null;
  private ready: Promise<void> | null = null;
  private device: string;
  private deviceNote: string | undefined;
  private loadedModel: string | null = null;
  private current: Current | null = null;
  private readonly hangMs: number;
  private readonly progressMs: number;

  constructor(private readonly options: ProcessRunnerOptions) {
    this.device = options.device;
    this.hangMs = options.hangTimeoutMs ?? DEFAULT_HANG_TIMEOUT_MS;
    this.progressMs = options.progressTimeoutMs ?? DEFAULT_PROGRESS_TIMEOUT_MS;
  }

  /** Starts the process now (otherwise it starts with the first job) and reports the device it chose. */
  start(): Promise<void> {
    if (this.ready) return this.ready;
    const { modelsDir, cacheDir, device, memoryBudget, version } = this.options;
    const config: WorkerConfig = { modelsDir, cacheDir, device, memoryBudget, version, heartbeatMs: Math.min(1000, Math.ceil(this.hangMs / 5)) };
    const child = fork(this.options.workerPath, [JSON.stringify(config)], { serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc', 'pipe'], execArgv: ['--expose-gc'] });
    this.child = child;
    // Inference may take every core; the HTTP loop (health, cancel, uploads) must still answer at once.
    try {
      setPriority(child.pid!, constants.priority.PRIORITY_BELOW_NORMAL);
    } catch {
      // Not permitted here (some containers): the bridge still works, only less snappy under CPU load.
    }
    // Without a listener, an 'error' (a message sent as the process died) would end the bridge.
    child.on('error', (err) => this.options.log?.(`generation process: ${err.message}`));
    let killedBecause: string | null = null;
    const watchdog = this.watch(child, child.stdio[HEARTBEAT_FD] as Readable, (reason) => {
      killedBecause = reason;
      this.options.log?.(`${reason}: restarting the generation process`);
      child.kill('SIGKILL');
    });
    this.ready = new Promise<void>((resolve, reject) => {
      child.on('message', (message: FromWorker) => {
        if (message.type === 'ready') {
          watchdog.ready();
          this.device = message.device;
          this.deviceNote = message.deviceNote;
          if (message.deviceNote) this.options.log?.(`device: ${message.device} (${message.deviceNote})`);
          resolve();
        } else this.onMessage(message);
      });
      child.on('exit', (code, signal) => {
        watchdog.stop();
        if (this.child === child) {
          this.child = null;
          this.ready = null;
          this.loadedModel = null;
        }
        const why = killedBecause ?? `the generation process exited (${signal ?? `code ${code}`})`;
        reject(new Error(why));
        this.current?.settle(new Error(`${why} while running the job; the bridge restarts it for the next job`));
      });
    });
    return this.ready;
  }

  async run(input: RunInput, context: RunContext): Promise<RunOutput> {
    await this.start();
    const child = this.child;
    if (!child) throw new Error('the generation process exited before the job could start; the bridge restarts it for the next job');
    return new Promise<RunOutput>((resolve, reject) => {
      let killTimer: NodeJS.Timeout | undefined;
      const onAbort = () => {
        this.send({ type: 'cancel', jobId: input.jobId });
        killTimer = setTimeout(() => {
          this.options.log?.(`job ${input.jobId} did not stop within ${this.options.cancelGraceMs ?? 3000} ms of cancel: restarting the generation process`);
          child.kill('SIGKILL');
        }, this.options.cancelGraceMs ?? 3000);
      };
      this.current = {
        jobId: input.jobId,
        context,
        lastProgress: Date.now(),
        settle: (err, output) => {
          clearTimeout(killTimer);
          context.signal.removeEventListener('abort', onAbort);
          this.current = null;
          if (context.signal.aborted) reject(new RunCancelled());
          else if (err) reject(err);
          else resolve(output!);
        },
      };
      if (context.signal.aborted) onAbort();
      else context.signal.addEventListener('abort', onAbort, { once: true });
      this.send({ type: 'run', input });
    });
  }

  /** The generation process's pid (for memory figures), when it is running. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  status(): { device: string; deviceNote?: string; loadedModel: string | null } {
    return { device: this.device, ...(this.deviceNote ? { deviceNote: this.deviceNote } : {}), loadedModel: this.loadedModel };
  }

  async close(): Promise<void> {
    const child = this.child;
    if (!child) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    this.send({ type: 'shutdown' });
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }

  /**
   * Calls `hung` once when the child's heartbeat or its job's progress stops. The heartbeat is judged
   * from `ready` on (the child says it only once its beating thread runs); until then the child is
   * loading its code (ONNX Runtime included), which a busy machine may stretch: it gets the progress allowance.
   */
  private watch(child: ChildProcess, heartbeat: Readable, hung: (reason: string) => void): { ready(): void; stop(): void } {
    const every = Math.min(1000, Math.ceil(this.hangMs / 4));
    const forkedAt = Date.now();
    let beating = false;
    let lastBeat = 0;
    let suspicion: string | null = null;
    heartbeat.on('data', () => (lastBeat = Date.now()));
    heartbeat.on('error', () => {});
    const timer = setInterval(() => {
      const now = Date.now();
      const silentFor = now - (beating ? lastBeat : forkedAt);
      const job = this.child === child ? this.current : null;
      let reason: string | null = null;
      if (silentFor > (beating ? this.hangMs : this.progressMs)) reason = `the generation process stopped responding (no sign of life for ${seconds(silentFor)})`;
      else if (job && now - job.lastProgress > this.progressMs) reason = `job ${job.jobId} made no progress for ${seconds(now - job.lastProgress)}`;
      // This process may have been paused or starved itself: what the child sent meanwhile is read only
      // after this check. Two checks run an I/O poll apart, so silence seen by both is the child's.
      const confirmed = reason !== null && suspicion !== null;
      suspicion = reason;
      if (!confirmed) return;
      clearInterval(timer);
      hung(reason!);
    }, every);
    timer.unref();
    return {
      ready: () => {
        beating = true;
        lastBeat = Math.max(lastBeat, Date.now());
      },
      stop: () => clearInterval(timer),
    };
  }

  private onMessage(message: FromWorker): void {
    if (message.type === 'loaded') {
      this.loadedModel = message.model;
      return;
    }
    if (message.type === 'log') {
      this.options.log?.(message.message);
      if (message.device) {
        this.device = message.device;
        this.deviceNote = message.message;
      }
      return;
    }
    if (message.type === 'ready' || !this.current || message.jobId !== this.current.jobId) return;
    if (message.type === 'progress') {
      this.current.lastProgress = Date.now();
      this.current.context.onProgress(message.progress);
    } else if (message.type === 'result') this.current.settle(null, message.output);
    else this.current.settle(message.cancelled ? new RunCancelled() : new Error(message.message));
  }

  private send(message: ToWorker): void {
    // A child that just died: its exit settles the job; the failed send is only worth a log line.
    this.child?.send(message, (err: Error | null) => {
      if (err) this.options.log?.(`could not reach the generation process: ${err.message}`);
    });
  }
}

function seconds(ms: number): string {
  return `${Math.round(ms / 100) / 10} s`;
}

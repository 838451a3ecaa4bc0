// Runs generations in a child process: inference never blocks the HTTP loop (health and cancel answer at
// once), a native crash or out-of-memory takes down only the child, and a job that ignores cancellation
// is ended by killing the child, which is restarted for the next job.
import { fork, type ChildProcess } from 'node:child_process';
import { constants, setPriority } from 'node:os';
import type { JobRunner, RunContext, RunInput, RunOutput } from '../jobs/runner.js';
import { RunCancelled } from '../jobs/runner.js';
import type { FromWorker, ToWorker, WorkerConfig } from './messages.js';

export interface ProcessRunnerOptions extends WorkerConfig {
  /** The bundled worker entry (dist/worker.mjs). */
  workerPath: string;
  /** How long a cancelled job may take to stop before the process is killed. */
  cancelGraceMs?: number;
  log?: (line: string) => void;
}

export class ProcessRunner implements JobRunner {
  private child: ChildProcess | null = null;
  private ready: Promise<void> | null = null;
  private device: string;
  private deviceNote: string | undefined;
  private loadedModel: string | null = null;
  private current: { jobId: string; settle: (err: Error | null, output?: RunOutput) => void; context: RunContext } | null = null;

  constructor(private readonly options: ProcessRunnerOptions) {
    this.device = options.device;
  }

  /** Starts the process now (otherwise it starts with the first job) and reports the device it chose. */
  start(): Promise<void> {
    if (this.ready) return this.ready;
    const { modelsDir, cacheDir, device, memoryBudget, version } = this.options;
    const config: WorkerConfig = { modelsDir, cacheDir, device, memoryBudget, version };
    const child = fork(this.options.workerPath, [JSON.stringify(config)], { serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: ['--expose-gc'] });
    this.child = child;
    // Inference may take every core; the HTTP loop (health, cancel, uploads) must still answer at once.
    try {
      setPriority(child.pid!, constants.priority.PRIORITY_BELOW_NORMAL);
    } catch {
      // Not permitted here (some containers): the bridge still works, only less snappy under CPU load.
    }
    this.ready = new Promise<void>((resolve, reject) => {
      child.on('message', (message: FromWorker) => {
        if (message.type === 'ready') {
          this.device = message.device;
          this.deviceNote = message.deviceNote;
          if (message.deviceNote) this.options.log?.(`device: ${message.device} (${message.deviceNote})`);
          resolve();
        } else this.onMessage(message);
      });
      child.on('exit', (code, signal) => {
        if (this.child === child) {
          this.child = null;
          this.ready = null;
          this.loadedModel = null;
        }
        const why = `the generation process exited (${signal ?? `code ${code}`})`;
        reject(new Error(why));
        this.current?.settle(new Error(`${why} while running the job; the bridge restarts it for the next job`));
      });
    });
    return this.ready;
  }

  async run(input: RunInput, context: RunContext): Promise<RunOutput> {
    await this.start();
    const child = this.child!;
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
    if (message.type === 'progress') this.current.context.onProgress(message.progress);
    else if (message.type === 'result') this.current.settle(null, message.output);
    else this.current.settle(message.cancelled ? new RunCancelled() : new Error(message.message));
  }

  private send(message: ToWorker): void {
    this.child?.send(message);
  }
}

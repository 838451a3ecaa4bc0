// The contract between the queue and whatever runs a generation. The real one is a child process
// (worker/runner.ts) so inference never blocks the HTTP loop; tests inject scripted ones.
import type { GenerateRequest } from '@kirie/core/request/schema';
import type { ProgressPhase, Recipe } from '@kirie/core/client/protocol';

export interface RunProgress {
  phase: ProgressPhase;
  step: number;
  total: number;
  /** Small PNG of the current latents. */
  preview?: Uint8Array;
}

export interface RunInput {
  jobId: string;
  request: GenerateRequest;
  /** File of every image id the request names. */
  imagePaths: Record<string, string>;
}

export interface RunOutput {
  /** One PNG per batch image. */
  images: Uint8Array[];
  model: Recipe['model'];
  device: string;
}

export interface RunContext {
  signal: AbortSignal;
  onProgress(progress: RunProgress): void;
}

export interface JobRunner {
  run(input: RunInput, context: RunContext): Promise<RunOutput>;
  /** Device and loaded model, for /v1/health. */
  status(): { device: string; deviceNote?: string; loadedModel: string | null };
  close(): Promise<void>;
}

/** Thrown (or rejected with) when a run stopped because its signal aborted. */
export class RunCancelled extends Error {
  constructor() {
    super('cancelled');
    this.name = 'RunCancelled';
  }
}

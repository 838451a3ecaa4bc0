// Following one job through the shared client, the way both plugin panels need it: progress with an
// optional preview, cancel by a polled signal, and the first result image decoded. Host-neutral.
import type { KirieApi } from '@kirie/core/client/client';
import type { GenerateRequestInput, ProgressPhase } from '@kirie/core/client/protocol';
import { decodePng, type RasterImage } from '@kirie/core/image/png';

export interface JobProgress {
  phase: ProgressPhase | 'queued' | 'started';
  step: number;
  total: number;
  /** Base64 PNG of the current latents, ready for a data: URL. */
  preview?: string;
}

/**
 * What cancel needs of a signal: only `aborted`. UXP documents its AbortSignal with `aborted`, `reason` and
 * `throwIfAborted` and no events (uxp-api/reference-js/Global Members/HTML DOM/AbortSignal), so cancel is
 * seen by polling, never by an 'abort' listener.
 */
export interface CancelSignal {
  readonly aborted: boolean;
}

/** How often a running job looks at its signal. */
const CANCEL_POLL_MS = 100;

export interface JobHooks {
  onProgress?: (progress: JobProgress) => void;
  /** Aborting cancels the job on the bridge; the run then rejects with GenerationCancelled. */
  signal?: CancelSignal;
}

export class GenerationCancelled extends Error {
  constructor() {
    super('generation cancelled');
    this.name = 'GenerationCancelled';
  }
}

export interface JobResult {
  image: RasterImage;
  seed: number;
  jobId: string;
}

/** Runs a request to its end and returns its first image; rejects with the bridge's message on error. */
export async function runJob(client: KirieApi, request: GenerateRequestInput, hooks: JobHooks = {}): Promise<JobResult> {
  const { onProgress, signal } = hooks;
  if (signal?.aborted) throw new GenerationCancelled();
  let jobId: string | null = null;
  let cancelSent = false;
  const cancel = () => {
    if (jobId === null || cancelSent) return;
    cancelSent = true;
    // The job's own `cancelled` event ends the loop below; a failed DELETE is reported there too.
    client.cancel(jobId).catch(() => {});
  };
  const watch = signal ? setInterval(() => signal.aborted && cancel(), CANCEL_POLL_MS) : undefined;
  try {
    for await (const event of client.generate(request)) {
      jobId ??= event.jobId;
      // Every event is a chance to notice a cancel sooner than the next poll.
      if (signal?.aborted) cancel();
      switch (event.type) {
        case 'queued':
          onProgress?.({ phase: 'queued', step: 0, total: event.position });
          break;
        case 'started':
          onProgress?.({ phase: 'started', step: 0, total: 0 });
          break;
        case 'progress':
          onProgress?.({ phase: event.phase, step: event.step, total: event.total, ...(event.preview ? { preview: event.preview } : {}) });
          break;
        case 'cancelled':
          throw new GenerationCancelled();
        case 'error':
          throw new Error(`the bridge could not generate: ${event.message}`);
        case 'done': {
          const id = event.images[0];
          if (id === undefined) throw new Error(`job ${event.jobId} finished without an image`);
          const image = decodePng(await client.image(id));
          return { image: { width: image.width, height: image.height, channels: image.channels, data: image.data }, seed: event.recipe.request.seed, jobId: event.jobId };
        }
      }
    }
    throw new Error('the bridge closed the job without a result');
  } finally {
    clearInterval(watch);
  }
}

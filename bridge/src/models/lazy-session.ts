// A session created on its first run(). Creating a full-size session costs seconds of CPU and hundreds of MB,
// and some graphs serve only some jobs (the VAE encoder: img2img and inpainting, never txt2img), so a model
// describes such a graph from its file and creates the session when a job first runs it.
import type { InferenceSession } from 'onnxruntime-node';
import type { SessionMetadata } from '@kirie/core/models/sessions';

type Metadata = SessionMetadata & { inputNames: readonly string[]; outputNames: readonly string[] };

export class LazySession implements InferenceSession {
  private session: Promise<InferenceSession> | undefined;
  private released = false;

  constructor(
    private readonly metadata: Metadata,
    private readonly create: () => Promise<InferenceSession>,
  ) {}

  get inputNames(): readonly string[] {
    return this.metadata.inputNames;
  }
  get outputNames(): readonly string[] {
    return this.metadata.outputNames;
  }
  get inputMetadata(): readonly InferenceSession.ValueMetadata[] {
    return this.metadata.inputMetadata;
  }
  get outputMetadata(): readonly InferenceSession.ValueMetadata[] {
    return this.metadata.outputMetadata;
  }

  /** Whether a session has been (or is being) created. */
  get opened(): boolean {
    return this.session !== undefined;
  }

  private open(): Promise<InferenceSession> {
    if (this.released) return Promise.reject(new Error('the model was released'));
    // Concurrent first runs share one creation; a failed one is retried by the next run.
    this.session ??= this.create().catch((err: unknown) => {
      this.session = undefined;
      throw err;
    });
    return this.session;
  }

  run(feeds: InferenceSession.FeedsType, options?: InferenceSession.RunOptions): Promise<InferenceSession.ReturnType>;
  run(feeds: InferenceSession.FeedsType, fetches: InferenceSession.FetchesType, options?: InferenceSession.RunOptions): Promise<InferenceSession.ReturnType>;
  async run(
    feeds: InferenceSession.FeedsType,
    fetchesOrOptions?: InferenceSession.FetchesType | InferenceSession.RunOptions,
    options?: InferenceSession.RunOptions,
  ): Promise<InferenceSession.ReturnType> {
    const session = await this.open();
    return session.run(feeds, fetchesOrOptions as InferenceSession.FetchesType, options);
  }

  async release(): Promise<void> {
    this.released = true;
    const session = await this.session?.catch(() => undefined);
    this.session = undefined;
    await session?.release();
  }

  startProfiling(): void {
    throw new Error('profiling a session that opens on first use is not supported: profile the model file directly');
  }

  endProfiling(): void {
    throw new Error('profiling a session that opens on first use is not supported: profile the model file directly');
  }
}

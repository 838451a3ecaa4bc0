// A real bridge (HTTP + WebSocket, token, queue, image store) on a random port, with a scripted runner
// standing in for the GPU: it records what each job received and answers a solid colour at the
// requested size. Plugins talk to it through the real KirieClient, as they do in the hosts.
import { copyFile, mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { KirieClient } from '@kirie/core/client/client';
import type { WebSocketConstructorLike } from '@kirie/core/client/transport';
import { decodePng, encodePng, type RasterImage } from '@kirie/core/image/png';
import type { JobRunner, RunContext, RunInput, RunOutput } from '../../../bridge/src/jobs/runner.js';
import { RunCancelled } from '../../../bridge/src/jobs/runner.js';
import { startTestBridge, type TestBridge } from '../../../bridge/test/server/harness.js';

/** The golden tiny LoRA and embedding (tests/golden/tiny-sd15), as tests/e2e/lora.test.ts uses them. */
const GOLDEN = fileURLToPath(new URL('../../../tests/golden/tiny-sd15/', import.meta.url));
/** Names the adapters have in the models folder of a bridge started with `adapters`. */
export const TEST_LORA = { name: 'paper-cut', preferredWeight: 0.6, trigger: 'papercut style' } as const;
export const TEST_EMBEDDING = 'kirie-style';

export const GENERATED_RGB: [number, number, number] = [20, 200, 60];

export interface ReceivedJob {
  input: RunInput;
  initImage?: RasterImage;
  mask?: RasterImage;
}

export class RecordingRunner implements JobRunner {
  readonly jobs: ReceivedJob[] = [];
  fail: string | null = null;
  stepMs = 1;
  /** Called after the first step: lets a test cancel mid-job. */
  onStep: (() => void) | null = null;

  async run(input: RunInput, context: RunContext): Promise<RunOutput> {
    const read = async (id: string | undefined) => (id ? decodePng(new Uint8Array(await readFile(input.imagePaths[id]!))) : undefined);
    const job: ReceivedJob = { input };
    const init = await read(input.request.initImage);
    const mask = await read(input.request.mask);
    if (init) job.initImage = init;
    if (mask) job.mask = mask;
    this.jobs.push(job);
    const total = Math.min(input.request.steps, 4);
    for (let step = 1; step <= total; step++) {
      await new Promise((r) => setTimeout(r, this.stepMs));
      if (context.signal.aborted) throw new RunCancelled();
      if (this.fail) throw new Error(this.fail);
      context.onProgress({ phase: 'denoising', step, total, preview: encodePng({ width: 4, height: 4, channels: 3, data: new Uint8Array(48).fill(step) }) });
      this.onStep?.();
    }
    const { width, height } = input.request;
    const data = new Uint8Array(width * height * 3);
    for (let i = 0; i < width * height; i++) data.set(GENERATED_RGB, i * 3);
    return { images: [encodePng({ width, height, channels: 3, data })], model: { id: input.request.model, name: 'recording' }, device: 'cpu' };
  }

  status() {
    return { device: 'cpu', loadedModel: null };
  }

  async close(): Promise<void> {}
}

export interface PluginBridge {
  bridge: TestBridge;
  runner: RecordingRunner;
  client: KirieClient;
  dispose(): Promise<void>;
}

/**
 * Starts the bridge with one checkpoint and, with `openpose`, an OpenPose ControlNet in its models folder;
 * with `adapters`, the tiny golden LoRA in loras/ (with A1111's sidecar: trigger words, preferred weight)
 * and the tiny golden embedding in embeddings/, as users drop them there.
 * `portInRange`: on a port the panels accept (bridge/test/server/harness.ts onBridgePort), for tests that drive a panel's form.
 */
export async function startPluginBridge(options: { openpose?: boolean; portInRange?: boolean; adapters?: boolean } = {}): Promise<PluginBridge> {
  const home = await mkdtemp(join(tmpdir(), 'kirie-plugin-'));
  const models = join(home, 'models');
  await mkdir(models, { recursive: true });
  await writeFile(join(models, 'sd15.safetensors'), 'scripted: never opened');
  if (options.openpose) await writeFile(join(models, 'control_v11p_sd15_openpose.safetensors'), 'scripted: never opened');
  if (options.adapters) {
    await mkdir(join(models, 'loras'));
    await mkdir(join(models, 'embeddings'));
    await copyFile(join(GOLDEN, 'tiny-lora-kohya.safetensors'), join(models, 'loras', `${TEST_LORA.name}.safetensors`));
    await writeFile(join(models, 'loras', `${TEST_LORA.name}.json`), JSON.stringify({ 'activation text': TEST_LORA.trigger, 'preferred weight': TEST_LORA.preferredWeight }));
    await copyFile(join(GOLDEN, 'tiny-embedding-a1111-1v.safetensors'), join(models, 'embeddings', `${TEST_EMBEDDING}.safetensors`));
  }
  const runner = new RecordingRunner();
  const bridge = await startTestBridge({
    runner,
    home,
    // loras/ and embeddings/ are the adapter library's (bridge/src/models/adapter-library.ts), not checkpoints.
    classify: async (path) => {
      if (!path.endsWith('.safetensors') || path.includes(`${sep}embeddings${sep}`)) return null;
      if (path.includes(`${sep}loras${sep}`)) return 'lora';
      return path.includes('control_') ? 'controlnet' : 'checkpoint';
    },
    portInRange: options.portInRange ?? false,
  });
  const client = new KirieClient({ url: bridge.url, token: bridge.token, WebSocket: WebSocket as unknown as WebSocketConstructorLike });
  return {
    bridge,
    runner,
    client,
    async dispose() {
      await bridge.dispose();
      await rm(home, { recursive: true, force: true });
    },
  };
}

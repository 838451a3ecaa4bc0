// The generation process (forked by ProcessRunner): loads models, runs one request at a time through the
// pipeline and streams progress back. Everything slow or native happens here, away from the HTTP loop.
import { readFile } from 'node:fs/promises';
import { decodePng, encodePng } from '@kirie/core/image/png';
import type { RunInput, RunOutput } from '../jobs/runner.js';
import { modelShortHash } from '../generate/images.js';
import { modelPath } from '../registry/registry.js';
import { parseDevice, preferredProvider } from '../runtime/session.js';
import { startHeartbeat } from './heartbeat.js';
import { HEARTBEAT_FD, type FromWorker, type ToWorker, type WorkerConfig } from './messages.js';
import { runRequest } from '../generate/request-run.js';
import { LoadedModels } from './models.js';
import { FolderAdapterLibrary } from '../models/adapter-library.js';
import type { LoadedModel } from '../models/load.js';

const config = JSON.parse(process.argv[2] ?? '{}') as WorkerConfig;
const heartbeat = startHeartbeat(HEARTBEAT_FD, config.heartbeatMs);
const device = parseDevice(config.device);
const send = (message: FromWorker) => process.send!(message);
const log = (message: string) => send({ type: 'log', message, ...(/falling back to the CPU/.test(message) ? { device: 'cpu' } : {}) });
const models = new LoadedModels(config.memoryBudget, { device, cacheDir: config.cacheDir, log });
const running = new Map<string, AbortController>();
// A1111's model hash reads the whole file: once per model file and process.
const hashes = new Map<string, string | undefined>();
let queue: Promise<void> = Promise.resolve();
// Per loaded model, so a LoRA read for it stays parsed while the model does.
const adapterLibraries = new WeakMap<LoadedModel, FolderAdapterLibrary>();

async function run(input: RunInput, signal: AbortSignal): Promise<RunOutput> {
  const { request } = input;
  // Building reports every tensor; clients need at most one event per percent.
  let lastPercent = -1;
  const loading = (p: { bytesDone: number; bytesTotal: number }) => {
    const percent = Math.floor((100 * p.bytesDone) / Math.max(1, p.bytesTotal));
    if (percent === lastPercent) return;
    lastPercent = percent;
    send({ type: 'progress', jobId: input.jobId, progress: { phase: 'loading', step: percent, total: 100 } });
  };
  const path = modelPath(config.modelsDir, request.model);
  const model = await models.model(path, loading);
  send({ type: 'loaded', model: request.model });
  const image = async (id: string) => {
    const path = input.imagePaths[id];
    if (!path) throw new Error(`image ${id} was not handed to the generation process`);
    return decodePng(await readFile(path));
  };
  if (!hashes.has(path)) hashes.set(path, await modelShortHash(path));
  if (!adapterLibraries.has(model)) adapterLibraries.set(model, new FolderAdapterLibrary(config.modelsDir, model));
  const images = await runRequest(request, {
    model,
    adapters: adapterLibraries.get(model),
    modelHash: hashes.get(path),
    memoryBudget: config.memoryBudget,
    image,
    controlNet: (id) => models.controlNet(modelPath(config.modelsDir, id), loading),
    signal,
    version: config.version,
    onProgress: (p) => {
      const preview = p.preview ? encodePng(p.preview) : undefined;
      send({ type: 'progress', jobId: input.jobId, progress: { phase: 'denoising', step: p.step, total: p.total, ...(preview ? { preview } : {}) } });
      // The VAE decode after the last step can take seconds at full size: say so.
      if (p.step === p.total) send({ type: 'progress', jobId: input.jobId, progress: { phase: 'decoding', step: 0, total: 1 } });
    },
  });
  return { images, model: { id: request.model, name: model.name, ...(model.family ? { family: model.family } : {}) }, device: preferredProvider(device) };
}

process.on('message', (message: ToWorker) => {
  if (message.type === 'cancel') running.get(message.jobId)?.abort();
  else if (message.type === 'shutdown') {
    void queue.then(() => models.release()).finally(() => process.exit(0));
  } else if (message.type === 'run') {
    const { input } = message;
    const abort = new AbortController();
    running.set(input.jobId, abort);
    queue = queue.then(async () => {
      try {
        send({ type: 'result', jobId: input.jobId, output: await run(input, abort.signal) });
      } catch (err) {
        send({ type: 'failed', jobId: input.jobId, message: err instanceof Error ? err.message : String(err), cancelled: abort.signal.aborted });
      } finally {
        running.delete(input.jobId);
        models.jobDone();
        // A job's latents, images and previews are tens of MB at full size: return them now, not
        // whenever V8 next decides to, so an idle bridge sits at its true size (ProcessRunner passes --expose-gc).
        (globalThis as { gc?: () => void }).gc?.();
      }
    });
  }
});
// The parent is the only reason to exist: if it dies, so does this process. Signals aimed at the whole
// process group (Ctrl+C, a service manager) are the parent's to handle: it cancels or finishes the job.
process.on('disconnect', () => process.exit(0));
process.on('SIGINT', () => {});
process.on('SIGTERM', () => {});
await heartbeat;
send({ type: 'ready', device: preferredProvider(device), ...(device !== 'auto' && preferredProvider(device) !== device ? { deviceNote: `${device} is unavailable; running on the CPU` } : {}) });

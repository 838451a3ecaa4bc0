// Runs a prepared generation in this process: opens the model and ControlNets, runs the request exactly
// as the bridge's generation process does (request-run.ts), and writes each PNG with its recipe.
import { writeFileSync } from 'node:fs';
import { dirname, extname } from 'node:path';
import type { ControlNetModel } from '@kirie/core/models/sessions';
import type { StepProgress } from '@kirie/core/pipeline/generate';
import type { GenerateRequest } from '@kirie/core/request/schema';
import { openControlNet, openModel } from '../models/load.js';
import { FolderAdapterLibrary } from '../models/adapter-library.js';
import type { Device } from '../runtime/session.js';
import { KIRIE_VERSION } from '../version.js';
import { modelShortHash, type ImageFiles } from './images.js';
import { defaultMemoryBytes } from '../server/limits.js';
import { runRequest } from './request-run.js';

export interface RunOptions {
  device: Device;
  /** Output path; a batch writes name-1.png, name-2.png, … */
  out: string;
  signal?: AbortSignal;
  onPhase?(phase: 'loading' | 'denoising' | 'decoding'): void;
  onProgress?(progress: StepProgress): void;
  log?(message: string): void;
}

export function outputPaths(out: string, count: number): string[] {
  if (count === 1) return [out];
  const ext = extname(out) || '.png';
  const stem = out.slice(0, out.length - extname(out).length);
  return Array.from({ length: count }, (_, i) => `${stem}-${i + 1}${ext}`);
}

export async function runGeneration(request: GenerateRequest, images: ImageFiles, opts: RunOptions): Promise<string[]> {
  opts.onPhase?.('loading');
  const model = await openModel(request.model, { device: opts.device, log: opts.log });
  const nets = new Map<string, ControlNetModel>();
  try {
    const pngs = await runRequest(request, {
      model,
      modelHash: await modelShortHash(request.model),
      // As `kirie serve` without --memory: the VAE is tiled above the size that budget sets.
      memoryBudget: defaultMemoryBytes(),
      image: async (id) => images.get(id),
      // LoRAs and embeddings in loras/ and embeddings/ beside the checkpoint, as the bridge's models folder has them.
      adapters: new FolderAdapterLibrary(dirname(request.model), model),
      controlNet: async (name) => {
        if (!nets.has(name)) nets.set(name, await openControlNet(name, { device: opts.device, log: opts.log }));
        return nets.get(name)!;
      },
      signal: opts.signal,
      version: KIRIE_VERSION,
      previewEvery: 0,
      onProgress: (p) => {
        opts.onProgress?.(p);
        if (p.step === p.total) opts.onPhase?.('decoding');
      },
    });
    const paths = outputPaths(opts.out, pngs.length);
    pngs.forEach((png, i) => writeFileSync(paths[i], png));
    return paths;
  } finally {
    for (const net of nets.values()) await net.release();
    await model.release();
  }
}

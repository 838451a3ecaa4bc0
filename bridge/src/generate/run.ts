// Runs a prepared generation in this process: opens the model and ControlNets, runs the core pipeline
// on onnxruntime-node, and writes each image as a PNG carrying its recipe.
import { writeFileSync } from 'node:fs';
import { basename, extname } from 'node:path';
import * as ort from 'onnxruntime-node';
import { encodePng } from '@kirie/core/image/png';
import type { ControlNetModel } from '@kirie/core/models/sessions';
import type { StepProgress } from '@kirie/core/pipeline/generate';
import { generateFromRequest } from '@kirie/core/pipeline/request';
import { recipeText } from '@kirie/core/recipe/recipe';
import type { GenerateRequest } from '@kirie/core/request/schema';
import { sharedPoseDetector } from '../control/lazy-detector.js';
import { openControlNet, openModel } from '../models/load.js';
import type { Device } from '../runtime/session.js';
import { modelShortHash, type ImageFiles } from './images.js';
import { withText } from './png-text.js';

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
    const result = await generateFromRequest(request, {
      ort,
      model,
      controlNet: async (name) => {
        if (!nets.has(name)) nets.set(name, await openControlNet(name, { device: opts.device, log: opts.log }));
        return nets.get(name)!;
      },
      image: async (id) => images.get(id),
      poseDetector: sharedPoseDetector,
      signal: opts.signal,
      previewEvery: 0,
      onProgress: (p) => {
        opts.onProgress?.(p);
        if (p.step === p.total) opts.onPhase?.('decoding');
      },
    });
    const context = { modelName: basename(request.model), modelHash: await modelShortHash(request.model), version: 'Kirie 0.1.0' };
    const paths = outputPaths(opts.out, result.images.length);
    result.images.forEach((image, i) => writeFileSync(paths[i], withText(encodePng(image), recipeText(request, i, context))));
    return paths;
  } finally {
    for (const net of nets.values()) await net.release();
    await model.release();
  }
}

// What each entry of the models folder is, from the weights themselves (key names and shapes, via the
// model loader's identification), never from file names. Only the header is read; answers are cached
// per file size and modification time, so listing a folder of multi-GB checkpoints stays instant.
import { existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { ModelKind } from '@kirie/core/client/protocol';
import { identifyWeights } from '@kirie/core/models/detect';
import { SafetensorsFile } from '../models/safetensors-file.js';
import type { ModelClassifier } from './registry.js';

const cache = new Map<string, { stamp: string; kind: ModelKind | null }>();

async function classifySafetensors(path: string): Promise<ModelKind | null> {
  const file = await SafetensorsFile.open(path);
  try {
    const keys = file.keys();
    const id = identifyWeights(keys, (k) => (file.has(k) ? file.shape(k) : undefined));
    if (id.family === 'sd1') return id.unetInChannels === 9 ? 'inpaint' : id.unetInChannels === 4 ? 'checkpoint' : null;
    if (id.family === 'controlnet') return 'controlnet';
    if (id.family === 'lora') return 'lora';
    return null;
  } finally {
    await file.close();
  }
}

/** ONNX folders (optimum / diffusers / Olive / OnnxStack layouts) and ControlNet .onnx files. */
function classifyOnnx(path: string, isDirectory: boolean): ModelKind | null {
  if (!isDirectory) return path.toLowerCase().endsWith('.onnx') ? 'controlnet' : null;
  const has = (sub: string) => existsSync(join(path, sub, 'model.onnx'));
  if (has('text_encoder') && has('vae_decoder') && (has('unet') || has('controlnet'))) return 'onnx';
  return existsSync(join(path, 'model.onnx')) ? 'controlnet' : null;
}

export const classifyModel: ModelClassifier = async (path, isDirectory) => {
  if (isDirectory || !path.toLowerCase().endsWith('.safetensors')) return classifyOnnx(path, isDirectory);
  const s = await stat(path);
  const stamp = `${s.size}:${s.mtimeMs}`;
  const hit = cache.get(path);
  if (hit?.stamp === stamp) return hit.kind;
  const kind = await classifySafetensors(path);
  cache.set(path, { stamp, kind });
  return kind;
};

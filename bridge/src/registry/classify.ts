// What each entry of the models folder is, from the weights themselves (key names and shapes, via the
// model loader's identification), never from file names. Only the header is read; answers are cached
// per file size and modification time, so listing a folder of multi-GB checkpoints stays instant.
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { ModelKind } from '@kirie/core/client/protocol';
import { identifyWeights } from '@kirie/core/models/detect';
import { SafetensorsFile } from '../models/safetensors-file.js';
import type { Classified, ModelClassifier } from './registry.js';

const cache = new Map<string, { stamp: string; kind: Classified | null }>();

async function classifySafetensors(path: string): Promise<Classified | null> {
  const file = await SafetensorsFile.open(path);
  try {
    const keys = file.keys();
    const id = identifyWeights(keys, (k) => (file.has(k) ? file.shape(k) : undefined));
    if (id.family === 'sd1' || id.family === 'sdxl') {
      const kind = id.unetInChannels === 9 ? 'inpaint' : id.unetInChannels === 4 ? 'checkpoint' : null;
      return kind ? { kind, family: id.family } : null;
    }
    if (id.family === 'controlnet' || id.family === 'controlnet-diffusers') return { kind: 'controlnet' };
    if (id.family === 'lora') return { kind: 'lora' };
    return null;
  } finally {
    await file.close();
  }
}

/** ONNX folders (optimum / diffusers / Olive / OnnxStack layouts) and ControlNet .onnx files. */
async function classifyOnnx(path: string, isDirectory: boolean): Promise<ModelKind | null> {
  if (!isDirectory) return path.toLowerCase().endsWith('.onnx') ? 'controlnet' : null;
  // Asynchronous on purpose: a synchronous stat of a network drive that stopped answering would freeze
  // the whole bridge, health included.
  const has = (sub: string) => isRegularFile(join(path, sub, 'model.onnx'));
  if ((await has('text_encoder')) && (await has('vae_decoder')) && ((await has('unet')) || (await has('controlnet')))) return 'onnx';
  return (await isRegularFile(join(path, 'model.onnx'))) ? 'controlnet' : null;
}

function isRegularFile(path: string): Promise<boolean> {
  return stat(path).then(
    (s) => s.isFile(),
    () => false,
  );
}

export const classifyModel: ModelClassifier = async (path, isDirectory) => {
  if (isDirectory || !path.toLowerCase().endsWith('.safetensors')) return classifyOnnx(path, isDirectory);
  const s = await stat(path);
  // Opening a FIFO (or a device) waits for a writer that never comes, holding a file-I/O thread for good.
  if (!s.isFile()) return null;
  const stamp = `${s.size}:${s.mtimeMs}`;
  const hit = cache.get(path);
  if (hit?.stamp === stamp) return hit.kind;
  const kind = await classifySafetensors(path);
  cache.set(path, { stamp, kind });
  return kind;
};

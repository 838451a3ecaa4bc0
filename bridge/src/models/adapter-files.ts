// Adapter files on disk (LoRA / LyCORIS, textual-inversion embeddings), read into core's adapter forms.
// Only .safetensors: pickled .pt/.ckpt files can run code when loaded.
import { basename, extname } from 'node:path';
import { readEmbedding, type Embedding } from '@kirie/core/adapters/embedding';
import { readLora, type LoraAdapter } from '@kirie/core/adapters/lora';
import type { ModuleTable } from '@kirie/core/adapters/targets';
import { SafetensorsFile } from './safetensors-file.js';

async function withFile<T>(path: string, use: (file: SafetensorsFile) => Promise<T>): Promise<T> {
  if (extname(path).toLowerCase() !== '.safetensors') {
    throw new Error(`${basename(path)}: only .safetensors adapters can be read (pickled .pt/.ckpt files can run code when loaded)`);
  }
  const file = await SafetensorsFile.open(path);
  try {
    return await use(file);
  } finally {
    await file.close();
  }
}

export function loadLora(path: string, table: ModuleTable): Promise<LoraAdapter> {
  return withFile(path, (file) => readLora(file, table));
}

/** `token` is what calls it in a prompt; A1111 uses the file name without extension. `width2`: SDXL's second encoder. */
export function loadEmbedding(path: string, width: number, token = basename(path, extname(path)), width2?: number): Promise<Embedding> {
  return withFile(path, (file) => readEmbedding(file, token, width, width2));
}

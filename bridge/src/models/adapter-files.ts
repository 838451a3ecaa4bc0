// Adapter files on disk (LoRA / LyCORIS, textual-inversion embeddings), read into core's adapter forms.
// Only .safetensors: pickled .pt/.ckpt files can run code when loaded.
import { basename, extname } from 'node:path';
import { readEmbedding, type Embedding } from '@kirie/core/adapters/embedding';
import { readLora, type AdapterTensors, type LoraAdapter } from '@kirie/core/adapters/lora';
import type { ModuleTable } from '@kirie/core/adapters/targets';
import { tensorToFloat32 } from '@kirie/core/models/safetensors';
import { SafetensorsFile } from './safetensors-file.js';

/**
 * The file's tensors from one read of its data: every tensor of an adapter is used, and one read of a
 * 100 MB LoRA takes a fraction of the time of a thousand small ones. F32 tensors are views on that read.
 */
async function withFile<T>(path: string, use: (file: AdapterTensors) => Promise<T>): Promise<T> {
  if (extname(path).toLowerCase() !== '.safetensors') {
    throw new Error(`${basename(path)}: only .safetensors adapters can be read (pickled .pt/.ckpt files can run code when loaded)`);
  }
  const file = await SafetensorsFile.open(path);
  let data: Uint8Array;
  try {
    data = await file.readRange(file.header.dataStart, file.size - file.header.dataStart);
  } finally {
    await file.close();
  }
  const start = file.header.dataStart;
  return use({
    label: file.label,
    keys: () => file.keys(),
    shape: (key) => file.shape(key),
    read: async (key) => {
      const e = file.entry(key);
      return tensorToFloat32(data.subarray(e.offset - start, e.offset - start + e.byteLength), e.dtype, `${file.label}: tensor ${key}`);
    },
  });
}

export function loadLora(path: string, table: ModuleTable): Promise<LoraAdapter> {
  return withFile(path, (file) => readLora(file, table));
}

/** `token` is what calls it in a prompt; A1111 uses the file name without extension. */
export function loadEmbedding(path: string, width: number, token = basename(path, extname(path))): Promise<Embedding> {
  return withFile(path, (file) => readEmbedding(file, token, width));
}

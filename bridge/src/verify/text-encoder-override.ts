// A case's `text_encoder_override` (tests/golden/prompts/README.md): tiny-sd15's text encoder with some of its
// weights replaced by a file's tensors, built as the bridge builds it.
import * as ort from 'onnxruntime-node';
import { buildComponent } from '@kirie/core/models/build';
import type { TensorSource } from '@kirie/core/models/types';
import { openCheckpoint } from '../models/checkpoint.js';
import type { LoadedModel } from '../models/load.js';
import { SafetensorsFile } from '../models/safetensors-file.js';

/** A checkpoint's tensors with some replaced (the README's text-encoder LayerNorm override). */
export function overriddenSource(base: TensorSource, replaced: ReadonlyMap<string, Float32Array>): TensorSource {
  return { keys: () => base.keys(), shape: (k) => base.shape(k), read: async (k) => replaced.get(k) ?? base.read(k) };
}

/** The override file's tensors by checkpoint key. */
export async function readOverride(path: string): Promise<Map<string, Float32Array>> {
  const file = await SafetensorsFile.open(path);
  try {
    return new Map(await Promise.all(file.keys().map(async (k) => [k, await file.read(k)] as const)));
  } finally {
    await file.close();
  }
}

/**
 * A loaded checkpoint whose text encoder is rebuilt with some weights replaced (a case's
 * `text_encoder_override`), with the options the bridge builds it with so the model's io still fits.
 */
export async function withTextEncoderOverride(model: LoadedModel, checkpoint: string, overrideFile: string): Promise<LoadedModel> {
  const ckpt = await openCheckpoint(checkpoint);
  let textEncoder: ort.InferenceSession;
  try {
    const source = overriddenSource(ckpt.file, await readOverride(overrideFile));
    const bytes = await buildComponent('text_encoder', source, ckpt.arch, { precision: 'fp32', clipSkip: 1, adapterSlots: true });
    textEncoder = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 2 });
  } finally {
    await ckpt.file.close();
  }
  // Other clip skips would be built from the checkpoint's own weights.
  const overridden: LoadedModel = {
    ...model,
    textEncoder,
    release: async () => {
      await textEncoder.release();
      await model.release();
    },
  };
  delete overridden.clipSkip;
  return overridden;
}

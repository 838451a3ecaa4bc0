// What openModel/openControlNet and the folder loader share.
import type { ModelFamily } from '@kirie/core/models/family';
import type { SdModel } from '@kirie/core/models/sessions';
import type { ClipTokenizer } from '@kirie/core/tokenizer/clip';
import type { InferenceSession } from 'onnxruntime-node';
import type { Device } from '../runtime/session.js';
import { bridgePaths } from '../server/paths.js';
import { assetPath } from './assets.js';
import type { BuildProgress } from './cache.js';
import { loadClipTokenizer, loadFamilyTokenizers } from './tokenizer-files.js';

export interface OpenOptions {
  device?: Device;
  /** Where built graphs are cached (default: $KIRIE_CACHE, else the bridge's own cache in ~/.kirie/cache). */
  cacheDir?: string;
  onProgress?: (p: BuildProgress) => void;
  /** Fallbacks and other notes for the user. */
  log?: (message: string) => void;
}

export type LoadedModel = SdModel<ClipTokenizer>;

/** One cache for the CLI and the bridge, so a graph built by `kirie models build` is reused by `kirie serve`. */
export function defaultCacheDir(): string {
  return bridgePaths().cache;
}

/** Checkpoints carry no tokenizer: SD1.x uses CLIP's, shipped in bridge/assets (MIT, LICENSE-CLIP). */
export function defaultTokenizer(): Promise<ClipTokenizer> {
  return loadClipTokenizer(assetPath('bpe_simple_vocab_16e6.txt.gz'));
}

/** One tokenizer per text encoder of the family: CLIP's, with each encoder's pad token (SDXL tokenizer_2: '!'). */
export function familyTokenizers(family: ModelFamily): Promise<ClipTokenizer[]> {
  return loadFamilyTokenizers(assetPath('bpe_simple_vocab_16e6.txt.gz'), family);
}

/** A model's sessions go together: on release, and when a load fails half-way. */
export async function releaseAll(sessions: readonly InferenceSession[]): Promise<void> {
  await Promise.all(sessions.map((s) => s.release()));
}

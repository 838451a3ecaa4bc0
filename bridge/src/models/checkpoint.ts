// Opens a single-file checkpoint: the streaming tensor reader, what kind of file it is, and its architecture
// from the sidecar YAML that AUTOMATIC1111 users keep next to it (`model.yaml` for `model.safetensors`).
// A diffusers-format ControlNet is renamed to its cldm keys on open, its architecture read from its shapes.
import { readFile } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { SD15_ARCH, type SdArchitecture } from '@kirie/core/models/arch';
import { detectCheckpoint, type Checkpoint } from '@kirie/core/models/detect';
import { readDiffusersControlNet } from '@kirie/core/models/diffusers-controlnet';
import { resolveArchitecture } from '@kirie/core/models/sidecar';
import { SafetensorsFile } from './safetensors-file.js';

export interface OpenedCheckpoint {
  file: SafetensorsFile;
  kind: Checkpoint;
  arch: SdArchitecture;
  /** The sidecar's text when there is one: part of the build cache key. */
  sidecarText?: string;
}

const OLD_TEXT = 'cond_stage_model.transformer.';
const TEXT_MODEL = 'cond_stage_model.transformer.text_model.';

export function sidecarPath(checkpointPath: string): string {
  return checkpointPath.slice(0, checkpointPath.length - extname(checkpointPath).length) + '.yaml';
}

async function readSidecar(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

function describeErrors<T>(label: string, read: () => T): T {
  try {
    return read();
  } catch (err) {
    throw new Error(`${label}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

export async function openCheckpoint(path: string): Promise<OpenedCheckpoint> {
  if (extname(path).toLowerCase() !== '.safetensors') {
    throw new Error(`${basename(path)}: only .safetensors checkpoints can be read (pickled .ckpt/.pth files can run code when loaded; convert them to .safetensors first)`);
  }
  const file = await SafetensorsFile.open(path);
  try {
    // Files saved with transformers < 4.0 lack the `text_model.` level; AUTOMATIC1111 maps them the same way.
    if (!file.keys().some((k) => k.startsWith(TEXT_MODEL))) file.renameKeys((k) => (k.startsWith(OLD_TEXT) ? TEXT_MODEL + k.slice(OLD_TEXT.length) : k));
    const keys = file.keys();
    const shapeOf = (k: string) => (file.has(k) ? file.shape(k) : undefined);
    const kind = detectCheckpoint(keys, shapeOf, file.label);
    const yamlPath = sidecarPath(path);
    const sidecarText = await readSidecar(yamlPath);
    let yaml: unknown;
    if (sidecarText !== undefined) {
      try {
        yaml = parseYaml(sidecarText);
      } catch (err) {
        throw new Error(`${basename(yamlPath)}: not valid YAML (${err instanceof Error ? err.message : String(err)})`);
      }
    }
    const family = kind.kind === 'checkpoint' ? kind.family : 'sd1';
    const resolve = () => resolveArchitecture({ yaml, shapeOf, keys: file.keys(), label: file.label, sidecarName: basename(yamlPath), family });
    if (kind.kind === 'controlnet' && kind.format === 'diffusers') {
      // Read under its cldm names from here on; a sidecar YAML, if any, is checked against them as for cldm files.
      const layout = describeErrors(file.label, () => readDiffusersControlNet(keys, shapeOf));
      file.renameKeys((k) => layout.ldmKeys.get(k)!);
      return { file, kind, arch: yaml === undefined ? { ...SD15_ARCH, controlnet: layout.arch } : resolve(), sidecarText };
    }
    return { file, kind, arch: resolve(), sidecarText };
  } catch (err) {
    await file.close();
    throw err;
  }
}

// The models folder as the bridge presents it: every usable file or ONNX folder gets a stable id (its
// path relative to the folder), a kind, and a size. The listing is re-read on each call, so dropping a
// checkpoint into the folder is enough to make it appear; nothing is loaded here.
import { readdir, stat } from 'node:fs/promises';
import { basename, join, relative, sep } from 'node:path';
import { KirieApiError, type ModelInfo, type ModelKind } from '@kirie/core/client/protocol';

/** Decides what a file or folder in the models folder is (null = not a model). */
export type ModelClassifier = (path: string, isDirectory: boolean) => Promise<ModelKind | null>;

export interface ModelRegistry {
  /** Every model, with `loaded` set for the one whose sessions are live. */
  list(loadedModel: string | null): Promise<ModelInfo[]>;
  /** The model an id names; "default" = the first checkpoint. Throws a 400 naming `field` if unknown. */
  resolve(id: string, field: string): Promise<ModelInfo>;
  /** Absolute path of a model id. */
  pathOf(id: string): string;
}

export interface FolderRegistryOptions {
  dir: string;
  classify: ModelClassifier;
  /** Notes shown next to particular ids (e.g. the bundled random-weight demo model). */
  notes?: Record<string, string>;
}

const MAX_DEPTH = 3;

export class FolderRegistry implements ModelRegistry {
  constructor(private readonly options: FolderRegistryOptions) {}

  async list(loadedModel: string | null): Promise<ModelInfo[]> {
    const found: ModelInfo[] = [];
    await this.scan(this.options.dir, 0, found);
    found.sort((a, b) => kindOrder(a.kind) - kindOrder(b.kind) || a.id.localeCompare(b.id));
    return found.map((m) => ({ ...m, loaded: m.id === loadedModel }));
  }

  async resolve(id: string, field: string): Promise<ModelInfo> {
    // A named model is looked at alone (every job names one); only "default" needs the whole folder.
    if (id !== 'default') {
      const named = await this.describe(id).catch(() => null);
      if (named) return named;
    }
    const models = await this.list(null);
    const model = id === 'default' ? models.find((m) => m.kind === 'checkpoint' || m.kind === 'onnx') : undefined;
    if (model) return model;
    if (id === 'default') throw new KirieApiError(400, 'no_model', `no checkpoint in ${this.options.dir}; put a .safetensors checkpoint there (or run \`kirie models random --arch tiny\`)`, field);
    const known = models.map((m) => m.id).join(', ') || 'none';
    throw new KirieApiError(400, 'unknown_model', `${field} "${id}" is not in the models folder; known models: ${known}`, field);
  }

  pathOf(id: string): string {
    return modelPath(this.options.dir, id);
  }

  private async describe(id: string): Promise<ModelInfo | null> {
    if (id.split('/').some((part) => part.startsWith('.'))) return null;
    const path = modelPath(this.options.dir, id);
    const kind = await this.options.classify(path, (await stat(path)).isDirectory());
    return kind ? this.info(id, path, kind) : null;
  }

  private async info(id: string, path: string, kind: ModelKind): Promise<ModelInfo> {
    const note = this.options.notes?.[id];
    return { id, name: basename(path).replace(/\.(safetensors|onnx)$/, ''), kind, file: id, sizeBytes: await diskSize(path), loaded: false, ...(note ? { note } : {}) };
  }

  private async scan(dir: string, depth: number, found: ModelInfo[]): Promise<void> {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    for (const entry of entries) {
      if (entry.name.startsWith('.')) continue;
      const path = join(dir, entry.name);
      const isDirectory = entry.isDirectory();
      const kind = await this.options.classify(path, isDirectory).catch(() => null);
      if (kind) found.push(await this.info(relative(this.options.dir, path).split(sep).join('/'), path, kind));
      else if (isDirectory && depth < MAX_DEPTH) await this.scan(path, depth + 1, found);
    }
  }
}

/** Where a model id lives (ids are paths relative to the models folder, with "/" separators). */
export function modelPath(dir: string, id: string): string {
  if (id.split('/').some((part) => part === '' || part === '.' || part === '..')) throw new Error(`"${id}" is not a model id`);
  return join(dir, ...id.split('/'));
}

function kindOrder(kind: ModelKind): number {
  return ['checkpoint', 'onnx', 'inpaint', 'controlnet', 'lora'].indexOf(kind);
}

/** Bytes of a file, or of everything in a folder. */
export async function diskSize(path: string): Promise<number> {
  const s = await stat(path);
  if (!s.isDirectory()) return s.size;
  let total = 0;
  for (const name of await readdir(path)) total += await diskSize(join(path, name));
  return total;
}

// The models folder as the bridge presents it: every usable file or ONNX folder gets a stable id (its
// path relative to the folder), a kind, and a size. The listing is re-read on each call, so dropping a
// checkpoint into the folder is enough to make it appear; nothing is loaded here.
//
// The folder is the user's and may hold anything: a FIFO or device named *.safetensors (skipped: only
// regular files and folders are read), or a network drive that stopped answering. A read that blocks
// holds one of libuv's four file-I/O threads until it returns, which may be never, so reads of the folder
// run one at a time (at most one thread held), and a read that makes no progress within the time limit
// answers 503 while health reports the folder `stuck`: uploads, results and job records keep their threads.
import { readdir, stat } from 'node:fs/promises';
import { basename, join, relative, sep } from 'node:path';
import { KirieApiError, type AdapterInfo, type ModelInfo, type ModelKind, type RegistryHealth } from '@kirie/core/client/protocol';
import { describeFsError } from '../jobs/fs-error.js';
import { listAdapters, type AdapterPick } from '../models/adapter-library.js';

/** Decides what a file or folder in the models folder is (null = not a model). */
/** What a folder entry is: its kind, and for a checkpoint its family when the classifier reads weights. */
export type Classified = { kind: ModelKind; family?: ModelInfo['family'] };
export type ModelClassifier = (path: string, isDirectory: boolean) => Promise<ModelKind | Classified | null>;

function classified(answer: ModelKind | Classified | null): Classified | null {
  return typeof answer === 'string' ? { kind: answer } : answer;
}

export interface ModelRegistry {
  /** Every model, with `loaded` set for the one whose sessions are live. */
  list(loadedModel: string | null): Promise<ModelInfo[]>;
  /** The model an id names; "default" = the first checkpoint. Throws a 4xx naming `field` if unusable. */
  resolve(id: string, field: string): Promise<ModelInfo>;
  /** Absolute path of a model id. */
  pathOf(id: string): string;
  /** The LoRAs and embeddings beside the checkpoints (loras/, embeddings/ and A1111's folder names); with `pick`, those it picks. */
  adapters(pick?: AdapterPick): Promise<AdapterInfo[]>;
  /** Whether the folder answers (for /v1/health). */
  health(): RegistryHealth;
}

export interface FolderRegistryOptions {
  dir: string;
  classify: ModelClassifier;
  /** Notes shown next to particular ids (e.g. the bundled random-weight demo model). */
  notes?: Record<string, string>;
  /** How long a read of the folder may go without progress before it counts as stuck (default 10 s). */
  readTimeoutMs?: number;
}

const MAX_DEPTH = 3;
export const DEFAULT_READ_TIMEOUT_MS = 10_000;

export class FolderRegistry implements ModelRegistry {
  private readonly timeoutMs: number;
  private tail: Promise<unknown> = Promise.resolve();
  /** When the read now running last got an answer from the file system. */
  private lastAnswer: number | null = null;

  constructor(private readonly options: FolderRegistryOptions) {
    this.timeoutMs = options.readTimeoutMs ?? DEFAULT_READ_TIMEOUT_MS;
  }

  list(loadedModel: string | null): Promise<ModelInfo[]> {
    return this.exclusive(async () => {
      const found: ModelInfo[] = [];
      await this.scan(this.options.dir, 0, found);
      found.sort((a, b) => kindOrder(a.kind) - kindOrder(b.kind) || a.id.localeCompare(b.id));
      return found.map((m) => ({ ...m, loaded: m.id === loadedModel }));
    });
  }

  adapters(pick?: AdapterPick): Promise<AdapterInfo[]> {
    return this.exclusive(async () => {
      // The folder itself must answer, as for the model list; its adapter subfolders may be missing.
      try {
        this.answered(await readdir(this.options.dir));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
        throw new KirieApiError(503, 'models_folder_unreadable', `the models folder cannot be read (${describeFsError(err)})`);
      }
      return listAdapters(this.options.dir, pick);
    });
  }

  async resolve(id: string, field: string): Promise<ModelInfo> {
    // A named model is looked at alone (every job names one); only "default" needs the whole folder.
    if (id !== 'default') {
      const named = await this.exclusive(() => this.describe(id, field));
      if (named) return named;
    }
    const models = await this.list(null);
    const model = id === 'default' ? models.find((m) => m.kind === 'checkpoint' || m.kind === 'onnx') : undefined;
    if (model) return model;
    if (id === 'default') throw new KirieApiError(400, 'no_model', 'no checkpoint in the models folder; put a .safetensors checkpoint there (or run `kirie models random --arch tiny`)', field);
    const known = models.map((m) => m.id).join(', ') || 'none';
    throw new KirieApiError(400, 'unknown_model', `${field} "${id}" is not in the models folder; known models: ${known}`, field);
  }

  pathOf(id: string): string {
    return modelPath(this.options.dir, id);
  }

  health(): RegistryHealth {
    if (this.lastAnswer === null) return 'ok';
    const waiting = Date.now() - this.lastAnswer;
    return waiting > this.timeoutMs ? 'stuck' : waiting > this.timeoutMs / 4 ? 'slow' : 'ok';
  }

  /**
   * Runs one read of the folder after the previous ones, and gives up on it (503) once the folder has
   * not answered for the time limit; a read abandoned while still waiting its turn never starts.
   */
  private exclusive<T>(read: () => Promise<T>): Promise<T> {
    let abandoned = false;
    const run = this.tail.then(async () => {
      if (abandoned) throw new Error('abandoned');
      this.lastAnswer = Date.now();
      try {
        return await read();
      } finally {
        this.lastAnswer = null;
      }
    });
    this.tail = run.catch(() => {});
    const queuedAt = Date.now();
    return new Promise<T>((resolve, reject) => {
      const timer = setInterval(
        () => {
          if (Date.now() - Math.max(queuedAt, this.lastAnswer ?? 0) <= this.timeoutMs) return;
          abandoned = true;
          clearInterval(timer);
          reject(new KirieApiError(503, 'models_folder_stuck', `the models folder has not answered for ${this.timeoutMs / 1000} s (a disconnected network drive?); the bridge keeps serving: try again once it answers`));
        },
        Math.max(20, this.timeoutMs / 10),
      );
      run.then(
        (value) => {
          clearInterval(timer);
          resolve(value);
        },
        (err: unknown) => {
          clearInterval(timer);
          reject(err);
        },
      );
    });
  }

  /** Marks an answer from the file system: the read is slow, maybe, but not stuck. */
  private answered<T>(value: T): T {
    if (this.lastAnswer !== null) this.lastAnswer = Date.now();
    return value;
  }

  /** The model `id` names; null when there is no such file (or the id is not one the listing gives). */
  private async describe(id: string, field: string): Promise<ModelInfo | null> {
    if (id.split('/').some((part) => part.startsWith('.'))) return null;
    let path: string;
    try {
      path = modelPath(this.options.dir, id);
    } catch {
      return null;
    }
    const s = this.answered(await stat(path).catch((err: NodeJS.ErrnoException) => err));
    if (s instanceof Error) {
      if (s.code === 'ENOENT' || s.code === 'ENOTDIR') return null;
      throw new KirieApiError(400, 'unreadable_model', `${field} "${id}" cannot be read (${describeFsError(s)})`, field);
    }
    if (!s.isFile() && !s.isDirectory()) throw new KirieApiError(400, 'unsupported_model', `${field} "${id}" is not a regular file (a pipe, socket or device): no model can be read from it`, field);
    let what: Classified | null;
    try {
      what = classified(this.answered(await this.options.classify(path, s.isDirectory())));
    } catch (err) {
      throw new KirieApiError(400, 'damaged_model', `${field} "${id}" is damaged: ${this.inUserTerms(err)}`, field);
    }
    if (!what) throw new KirieApiError(400, 'unsupported_model', `${field} "${id}" is not a model Kirie can run (\`kirie models info\` says what it looks like)`, field);
    return this.info(id, path, what);
  }

  private async info(id: string, path: string, { kind, family }: Classified): Promise<ModelInfo> {
    const note = this.options.notes?.[id];
    const name = basename(path).replace(/\.(safetensors|onnx)$/, '');
    return { id, name, kind, file: id, sizeBytes: this.answered(await diskSize(path)), loaded: false, ...(family ? { family } : {}), ...(note ? { note } : {}) };
  }

  private async scan(dir: string, depth: number, found: ModelInfo[]): Promise<void> {
    let entries;
    try {
      entries = this.answered(await readdir(dir, { withFileTypes: true }));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      // A subfolder the user locked is left out; the folder itself unreadable means no model at all.
      if (depth > 0) return;
      throw new KirieApiError(503, 'models_folder_unreadable', `the models folder cannot be read (${describeFsError(err)})`);
    }
    for (const entry of entries) {
      if (entry.name.startsWith('.')) continue;
      const path = join(dir, entry.name);
      // A link is judged by what it points at (checkpoints are often linked in from elsewhere).
      const target = entry.isSymbolicLink() ? this.answered(await stat(path).catch(() => null)) : entry;
      if (!target || !(target.isFile() || target.isDirectory())) continue;
      const isDirectory = target.isDirectory();
      const what = classified(this.answered(await this.options.classify(path, isDirectory).catch(() => null)));
      if (what) found.push(await this.info(relative(this.options.dir, path).split(sep).join('/'), path, what));
      else if (isDirectory && depth < MAX_DEPTH) await this.scan(path, depth + 1, found);
    }
  }

  /** An error message without the folder's absolute path (the user knows where their models are). */
  private inUserTerms(err: unknown): string {
    if ((err as NodeJS.ErrnoException).code) return describeFsError(err);
    const message = err instanceof Error ? err.message : String(err);
    return message.split(this.options.dir + sep).join('');
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

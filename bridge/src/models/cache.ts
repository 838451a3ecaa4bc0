// Built ONNX graphs, cached on disk per checkpoint content. Building SD1.5 takes tens of seconds; starting
// with a cache hit must take well under a second, so the key is NOT a full hash of the 2-7 GB file (about
// 2-4 s at SHA-256 speed, more from a cold disk): it hashes the size, the whole header (every name, dtype,
// shape and offset) and 32 evenly spaced 256 KiB samples of the data (8 MiB), plus the sidecar text, the
// builder version and the build options. Two files that differ only in unsampled bytes would share graphs:
// no fine-tune or merge does that (they change every tensor), only hand-editing a few weights in place.
//
// Writes are atomic: a build goes into a temp folder, every file is fsynced, a manifest listing each file's
// size is written last, and the folder is renamed into place. A folder without a valid manifest, or whose
// files differ from it, is never trusted.
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { SdArchitecture } from '@kirie/core/models/arch';
import { buildComponent } from '@kirie/core/models/build';
import { componentPrefix } from '@kirie/core/models/family';
import type { BuildOptions, Component, TensorSource, WeightSink } from '@kirie/core/models/types';
import { pidAlive, PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from '../jobs/atomic.js';
import type { SafetensorsFile } from './safetensors-file.js';

/** Bump when the graph builders change what they emit, so old caches are rebuilt (4: linear adapter slots merge in the graph; 5: timestep frequencies rounded as torch computes them; 6: adapter slots of layers with few rows branch, merges parallel; 7: graphs of the two-pass UNet GroupNorm, which
 * missed the 64² ComfyUI DPM++ 2M Karras golden by 1.7e-4, are rebuilt with InstanceNormalization; 8: UNet GroupNorms as InstanceNormalization's own arithmetic in plain ops,
 * which ONNX Runtime runs on all threads; 9: SDXL's OpenCLIP text encoder takes added-token rows (SDXL embeddings)). */
export const BUILDER_VERSION = 'sd15-graphs-9';
const MANIFEST = 'manifest.json';
const SAMPLES = 32;
const SAMPLE_BYTES = 256 * 1024;

export interface ComponentPlan {
  component: Component;
  options: BuildOptions;
  /** Store weights in `<component>.onnx.data` (needed above ONNX's 2 GB protobuf limit). */
  external: boolean;
}

export interface BuildProgress {
  component: Component;
  /** The tensor just read, or undefined when a component starts or the build ends. */
  tensor?: string;
  bytesDone: number;
  bytesTotal: number;
}

export interface Manifest {
  builder: string;
  key: string;
  checkpoint: string;
  files: Record<string, number>;
  models: Partial<Record<Component, string>>;
}

export async function cacheKey(file: SafetensorsFile, plans: readonly ComponentPlan[], sidecarText = ''): Promise<string> {
  const hash = createHash('sha256');
  hash.update(`kirie-cache\0${BUILDER_VERSION}\0${JSON.stringify(plans)}\0${sidecarText}\0${file.size}\0`);
  hash.update(file.headerBytes);
  const dataStart = file.header.dataStart;
  const span = file.size - dataStart;
  for (let i = 0; i < SAMPLES; i++) {
    const at = dataStart + Math.floor(((span - SAMPLE_BYTES) * i) / (SAMPLES - 1));
    hash.update(await file.readRange(Math.max(dataStart, at), Math.min(SAMPLE_BYTES, span)));
  }
  return hash.digest('hex').slice(0, 32);
}

/** The cached build for `key`, or null when absent or not trustworthy. */
export async function lookup(cacheDir: string, key: string): Promise<{ dir: string; manifest: Manifest } | null> {
  const dir = join(cacheDir, key);
  let manifest: Manifest;
  try {
    manifest = JSON.parse(await readFile(join(dir, MANIFEST), 'utf8')) as Manifest;
  } catch {
    return null;
  }
  if (manifest.builder !== BUILDER_VERSION || manifest.key !== key || typeof manifest.files !== 'object') return null;
  for (const [name, size] of Object.entries(manifest.files)) {
    const s = await stat(join(dir, name)).catch(() => null);
    if (!s || s.size !== size) return null;
  }
  return { dir, manifest };
}

/**
 * Appends tensors to an external data file; big ones start on 64 KiB boundaries so ORT can memory-map them.
 * The data must be on disk before the manifest is written, and a single fsync of 3.4 GB at the end stalls
 * for the whole writeback (15 s on a 140 MB/s disk): syncing every 256 MiB in the background keeps the disk
 * busy while the builder computes.
 */
class FileSink implements WeightSink {
  private offset = 0;
  private unsynced = 0;
  private pending: Promise<void> = Promise.resolve();
  private failure: unknown;
  constructor(
    readonly location: string,
    private readonly handle: FileHandle,
  ) {}

  async write(bytes: Uint8Array): Promise<{ offset: number; length: number }> {
    const align = bytes.length >= 1 << 20 ? 65536 : 64;
    const start = Math.ceil(this.offset / align) * align;
    let done = 0;
    while (done < bytes.length) {
      const { bytesWritten } = await this.handle.write(bytes, done, bytes.length - done, start + done);
      done += bytesWritten;
    }
    this.offset = start + bytes.length;
    this.unsynced += bytes.length;
    if (this.unsynced >= 256 * 1024 * 1024) {
      this.unsynced = 0;
      await this.pending;
      this.throwIfFailed();
      // Caught here so a failure while the builder is elsewhere is never an unhandled rejection.
      this.pending = this.handle.datasync().catch((err: unknown) => {
        this.failure = err;
      });
    }
    return { offset: start, length: bytes.length };
  }

  /** Everything written is durable. */
  async finish(): Promise<void> {
    await this.pending;
    this.throwIfFailed();
    await this.handle.sync();
  }

  private throwIfFailed(): void {
    if (this.failure !== undefined) throw this.failure;
  }
}

/** Counts bytes read per tensor for the progress bar. */
function countingSource(source: SafetensorsFile, onRead: (key: string, bytes: number) => void): TensorSource {
  return {
    keys: () => source.keys(),
    shape: (key) => source.shape(key),
    read: async (key) => {
      const t = await source.read(key);
      onRead(key, source.entry(key).byteLength);
      return t;
    },
  };
}

export async function writeFileSynced(path: string, bytes: Uint8Array): Promise<void> {
  const handle = await open(path, 'w', PRIVATE_FILE_MODE);
  try {
    await handle.writeFile(bytes);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export async function syncDir(path: string): Promise<void> {
  // Directory fsync makes the entries durable on Linux/macOS; Windows cannot open a directory for it.
  if (process.platform === 'win32') return;
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Removes temp folders of builds whose process is gone (killed or crashed mid-build). */
export async function removeAbandoned(cacheDir: string): Promise<void> {
  for (const name of await readdir(cacheDir).catch(() => [] as string[])) {
    const pid = /^\.tmp-[0-9a-f]+-(\d+)-/.exec(name)?.[1];
    if (pid && !pidAlive(Number(pid))) await rm(join(cacheDir, name), { recursive: true, force: true });
  }
}

/**
 * Renames the finished temp folder into place. A folder already there is either a concurrent build that
 * finished first (kept: someone may be loading from it) or an untrusted leftover (moved aside, removed).
 */
async function publish(cacheDir: string, key: string, tmp: string, final: string): Promise<void> {
  try {
    await rename(tmp, final);
  } catch (err) {
    if (!['ENOTEMPTY', 'EEXIST', 'EPERM'].includes((err as NodeJS.ErrnoException).code ?? '')) throw err;
    if (await lookup(cacheDir, key)) {
      await rm(tmp, { recursive: true, force: true });
      return;
    }
    const stale = join(cacheDir, `.tmp-${key}-${process.pid}-stale${randomBytes(4).toString('hex')}`);
    await rename(final, stale);
    await rm(stale, { recursive: true, force: true });
    await rename(tmp, final);
  }
  await syncDir(cacheDir);
}

export type Builder = typeof buildComponent;

export interface BuildRequest {
  cacheDir: string;
  key: string;
  source: SafetensorsFile;
  arch: SdArchitecture;
  plans: readonly ComponentPlan[];
  onProgress?: (p: BuildProgress) => void;
  /** The graph builder (tests inject failing ones). */
  build?: Builder;
}

/** Builds every planned component into a temp folder and renames it into the cache. */
export async function buildIntoCache(req: BuildRequest): Promise<{ dir: string; manifest: Manifest }> {
  const { cacheDir, key, source, plans } = req;
  await mkdir(cacheDir, { recursive: true, mode: PRIVATE_DIR_MODE });
  await removeAbandoned(cacheDir);
  const tmp = join(cacheDir, `.tmp-${key}-${process.pid}-${randomBytes(4).toString('hex')}`);
  await mkdir(tmp, { mode: PRIVATE_DIR_MODE });
  try {
    const prefixes = [...new Set(plans.map((p) => componentPrefix(req.arch.family, p.component)))];
    const bytesTotal = source.keys().filter((k) => prefixes.some((p) => k.startsWith(p))).reduce((sum, k) => sum + source.entry(k).byteLength, 0);
    let bytesDone = 0;
    let current: Component = plans[0].component;
    const counted = countingSource(source, (tensor, bytes) => {
      bytesDone = Math.min(bytesTotal, bytesDone + bytes);
      req.onProgress?.({ component: current, tensor, bytesDone, bytesTotal });
    });
    const files: Record<string, number> = {};
    const models: Manifest['models'] = {};
    for (const plan of plans) {
      current = plan.component;
      req.onProgress?.({ component: current, bytesDone, bytesTotal });
      const modelName = `${plan.component}.onnx`;
      let dataHandle: FileHandle | undefined;
      try {
        let sink: FileSink | undefined;
        if (plan.external) {
          dataHandle = await open(join(tmp, `${modelName}.data`), 'w', PRIVATE_FILE_MODE);
          sink = new FileSink(`${modelName}.data`, dataHandle);
        }
        const bytes = await (req.build ?? buildComponent)(plan.component, counted, req.arch, { ...plan.options, externalData: sink });
        if (sink && dataHandle) {
          await sink.finish();
          files[`${modelName}.data`] = (await dataHandle.stat()).size;
        }
        await writeFileSynced(join(tmp, modelName), bytes);
        files[modelName] = bytes.length;
        models[plan.component] = modelName;
      } finally {
        await dataHandle?.close();
      }
    }
    const manifest: Manifest = { builder: BUILDER_VERSION, key, checkpoint: basename(source.path), files, models };
    await writeFileSynced(join(tmp, MANIFEST), new TextEncoder().encode(JSON.stringify(manifest, null, 1)));
    await syncDir(tmp);
    const final = join(cacheDir, key);
    await publish(cacheDir, key, tmp, final);
    req.onProgress?.({ component: current, bytesDone: bytesTotal, bytesTotal });
    const built = await lookup(cacheDir, key);
    if (!built) throw new Error(`${final}: the build just written does not match its manifest (disk full or a concurrent writer?)`);
    return built;
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
}

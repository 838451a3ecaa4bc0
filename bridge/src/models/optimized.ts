// ONNX Runtime's optimised graph of each built component, stored beside it so that opening a model does not
// optimise it again. Measured on the shared 2-core machine (load ~15), full-size SD1.5 UNet: a session at
// graphOptimizationLevel 'all' took 91 s to create, 'extended' 4 s and 'basic' 1.6 s, so nearly all of it is
// the layout transformers only 'all' runs; from the stored optimised graph at level 'disabled', 2.4 s, and
// its output is bit for bit the same. `npm run bench -- open` measures the whole model both ways.
//
// An optimised graph holds what the transformers chose for one provider on one CPU (CPU-only fused ops,
// NCHWc layouts sized to the vector width): it is keyed by ONNX Runtime's version, the provider, the
// session options, the CPU and the graph's bytes, and only ever opened by that provider. Only the CPU
// provider stores one: GPU providers compile or fuse kernels of their own at load, which ORT cannot save.
//
// Entries live in `<build>/ort/<component>-<key>/` (the build folder is named by the checkpoint's content, so
// its weights need no hashing here) and are written like builds are: temp folder, fsync, manifest last,
// rename. A damaged entry is logged, removed and rebuilt; it never fails the open.
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises';
import { arch, availableParallelism, cpus, platform } from 'node:os';
import { basename, dirname, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { PRIVATE_DIR_MODE } from '../jobs/atomic.js';
import { createSession, firstLine, preferredProvider, sessionOptions, type Provider, type RuntimeOptions } from '../runtime/session.js';
import { removeAbandoned, syncDir, writeFileSynced } from './cache.js';

/** Providers whose optimised graphs are stored (see above for why only the CPU). */
const STORED_FOR: ReadonlySet<Provider> = new Set(['cpu']);
const ENTRIES = 'ort';
const GRAPH = 'model.onnx';
const DATA = 'model.onnx.data';
const MANIFEST = 'manifest.json';
/** Bump when what is stored changes shape. */
const FORMAT = 'kirie-ort-optimized-1';

interface Manifest {
  format: string;
  key: string;
  /** SHA-256 of the stored graph (small: weights are external): a damaged graph is caught before ORT parses it. */
  graphSha256: string;
  files: Record<string, number>;
}

let cpuIdentity: string | undefined;

/**
 * What the CPU provider's choices depend on: architecture, model, and on Linux the feature flags (a VM can
 * hide AVX-512 from a CPU whose model name has it).
 */
function cpu(): string {
  if (cpuIdentity === undefined) {
    let flags = '';
    if (platform() === 'linux') {
      try {
        flags = /^flags\s*:(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? '';
      } catch {
        // No /proc (containers without it): the model name has to do.
      }
    }
    cpuIdentity = `${arch()}\0${cpus()[0]?.model ?? ''}\0${flags}`;
  }
  return cpuIdentity;
}

/** The options that shape the optimised graph (thread counts and log levels do not). */
function shapingOptions(options: ort.InferenceSession.SessionOptions): string {
  const { intraOpNumThreads: _intra, interOpNumThreads: _inter, logSeverityLevel: _log, ...rest } = options;
  return JSON.stringify(rest);
}

export function optimizedKey(graphBytes: Uint8Array, dataSize: number, provider: Provider, options: ort.InferenceSession.SessionOptions): string {
  const hash = createHash('sha256');
  hash.update(`${FORMAT}\0${ort.env.versions.node}\0${provider}\0${shapingOptions(options)}\0${cpu()}\0${dataSize}\0`);
  hash.update(graphBytes);
  return hash.digest('hex').slice(0, 32);
}

async function sha256(path: string): Promise<string> {
  return createHash('sha256').update(await readFile(path)).digest('hex');
}

/** Why the entry cannot be trusted, or null when it can; 'absent' when there is none. */
async function damage(entry: string, key: string): Promise<string | null> {
  let text: string;
  try {
    text = await readFile(join(entry, MANIFEST), 'utf8');
  } catch {
    return 'absent';
  }
  let manifest: Manifest;
  try {
    manifest = JSON.parse(text) as Manifest;
  } catch {
    return 'its manifest is not JSON';
  }
  if (manifest.format !== FORMAT || manifest.key !== key || typeof manifest.files !== 'object' || manifest.files === null) return 'its manifest is for another format or key';
  for (const [name, size] of Object.entries(manifest.files)) {
    const s = await stat(join(entry, name)).catch(() => null);
    if (!s) return `${name} is missing`;
    if (s.size !== size) return `${name} is ${s.size} bytes, the manifest says ${size}`;
  }
  if ((await sha256(join(entry, GRAPH)).catch(() => '')) !== manifest.graphSha256) return `${GRAPH} does not match its checksum`;
  return null;
}

async function fsyncFile(path: string): Promise<void> {
  const handle = await open(path, 'r+');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Makes the optimised files ORT wrote into `tmp` durable, writes the manifest, and moves the folder into place. */
async function publish(tmp: string, entry: string, key: string): Promise<void> {
  const files: Record<string, number> = {};
  for (const name of await readdir(tmp)) {
    await fsyncFile(join(tmp, name));
    files[name] = (await stat(join(tmp, name))).size;
  }
  if (files[GRAPH] === undefined) throw new Error('ONNX Runtime wrote no optimised graph');
  const manifest: Manifest = { format: FORMAT, key, graphSha256: await sha256(join(tmp, GRAPH)), files };
  await writeFileSynced(join(tmp, MANIFEST), new TextEncoder().encode(JSON.stringify(manifest, null, 1)));
  await syncDir(tmp);
  try {
    await rename(tmp, entry);
  } catch (err) {
    // Another process stored the same entry first: theirs is as good.
    if (!['ENOTEMPTY', 'EEXIST', 'EPERM'].includes((err as NodeJS.ErrnoException).code ?? '')) throw err;
    await rm(tmp, { recursive: true, force: true });
  }
  await syncDir(dirname(entry));
}

/** Entries of the same component under another key (an older ORT, other options): never opened again. */
async function removeStale(entries: string, component: string, keep: string): Promise<void> {
  for (const name of await readdir(entries).catch(() => [] as string[])) {
    if (name.startsWith(`${component}-`) && name !== keep) {
      // A process still running from it keeps its mapped files (Windows refuses: it is removed next time).
      await rm(join(entries, name), { recursive: true, force: true }).catch(() => {});
    }
  }
}

/** Removes a folder on a failure path, where a second failure (the folder never made, a file held open) changes nothing. */
async function discard(folder: string): Promise<void> {
  await rm(folder, { recursive: true, force: true }).catch(() => {});
}

/** Optimises `graph` once, storing the result, and returns the session that did it (ready to run). */
async function optimizeAndStore(graph: string, component: string, entry: string, key: string, options: ort.InferenceSession.SessionOptions, log: (message: string) => void): Promise<BuiltSession> {
  const entries = dirname(entry);
  const tmp = join(entries, `.tmp-${key}-${process.pid}-${randomBytes(4).toString('hex')}`);
  let session: ort.InferenceSession;
  try {
    await mkdir(entries, { recursive: true, mode: PRIVATE_DIR_MODE });
    await removeAbandoned(entries);
    await mkdir(tmp, { mode: PRIVATE_DIR_MODE });
    session = await ort.InferenceSession.create(graph, {
      ...options,
      optimizedModelFilePath: join(tmp, GRAPH),
      extra: {
        ...options.extra,
        session: {
          ...(options.extra as { session?: Record<string, string> } | undefined)?.session,
          optimized_model_external_initializers_file_name: DATA,
          // Every weight external and mapped on load; small ones are not worth a page each.
          optimized_model_external_initializers_min_size_in_bytes: '1024',
        },
      },
    });
  } catch (err) {
    await discard(tmp);
    // Writing the optimised graph may be what failed (a read-only cache, a full disk): a graph that cannot
    // load fails here again.
    log(`${graph}: ONNX Runtime could not store its optimised graph (${firstLine(err)}); opening it without storing`);
    return { session: await ort.InferenceSession.create(graph, options), origin: 'not stored' };
  }
  try {
    await publish(tmp, entry, key);
    await removeStale(entries, component, basename(entry));
  } catch (err) {
    // The session itself is fine; only the next open will optimise again.
    await discard(tmp);
    log(`${graph}: could not store ONNX Runtime's optimised graph (${firstLine(err)}); the next open optimises again`);
    return { session, origin: 'not stored' };
  }
  return { session, origin: 'stored' };
}

/** How a session came to be: from a stored optimised graph, optimised now and stored, or optimised unstored. */
export type Origin = 'reused' | 'stored' | 'not stored';

export interface BuiltSession {
  session: ort.InferenceSession;
  origin: Origin;
}

export interface OptimizedEntry {
  /** The folder holding (or to hold) the optimised graph. */
  entry: string;
  key: string;
  component: string;
  options: ort.InferenceSession.SessionOptions;
}

/** Where the optimised graph of `graph` for `provider` is stored, and the options it is made with. */
export async function optimizedEntry(graph: string, provider: Provider, threads = availableParallelism()): Promise<OptimizedEntry> {
  const options = sessionOptions(provider, threads);
  const dataSize = (await stat(`${graph}.data`).catch(() => null))?.size ?? 0;
  const key = optimizedKey(await readFile(graph), dataSize, provider, options);
  const component = basename(graph, '.onnx');
  return { entry: join(dirname(graph), ENTRIES, `${component}-${key}`), key, component, options };
}

/**
 * A session for a graph in the build cache on `device`: on the CPU from the stored optimised graph when there
 * is one (stored on the first open), elsewhere as `createSession` makes it.
 */
export async function openBuiltSession(graph: string, opts: RuntimeOptions): Promise<BuiltSession> {
  const provider = preferredProvider(opts.device);
  if (!STORED_FOR.has(provider)) return { session: (await createSession(graph, opts)).session, origin: 'not stored' };
  const log = opts.log ?? (() => {});
  const { entry, key, component, options } = await optimizedEntry(graph, provider, opts.threads);
  const why = await damage(entry, key);
  if (why === null) {
    try {
      // Already optimised for this provider: running the transformers again would only cost time.
      return { session: await ort.InferenceSession.create(join(entry, GRAPH), { ...options, graphOptimizationLevel: 'disabled' }), origin: 'reused' };
    } catch (err) {
      log(`${entry}: the stored optimised graph does not load (${firstLine(err)}); optimising ${basename(graph)} again`);
    }
  } else if (why !== 'absent') {
    log(`${entry}: the stored optimised graph is damaged (${why}); optimising ${basename(graph)} again`);
  }
  if (why !== 'absent') await discard(entry);
  return optimizeAndStore(graph, component, entry, key, options, log);
}

/** Whether sessions on `device` are opened from stored optimised graphs (the CPU provider's). */
export function storesOptimized(device: RuntimeOptions['device']): boolean {
  return STORED_FOR.has(preferredProvider(device));
}

/**
 * `kirie models build`: optimises and stores each graph of a build as its first open would, so that open is
 * already a warm one. Nothing for providers whose graphs are not stored (an empty list).
 */
export async function storeOptimized(graphs: string[], opts: RuntimeOptions): Promise<{ graph: string; origin: Origin }[]> {
  if (!storesOptimized(opts.device)) return [];
  const done: { graph: string; origin: Origin }[] = [];
  for (const graph of graphs) {
    const { session, origin } = await openBuiltSession(graph, opts);
    await session.release();
    done.push({ graph, origin });
  }
  return done;
}

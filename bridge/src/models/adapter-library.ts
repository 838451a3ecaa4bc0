// LoRAs and embeddings in the models folder: `loras/` and `embeddings/` beside the checkpoints, or the
// folder names AUTOMATIC1111 uses (`Lora/`, `LyCORIS/`; A1111 keeps `embeddings/` too), subfolders included.
// A file's name without extension is what requests and prompt tags call it, as in A1111.
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, extname, join, relative, sep } from 'node:path';
import type { AdapterInfo } from '@kirie/core/client/protocol';
import { embeddingFamily, loraFamily } from '@kirie/core/adapters/family';
import { sdxlEmbeddingProblem, type Embedding } from '@kirie/core/adapters/embedding';
import type { LoraAdapter } from '@kirie/core/adapters/lora';
import type { AdapterLibrary } from '@kirie/core/pipeline/request';
import type { LoadedModel } from './load.js';
import { loadEmbedding, loadLora } from './adapter-files.js';
import { fileSha256 } from '../generate/images.js';
import { SafetensorsFile } from './safetensors-file.js';

export const LORA_FOLDERS = ['loras', 'Lora', 'LoRA', 'lora', 'LyCORIS'];
export const EMBEDDING_FOLDERS = ['embeddings', 'Embeddings', 'embedding'];
const MAX_DEPTH = 3;

export type AdapterKind = 'lora' | 'embedding';

/** Every .safetensors file under the kind's folders, by name (the first found wins, folders in the order above). */
export async function adapterFiles(modelsDir: string, kind: AdapterKind): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  const walk = async (dir: string, depth: number): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      if (e.name.startsWith('.')) continue;
      const path = join(dir, e.name);
      const s = e.isSymbolicLink() ? await stat(path).catch(() => null) : e;
      if (!s) continue;
      if (s.isDirectory() && depth < MAX_DEPTH) await walk(path, depth + 1);
      else if (s.isFile() && extname(e.name).toLowerCase() === '.safetensors') {
        const name = basename(e.name, extname(e.name));
        if (!found.has(name)) found.set(name, path);
      }
    }
  };
  for (const folder of kind === 'lora' ? LORA_FOLDERS : EMBEDDING_FOLDERS) await walk(join(modelsDir, folder), 0);
  return found;
}

/** What a missing name gets: the names that do exist (a few). */
export function unknownAdapter(kind: AdapterKind, name: string, known: Iterable<string>): string {
  const list = [...known].slice(0, 10).join(', ') || 'none';
  const where = kind === 'lora' ? `${LORA_FOLDERS[0]}/ (or ${LORA_FOLDERS.slice(1).join('/, ')}/)` : `${EMBEDDING_FOLDERS[0]}/`;
  return `no ${kind === 'lora' ? 'LoRA' : 'embedding'} named "${name}" in the models folder's ${where}; found: ${list}`;
}

/**
 * The library one loaded model reads requests' adapters from. Parsed LoRAs are kept per file (size and time
 * stamp), so trying a style at 0.6 then 0.8 reads the file once.
 */
export class FolderAdapterLibrary implements AdapterLibrary {
  private readonly loras = new Map<string, { stamp: string; adapter: Promise<LoraAdapter> }>();
  private readonly hashes = new Map<string, string>();

  constructor(
    private readonly modelsDir: string,
    private readonly model: LoadedModel,
    /** Parsed LoRAs kept (each holds its factors in float32). */
    private readonly keep = 4,
  ) {}

  private async find(kind: AdapterKind, name: string): Promise<string> {
    const files = await adapterFiles(this.modelsDir, kind);
    const path = files.get(name);
    if (!path) throw new Error(unknownAdapter(kind, name, files.keys()));
    return path;
  }

  async lora(name: string): Promise<LoraAdapter> {
    const table = this.model.adapterTable;
    if (!table) throw new Error(`${this.model.name} takes no LoRAs: only checkpoints Kirie builds itself (.safetensors) do, not exported ONNX folders`);
    const path = await this.find('lora', name);
    const s = await stat(path);
    const stamp = `${s.size}:${s.mtimeMs}`;
    const hit = this.loras.get(path);
    if (hit?.stamp === stamp) {
      this.loras.delete(path);
      this.loras.set(path, hit);
      return hit.adapter;
    }
    const adapter = loadLora(path, table);
    this.loras.set(path, { stamp, adapter });
    adapter.catch(() => this.loras.delete(path));
    while (this.loras.size > this.keep) this.loras.delete(this.loras.keys().next().value!);
    return adapter;
  }

  /**
   * A1111's "Lora hashes" entry for a LoRA: the first 12 hex digits of the sha256 of the data after the
   * safetensors header (sd-scripts' addnet hash, so editing the metadata keeps it). Once per file and process.
   */
  async loraHash(name: string): Promise<string> {
    const path = await this.find('lora', name);
    if (!this.hashes.has(path)) {
      const file = await SafetensorsFile.open(path);
      const start = file.header.dataStart;
      await file.close();
      this.hashes.set(path, (await fileSha256(path, start)).slice(0, 12));
    }
    return this.hashes.get(path)!;
  }

  async embeddingNames(): Promise<readonly string[]> {
    return [...(await adapterFiles(this.modelsDir, 'embedding')).keys()];
  }

  async embedding(name: string): Promise<Embedding> {
    const slots = this.model.io.adapters;
    if (slots?.addedTokenWidth === undefined) throw new Error(`${this.model.name} takes no embeddings: only checkpoints Kirie builds itself (.safetensors) do`);
    return loadEmbedding(await this.find('embedding', name), slots.addedTokenWidth, name, slots.addedTokenWidth2);
  }
}

// The header's metadata is whatever the trainer (or anyone) wrote: plain strings, bounded, never markup for
// a client to render (clients put them in text nodes).
const MAX_METADATA_ENTRIES = 40;
const MAX_METADATA_CHARS = 400;
const MAX_TRIGGER_WORDS = 8;
const MAX_SIDECAR_BYTES = 64 * 1024;
/** kohya's long machine fields: summarised (trigger words) or dropped, never listed whole. */
const BULKY = new Set(['ss_tag_frequency', 'ss_dataset_dirs', 'ss_bucket_info', 'ss_datasets', 'modelspec.thumbnail']);

function clip(text: string, max = MAX_METADATA_CHARS): string {
  // Control characters (other than tab/newline) have no place in a label; very long values are cut.
  const clean = text.replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, '');
  return clean.length > max ? `${clean.slice(0, max)}…` : clean;
}

/** The most frequent caption tags of kohya's ss_tag_frequency ({dataset: {tag: count}}), most frequent first. */
function topTags(json: string | undefined): string[] {
  if (!json || json.length > 4 * 2 ** 20) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    return [];
  }
  const counts = new Map<string, number>();
  if (typeof parsed !== 'object' || parsed === null) return [];
  for (const tags of Object.values(parsed)) {
    if (typeof tags !== 'object' || tags === null) continue;
    for (const [tag, n] of Object.entries(tags)) if (typeof n === 'number') counts.set(tag.trim(), (counts.get(tag.trim()) ?? 0) + n);
  }
  return [...counts].sort((a, b) => b[1] - a[1]).slice(0, MAX_TRIGGER_WORDS).map(([tag]) => clip(tag, 100));
}

/** A1111's per-file user metadata (`name.json` beside it): "activation text" and "preferred weight". */
async function a1111Sidecar(path: string): Promise<{ activation?: string; weight?: number }> {
  const sidecar = path.slice(0, path.length - extname(path).length) + '.json';
  const s = await stat(sidecar).catch(() => null);
  if (!s?.isFile() || s.size > MAX_SIDECAR_BYTES) return {};
  try {
    const json = JSON.parse(await readFile(sidecar, 'utf8')) as Record<string, unknown>;
    const activation = typeof json['activation text'] === 'string' ? clip(json['activation text']) : undefined;
    const weight = typeof json['preferred weight'] === 'number' && Number.isFinite(json['preferred weight']) && json['preferred weight'] !== 0 ? json['preferred weight'] : undefined;
    return { ...(activation ? { activation } : {}), ...(weight !== undefined ? { weight } : {}) };
  } catch {
    return {};
  }
}

async function describe(modelsDir: string, name: string, path: string, kind: AdapterKind): Promise<AdapterInfo> {
  const info = await stat(path);
  const base: AdapterInfo = { name, kind, file: relative(modelsDir, path).split(sep).join('/'), sizeBytes: info.size, family: 'unknown', triggerWords: [], metadata: {} };
  let file: SafetensorsFile;
  try {
    file = await SafetensorsFile.open(path);
  } catch (err) {
    return { ...base, problem: clip(err instanceof Error ? err.message : String(err)) };
  }
  try {
    const keys = file.keys();
    const shapeOf = (k: string) => (file.has(k) ? file.shape(k) : undefined);
    const metadata: Record<string, string> = {};
    for (const [key, value] of Object.entries(file.header.metadata)) {
      if (Object.keys(metadata).length >= MAX_METADATA_ENTRIES) break;
      if (!/^(ss_|modelspec\.)/.test(key) || BULKY.has(key)) continue;
      metadata[clip(key, 80)] = clip(value);
    }
    const sidecar = await a1111Sidecar(path);
    const phrase = file.header.metadata['modelspec.trigger_phrase'];
    const triggerWords = sidecar.activation ? [sidecar.activation] : phrase ? [clip(phrase)] : topTags(file.header.metadata.ss_tag_frequency);
    const problem = kind === 'embedding' ? sdxlEmbeddingProblem(keys, (k) => file.shape(k)) : undefined;
    return {
      ...base,
      family: kind === 'lora' ? loraFamily(keys, shapeOf) : embeddingFamily(keys, shapeOf),
      triggerWords,
      ...(sidecar.weight !== undefined ? { preferredWeight: sidecar.weight } : {}),
      metadata,
      ...(problem ? { problem } : {}),
    };
  } finally {
    await file.close();
  }
}

/** Which of a kind's file names to describe: each description opens the file and reads its header. */
export type AdapterPick = (kind: AdapterKind, names: readonly string[]) => readonly string[];

/**
 * Every LoRA and embedding in the models folder with what its header says (family, trigger words, metadata);
 * with `pick`, only the files it picks.
 */
export async function listAdapters(modelsDir: string, pick?: AdapterPick): Promise<AdapterInfo[]> {
  const out: AdapterInfo[] = [];
  for (const kind of ['lora', 'embedding'] as const) {
    const files = await adapterFiles(modelsDir, kind);
    const names = pick ? pick(kind, [...files.keys()]) : files.keys();
    for (const name of names) out.push(await describe(modelsDir, name, files.get(name)!, kind));
  }
  return out;
}

// A .safetensors file on disk as a TensorSource: the header is read once, each tensor's byte range is read
// on demand, so a 4-7 GB checkpoint never sits in memory as one buffer.
import { open, type FileHandle } from 'node:fs/promises';
import { basename } from 'node:path';
import {
  parseSafetensorsHeader,
  readHeaderLength,
  tensorToFloat32,
  type SafetensorsDtype,
  type SafetensorsEntry,
  type SafetensorsHeader,
} from '@kirie/core/models/safetensors';
import type { TensorSource } from '@kirie/core/models/types';

export class SafetensorsFile implements TensorSource {
  private byName: Map<string, SafetensorsEntry>;

  private constructor(
    readonly path: string,
    readonly size: number,
    /** The raw JSON header bytes, e.g. for content hashing. */
    readonly headerBytes: Uint8Array,
    readonly header: SafetensorsHeader,
    private readonly handle: FileHandle,
  ) {
    this.byName = new Map(header.tensors.map((t) => [t.name, t]));
  }

  static async open(path: string): Promise<SafetensorsFile> {
    const label = basename(path);
    const handle = await open(path, 'r');
    try {
      const { size } = await handle.stat();
      const first8 = await readExactly(handle, 0, Math.min(8, size), label);
      const length = readHeaderLength(first8, size, label);
      const headerBytes = await readExactly(handle, 8, length, label);
      const header = parseSafetensorsHeader(headerBytes, size, label);
      return new SafetensorsFile(path, size, headerBytes, header, handle);
    } catch (err) {
      await handle.close();
      throw err;
    }
  }

  get label(): string {
    return basename(this.path);
  }

  keys(): string[] {
    return [...this.byName.keys()];
  }

  /** Presents tensors under other names (e.g. an older key layout mapped onto the one the builders read). */
  renameKeys(rename: (key: string) => string): void {
    const renamed = new Map<string, SafetensorsEntry>();
    for (const [key, entry] of this.byName) {
      const to = rename(key);
      if (renamed.has(to)) throw new Error(`${this.label}: tensors ${renamed.get(to)!.name} and ${entry.name} both map to ${to}`);
      renamed.set(to, entry);
    }
    this.byName = renamed;
  }

  has(key: string): boolean {
    return this.byName.has(key);
  }

  entry(key: string): SafetensorsEntry {
    const e = this.byName.get(key);
    if (!e) throw new Error(`${this.label}: no tensor named ${key}`);
    return e;
  }

  shape(key: string): number[] {
    return [...this.entry(key).shape];
  }

  dtype(key: string): SafetensorsDtype {
    return this.entry(key).dtype;
  }

  /** The tensor's stored bytes, unconverted. */
  async readBytes(key: string): Promise<Uint8Array> {
    const e = this.entry(key);
    return readExactly(this.handle, e.offset, e.byteLength, `${this.label}: tensor ${key}`);
  }

  async read(key: string): Promise<Float32Array> {
    const e = this.entry(key);
    return tensorToFloat32(await this.readBytes(key), e.dtype, `${this.label}: tensor ${key}`);
  }

  /** Reads an arbitrary byte range of the file (used to sample the data for the cache key). */
  async readRange(position: number, length: number): Promise<Uint8Array> {
    return readExactly(this.handle, position, length, this.label);
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}

async function readExactly(handle: FileHandle, position: number, length: number, label: string): Promise<Uint8Array> {
  // A fresh ArrayBuffer per read keeps float views 4-byte aligned.
  const out = new Uint8Array(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await handle.read(out, done, length - done, position + done);
    if (bytesRead === 0) throw new Error(`${label}: unexpected end of file at byte ${position + done} (truncated?)`);
    done += bytesRead;
  }
  return out;
}

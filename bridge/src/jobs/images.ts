// Uploaded and generated images, stored once under the SHA-256 of their bytes: uploading the same
// canvas twice costs nothing, and an id always means the same pixels. Every stored file passed the
// upload check (or is the pipeline's own output), so its IHDR tells its size without decoding it.
import { createHash } from 'node:crypto';
import { open, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ImageId } from '@kirie/core/request/schema';
import { writeFileAtomic } from './atomic.js';

/** An image's id everywhere (uploads, results, the CLI's inputs): the SHA-256 of its PNG bytes, in hex. */
export function contentId(png: Uint8Array): string {
  return createHash('sha256').update(png).digest('hex');
}

export class ImageStore {
  constructor(readonly dir: string) {}

  async put(png: Uint8Array): Promise<string> {
    const id = contentId(png);
    const path = this.path(id);
    const exists = await stat(path).then(
      () => true,
      () => false,
    );
    if (!exists) await writeFileAtomic(path, png);
    return id;
  }

  /** The file an id is stored in; throws for ids that are not ids (no path tricks through this door). */
  path(id: string): string {
    if (!ImageId.safeParse(id).success) throw new Error(`"${id}" is not an image id`);
    return join(this.dir, `${id}.png`);
  }

  async has(id: string): Promise<boolean> {
    if (!ImageId.safeParse(id).success) return false;
    return stat(this.path(id)).then(
      (s) => s.isFile(),
      () => false,
    );
  }

  /** Width and height of a stored image from its IHDR (the first 24 bytes); null if there is no such image. */
  async dimensions(id: string): Promise<{ width: number; height: number } | null> {
    if (!ImageId.safeParse(id).success) return null;
    let file;
    try {
      file = await open(this.path(id), 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
    try {
      const { buffer, bytesRead } = await file.read(Buffer.alloc(24), 0, 24, 0);
      if (bytesRead < 24 || buffer.toString('latin1', 12, 16) !== 'IHDR') throw new Error(`stored image ${id} is not a PNG`);
      return { width: buffer.readUInt32BE(16), height: buffer.readUInt32BE(20) };
    } finally {
      await file.close();
    }
  }

  async get(id: string): Promise<Uint8Array | null> {
    if (!ImageId.safeParse(id).success) return null;
    try {
      return await readFile(this.path(id));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }
}

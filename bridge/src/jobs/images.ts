// Uploaded and generated images, stored once under the SHA-256 of their bytes: uploading the same
// canvas twice costs nothing, and an id always means the same pixels.
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
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

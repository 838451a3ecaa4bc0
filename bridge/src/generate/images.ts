// Image files for a CLI generation: each read once, decoded, and known by its content id (sha256 of the
// file's bytes, as the server stores uploads), so a request refers to them the same way everywhere.
import { createHash } from 'node:crypto';
import { createReadStream, readFileSync, statSync } from 'node:fs';
import { decodeImage } from '@kirie/core/image/decode';
import type { RasterImage } from '@kirie/core/image/png';
import { contentId } from '../jobs/images.js';

export class ImageFiles {
  private readonly byId = new Map<string, RasterImage>();

  /** Reads a PNG or JPEG, returns its id. */
  add(path: string, what: string): string {
    let bytes: Uint8Array;
    try {
      bytes = readFileSync(path);
    } catch (err) {
      throw new Error(`${what} ${path}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
    }
    let image: RasterImage;
    try {
      image = decodeImage(bytes);
    } catch (err) {
      throw new Error(`${what} ${path}: not a readable PNG or JPEG (${(err as Error).message})`);
    }
    const id = contentId(bytes);
    this.byId.set(id, image);
    return id;
  }

  get(id: string): RasterImage {
    const image = this.byId.get(id);
    if (!image) throw new Error(`no image with id ${id}`);
    return image;
  }
}

/** A file's SHA-256 in hex, streamed: checkpoints are gigabytes. */
export async function fileSha256(path: string, start = 0): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 22, start })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** AUTOMATIC1111's short model hash: the first 10 hex digits of the file's sha256 (none for a folder). */
export async function modelShortHash(path: string): Promise<string | undefined> {
  if (!statSync(path).isFile()) return undefined;
  return (await fileSha256(path)).slice(0, 10);
}

// The bridge's bearer token: created on first start, kept in a file only the owner can read, so a web page
// the designer happens to visit cannot drive the GPU even though the bridge listens on localhost.
import { randomBytes } from 'node:crypto';
import { chmod, readFile } from 'node:fs/promises';
import { PRIVATE_FILE_MODE, writeFileAtomic } from '../jobs/atomic.js';

const TOKEN_PATTERN = /^[0-9a-f]{64}$/;

/** Reads the token at `path`, creating it (mode 0600, written atomically) when the file does not exist. */
export async function loadOrCreateToken(path: string): Promise<{ token: string; created: boolean }> {
  try {
    const token = (await readFile(path, 'utf8')).trim();
    if (!TOKEN_PATTERN.test(token)) throw new Error(`token file ${path} is corrupt (expected 64 hex digits); delete it to make a new one`);
    // Tighten permissions even if someone loosened them: the token is the only guard.
    await chmod(path, PRIVATE_FILE_MODE);
    return { token, created: false };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const token = randomBytes(32).toString('hex');
  // Owner-only folder and file, written whole or not at all.
  await writeFileAtomic(path, `${token}\n`);
  return { token, created: true };
}

/** Reads an existing token without creating one (for `kirie token`). */
export async function readToken(path: string): Promise<string | null> {
  try {
    const token = (await readFile(path, 'utf8')).trim();
    return TOKEN_PATTERN.test(token) ? token : null;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

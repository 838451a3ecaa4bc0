// The bridge's bearer token: created on first start, kept in a file only the owner can read, so a web page
// the designer happens to visit cannot drive the GPU even though the bridge listens on localhost.
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

const TOKEN_PATTERN = /^[0-9a-f]{64}$/;

/** Reads the token at `path`, creating it (mode 0600, written atomically) when the file does not exist. */
export async function loadOrCreateToken(path: string): Promise<{ token: string; created: boolean }> {
  try {
    const token = (await readFile(path, 'utf8')).trim();
    if (!TOKEN_PATTERN.test(token)) throw new Error(`token file ${path} is corrupt (expected 64 hex digits); delete it to make a new one`);
    // Tighten permissions even if someone loosened them: the token is the only guard.
    await chmod(path, 0o600);
    return { token, created: false };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const token = randomBytes(32).toString('hex');
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, `${token}\n`, { mode: 0o600 });
  await rename(tmp, path);
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

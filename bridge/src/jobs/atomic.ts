// Files the bridge writes are either absent or complete: write a sibling temp file, then rename over the
// target (atomic on one filesystem), so a crash or shutdown mid-write never leaves half a PNG. What the
// bridge writes is the user's work (prompts, images): readable by the owner only.
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

export const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;

/** `<name>.<pid>-<random>.tmp`: the pid tells a later start whose temp file it is. */
const TEMP_FILE = /\.(\d+)-[0-9a-f]{12}\.tmp$/;

export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: PRIVATE_DIR_MODE });
  const tmp = `${path}.${process.pid}-${randomBytes(6).toString('hex')}.tmp`;
  try {
    await writeFile(tmp, data, { mode: PRIVATE_FILE_MODE });
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes the temp files of writers that died mid-write (SIGKILL, power loss); live writers' are kept. */
export async function removeAbandonedTempFiles(dir: string): Promise<void> {
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    const pid = TEMP_FILE.exec(name)?.[1];
    if (pid && Number(pid) !== process.pid && !pidAlive(Number(pid))) await rm(join(dir, name), { force: true });
  }
}

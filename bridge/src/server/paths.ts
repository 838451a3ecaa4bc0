// Where the bridge keeps its state. Everything lives under one home folder (default ~/.kirie, or
// $KIRIE_HOME) so a user can find, back up or delete it in one place.
import { chmod, lstat, mkdir, readdir } from 'node:fs/promises';
import { homedir } from 'node:os';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { PRIVATE_DIR_MODE, PRIVATE_FILE_MODE } from '../jobs/atomic.js';

export interface BridgePaths {
  home: string;
  token: string;
  models: string;
  outputs: string;
  images: string;
  cache: string;
  /** Records of jobs queued or running right now; what is left here after a crash was interrupted. */
  unfinished: string;
}

export function bridgePaths(options: { home?: string; models?: string; outputs?: string } = {}): BridgePaths {
  const home = resolve(options.home ?? process.env.KIRIE_HOME ?? join(homedir(), '.kirie'));
  return {
    home,
    token: join(home, 'token'),
    models: resolve(options.models ?? join(home, 'models')),
    outputs: resolve(options.outputs ?? join(home, 'outputs')),
    images: join(home, 'images'),
    cache: resolve(process.env.KIRIE_CACHE ?? join(home, 'cache')),
    unfinished: join(home, 'unfinished'),
  };
}

/**
 * Creates the bridge's folders owner-only (0700) and tightens what someone loosened (folders 0700, files
 * 0600), as the token file is. The home folder is made first, so no parent is ever created with the
 * umask's looser mode. Folders the user chose outside the home (--outputs, $KIRIE_CACHE) and the models
 * folder are the user's: created if missing, their modes never changed.
 */
export async function prepareBridgeFolders(paths: BridgePaths): Promise<void> {
  await mkdir(paths.home, { recursive: true, mode: PRIVATE_DIR_MODE });
  await tighten(paths.home, 0);
  for (const [dir, depth] of [[paths.images, 1], [paths.outputs, 1], [paths.unfinished, 1], [paths.cache, 2]] as const) {
    await mkdir(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
    if (isInside(paths.home, dir)) await tighten(dir, depth);
  }
  await mkdir(paths.models, { recursive: true });
}

function isInside(parent: string, child: string): boolean {
  const rel = relative(parent, child);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel);
}

/** Removes group/other bits from `path` and, for folders, from what lies up to `depth` levels below. */
async function tighten(path: string, depth: number): Promise<void> {
  // lstat: a symlink is left alone (chmod would follow it to whatever it points at).
  const s = await lstat(path).catch(() => null);
  if (!s || !(s.isFile() || s.isDirectory())) return;
  if (s.mode & 0o077) await chmod(path, s.isDirectory() ? PRIVATE_DIR_MODE : PRIVATE_FILE_MODE);
  if (!s.isDirectory() || depth === 0) return;
  for (const name of await readdir(path)) await tighten(join(path, name), depth - 1);
}

// Files shipped in bridge/assets. The sources (bridge/src/models) and the bundle (bridge/dist) sit at
// different depths, so the folder is found by walking up from this module.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let assetsDir: string | undefined;

export function assetPath(name: string): string {
  if (!assetsDir) {
    let dir = dirname(fileURLToPath(import.meta.url));
    while (!existsSync(join(dir, 'assets', 'bpe_simple_vocab_16e6.txt.gz'))) {
      const up = dirname(dir);
      if (up === dir) throw new Error(`Kirie's assets folder (bridge/assets) was not found above ${fileURLToPath(import.meta.url)}`);
      dir = up;
    }
    assetsDir = join(dir, 'assets');
  }
  return join(assetsDir, name);
}

#!/usr/bin/env node
// The `kirie` command npm links into node_modules/.bin. npm links bins while it installs, before the root
// `prepare` script bundles dist/kirie.mjs, and skips a bin whose file is missing: so the bin is this
// committed file, which runs the bundle and makes it first when it is absent (e.g. `npm ci --ignore-scripts`).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const bundle = new URL('../dist/kirie.mjs', import.meta.url);
if (!existsSync(bundle)) {
  const root = fileURLToPath(new URL('../../', import.meta.url));
  console.error('kirie: building the bridge first (npm run build) …');
  const built = spawnSync(process.execPath, ['esbuild.config.mjs'], { cwd: root, stdio: ['ignore', 2, 2] });
  if (built.status !== 0 || !existsSync(bundle)) {
    console.error('kirie: the build failed; run `npm run build` in the repository to see why');
    process.exit(1);
  }
}
await import(bundle.href);

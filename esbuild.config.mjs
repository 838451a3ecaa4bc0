// Bundles the bridge CLI (and later the plugins). npm packages stay external and load from
// node_modules at run time; the workspace's own TypeScript (@kirie/*) is bundled in.
import { build } from 'esbuild';
import { existsSync } from 'node:fs';

const externalNpmPackages = {
  name: 'external-npm-packages',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) =>
      args.path.startsWith('@kirie/') ? undefined : { path: args.path, external: true },
    );
  },
};

const nodeEntries = [
  ['bridge/src/cli.ts', 'bridge/dist/kirie.mjs'],
  ['bridge/src/bench/main.ts', 'bridge/dist/bench.mjs'],
].filter(([entry]) => existsSync(entry));

await Promise.all(
  nodeEntries.map(([entry, outfile]) =>
    build({
      entryPoints: [entry],
      outfile,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      sourcemap: true,
      plugins: [externalNpmPackages],
      banner: { js: '#!/usr/bin/env node' },
      logLevel: 'warning',
    }),
  ),
);

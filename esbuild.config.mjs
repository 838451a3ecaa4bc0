// Bundles the bridge CLI (and later the plugins). npm packages stay external and load from
// node_modules at run time; the workspace's own TypeScript (@kirie/*) is bundled in.
import { build } from 'esbuild';
import { cpSync, existsSync } from 'node:fs';

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
  // The bridge's generation process, forked by `kirie serve` (bridge/src/worker/process-runner.ts).
  ['bridge/src/worker/main.ts', 'bridge/dist/worker.mjs'],
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

// The playground page served by `kirie serve` at /: one browser bundle (the shared client included) plus
// its static files.
if (existsSync('bridge/src/playground/app.ts')) {
  await build({
    entryPoints: ['bridge/src/playground/app.ts'],
    outfile: 'bridge/dist/playground/app.js',
    bundle: true,
    // three.js makes it ~2 MB unminified; every page load and every test that fetches it pays for that.
    minify: true,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    sourcemap: true,
    logLevel: 'warning',
  });
  for (const file of ['index.html', 'style.css']) cpSync(`bridge/src/playground/${file}`, `bridge/dist/playground/${file}`);
}

// The Photoshop and Figma plugins, each into plugins/<host>/dist/ (see plugins/build.mjs).
const { buildPlugins } = await import('./plugins/build.mjs');
await buildPlugins();

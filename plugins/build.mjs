// Bundles the Photoshop and Figma plugins into plugins/<host>/dist/, each a folder the host app loads
// as is (manifest.json inside). Called from the root esbuild.config.mjs.
import { build } from 'esbuild';
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';

const common = { bundle: true, platform: 'browser', format: 'iife', target: 'es2020', logLevel: 'warning' };
const UI_SCRIPT = '<script>/*KIRIE_UI_SCRIPT*/</script>';

/** `outRoot` replaces plugins/ as the root of the <host>/dist folders (tests build into temp folders). */
export async function buildPlugins(outRoot = 'plugins') {
  // Photoshop (UXP): a classic script; `photoshop` and `uxp` are the host's own modules, loaded with require().
  const ps = 'plugins/photoshop';
  // `inject` swaps the bundle's free TextEncoder/TextDecoder for our own: UXP documents neither global.
  await build({ ...common, entryPoints: [`${ps}/src/panel.ts`], outfile: `${outRoot}/photoshop/dist/panel.js`, external: ['photoshop', 'uxp'], inject: [`${ps}/src/text-codec.ts`], sourcemap: true });
  for (const file of ['manifest.json', 'index.html', 'icons']) cpSync(`${ps}/${file}`, `${outRoot}/photoshop/dist/${file}`, { recursive: true });

  // Figma: code.js runs in the main-thread sandbox; the UI is handed over as one HTML string (__html__),
  // which cannot load files next to it, so its script is inlined.
  const fg = 'plugins/figma';
  await build({ ...common, entryPoints: [`${fg}/src/code.ts`], outfile: `${outRoot}/figma/dist/code.js` });
  const ui = await build({ ...common, entryPoints: [`${fg}/src/ui.ts`], write: false, minify: true });
  const script = ui.outputFiles[0].text.replace(/<\/script/gi, '<\\/script');
  const template = readFileSync(`${fg}/ui.html`, 'utf8');
  if (!template.includes(UI_SCRIPT)) throw new Error(`${fg}/ui.html lost its ${UI_SCRIPT} placeholder`);
  mkdirSync(`${outRoot}/figma/dist`, { recursive: true });
  writeFileSync(`${outRoot}/figma/dist/ui.html`, template.replace(UI_SCRIPT, () => `<script>${script}</script>`));
  cpSync(`${fg}/manifest.json`, `${outRoot}/figma/dist/manifest.json`);
}

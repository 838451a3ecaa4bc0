// The built Photoshop panel (plugins/photoshop/dist: index.html + panel.js) in headless Chromium, with
// `require('photoshop')` answered by the fake Photoshop bundled for the browser and `require('uxp')` by a
// file picker stub, against a bridge with a scripted runner: the panel's wiring from form to new layer.
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { createServer, type Server } from 'node:http';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodePng, encodePng } from '@kirie/core/image/png';
import { ROOT } from '../../../tests/e2e/bridge-harness.js';
import { type PluginBridge, startPluginBridge } from '../../shared/test/bridge.js';


let env: PluginBridge;
let browser: Browser;
let page: Page;
// Serves dist/ from loopback: Chromium's Private Network Access blocks routed public origins from the bridge.
let files: Server;
let out: string;

// Runs in the page before panel.js: a document with a feathered selection, and the host modules.
function installHost(fake: { FakePhotoshop: new () => any }, pose: unknown, photoPng: number[]): void {
  const { FakePhotoshop } = fake;
  const ps = new FakePhotoshop();
  const doc = ps.openDocument('poster.psd', 241, 187);
  doc.addLayer('Background', { x: 0, y: 0, width: 241, height: 187 }, () => [90, 120, 150, 255], 'background');
  const data = new Uint8Array(60 * 50).map((_, i) => (i % 60 > 4 && i % 60 < 55 && i > 300 && i < 2700 ? 255 : 128));
  doc.selection = { bounds: { x: 100, y: 70, width: 60, height: 50 }, data };
  Object.assign(window, {
    ps,
    doc,
    require: (name: string) => {
      if (name === 'photoshop') return ps.module();
      if (name === 'uxp') {
        const binary = Symbol('binary');
        const photo = { name: 'dancer.png', read: async (o?: { format: symbol }) => (o?.format === binary ? new Uint8Array(photoPng).buffer : String.fromCharCode(...photoPng)) };
        const json = { name: 'dancer.json', read: async () => JSON.stringify(pose) };
        return { storage: { formats: { binary }, localFileSystem: { getFileForOpening: async (o: { types?: string[] }) => (o.types?.includes('png') ? photo : json) } } };
      }
      throw new Error(`no module ${name}`);
    },
  });
}

beforeAll(async () => {
  // The real build, into a folder of this test's own (test files run in parallel).
  out = mkdtempSync(join(tmpdir(), 'kirie-plugins-'));
  execFileSync(process.execPath, ['-e', `import('./plugins/build.mjs').then((m) => m.buildPlugins(${JSON.stringify(out)}))`], { cwd: ROOT, stdio: 'inherit' });
  const fake = await build({ entryPoints: [join(ROOT, 'plugins/photoshop/test/fake-photoshop.ts')], bundle: true, write: false, format: 'iife', globalName: 'Fake', platform: 'browser', logLevel: 'error' });
  env = await startPluginBridge({ openpose: true, portInRange: true });
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'] });
  page = await browser.newPage();
  page.on('pageerror', (err) => {
    throw err;
  });
  files = createServer((req, res) => {
    const file = join(out, 'photoshop/dist', new URL(req.url!, 'http://x').pathname.slice(1));
    if (!existsSync(file)) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': file.endsWith('.html') ? 'text/html' : 'text/javascript' }).end(readFileSync(file));
  });
  await new Promise<void>((resolve) => files.listen(0, '127.0.0.1', resolve));
  const address = files.address();
  const origin = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  const pose = { canvas_width: 100, canvas_height: 200, people: [{ pose_keypoints_2d: [50, 20, 1, 50, 40, 1, ...new Array(48).fill(0)] }] };
  const photo = [...encodePng({ width: 30, height: 60, channels: 3, data: new Uint8Array(30 * 60 * 3).fill(255) })];
  await page.addInitScript({ content: `${fake.outputFiles[0]!.text};\n(${installHost.toString()})(Fake, ${JSON.stringify(pose)}, ${JSON.stringify(photo)});` });
  await page.goto(`${origin}/index.html`);
  await page.fill('#bridge-url', env.bridge.url);
  await page.fill('#bridge-token', env.bridge.token);
  await page.click('#save-settings');
});

afterAll(async () => {
  await browser?.close();
  await env?.dispose();
  files?.close();
  rmSync(out, { recursive: true, force: true });
});

const state = () => page.evaluate(() => {
  const doc = (window as unknown as { doc: { layersState: { name: string }[]; history: string[] } }).doc;
  return { layers: doc.layersState.map((l) => l.name), history: [...doc.history], leaks: (window as unknown as { ps: { live: Set<unknown> } }).ps.live.size };
});

/** Clicks Generate and returns the status line once the run has ended, well or not. */
async function generateAndWait(): Promise<string> {
  await page.evaluate(() => Object.assign(document.getElementById('status')!, { textContent: '', className: '' }));
  await page.click('#generate');
  await page.waitForFunction(() => {
    const status = document.getElementById('status')!;
    return status.className === 'error' || /^(added|cancelled)/.test(status.textContent ?? '');
  });
  return (await page.textContent('#status'))!;
}

describe('Photoshop panel bundle in Chromium', () => {
  it('saves the bridge settings in localStorage', async () => {
    expect(await page.evaluate(() => [localStorage.getItem('kirie.url'), localStorage.getItem('kirie.token')])).toEqual([env.bridge.url, env.bridge.token]);
  });

  it('fill selection with a style: one new layer, one history step', async () => {
    await page.selectOption('#style', 'mosaic');
    await page.fill('#prompt', 'a fish');
    await page.fill('#steps', '3');
    expect(await generateAndWait()).toMatch(/^added "Kirie · mosaic" \(seed \d+\)$/);
    expect(await state()).toEqual({ layers: ['Background', 'Kirie · mosaic'], history: ['Open', 'Kirie · mosaic'], leaks: 0 });
    expect(await page.$eval('#preview', (img) => (img as HTMLImageElement).src)).toMatch(/^data:image\/png;base64,/);
    expect(env.runner.jobs.at(-1)!.input.request).toMatchObject({ steps: 3, strength: 0.8 });
  });

  it('a bad field is named and nothing changes', async () => {
    await page.fill('#strength', '3');
    expect(await generateAndWait()).toMatch(/strength must be a number above 0 and at most 1, got "3"/);
    await page.fill('#strength', '');
    expect((await state()).layers).toHaveLength(2);
  });

  it('pose fill: picks a pose JSON through UXP storage and sends it to the OpenPose ControlNet', async () => {
    await page.selectOption('#mode', 'pose');
    expect(await page.isVisible('#pose-row')).toBe(true);
    await page.click('#pick-pose');
    await page.waitForFunction(() => document.getElementById('pose-name')!.textContent === 'dancer.json');
    await page.selectOption('#style', '');
    await page.fill('#prompt', 'a dancer');
    expect(await generateAndWait()).toMatch(/^added "Kirie · a dancer"/);
    const req = env.runner.jobs.at(-1)!.input.request;
    expect(req.control[0]).toMatchObject({ model: 'control_v11p_sd15_openpose.safetensors' });
    expect((await state()).history).toEqual(['Open', 'Kirie · mosaic', 'Kirie · a dancer']);
  });

  it('pose fill from a reference photo: picks a PNG as binary through UXP storage and sends it with the openpose preprocessor', async () => {
    await page.selectOption('#mode', 'pose-photo');
    expect(await page.isVisible('#photo-row')).toBe(true);
    expect(await page.isVisible('#pose-row')).toBe(false);
    expect(await generateAndWait()).toMatch(/pick a reference photo first/);
    await page.click('#pick-photo');
    await page.waitForFunction(() => document.getElementById('photo-name')!.textContent === 'dancer.png');
    await page.fill('#prompt', 'a skater');
    expect(await generateAndWait()).toMatch(/^added "Kirie · a skater"/);
    const { input } = env.runner.jobs.at(-1)!;
    const unit = input.request.control[0]!;
    expect(unit).toMatchObject({ model: 'control_v11p_sd15_openpose.safetensors', preprocessor: { type: 'openpose', full: false } });
    const control = decodePng(new Uint8Array(readFileSync(input.imagePaths[unit.image!]!)));
    expect([control.width, control.height]).toEqual([input.request.width, input.request.height]);
    expect(control.data.some((v) => v === 255)).toBe(true);
    expect((await state()).history).toEqual(['Open', 'Kirie · mosaic', 'Kirie · a dancer', 'Kirie · a skater']);
  });
});

// The built Photoshop panel (plugins/photoshop/dist: index.html + panel.js) in headless Chromium, its
// Spectrum widgets stubbed (spectrum-stubs.ts), `require('photoshop')` answered by the fake Photoshop and
// `require('uxp')` by the fake UXP module, both bundled for the browser, against a bridge with a scripted
// runner: the panel's looks (a screenshot in test-output/) and its wiring from form to new layer. The
// realm with only UXP's globals is host-env.test.ts; this is the same panel as a designer would see it.
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { createServer, type Server } from 'node:http';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodePng } from '@kirie/core/image/png';
import { ROOT } from '../../../tests/e2e/bridge-harness.js';
import { type PluginBridge, startPluginBridge, TEST_EMBEDDING, TEST_LORA } from '../../shared/test/bridge.js';

const SHOTS = join(ROOT, 'test-output');

let env: PluginBridge;
let browser: Browser;
let page: Page;
// Serves dist/ from loopback: Chromium's Private Network Access blocks routed public origins from the bridge.
let files: Server;
let out: string;

// Runs in the page before panel.js: the Spectrum stand-ins, a document with a feathered selection, the host modules.
function installHost(fakes: { FakePhotoshop: new () => any; fakeUxp: (files: unknown[]) => any; installSpectrumStubs: () => void }, pose: unknown): void {
  fakes.installSpectrumStubs();
  const ps = new fakes.FakePhotoshop();
  const doc = ps.openDocument('poster.psd', 241, 187);
  doc.addLayer('Background', { x: 0, y: 0, width: 241, height: 187 }, () => [90, 120, 150, 255], 'background');
  const data = new Uint8Array(60 * 50).map((_, i) => (i % 60 > 4 && i % 60 < 55 && i > 300 && i < 2700 ? 255 : 128));
  doc.selection = { bounds: { x: 100, y: 70, width: 60, height: 50 }, data };
  const uxp = fakes.fakeUxp([{ name: 'dancer.json', text: JSON.stringify(pose) }]);
  Object.assign(window, { ps, doc, uxp, require: (name: string) => ({ photoshop: ps.module(), uxp: uxp.module })[name] });
}

beforeAll(async () => {
  // The real build, into a folder of this test's own (test files run in parallel).
  out = mkdtempSync(join(tmpdir(), 'kirie-plugins-'));
  execFileSync(process.execPath, ['-e', `import('./plugins/build.mjs').then((m) => m.buildPlugins(${JSON.stringify(out)}))`], { cwd: ROOT, stdio: 'inherit' });
  const entry = `export { FakePhotoshop } from './fake-photoshop.ts'; export { fakeUxp } from './fake-uxp.ts'; export { installSpectrumStubs } from './spectrum-stubs.ts';`;
  const fakes = await build({ stdin: { contents: entry, resolveDir: join(ROOT, 'plugins/photoshop/test'), loader: 'ts' }, bundle: true, write: false, format: 'iife', globalName: 'Fakes', platform: 'browser', logLevel: 'error' });
  env = await startPluginBridge({ openpose: true, portInRange: true, adapters: true });
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'] });
  page = await browser.newPage({ viewport: { width: 320, height: 900 } });
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
  await page.addInitScript({ content: `${fakes.outputFiles[0]!.text};\n(${installHost.toString()})(Fakes, ${JSON.stringify(pose)});` });
  await page.goto(`${origin}/index.html`);
  await page.waitForFunction(() => document.getElementById('token-state')!.textContent !== '');
  await type('bridge-url', env.bridge.url);
  await type('bridge-token', env.bridge.token);
  await page.click('#save-settings');
  await page.waitForFunction(() => /^saved/.test(document.getElementById('status')!.textContent ?? ''));
});

afterAll(async () => {
  await browser?.close();
  await env?.dispose();
  files?.close();
  rmSync(out, { recursive: true, force: true });
});

const type = (id: string, text: string) => page.evaluate(([i, t]) => ((document.getElementById(i!) as unknown as { value: string }).value = t!), [id, text]);
const choose = (id: string, index: number) => page.evaluate(([i, n]) => (document.getElementById(i as string) as unknown as { choose(n: number): void }).choose(n as number), [id, index]);

const state = () => page.evaluate(() => {
  const doc = (window as unknown as { doc: { layersState: { name: string }[]; history: string[] } }).doc;
  return { layers: doc.layersState.map((l) => l.name), history: [...doc.history], leaks: (window as unknown as { ps: { live: Set<unknown> } }).ps.live.size };
});

/** Clicks `button` and returns the status line once the run has ended, well or not. */
async function press(button = '#generate'): Promise<string> {
  await page.evaluate(() => Object.assign(document.getElementById('status')!, { textContent: '', className: '' }));
  await page.click(button);
  await page.waitForFunction(() => {
    const status = document.getElementById('status')!;
    return status.className === 'error' || /^(added|cancelled)/.test(status.textContent ?? '');
  });
  return (await page.textContent('#status'))!;
}

describe('Photoshop panel bundle in Chromium', () => {
  it('keeps the token in secureStorage, not localStorage, and never in a password field', async () => {
    expect(await page.evaluate(() => [localStorage.getItem('kirie.url'), localStorage.getItem('kirie.token')])).toEqual([env.bridge.url, null]);
    expect(await page.evaluate(() => document.querySelectorAll('[type=password]').length)).toBe(0);
    const stored = await page.evaluate(async () => [...(await (window as unknown as { uxp: { secureStorage: { getItem(k: string): Promise<Uint8Array> } } }).uxp.secureStorage.getItem('kirie.token'))]);
    expect(new TextDecoder().decode(Uint8Array.from(stored))).toBe(env.bridge.token);
  });

  it('fill selection with a style: one new layer, one history step, named with prompt and seed', async () => {
    await choose('style', 1 + 2);
    await type('prompt', 'a fish');
    await type('steps', '3');
    expect(await press()).toMatch(/^added "Kirie · .* · seed \d+"$/);
    const { layers, history, leaks } = await state();
    expect(layers).toHaveLength(2);
    expect(history).toEqual(['Open', layers[1]]);
    expect(leaks).toBe(0);
    expect(await page.$eval('#preview', (img) => (img as HTMLImageElement).src)).toMatch(/^data:image\/png;base64,/);
    expect(env.runner.jobs.at(-1)!.input.request).toMatchObject({ steps: 3 });
  });

  it('a bad field is named and nothing changes', async () => {
    await type('steps', '0');
    expect(await press()).toMatch(/steps must be a whole number from 1 to 150, got "0"/);
    await type('steps', '3');
    expect((await state()).layers).toHaveLength(2);
  });

  it('Use recipe: a pasted A1111 text fills the form, names what it cannot carry, and its settings go with the request', async () => {
    await choose('style', 0);
    await type('recipe', '(fox:1.2) in snow\nNegative prompt: blurry\nSteps: 3, Sampler: Euler a, CFG scale: 5, Seed: 77, Size: 512x768, Emphasis: No norm, Hires upscaler: Latent');
    await page.click('#use-recipe');
    expect(await page.textContent('#status')).toMatch(/^recipe used; not carried over: Hires upscaler: Latent; Size 512x768: the selection's size is used; Sampler Euler a \(Automatic\): /);
    expect(await page.evaluate(() => ['prompt', 'negative', 'steps', 'seed'].map((id) => (document.getElementById(id) as unknown as { value: string }).value))).toEqual(['(fox:1.2) in snow', 'blurry', '3', '77']);
    expect(await press()).toMatch(/^added "Kirie · .* · seed 77"$/);
    expect(env.runner.jobs.at(-1)!.input.request).toMatchObject({ prompt: '(fox:1.2) in snow', negativePrompt: 'blurry', steps: 3, seed: 77, guidance: 5, promptSyntax: 'a1111', emphasis: 'No norm' });
  });

  it('pose fill: picks a pose JSON through UXP storage and sends it to the OpenPose ControlNet', async () => {
    await choose('mode', 2);
    expect(await page.isVisible('#pose-row')).toBe(true);
    expect(await page.isVisible('#photo-row')).toBe(false);
    await page.click('#pick-pose');
    await page.waitForFunction(() => document.getElementById('pose-name')!.textContent === 'dancer.json');
    await choose('style', 0);
    await type('prompt', 'a dancer');
    expect(await press()).toMatch(/^added "Kirie · a dancer/);
    expect(env.runner.jobs.at(-1)!.input.request.control[0]).toMatchObject({ model: 'control_v11p_sd15_openpose.safetensors' });
    const control = env.runner.jobs.at(-1)!.input;
    expect(decodePng(new Uint8Array(readFileSync(control.imagePaths[control.request.initImage!]!))).width).toBe(control.request.width);
  });

  it("the bridge's LoRA: a style in the list, weight and text-encoder sliders at its preferred weight; a fill sends the LoRA as set and the embedding as clicked", async () => {
    const styleNames = await page.$$eval('#style-menu sp-menu-item', (items) => items.map((i) => i.textContent));
    expect(styleNames).toContain(`${TEST_LORA.name} (LoRA)`);
    const sliders = () => page.$$eval('#lora-list sp-slider', (all) => all.map((s) => (s as unknown as { value: string }).value));
    expect(await sliders()).toEqual([String(TEST_LORA.preferredWeight * 100), String(TEST_LORA.preferredWeight * 100)]);
    await choose('mode', 0);
    await choose('style', 0);
    await type('prompt', 'a fish');
    await type('negative', '');
    // The embedding buttons add its name to the prompt and to the negative prompt.
    await page.click(`#embeddings sp-action-button[title="add ${TEST_EMBEDDING} to the prompt"]`);
    await page.click(`#embeddings sp-action-button[title="add ${TEST_EMBEDDING} to the negative prompt"]`);
    const setSlider = (index: number, value: string) =>
      page.$$eval('#lora-list sp-slider', (all, [i, v]) => {
        const s = all[i as number] as unknown as HTMLInputElement;
        s.value = v as string;
        s.dispatchEvent(new Event('input'));
      }, [index, value] as const);
    // The text-encoder slider follows the weight until it is moved itself.
    await setSlider(0, '90');
    expect(await sliders()).toEqual(['90', '90']);
    await setSlider(1, '50');
    await setSlider(0, '100');
    expect(await sliders()).toEqual(['100', '50']);
    await page.click('#lora-list sp-checkbox');
    expect(await press()).toMatch(/^added/);
    expect(env.runner.jobs.at(-1)!.input.request).toMatchObject({ prompt: `a fish, ${TEST_EMBEDDING}`, negativePrompt: TEST_EMBEDDING, loras: [{ name: TEST_LORA.name, weight: 1, textEncoderWeight: 0.5 }] });
    await page.click('#lora-list sp-checkbox');
    await type('negative', '');
  });

  it('Fast: the fill carries DeepCache and the choice is kept; pose modes switch it off and say why', async () => {
    await choose('mode', 0);
    await choose('style', 0);
    await type('prompt', 'a fish');
    await page.click('#fast');
    expect(await press()).toMatch(/^added/);
    expect(env.runner.jobs.at(-1)!.input.request.acceleration).toEqual({ deepCache: { interval: 3, branch: 0 } });
    expect(await page.evaluate(() => localStorage.getItem('kirie.fast'))).toBe('true');
    await choose('mode', 2);
    expect(await page.$eval('#fast', (el) => [el.hasAttribute('disabled'), el.getAttribute('title')])).toEqual([true, expect.stringMatching(/cannot be combined with a pose guide/)]);
    expect(await press()).toMatch(/^added "Kirie · a fish/);
    expect(env.runner.jobs.at(-1)!.input.request.acceleration).toBeUndefined();
    await choose('mode', 0);
    expect(await page.$eval('#fast', (el) => [el.hasAttribute('disabled'), el.hasAttribute('title')])).toEqual([false, false]);
    await page.click('#fast');
    expect(await press()).toMatch(/^added/);
    expect(env.runner.jobs.at(-1)!.input.request.acceleration).toBeUndefined();
    expect(await page.evaluate(() => localStorage.getItem('kirie.fast'))).toBe('false');
  });

  it.each([
    ['dark', [0x32, 0x32, 0x32]],
    ['light', [0xe8, 0xe8, 0xe8]],
  ] as const)('the panel as Photoshop shows it, %s theme: Spectrum widgets on the host colours (test-output/)', async (scheme, background) => {
    await choose('mode', 0);
    await page.emulateMedia({ colorScheme: scheme });
    mkdirSync(SHOTS, { recursive: true });
    const png = await page.screenshot({ path: join(SHOTS, `photoshop-panel-${scheme}.png`), fullPage: true });
    const shot = decodePng(new Uint8Array(png));
    expect(shot.width).toBe(320);
    // The page takes the theme's background (the --uxp-host-background-color fallbacks), per prefers-color-scheme.
    expect([...shot.data.subarray(0, 3)]).toEqual(background);
  });
});

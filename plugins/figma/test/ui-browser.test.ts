// The built Figma UI (plugins/figma/dist/ui.html, script inlined) in headless Chromium, inside a
// sandboxed srcdoc iframe (null origin, as Figma runs it), against a bridge with a scripted runner and
// one with the real tiny model. The page around the iframe plays Figma's main thread: it answers
// read-frame, records place and notify, and sends the settings (which bridge to use).
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Frame, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodePng, encodePng } from '@kirie/core/image/png';
import { ROOT, startE2eBridge, type E2eBridge } from '../../../tests/e2e/bridge-harness.js';
import { GENERATED_RGB, type PluginBridge, startPluginBridge } from '../../shared/test/bridge.js';
import type { FrameData, PlaceRequest } from '../src/messages.js';

let bridge: E2eBridge;
let scripted: PluginBridge;
let browser: Browser;
let page: Page;
let ui: Frame;
let out: string;

function rgba(width: number, height: number, paint: (x: number, y: number) => [number, number, number, number]): Uint8Array {
  const data = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data.set(paint(x, y), (y * width + x) * 4);
  return encodePng({ width, height, channels: 4, data });
}

beforeAll(async () => {
  // The real build, into a folder of this test's own (test files run in parallel).
  out = mkdtempSync(join(tmpdir(), 'kirie-plugins-'));
  execFileSync(process.execPath, ['-e', `import('./plugins/build.mjs').then((m) => m.buildPlugins(${JSON.stringify(out)}))`], { cwd: ROOT, stdio: 'inherit' });
  const html = readFileSync(join(out, 'figma/dist/ui.html'), 'utf8');
  [bridge, scripted] = await Promise.all([startE2eBridge(), startPluginBridge()]);
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'] });
  page = await browser.newPage();
  page.on('pageerror', (err) => {
    throw err;
  });
  await page.setContent('<iframe id="plugin" sandbox="allow-scripts" style="width:320px;height:600px"></iframe>');
  await page.evaluate(
    ({ html, url, token }) => {
      const w = window as unknown as { frameData: unknown; placed: unknown[]; notes: unknown[] };
      w.placed = [];
      w.notes = [];
      const iframe = document.getElementById('plugin') as HTMLIFrameElement;
      const post = (pluginMessage: unknown) => iframe.contentWindow!.postMessage({ pluginMessage }, '*');
      window.addEventListener('message', (event) => {
        const m = (event.data as { pluginMessage: { type: string; requestId: number; place?: unknown; text?: string } }).pluginMessage;
        if (m.type === 'read-frame') post({ type: 'reply', requestId: m.requestId, ok: true, value: w.frameData });
        if (m.type === 'place') {
          w.placed.push(m.place);
          post({ type: 'reply', requestId: m.requestId, ok: true, value: { nodeId: `9:${w.placed.length}` } });
        }
        if (m.type === 'notify') w.notes.push(m.text);
      });
      (window as unknown as { useBridge: (url: string, token: string) => void }).useBridge = (url, token) => post({ type: 'settings', settings: { url, token } });
      iframe.addEventListener('load', () => {
        post({ type: 'settings', settings: { url, token } });
        post({ type: 'selection', frame: 'Card', hasMask: false, problem: null });
      });
      iframe.srcdoc = html;
    },
    { html, url: bridge.url, token: bridge.token },
  );
  ui = page.frames().find((f) => f !== page.mainFrame())!;
  await ui.waitForFunction(() => !(document.getElementById('generate') as HTMLButtonElement).disabled);
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await bridge?.dispose();
  await scripted?.dispose();
  rmSync(out, { recursive: true, force: true });
});

async function useBridge(url: string, token: string): Promise<void> {
  await page.evaluate(({ url, token }) => (window as unknown as { useBridge: (u: string, t: string) => void }).useBridge(url, token), { url, token });
  await ui.waitForFunction((u) => (document.getElementById('bridge-url') as HTMLInputElement).value === u, url);
}

async function setFrame(frame: FrameData): Promise<void> {
  await page.evaluate((f) => {
    (window as unknown as { frameData: unknown }).frameData = { ...f, png: new Uint8Array(f.png), ...(f.mask ? { mask: { ...f.mask, png: new Uint8Array(f.mask.png) } } : {}) };
  }, { ...frame, png: Array.from(frame.png), ...(frame.mask ? { mask: { ...frame.mask, png: Array.from(frame.mask.png) } } : {}) } as unknown as FrameData);
}

async function run(frame: FrameData, form: Record<string, string>): Promise<PlaceRequest> {
  await setFrame(frame);
  for (const [id, value] of Object.entries(form)) await ui.fill(`#${id}`, value);
  const before = await page.evaluate(() => (window as unknown as { placed: unknown[] }).placed.length);
  await ui.click('#generate');
  await page.waitForFunction((n) => (window as unknown as { placed: unknown[] }).placed.length > n, before, { timeout: 180_000 });
  const placed = await page.evaluate(() => {
    const p = (window as unknown as { placed: PlaceRequest[] }).placed.at(-1)!;
    return { ...p, png: Array.from(p.png) };
  });
  return { ...placed, png: new Uint8Array(placed.png) };
}

describe('Figma UI bundle in Chromium', () => {
  it('restyles a whole frame with a style preset: a patch the frame\'s size comes back to be placed', async () => {
    await useBridge(scripted.bridge.url, scripted.bridge.token);
    await ui.selectOption('#style', 'kirie');
    const png = rgba(96, 64, (x, y) => [(x * 3) % 256, (y * 4) % 256, 120, 255]);
    const placed = await run({ frameId: '1:2', name: 'Card', png }, { prompt: 'a fox', steps: '', seed: '3', strength: '' });
    expect(placed).toMatchObject({ frameId: '1:2', name: 'Kirie · paper-cut', bounds: { x: 0, y: 0, width: 96, height: 64 } });
    const image = decodePng(placed.png);
    expect([image.width, image.height, image.channels]).toEqual([96, 64, 4]);
    expect(Array.from(image.data.subarray(0, 4))).toEqual([...GENERATED_RGB, 255]);
    expect(await ui.textContent('#status')).toMatch(/added "Kirie · paper-cut" above the frame \(seed 3\)/);
    const request = scripted.runner.jobs.at(-1)!.input.request;
    expect(request.prompt).toMatch(/^a fox, paper-cut art/);
    expect([request.steps, request.strength]).toEqual([25, 0.75]);
    await ui.selectOption('#style', '');
  });

  it('cancel: the job is cancelled on the bridge, nothing is placed, the user is told', async () => {
    await useBridge(scripted.bridge.url, scripted.bridge.token);
    scripted.runner.stepMs = 300;
    try {
      await setFrame({ frameId: '1:4', name: 'Card', png: rgba(64, 64, () => [9, 9, 9, 255]) });
      await ui.fill('#prompt', 'slow');
      await ui.fill('#steps', '20');
      const before = await page.evaluate(() => (window as unknown as { placed: unknown[] }).placed.length);
      await ui.click('#generate');
      await ui.waitForFunction(() => /denoising/.test(document.getElementById('status')!.textContent ?? ''));
      await ui.click('#cancel');
      await ui.waitForFunction(() => /cancelled/.test(document.getElementById('status')!.textContent ?? ''));
      expect(await page.evaluate(() => (window as unknown as { placed: unknown[] }).placed.length)).toBe(before);
      expect(await ui.textContent('#status')).toBe('cancelled: nothing was changed');
    } finally {
      scripted.runner.stepMs = 1;
    }
  });

  it('a wrong token is reported in the panel and through figma.notify', async () => {
    await useBridge(scripted.bridge.url, 'not-the-token');
    await setFrame({ frameId: '1:5', name: 'Card', png: rgba(32, 32, () => [9, 9, 9, 255]) });
    await ui.click('#generate');
    await ui.waitForFunction(() => document.getElementById('status')!.className === 'error');
    expect(await ui.textContent('#status')).toMatch(/wrong token/);
    expect(await page.evaluate(() => (window as unknown as { notes: string[] }).notes.at(-1))).toMatch(/^Kirie: .*wrong token/);
  });

  it('real tiny model: repaints the mask shape\'s region only, transparent far from it', async () => {
    await useBridge(bridge.url, bridge.token);
    // Square, so the model works at its smallest size (512×512): the tiny model on CPU is not fast.
    const png = rgba(96, 96, () => [200, 180, 40, 255]);
    const mask = rgba(24, 20, () => [255, 0, 255, 255]);
    const placed = await run({ frameId: '1:3', name: 'Card', png, mask: { png: mask, x: 60, y: 50 } }, { prompt: 'a window', steps: '2', seed: '5', strength: '' });
    // At strength 1 the context grows to the model's minimum side, so on a small frame it is the whole frame.
    const { bounds } = placed;
    expect(bounds).toEqual({ x: 0, y: 0, width: 96, height: 96 });
    const image = decodePng(placed.png);
    const alpha = (x: number, y: number) => image.data[((y - bounds.y) * image.width + (x - bounds.x)) * 4 + 3];
    expect(alpha(72, 60)).toBe(255);
    expect(alpha(0, 0)).toBe(0);
    expect(alpha(0, 95)).toBe(0);
  }, 240_000);
});

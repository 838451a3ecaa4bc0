// The built Figma UI (plugins/figma/dist/ui.html, script inlined) in headless Chromium, inside a
// sandboxed srcdoc iframe (null origin, as Figma runs it: "Plugin iframes have a null origin",
// developers.figma.com/docs/plugins/making-network-requests), against a bridge with a scripted runner and
// one with the real tiny model. The page around the iframe plays Figma's main thread: it answers
// read-frame, records place and notify, and sends settings and selection messages.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Frame, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { decodePng, encodePng } from '@kirie/core/image/png';
import { onBridgePort } from '../../../bridge/test/server/harness.js';
import { ROOT, startE2eBridge, type E2eBridge } from '../../../tests/e2e/bridge-harness.js';
import { launchWithWebgl } from '../../../tests/e2e/chromium-webgl.js';
import { BODY_KEYPOINTS, type PoseJson } from '@kirie/core/control/openpose';
import { GENERATED_RGB, type PluginBridge, startPluginBridge, TEST_EMBEDDING, TEST_LORA } from '../../shared/test/bridge.js';
import type { FrameData, MainToUi, PlaceRequest } from '../src/messages.js';

/** Screenshots are kept here for people to look at (gitignored). */
const SHOTS = join(ROOT, 'test-output');
/**
 * A subset of the variables Figma adds to the iframe for showUI({ themeColors: true }), with its values for
 * Figma Design (developers.figma.com/docs/plugins/css-variables, the light and dark tables).
 */
const FIGMA_THEMES = {
  light: {
    '--figma-color-bg': '#ffffff', '--figma-color-bg-secondary': '#f5f5f5', '--figma-color-bg-brand': '#0d99ff', '--figma-color-bg-disabled': '#d9d9d9',
    '--figma-color-text': '#000000e5', '--figma-color-text-secondary': '#00000080', '--figma-color-text-onbrand': '#ffffff', '--figma-color-text-disabled': '#0000004d',
    '--figma-color-text-danger': '#dc3412', '--figma-color-border': '#e6e6e6', '--figma-color-border-strong': '#2c2c2c', '--figma-color-border-selected': '#0d99ff',
  },
  dark: {
    '--figma-color-bg': '#2c2c2c', '--figma-color-bg-secondary': '#383838', '--figma-color-bg-brand': '#0c8ce9', '--figma-color-bg-disabled': '#757575',
    '--figma-color-text': '#ffffff', '--figma-color-text-secondary': '#ffffffb2', '--figma-color-text-onbrand': '#ffffff', '--figma-color-text-disabled': '#ffffff66',
    '--figma-color-text-danger': '#fca397', '--figma-color-border': '#444444', '--figma-color-border-strong': '#ffffff', '--figma-color-border-selected': '#0c8ce9',
  },
};
const THEME_RGB = {
  light: { bg: 'rgb(255, 255, 255)', text: 'rgba(0, 0, 0, 0.898)', primary: 'rgb(13, 153, 255)' },
  dark: { bg: 'rgb(44, 44, 44)', text: 'rgb(255, 255, 255)', primary: 'rgb(12, 140, 233)' },
};

let bridge: E2eBridge;
let scripted: PluginBridge;
let browser: Browser;
let page: Page;
let ui: Frame;
let out: string;
let html: string;
const pageErrors: string[] = [];

function rgba(width: number, height: number, paint: (x: number, y: number) => [number, number, number, number]): Uint8Array {
  const data = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data.set(paint(x, y), (y * width + x) * 4);
  return encodePng({ width, height, channels: 4, data });
}

/** Mounts the UI into the page's #plugin iframe the way Figma does, with the page playing the main thread. */
async function mountPlugin(page: Page, settings: { url: string; token: string }): Promise<Frame> {
  page.setDefaultTimeout(30_000);
  // Recorded, not thrown: a throw inside Playwright's event dispatch wedges its connection.
  page.on('pageerror', (err) => void pageErrors.push(err.message));
  await page.evaluate(
    ({ html, url, token }) => {
      const w = window as unknown as { frameData: unknown; placed: unknown[]; notes: unknown[]; reads: unknown[]; prefs: unknown[]; toUi: (m: unknown) => void };
      Object.assign(w, { placed: [], notes: [], reads: [], prefs: [] });
      const iframe = document.getElementById('plugin') as HTMLIFrameElement;
      const post = (pluginMessage: unknown) => iframe.contentWindow!.postMessage({ pluginMessage }, '*');
      w.toUi = post;
      window.addEventListener('message', (event) => {
        const m = (event.data as { pluginMessage: { type: string; requestId: number; place?: unknown; text?: string; frameId?: string } }).pluginMessage;
        if (m.type === 'read-frame') {
          w.reads.push(m.frameId ?? null);
          post({ type: 'reply', requestId: m.requestId, ok: true, value: w.frameData });
        }
        if (m.type === 'place') {
          w.placed.push(m.place);
          post({ type: 'reply', requestId: m.requestId, ok: true, value: { nodeId: `9:${w.placed.length}` } });
        }
        if (m.type === 'notify') w.notes.push(m.text);
        if (m.type === 'save-prefs') {
          w.prefs.push((m as unknown as { prefs: unknown }).prefs);
          post({ type: 'reply', requestId: m.requestId, ok: true, value: undefined });
        }
      });
      iframe.addEventListener('load', () => {
        post({ type: 'settings', settings: { url, token } });
        post({ type: 'selection', frame: 'Card', hasMask: false, problem: null, recipe: null });
      });
      iframe.srcdoc = html;
    },
    { html, ...settings },
  );
  const frame = page.frames().find((f) => f !== page.mainFrame())!;
  await frame.waitForFunction(() => document.getElementById('generate') !== null && !(document.getElementById('generate') as HTMLButtonElement).disabled);
  return frame;
}

const IFRAME = '<iframe id="plugin" sandbox="allow-scripts" style="width:320px;height:640px;border:0"></iframe>';

beforeAll(async () => {
  // The real build, into a folder of this test's own (test files run in parallel).
  out = mkdtempSync(join(tmpdir(), 'kirie-plugins-'));
  execFileSync(process.execPath, ['-e', `import('./plugins/build.mjs').then((m) => m.buildPlugins(${JSON.stringify(out)}))`], { cwd: ROOT, stdio: 'inherit' });
  html = readFileSync(join(out, 'figma/dist/ui.html'), 'utf8');
  [bridge, scripted] = await Promise.all([startE2eBridge({ portInRange: true }), startPluginBridge({ portInRange: true, adapters: true })]);
  browser = await launchWithWebgl();
  page = await browser.newPage();
  await page.setContent(IFRAME);
  ui = await mountPlugin(page, { url: bridge.url, token: bridge.token });
}, 240_000);

afterEach(() => {
  expect(pageErrors.splice(0)).toEqual([]);
});

afterAll(async () => {
  await browser?.close();
  await bridge?.dispose();
  await scripted?.dispose();
  rmSync(out, { recursive: true, force: true });
});

async function toUi(message: MainToUi): Promise<void> {
  await page.evaluate((m) => (window as unknown as { toUi: (m: unknown) => void }).toUi(m), message);
}

async function useBridge(url: string, token: string): Promise<void> {
  await toUi({ type: 'settings', settings: { url, token } });
  await ui.waitForFunction((u) => (document.getElementById('bridge-url') as HTMLInputElement).value === u, url);
}

async function setFrame(frame: FrameData): Promise<void> {
  await page.evaluate((f) => {
    (window as unknown as { frameData: unknown }).frameData = { ...f, png: new Uint8Array(f.png), ...(f.mask ? { mask: { ...f.mask, png: new Uint8Array(f.mask.png) } } : {}) };
  }, { ...frame, png: Array.from(frame.png), ...(frame.mask ? { mask: { ...frame.mask, png: Array.from(frame.mask.png) } } : {}) } as unknown as FrameData);
}

const placedCount = () => page.evaluate(() => (window as unknown as { placed: unknown[] }).placed.length);

async function run(frame: FrameData, form: Record<string, string>): Promise<PlaceRequest> {
  await setFrame(frame);
  for (const [id, value] of Object.entries(form)) await ui.fill(`#${id}`, value);
  const before = await placedCount();
  await ui.click('#generate');
  await page.waitForFunction((n) => (window as unknown as { placed: unknown[] }).placed.length > n, before, { timeout: 180_000 });
  const placed = await page.evaluate(() => {
    const p = (window as unknown as { placed: PlaceRequest[] }).placed.at(-1)!;
    return { ...p, png: Array.from(p.png) };
  });
  return { ...placed, png: new Uint8Array(placed.png) };
}

/** The user opens the Bridge section (if it is closed) and presses Check. */
async function pressCheck(frame: Frame): Promise<void> {
  if (!(await frame.isVisible('#check-bridge'))) await frame.click('#bridge > summary');
  await frame.click('#check-bridge');
}

const statusIsError = (frame = ui) => frame.waitForFunction(() => document.getElementById('status')!.className === 'error', undefined, { timeout: 30_000 });
const ORIGIN = { x: 0, y: 0 };

describe('Figma UI bundle in Chromium', () => {
  it('restyles a whole frame with a style preset: a patch the frame\'s size comes back to be placed, with its recipe', async () => {
    await useBridge(scripted.bridge.url, scripted.bridge.token);
    await ui.selectOption('#style', 'kirie');
    const png = rgba(96, 64, (x, y) => [(x * 3) % 256, (y * 4) % 256, 120, 255]);
    const placed = await run({ frameId: '1:2', name: 'Card', png, origin: ORIGIN }, { prompt: 'a fox', steps: '', seed: '3', strength: '' });
    expect(placed).toMatchObject({ frameId: '1:2', name: 'Kirie · paper-cut · seed 3', bounds: { x: 0, y: 0, width: 96, height: 64 } });
    expect(JSON.parse(placed.recipe)).toEqual({ kirie: 1, frameId: '1:2', mode: 'style', options: { prompt: 'a fox', style: 'kirie', seed: 3, colorMatch: true } });
    const image = decodePng(placed.png);
    expect([image.width, image.height, image.channels]).toEqual([96, 64, 4]);
    expect(Array.from(image.data.subarray(0, 4))).toEqual([...GENERATED_RGB, 255]);
    expect(await ui.textContent('#status')).toBe('added "Kirie · paper-cut · seed 3" above the frame');
    const request = scripted.runner.jobs.at(-1)!.input.request;
    expect(request.prompt).toMatch(/^a fox, paper-cut art/);
    expect([request.steps, request.strength]).toEqual([25, 0.75]);
    await ui.selectOption('#style', '');
  });

  it("the bridge's LoRA: a style in the list, weight and text-encoder sliders at its preferred weight; a restyle sends the LoRA as set and the embedding as clicked", async () => {
    // Rows from earlier tests' settings go first: the ones this waits for come from this bridge's answer.
    await ui.evaluate(() => (document.getElementById('lora-list')!.textContent = ''));
    await useBridge(scripted.bridge.url, scripted.bridge.token);
    const slider = '#lora-list input[type=range]';
    await ui.waitForSelector(slider);
    expect(await ui.$$eval('#style option', (options) => options.map((o) => (o as HTMLOptionElement).value))).toContain(`lora:${TEST_LORA.name}`);
    await ui.fill('#prompt', 'a fox');
    await ui.click(`#embeddings button[title="add ${TEST_EMBEDDING} to the prompt"]`);
    expect(await ui.inputValue('#prompt')).toBe(`a fox, ${TEST_EMBEDDING}`);
    const values = () => ui.$$eval(slider, (all) => all.map((s) => (s as HTMLInputElement).value));
    expect(await values()).toEqual([String(TEST_LORA.preferredWeight * 100), String(TEST_LORA.preferredWeight * 100)]);
    // The text-encoder slider follows the weight until it is moved itself.
    await ui.locator(slider).nth(0).fill('90');
    expect(await values()).toEqual(['90', '90']);
    await ui.locator(slider).nth(1).fill('40');
    await ui.check('#lora-list input[type=checkbox]');
    const placed = await run({ frameId: '1:2', name: 'Card', png: rgba(64, 64, () => [10, 20, 30, 255]), origin: ORIGIN }, { prompt: `a fox, ${TEST_EMBEDDING}`, steps: '3', seed: '', strength: '' });
    const loras = [{ name: TEST_LORA.name, weight: 0.9, textEncoderWeight: 0.4 }];
    expect(scripted.runner.jobs.at(-1)!.input.request).toMatchObject({ prompt: `a fox, ${TEST_EMBEDDING}`, loras });
    expect(JSON.parse(placed.recipe).options).toMatchObject({ loras });
    await ui.uncheck('#lora-list input[type=checkbox]');
    await ui.fill('#steps', '');
  });

  it('Fast: the stored choice is shown, a change is kept through main, and the restyle and its recipe carry DeepCache', async () => {
    await useBridge(scripted.bridge.url, scripted.bridge.token);
    await toUi({ type: 'prefs', prefs: { fast: true } });
    await ui.waitForFunction(() => (document.getElementById('fast') as HTMLInputElement).checked);
    const png = rgba(96, 64, () => [90, 90, 90, 255]);
    const placed = await run({ frameId: '1:2', name: 'Card', png, origin: ORIGIN }, { prompt: 'a fox', steps: '3', seed: '4', strength: '' });
    expect(scripted.runner.jobs.at(-1)!.input.request.acceleration).toEqual({ deepCache: { interval: 3, branch: 0 } });
    expect(JSON.parse(placed.recipe).options.fast).toBe(true);
    await ui.click('#fast');
    await page.waitForFunction(() => (window as unknown as { prefs: unknown[] }).prefs.length > 0);
    expect(await page.evaluate(() => (window as unknown as { prefs: unknown[] }).prefs.at(-1))).toEqual({ fast: false });
    await run({ frameId: '1:2', name: 'Card', png, origin: ORIGIN }, { prompt: 'a fox', steps: '3', seed: '4', strength: '' });
    expect(scripted.runner.jobs.at(-1)!.input.request.acceleration).toBeUndefined();
    await ui.fill('#steps', '');
  });

  it('Use recipe: a pasted A1111 text fills the form, names what it cannot carry, and its settings go with the request and the layer\'s recipe', async () => {
    await useBridge(scripted.bridge.url, scripted.bridge.token);
    await ui.fill('#recipe', '(fox:1.2) in snow\nNegative prompt: blurry\nSteps: 3, Sampler: Euler a, CFG scale: 5, Seed: 77, Size: 512x768, Emphasis: No norm, ADetailer model: face_yolov8n.pt');
    await ui.click('#use-recipe');
    expect(await ui.textContent('#status')).toMatch(/^recipe used; not carried over: ADetailer model: face_yolov8n\.pt; Size 512x768: the selection's size is used; Sampler Euler a \(Automatic\): /);
    expect(await ui.evaluate(() => ['prompt', 'steps', 'seed'].map((id) => (document.getElementById(id) as HTMLInputElement).value))).toEqual(['(fox:1.2) in snow', '3', '77']);
    const placed = await run({ frameId: '1:2', name: 'Card', png: rgba(64, 64, () => [10, 20, 30, 255]), origin: ORIGIN }, {});
    const settings = { guidance: 5, promptSyntax: 'a1111', emphasis: 'No norm' };
    expect(scripted.runner.jobs.at(-1)!.input.request).toMatchObject({ prompt: '(fox:1.2) in snow', negativePrompt: 'blurry', steps: 3, seed: 77, ...settings });
    // Remake carries them: they are in the layer's recipe.
    expect(JSON.parse(placed.recipe).options).toMatchObject({ negativePrompt: 'blurry', recipe: settings });
  });

  it('cancel: the job is cancelled on the bridge, nothing is placed, the user is told', async () => {
    await useBridge(scripted.bridge.url, scripted.bridge.token);
    scripted.runner.stepMs = 300;
    try {
      await setFrame({ frameId: '1:4', name: 'Card', png: rgba(64, 64, () => [9, 9, 9, 255]), origin: ORIGIN });
      await ui.fill('#prompt', 'slow');
      await ui.fill('#steps', '20');
      const before = await placedCount();
      await ui.click('#generate');
      await ui.waitForFunction(() => /denoising/.test(document.getElementById('status')!.textContent ?? ''));
      await ui.click('#cancel');
      await ui.waitForFunction(() => /cancelled/.test(document.getElementById('status')!.textContent ?? ''));
      expect(await placedCount()).toBe(before);
      expect(await ui.textContent('#status')).toBe('cancelled: nothing was changed');
    } finally {
      scripted.runner.stepMs = 1;
    }
  });

  it('a wrong token: the panel says how to get the right one, also through figma.notify', async () => {
    await useBridge(scripted.bridge.url, 'not-the-token');
    await setFrame({ frameId: '1:5', name: 'Card', png: rgba(32, 32, () => [9, 9, 9, 255]), origin: ORIGIN });
    await ui.click('#generate');
    await statusIsError();
    const told = `The bridge at ${scripted.bridge.url} refused the token. Press Pair with bridge, or run \`npx kirie token\` in a terminal, paste what it prints into Bridge → Token, and press Save.`;
    expect(await ui.textContent('#status')).toBe(told);
    expect(await page.evaluate(() => (window as unknown as { notes: string[] }).notes.at(-1))).toBe(`Kirie: ${told}`);
    expect(await ui.evaluate(() => (document.getElementById('bridge') as HTMLDetailsElement).open)).toBe(true);
  });

  it('no bridge running: Check says to start it, and what Figma in a browser may need; then Check connects', async () => {
    // Nothing that speaks HTTP on a port the panel accepts: every connection is dropped at once.
    const dead = await onBridgePort((p) => new Promise<Server>((resolve, reject) => {
      const server = createServer().on('connection', (socket) => socket.destroy()).once('error', reject);
      server.listen(p, '127.0.0.1', () => resolve(server));
    }));
    const port = (dead.address() as AddressInfo).port;
    const url = `http://127.0.0.1:${port}`;
    await useBridge(url, scripted.bridge.token);
    await pressCheck(ui);
    await statusIsError();
    const text = (await ui.textContent('#status'))!;
    expect(text.startsWith(`No Kirie bridge answers at ${url}. Start it in a terminal with \`npx kirie serve\` and leave that window open, then press Check.`)).toBe(true);
    // A sandboxed iframe reads the local-network permission as denied: the panel cannot rule the browser out.
    expect(text).toContain('If it is running, the browser is blocking the plugin from reaching this computer (local network access). Figma in a browser: allow figma.com "Apps on device"');
    await useBridge(scripted.bridge.url, scripted.bridge.token);
    await pressCheck(ui);
    await ui.waitForFunction(() => /^connected: the bridge has \d+ model/.test(document.getElementById('status')!.textContent ?? ''));
    await new Promise((r) => dead.close(r));
  });

  it('a selected Kirie result: Remake reads the recipe\'s frame and repeats its seed; Variations takes a new one', async () => {
    await useBridge(scripted.bridge.url, scripted.bridge.token);
    const recipe = JSON.stringify({ kirie: 1, frameId: '7:7', mode: 'style', options: { prompt: 'a kite', steps: 2, seed: 4242 } });
    await setFrame({ frameId: '7:7', name: 'Card', png: rgba(48, 48, () => [9, 90, 9, 255]), origin: ORIGIN });
    await toUi({ type: 'selection', frame: null, hasMask: false, problem: null, recipe });
    await ui.waitForFunction(() => !(document.getElementById('remake') as HTMLButtonElement).disabled);
    expect(await ui.isDisabled('#generate')).toBe(true);
    expect(await ui.isDisabled('#variations')).toBe(false);
    const before = await placedCount();
    await ui.click('#remake');
    await page.waitForFunction((n) => (window as unknown as { placed: unknown[] }).placed.length > n, before);
    await ui.waitForFunction(() => !(document.getElementById('variations') as HTMLButtonElement).disabled);
    await ui.click('#variations');
    await page.waitForFunction((n) => (window as unknown as { placed: unknown[] }).placed.length > n + 1, before);
    const seeds = await page.evaluate(() => (window as unknown as { placed: PlaceRequest[] }).placed.slice(-2).map((p) => (JSON.parse(p.recipe) as { options: { seed: number } }).options.seed));
    expect(seeds[0]).toBe(4242);
    expect(seeds[1]).not.toBe(4242);
    expect(await page.evaluate(() => (window as unknown as { reads: unknown[] }).reads.slice(-2))).toEqual(['7:7', '7:7']);
    expect(scripted.runner.jobs.at(-1)!.input.request.prompt).toBe('a kite');
    await toUi({ type: 'selection', frame: 'Card', hasMask: false, problem: null, recipe: null });
  });

  it('Figma\'s light and dark themes: the UI takes its colours from the --figma-color-* variables (screenshots in test-output/)', async () => {
    mkdirSync(SHOTS, { recursive: true });
    await ui.evaluate(() => {
      (document.getElementById('bridge') as HTMLDetailsElement).open = false;
      window.scrollTo(0, 0);
    });
    for (const [theme, vars] of Object.entries(FIGMA_THEMES)) {
      await ui.evaluate(
        ({ theme, vars }) => {
          // What Figma does for themeColors: true: a figma-light/figma-dark class on <html>, the variables in a style.
          document.documentElement.className = `figma-${theme}`;
          let style = document.getElementById('figma-style');
          if (!style) {
            style = document.createElement('style');
            style.id = 'figma-style';
            document.head.prepend(style);
          }
          style.textContent = `:root { ${Object.entries(vars).map(([k, v]) => `${k}: ${v};`).join(' ')} }`;
        },
        { theme, vars },
      );
      const colours = await ui.evaluate(() => ({
        bg: getComputedStyle(document.body).backgroundColor,
        text: getComputedStyle(document.body).color,
        primary: getComputedStyle(document.getElementById('generate')!).backgroundColor,
      }));
      expect(colours).toEqual(THEME_RGB[theme as keyof typeof THEME_RGB]);
      await page.locator('#plugin').screenshot({ path: join(SHOTS, `figma-ui-${theme}.png`) });
    }
  });

  it('real tiny model: repaints the mask shape\'s region only, transparent far from it', async () => {
    await useBridge(bridge.url, bridge.token);
    // Square, so the model works at its smallest size (512×512): the tiny model on CPU is not fast.
    const png = rgba(96, 96, () => [200, 180, 40, 255]);
    const mask = rgba(24, 20, () => [255, 0, 255, 255]);
    const placed = await run({ frameId: '1:3', name: 'Card', png, origin: ORIGIN, mask: { png: mask, x: 60, y: 50 } }, { prompt: 'a window', steps: '2', seed: '5', strength: '' });
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

describe('Figma in a browser: Chrome\'s Local Network Access', () => {
  let host: Server;
  let lnaBrowser: Browser;

  beforeAll(async () => {
    // figma.com is a public site: serve the page around the plugin from an address Chromium is told is public,
    // so the iframe's request to the bridge on 127.0.0.1 crosses into the loopback address space.
    host = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end(`<!doctype html>${IFRAME}`));
    await new Promise<void>((r) => host.listen(0, '127.0.0.1', r));
    const hostPort = (host.address() as AddressInfo).port;
    lnaBrowser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', `--ip-address-space-overrides=127.0.0.1:${hostPort}=public`] });
  }, 60_000);

  afterAll(async () => {
    await lnaBrowser?.close();
    await new Promise((r) => host?.close(r));
  });

  it('a refused local-network request (the bridge runs): the panel says what to allow in the browser, or to use the desktop app', async () => {
    const lnaPage = await lnaBrowser.newPage();
    await lnaPage.goto(`http://127.0.0.1:${(host.address() as AddressInfo).port}/`);
    const frame = await mountPlugin(lnaPage, { url: scripted.bridge.url, token: scripted.bridge.token });
    await pressCheck(frame);
    await statusIsError(frame);
    const text = (await frame.textContent('#status'))!;
    expect(text).toContain('the browser is blocking the plugin from reaching this computer (local network access). Figma in a browser: allow figma.com "Apps on device"');
    expect(text).toMatch(/or use the Figma desktop app\.$/);
    // The same bridge answers the same panel on a page that is not public: it was the browser that refused.
    await pressCheck(ui);
    await ui.waitForFunction(() => /^connected/.test(document.getElementById('status')!.textContent ?? ''));
  }, 60_000);
});

describe('3-D mannequin in the Figma UI (WebGL on SwiftShader)', () => {
  let posing: PluginBridge;
  const FRAME = { frameId: '5:1', name: 'Stage', png: rgba(96, 144, () => [220, 210, 190, 255]), origin: ORIGIN };
  const poseText = async () => JSON.parse(await ui.inputValue('#mannequin .mannequin-json')) as PoseJson;
  const wrist = (pose: PoseJson) => pose.people[0]!.pose_keypoints_2d.slice(3 * BODY_KEYPOINTS.indexOf('left_wrist'), 3 * BODY_KEYPOINTS.indexOf('left_wrist') + 2);

  /** The next skeleton the UI asks the main thread to place, answered as placed. */
  const nextAddPose = () => page.evaluate(() => new Promise<unknown>((resolve) => {
    window.addEventListener('message', function listen(event) {
      const m = (event.data as { pluginMessage: { type: string; requestId: number; skeleton: { people: unknown[] } } }).pluginMessage;
      if (m.type !== 'add-pose') return;
      window.removeEventListener('message', listen);
      (window as unknown as { toUi: (m: unknown) => void }).toUi({ type: 'reply', requestId: m.requestId, ok: true, value: { people: m.skeleton.people.length } });
      resolve(m.skeleton);
    });
  })) as Promise<{ width: number; height: number; people: { joints: { name: string; x: number; y: number }[] }[] }>;

  beforeAll(async () => {
    posing = await startPluginBridge({ portInRange: true, openpose: true });
  }, 60_000);
  afterAll(() => posing?.dispose());

  it('opens at the frame\'s aspect, takes a preset and a drag, places the pose as joints, fills with it; Remake reopens the scene', async () => {
    await useBridge(posing.bridge.url, posing.bridge.token);
    await setFrame(FRAME);
    await ui.click('#pose > summary');
    await ui.click('#mannequin-section > summary');
    await ui.waitForSelector('#mannequin canvas.mannequin-view');
    // The frame's 96×144 export: a 2:3 viewport and control image.
    await ui.waitForFunction(() => (document.querySelector('#mannequin canvas.mannequin-control') as HTMLCanvasElement).height === 144);
    // The panel is 640 px high: the viewport is below the form until scrolled to.
    await ui.locator('#mannequin canvas.mannequin-view').scrollIntoViewIfNeeded();
    const box = (await ui.locator('#mannequin canvas.mannequin-view').boundingBox())!;
    expect(box.height / box.width).toBeCloseTo(1.5, 2);

    const standing = await poseText();
    await ui.selectOption('#mannequin select.mannequin-preset', 'running');
    expect(wrist(await poseText())).not.toEqual(wrist(standing));
    await ui.click('#mannequin button[data-action="undo"]');
    expect(await poseText()).toEqual(standing);
    // The elbow's ball, dragged up and out, raises the arm with it (the ball sits where its keypoint says).
    const [ex, ey] = standing.people[0]!.pose_keypoints_2d.slice(3 * BODY_KEYPOINTS.indexOf('left_elbow'), 3 * BODY_KEYPOINTS.indexOf('left_elbow') + 2);
    const start = [box.x + (ex! / 96) * box.width, box.y + (ey! / 144) * box.height] as const;
    await page.mouse.move(...start);
    await page.mouse.down();
    await page.mouse.move(start[0] + 30, start[1] - 40, { steps: 5 });
    await page.mouse.up();
    const posed = await poseText();
    expect(wrist(posed)[1]).toBeLessThan(wrist(standing)[1]! - 2);
    await page.locator('#plugin').screenshot({ path: join(SHOTS, 'figma-ui-mannequin.png') });

    // Place as joints: the main thread gets the skeleton to draw as nodes.
    const placedPose = nextAddPose();
    await ui.click('#mannequin-place');
    const skeleton = await placedPose;
    expect([skeleton.width, skeleton.height]).toEqual([96, 144]);
    const placedWrist = skeleton.people[0]!.joints.find((j) => j.name === 'left_wrist')!;
    expect([placedWrist.x, placedWrist.y]).toEqual(wrist(posed));

    // Mannequin fill: the bridge gets the pose, the placed layer's recipe keeps the scene.
    const before = await placedCount();
    await ui.fill('#prompt', 'a dancer');
    await ui.click('#mannequin-fill');
    await page.waitForFunction((n) => (window as unknown as { placed: unknown[] }).placed.length > n, before);
    const recipe = await page.evaluate(() => (window as unknown as { placed: PlaceRequest[] }).placed.at(-1)!.recipe);
    const sent = posing.runner.jobs.at(-1)!.input.request.control![0]!.pose as PoseJson;
    const [sx, sy] = wrist(sent);
    expect(sx! * (96 / sent.canvas_width)).toBeCloseTo(wrist(posed)[0]!, 6);
    expect(sy! * (144 / sent.canvas_height)).toBeCloseTo(wrist(posed)[1]!, 6);
    expect(JSON.parse(recipe).mannequin.figures).toHaveLength(1);

    // Another preset, then Remake of the result: the stored scene is back in the editor.
    await ui.selectOption('#mannequin select.mannequin-preset', 'lying');
    await toUi({ type: 'selection', frame: null, hasMask: false, problem: null, recipe });
    await ui.waitForFunction(() => !(document.getElementById('remake') as HTMLButtonElement).disabled);
    await ui.click('#remake');
    await page.waitForFunction((n) => (window as unknown as { placed: unknown[] }).placed.length > n + 1, before);
    expect(await poseText()).toEqual(posed);
    await toUi({ type: 'selection', frame: 'Card', hasMask: false, problem: null, recipe: null });
  }, 120_000);

  it('Detect pose from image: the bridge finds the person in a photo, who lands on the frame as joints; a photo of nobody is told', async () => {
    await useBridge(posing.bridge.url, posing.bridge.token);
    const placed = nextAddPose();
    await ui.setInputFiles('#pose-photo', join(ROOT, 'bridge/test/control/fixtures/astronaut.png'));
    const skeleton = await placed;
    const photo = decodePng(readFileSync(join(ROOT, 'bridge/test/control/fixtures/astronaut.png')));
    expect([skeleton.width, skeleton.height]).toEqual([photo.width, photo.height]);
    expect(skeleton.people.length).toBeGreaterThanOrEqual(1);
    const nose = skeleton.people[0]!.joints.find((j) => j.name === 'nose')!;
    expect(nose.x > 0 && nose.x < photo.width && nose.y > 0 && nose.y < photo.height).toBe(true);
    await ui.waitForFunction(() => /^added a pose/.test(document.getElementById('status')!.textContent ?? ''));
    await ui.setInputFiles('#pose-photo', { name: 'wall.png', mimeType: 'image/png', buffer: Buffer.from(rgba(64, 64, () => [128, 128, 128, 255])) });
    await ui.waitForFunction(() => /^nobody found in wall\.png/.test(document.getElementById('status')!.textContent ?? ''));
  }, 90_000);
});

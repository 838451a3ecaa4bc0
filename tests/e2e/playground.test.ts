// The playground in real headless Chromium against a real bridge (tiny model): connect with the token
// from the URL fragment, generate with live progress, paint a mask over an opened image, guide with a
// pose through the tiny ControlNet, cancel.
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodePng } from '@kirie/core/image/png';
import { STYLE_PRESETS } from '@kirie/core/styles/presets';
import { addTinyModel, DEMO, ROOT, startE2eBridge, type E2eBridge } from './bridge-harness.js';

let bridge: E2eBridge;
let browser: Browser;
let page: Page;
/** What the browser refused under the playground's Content-Security-Policy, over every flow below. */
const refusedByPolicy: string[] = [];

beforeAll(async () => {
  bridge = await startE2eBridge({ playground: true });
  // Listed before the page connects, so the Control section shows; its YAML sidecar says it is tiny.
  await addTinyModel(bridge.modelsDir, 'tiny-controlnet', 'tiny-pose');
  // A LoRA whose sidecar says something that must stay text.
  await mkdir(join(bridge.modelsDir, 'loras'));
  await copyFile(join(ROOT, 'tests/golden/tiny-sd15/tiny-lora-kohya.safetensors'), join(bridge.modelsDir, 'loras', 'paper-cut.safetensors'));
  await writeFile(join(bridge.modelsDir, 'loras', 'paper-cut.json'), JSON.stringify({ 'activation text': '<b>papercut</b>' }));
  await mkdir(join(bridge.modelsDir, 'embeddings'));
  await copyFile(join(ROOT, 'tests/golden/tiny-sd15/tiny-embedding-a1111-1v.safetensors'), join(bridge.modelsDir, 'embeddings', 'tiny-neg.safetensors'));
  // An SDXL checkpoint: listed with its family, its native size picked when chosen.
  await addTinyModel(bridge.modelsDir, 'tiny-sdxl', 'tiny-xl');
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  page = await browser.newPage();
  page.on('pageerror', (err) => {
    throw err;
  });
  page.on('console', (message) => {
    if (message.text().includes('Content Security Policy')) refusedByPolicy.push(message.text());
  });
  await page.goto(`${bridge.url}/#token=${bridge.token}`);
  await page.waitForFunction((demo) => Array.from(document.querySelectorAll("#model option")).some((o) => (o as HTMLOptionElement).value === demo), DEMO);
});

afterAll(async () => {
  await browser?.close();
  await bridge?.dispose();
});

async function setForm(values: Record<string, string>): Promise<void> {
  for (const [id, value] of Object.entries(values)) await page.fill(`#${id}`, value);
  await page.dispatchEvent('#width', 'change');
}

describe('playground', () => {
  it('connects with the fragment token and hides it from the address bar', async () => {
    expect(page.url()).not.toContain(bridge.token);
    expect(await page.textContent('#status')).toMatch(/on cpu/);
    expect(await page.evaluate(() => localStorage.getItem('kirie.token'))).toBe(bridge.token);
  });

  it('generates text to image with live progress and a recipe in the history', async () => {
    await page.selectOption('#style', 'kirie');
    await setForm({ prompt: 'a red fox', width: '64', height: '64', steps: '3', seed: '7' });
    await page.click('#generate');
    await page.waitForSelector('#history li.result img');
    const recipe = JSON.parse((await page.textContent('#history li.result pre.recipe'))!);
    expect(recipe.request).toMatchObject({ seed: 7, steps: 3, width: 64, model: DEMO, scheduler: 'dpmpp_2m_karras' });
    expect(recipe.request.prompt).toMatch(/^a red fox, paper-cut art/);
    expect(await page.$eval('#history li.result img', (img) => (img as HTMLImageElement).naturalWidth)).toBe(64);
    expect(await page.$eval('#preview', (img) => (img as HTMLImageElement).src)).toMatch(/^data:image\/png;base64,/);
    expect(await page.textContent('#progress-text')).toBe('done');
  });

  it('inpaints an opened image through a painted mask', async () => {
    const data = new Uint8Array(64 * 64 * 3).map((_, i) => (i % 3 === 2 ? 200 : (i * 7) % 256));
    const png = encodePng({ width: 64, height: 64, channels: 3, data });
    await page.setInputFiles('#open', { name: 'photo.png', mimeType: 'image/png', buffer: Buffer.from(png) });
    await page.waitForFunction(() => document.querySelector('#image') && (document.querySelector('#image') as HTMLCanvasElement).getContext('2d')!.getImageData(10, 10, 1, 1).data[3] === 255);
    // The form's height depends on what the models folder holds (ControlNet, LoRA sections): bring the canvas into view first.
    await page.locator('#mask').scrollIntoViewIfNeeded();
    const box = await page.locator('#mask').boundingBox();
    await page.mouse.move(box!.x + box!.width * 0.3, box!.y + box!.height * 0.5);
    await page.mouse.down();
    await page.mouse.move(box!.x + box!.width * 0.7, box!.y + box!.height * 0.5, { steps: 5 });
    await page.mouse.up();
    await page.selectOption('#style', '');
    await setForm({ prompt: 'a window', steps: '2', seed: '3', strength: '1' });
    const before = await page.$$eval('#history li.result', (l) => l.length);
    await page.click('#generate');
    await page.waitForFunction((n) => document.querySelectorAll('#history li.result').length > n, before);
    const recipe = JSON.parse((await page.textContent('#history li.result pre.recipe'))!);
    expect(recipe.request.initImage).toMatch(/^[0-9a-f]{64}$/);
    expect(recipe.request.mask).toMatch(/^[0-9a-f]{64}$/);
    expect(recipe.request.strength).toBe(1);
  });

  it('shows the finished results again after a reload, from the bridge', async () => {
    const before = await page.$$eval('#history li.result pre.recipe', (l) => l.map((e) => e.textContent));
    await page.reload();
    await page.waitForFunction((n) => document.querySelectorAll('#history li.result img').length === n, before.length);
    expect(await page.$$eval('#history li.result pre.recipe', (l) => l.map((e) => e.textContent))).toEqual(before);
  });

  it('guides a generation with a pose JSON through a ControlNet', async () => {
    await page.click('#clear-image');
    await page.selectOption('#control-model', 'tiny-pose.safetensors');
    await page.selectOption('#control-source', 'pose');
    await page.setInputFiles('#control-file', join(ROOT, 'tests/golden/controlnet/openpose/pose_single.json'));
    await page.fill('#control-scale', '0.5');
    await setForm({ prompt: 'a dancer', width: '64', height: '64', steps: '2', seed: '5' });
    const before = await page.$$eval('#history li.result', (l) => l.length);
    await page.click('#generate');
    await page.waitForFunction((n) => document.querySelectorAll('#history li.result img').length > n, before);
    expect(await page.textContent('#message')).toBe('');
    const recipe = JSON.parse((await page.textContent('#history li.result pre.recipe'))!);
    expect(recipe.request.control).toEqual([expect.objectContaining({ model: 'tiny-pose.safetensors', scale: 0.5, preprocessor: { type: 'none' } })]);
    expect(recipe.request.control[0].pose.people).toHaveLength(1);
    expect(await page.textContent('#history li.result summary')).toContain('ControlNet tiny-pose.safetensors');
    await page.selectOption('#control-model', '');
  });

  it('Fast runs DeepCache on the real tiny model and the recipe shows it; a ControlNet switches it off and says why; the choice is kept', async () => {
    await page.selectOption('#style', '');
    await page.check('#fast');
    await setForm({ prompt: 'a quick fox', width: '64', height: '64', steps: '4', seed: '9' });
    const before = await page.$$eval('#history li.result', (l) => l.length);
    await page.click('#generate');
    await page.waitForFunction((n) => document.querySelectorAll('#history li.result img').length > n, before);
    expect(await page.textContent('#message')).toBe('');
    const recipe = JSON.parse((await page.textContent('#history li.result pre.recipe'))!);
    expect(recipe.request.acceleration).toEqual({ deepCache: { interval: 3, branch: 0 } });
    expect(await page.evaluate(() => localStorage.getItem('kirie.fast'))).toBe('true');
    await page.selectOption('#control-model', 'tiny-pose.safetensors');
    expect(await page.isDisabled('#fast')).toBe(true);
    expect(await page.$eval('#fast', (el) => el.parentElement!.title)).toMatch(/cannot be combined with a pose guide \(ControlNet\)/);
    await page.selectOption('#control-model', '');
    expect(await page.isDisabled('#fast')).toBe(false);
    await page.uncheck('#fast');
    expect(await page.evaluate(() => localStorage.getItem('kirie.fast'))).toBe('false');
  });

  it('applies a LoRA from its weight sliders (text encoder apart) and an embedding from its button, header text shown as text', async () => {
    await page.selectOption('#style', '');
    expect(await page.isVisible('#loras')).toBe(true);
    expect(await page.$$('#lora-list b')).toHaveLength(0);
    expect(await page.getAttribute('#lora-list span', 'title')).toBe('trigger words: <b>papercut</b>');
    const slide = (selector: string, value: string) =>
      page.$eval(selector, (s, v) => {
        (s as HTMLInputElement).value = v;
        s.dispatchEvent(new Event('input'));
      }, value);
    await slide('#lora-list input[data-lora="paper-cut"]', '0.8');
    expect(await page.inputValue('#lora-list input[data-lora-text="paper-cut"]')).toBe('0.8');
    await slide('#lora-list input[data-lora-text="paper-cut"]', '0.5');
    await setForm({ prompt: 'a paper fox', negative: 'blurry', width: '64', height: '64', steps: '2', seed: '3' });
    await page.click('#embedding-list button[title="add tiny-neg to the negative prompt"]');
    expect(await page.inputValue('#negative')).toBe('blurry, tiny-neg');
    const before = await page.$$('#history li.result');
    await page.click('#generate');
    await page.waitForFunction((n) => document.querySelectorAll('#history li.result').length > n, before.length);
    const recipe = JSON.parse((await page.textContent('#history li.result pre.recipe'))!);
    expect(recipe.request.loras).toEqual([{ name: 'paper-cut', weight: 0.8, textEncoderWeight: 0.5 }]);
    expect(recipe.request.negativePrompt).toBe('blurry, tiny-neg');
    await slide('#lora-list input[data-lora-text="paper-cut"]', '0');
    await slide('#lora-list input[data-lora="paper-cut"]', '0');
    await setForm({ negative: '' });
  });

  it('cancels a running job', async () => {
    await page.click('#clear-image');
    await setForm({ prompt: 'slow', width: '256', height: '256', steps: '60', seed: '1' });
    await page.click('#generate');
    await page.waitForFunction(() => /^step \d+ \/ 60$/.test(document.querySelector('#progress-text')!.textContent ?? ''));
    await page.click('#cancel');
    await page.waitForFunction(() => document.querySelector('#progress-text')!.textContent === 'cancelled');
    expect(await page.isDisabled('#cancel')).toBe(true);
  });

  it("names each checkpoint's family and picks its native size: SDXL 1024 in steps of 64, SD 1.x 512 in steps of 8", async () => {
    const labels = await page.$$eval('#model option', (options) => options.map((o) => o.textContent));
    expect(labels).toEqual(expect.arrayContaining([expect.stringMatching(/^tiny-xl · SDXL$/), expect.stringMatching(/^demo-tiny · SD 1\.x/)]));
    await page.selectOption('#model', 'tiny-xl.safetensors');
    expect(await page.$eval('#width', (w) => [(w as HTMLInputElement).value, (w as HTMLInputElement).step])).toEqual(['1024', '64']);
    await page.selectOption('#model', DEMO);
    expect(await page.$eval('#height', (h) => [(h as HTMLInputElement).value, (h as HTMLInputElement).step])).toEqual(['512', '8']);
  });

  it("a style fills in its settings for the picked model's family, and again when the model changes", async () => {
    const form = () => page.evaluate(() => Object.fromEntries(['width', 'height', 'steps', 'guidance'].map((id) => [id, (document.getElementById(id) as HTMLInputElement).value])));
    const photo = STYLE_PRESETS.find((s) => s.id === 'photo')!.settings;
    const expected = (s: (typeof photo)['sd1']) => ({ width: String(s.width), height: String(s.height), steps: String(s.steps), guidance: String(s.guidance) });
    await page.selectOption('#model', 'tiny-xl.safetensors');
    await page.selectOption('#style', 'photo');
    expect(await form()).toEqual(expected(photo.sdxl));
    expect(await page.$eval('#image', (c) => [(c as HTMLCanvasElement).width, (c as HTMLCanvasElement).height])).toEqual([photo.sdxl.width, photo.sdxl.height]);
    await page.selectOption('#model', DEMO);
    expect(await form()).toEqual(expected(photo.sd1));
    await page.selectOption('#style', '');
  });

  it('did all of the above within its content security policy', () => {
    expect(refusedByPolicy).toEqual([]);
  });
});

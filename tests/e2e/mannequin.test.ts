// The 3-D mannequin editor in the playground, in real headless Chromium (WebGL on SwiftShader) against a
// real bridge with the tiny model and tiny ControlNet: the editor loads and draws, a preset applies, a drag
// on a joint's ball turns the limb above it (the projected keypoints move, and the ball was found exactly
// where its keypoint says it is on screen), the fill runs with the projected pose and keeps the scene in
// its recipe, and Re-pose brings that scene back. Screenshots go to test-output/.
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BODY_KEYPOINTS } from '@kirie/core/control/openpose';
import { addTinyModel, DEMO, ROOT, startE2eBridge, type E2eBridge } from './bridge-harness.js';
import { launchWithWebgl } from './chromium-webgl.js';

const SHOTS = join(ROOT, 'test-output');

let bridge: E2eBridge;
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];
/** What the browser refused under the playground's Content-Security-Policy (three.js must need nothing it forbids). */
const refusedByPolicy: string[] = [];

type Xy = [number, number];
const kp = (name: (typeof BODY_KEYPOINTS)[number]) => BODY_KEYPOINTS.indexOf(name);

/** The editor's pose JSON, keypoint by keypoint in pixels of the generation size. */
async function keypoints(): Promise<Xy[][]> {
  const json = JSON.parse(await page.inputValue('#mannequin .mannequin-json')) as { people: { pose_keypoints_2d: number[] }[] };
  return json.people.map((p) => BODY_KEYPOINTS.map((_, i) => [p.pose_keypoints_2d[3 * i]!, p.pose_keypoints_2d[3 * i + 1]!]));
}

/** Where keypoint (x, y) of a width×height image lies on the viewport: the viewport has its aspect and the scene's camera. */
async function onScreen([x, y]: Xy, width: number, height: number): Promise<Xy> {
  const box = (await page.locator('#mannequin canvas.mannequin-view').boundingBox())!;
  return [box.x + (x / width) * box.width, box.y + (y / height) * box.height];
}

/** The viewport's pixel at a fraction of its width and height (the renderer keeps its drawing buffer). */
function viewPixel(fx: number, fy: number): Promise<number[]> {
  return page.$eval('#mannequin canvas.mannequin-view', (gl, [fx, fy]) => {
    const view = gl as HTMLCanvasElement;
    const copy = document.createElement('canvas');
    Object.assign(copy, { width: view.width, height: view.height });
    const ctx = copy.getContext('2d')!;
    ctx.drawImage(view, 0, 0);
    return Array.from(ctx.getImageData(Math.floor(fx! * view.width), Math.floor(fy! * view.height), 1, 1).data);
  }, [fx, fy]);
}

const moved = (a: Xy, b: Xy) => Math.hypot(a[0] - b[0], a[1] - b[1]);

beforeAll(async () => {
  bridge = await startE2eBridge({ playground: true });
  await addTinyModel(bridge.modelsDir, 'tiny-controlnet', 'tiny-pose');
  await mkdir(SHOTS, { recursive: true });
  browser = await launchWithWebgl();
  page = await browser.newPage({ viewport: { width: 1200, height: 1400 } });
  page.setDefaultTimeout(30_000);
  page.on('pageerror', (err) => void pageErrors.push(err.message));
  page.on('console', (message) => {
    if (message.text().includes('Content Security Policy')) refusedByPolicy.push(message.text());
  });
  await page.goto(`${bridge.url}/#token=${bridge.token}`);
  await page.waitForFunction((demo) => Array.from(document.querySelectorAll('#model option')).some((o) => (o as HTMLOptionElement).value === demo), DEMO);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await bridge?.dispose();
});

describe('3-D mannequin in the playground', () => {
  it('loads and draws the figure with WebGL; its control image is drawn at the generation size', async () => {
    await page.fill('#width', '64');
    await page.fill('#height', '96');
    await page.dispatchEvent('#width', 'change');
    await page.selectOption('#control-model', 'tiny-pose.safetensors');
    await page.selectOption('#control-source', 'mannequin');
    await page.waitForSelector('#mannequin canvas.mannequin-view');
    expect(await page.isHidden('#control-file-label')).toBe(true);
    // The viewport has the generation size's aspect; the control image is that size.
    const box = (await page.locator('#mannequin canvas.mannequin-view').boundingBox())!;
    expect(box.height / box.width).toBeCloseTo(96 / 64, 2);
    expect(await page.$eval('#mannequin canvas.mannequin-control', (c) => [(c as HTMLCanvasElement).width, (c as HTMLCanvasElement).height])).toEqual([64, 96]);
    // WebGL drew the neck's ball where the neck's keypoint is, and only the background in the top corner.
    const [neckX, neckY] = (await keypoints())[0]![kp('neck')]!;
    const background = [0x30, 0x34, 0x3a, 255];
    expect(await viewPixel(0.02, 0.02)).toEqual(background);
    const neck = await viewPixel(neckX / 64, neckY / 96);
    expect(Math.max(...neck.slice(0, 3).map((v, i) => Math.abs(v - background[i]!)))).toBeGreaterThan(40);
    await page.locator('#mannequin').screenshot({ path: join(SHOTS, 'mannequin-playground-standing.png') });
    expect(pageErrors).toEqual([]);
  });

  it('a preset applies: the sitting figure\'s hips drop and its knees come forward', async () => {
    const standing = (await keypoints())[0]!;
    await page.selectOption('#mannequin select.mannequin-preset', 'sitting');
    await page.waitForFunction((y) => JSON.parse((document.querySelector('#mannequin .mannequin-json') as HTMLTextAreaElement).value).people[0].pose_keypoints_2d[8 * 3 + 1] !== y, standing[kp('right_hip')]![1]);
    const sitting = (await keypoints())[0]!;
    expect(sitting[kp('right_hip')]![1]).toBeGreaterThan(standing[kp('right_hip')]![1]);
    expect(sitting[kp('neck')]![1]).toBeGreaterThan(standing[kp('neck')]![1]);
    await page.locator('#mannequin').screenshot({ path: join(SHOTS, 'mannequin-playground-sitting.png') });
    // Undo brings the standing figure back, keypoint for keypoint.
    await page.click('#mannequin button[data-action="undo"]');
    expect((await keypoints())[0]).toEqual(standing);
  });

  it('a drag on the elbow\'s ball raises the arm: the elbow\'s and wrist\'s keypoints follow, the shoulder\'s stays', async () => {
    const before = (await keypoints())[0]!;
    const elbow = await onScreen(before[kp('left_elbow')]!, 64, 96);
    await page.mouse.move(...elbow);
    await page.mouse.down();
    await page.mouse.move(elbow[0] + 20, elbow[1] - 20, { steps: 4 });
    await page.mouse.move(elbow[0] + 40, elbow[1] - 40, { steps: 4 });
    await page.mouse.up();
    const after = (await keypoints())[0]!;
    // The pointer went up and outwards: so did the elbow and the wrist (in image pixels of the 64×96 generation).
    expect(after[kp('left_elbow')]![1]).toBeLessThan(before[kp('left_elbow')]![1] - 2);
    expect(after[kp('left_elbow')]![0]).toBeGreaterThan(before[kp('left_elbow')]![0] + 1);
    expect(after[kp('left_wrist')]![1]).toBeLessThan(before[kp('left_wrist')]![1] - 2);
    expect(moved(after[kp('left_shoulder')]!, before[kp('left_shoulder')]!)).toBeLessThan(1e-9);
    expect(moved(after[kp('right_wrist')]!, before[kp('right_wrist')]!)).toBeLessThan(1e-9);
    await page.locator('#mannequin').screenshot({ path: join(SHOTS, 'mannequin-playground-dragged.png') });
    // Mirror: now the right arm is the raised one, at the same height; Undo takes it back.
    await page.click('#mannequin button[data-action="mirror"]');
    const mirrored = (await keypoints())[0]!;
    expect(mirrored[kp('right_elbow')]![1]).toBeCloseTo(after[kp('left_elbow')]![1], 6);
    expect(mirrored[kp('left_elbow')]![1]).toBeCloseTo(after[kp('right_elbow')]![1], 6);
    await page.click('#mannequin button[data-action="undo"]');
    expect((await keypoints())[0]).toEqual(after);
    // A drag elsewhere orbits the camera around the figure's vertical axis: the shoulders come closer together on screen.
    const box = (await page.locator('#mannequin canvas.mannequin-view').boundingBox())!;
    await page.mouse.move(box.x + 8, box.y + 8);
    await page.mouse.down();
    await page.mouse.move(box.x + 60, box.y + 8, { steps: 4 });
    await page.mouse.up();
    const orbited = (await keypoints())[0]!;
    const shoulders = (k: Xy[]) => Math.abs(k[kp('left_shoulder')]![0] - k[kp('right_shoulder')]![0]);
    expect(shoulders(orbited)).toBeLessThan(shoulders(after) - 1);
    // Save pose JSON: the file Photoshop's Pose fill takes is the pose as shown.
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#mannequin-save')]);
    expect(download.suggestedFilename()).toBe('kirie-pose.json');
    expect(JSON.parse(await readFile((await download.path())!, 'utf8'))).toEqual(JSON.parse(await page.inputValue('#mannequin .mannequin-json')));
  });

  it('fills on the tiny ControlNet with the projected pose; the recipe keeps the scene and Re-pose opens it', async () => {
    await page.click('#mannequin button[data-action="add-figure"]');
    const posed = await keypoints();
    expect(posed).toHaveLength(2);
    await page.fill('#prompt', 'two dancers');
    await page.fill('#steps', '2');
    await page.fill('#seed', '9');
    await page.click('#generate');
    await page.waitForSelector('#history li.result img', { timeout: 120_000 });
    expect(await page.textContent('#message')).toBe('');
    const recipe = JSON.parse((await page.textContent('#history li.result pre.recipe'))!);
    const unit = recipe.request.control[0];
    expect(unit).toMatchObject({ model: 'tiny-pose.safetensors', pose: { canvas_width: 64, canvas_height: 96 } });
    expect(unit.pose.people.map((p: { pose_keypoints_2d: number[] }) => BODY_KEYPOINTS.map((_, i) => [p.pose_keypoints_2d[3 * i], p.pose_keypoints_2d[3 * i + 1]]))).toEqual(posed);
    expect(unit.mannequin.figures).toHaveLength(2);
    expect(await page.$eval('#history li.result img', (img) => [(img as HTMLImageElement).naturalWidth, (img as HTMLImageElement).naturalHeight])).toEqual([64, 96]);

    // Something else in the editor, then Re-pose: the stored scene and the result's settings come back.
    await page.selectOption('#mannequin select.mannequin-preset', 'jumping');
    await page.fill('#seed', '1');
    await page.click('#history li.result button:text("Re-pose")');
    expect(await keypoints()).toEqual(posed);
    expect(await page.inputValue('#seed')).toBe('9');
    await page.locator('#mannequin').screenshot({ path: join(SHOTS, 'mannequin-playground-reposed.png') });
    expect(pageErrors).toEqual([]);
    expect(refusedByPolicy).toEqual([]);
  }, 150_000);
});

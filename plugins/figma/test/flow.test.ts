// The Figma plugin end to end: UI flow → RPC messages → main-thread handler → host → fake `figma`, and
// UI flow → shared client → a real bridge with a scripted runner.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { decodePng } from '@kirie/core/image/png';
import { GENERATED_RGB, type PluginBridge, startPluginBridge } from '../../shared/test/bridge.js';
import { restyleFrame } from '../src/flow.js';
import { createFigmaHost } from '../src/host.js';
import { createMessageHandler } from '../src/main.js';
import type { MainToUi } from '../src/messages.js';
import { createMainRpc, type MainRpc } from '../src/rpc.js';
import { FakeContainer, FakeFigma, type FakeNode, FakeRectangle, solid } from './fake-figma.js';

let env: PluginBridge;
beforeAll(async () => {
  env = await startPluginBridge();
});
afterAll(() => env.dispose());
beforeEach(() => {
  env.runner.fail = null;
  env.runner.onStep = null;
});

/** Both sides of the plugin wired as Figma wires them: messages, not calls, between UI and main. */
function plugin(figma: FakeFigma): MainRpc {
  const host = createFigmaHost(figma.api());
  let rpc: MainRpc;
  const handle = createMessageHandler(host, (m: MainToUi) => queueMicrotask(() => rpc.receive(structuredClone(m))));
  rpc = createMainRpc((m) => queueMicrotask(() => void handle(structuredClone(m))));
  return rpc;
}

function frameWithContent(figma: FakeFigma, w = 301, h = 203): FakeContainer {
  const frame = figma.frame('Card', 40, 60, w, h, solid(240, 200, 120));
  figma.shape('RECTANGLE', 'Sun', frame, 20, 20, 60, 40, solid(250, 120, 30));
  figma.selection = [frame];
  return frame;
}

function resultNode(figma: FakeFigma, nodeId: string): FakeRectangle {
  const node = figma.page.children.find((c) => c.id === nodeId);
  if (!(node instanceof FakeRectangle)) throw new Error(`no rectangle ${nodeId} on the page`);
  return node;
}

function pixelOf(figma: FakeFigma, node: FakeNode, x: number, y: number): number[] {
  const fill = node.fills[0]!;
  if (fill.type !== 'IMAGE') throw new Error('not an image fill');
  const png = figma.imageData(fill.imageHash!);
  const i = (y * png.width + x) * 4;
  return Array.from(png.data.subarray(i, i + 4));
}

describe('restyle a frame with a style preset', () => {
  it('a new image-filled rectangle right above the frame, same place and size; the frame untouched', async () => {
    const figma = new FakeFigma();
    const frame = frameWithContent(figma);
    const other = figma.frame('Other', 600, 60, 50, 50, solid(0, 0, 255));
    const fillsBefore = frame.fills;
    const result = await restyleFrame(plugin(figma), env.client, { prompt: 'a fox', style: 'kirie', colorMatch: false });
    expect(result).toMatchObject({ name: 'Kirie · paper-cut', mode: 'style' });
    expect(figma.page.children.map((c) => c.name)).toEqual(['Card', 'Kirie · paper-cut', 'Other']);
    const rect = resultNode(figma, result.nodeId);
    expect([rect.x, rect.y, rect.width, rect.height]).toEqual([40, 60, 301, 203]);
    expect(pixelOf(figma, rect, 150, 100)).toEqual([...GENERATED_RGB, 255]);
    expect(Object.isFrozen(rect.fills)).toBe(true);
    // The original: same paint array, same children, still visible.
    expect(frame.fills).toBe(fillsBefore);
    expect(frame.children.map((c) => c.name)).toEqual(['Sun']);
    expect(other.x).toBe(600);
    const job = env.runner.jobs.at(-1)!;
    expect(job.mask).toBeUndefined();
    expect(job.input.request.prompt).toContain('paper-cut art');
    expect(job.input.request.strength).toBe(0.75);
    expect(figma.notifications).toEqual([{ message: 'Kirie: added "Kirie · paper-cut"', error: false }]);
  });

  it('a frame with a drop shadow: the PNG covers the shadow, the result still lands on the frame', async () => {
    const figma = new FakeFigma();
    const frame = frameWithContent(figma, 200, 160);
    frame.shadow = 12;
    const result = await restyleFrame(plugin(figma), env.client, { prompt: 'glass' });
    const rect = resultNode(figma, result.nodeId);
    expect([rect.x, rect.y, rect.width, rect.height]).toEqual([40 - 12, 60 - 12, 224, 184]);
  });

  it('inside an auto-layout parent the result is positioned absolutely, not reflowed', async () => {
    const figma = new FakeFigma();
    const stack = figma.frame('Stack', 0, 0, 800, 600, solid(255, 255, 255));
    stack.layoutMode = 'VERTICAL';
    const card = figma.frame('Card', 24, 32, 160, 120, solid(10, 20, 30), stack);
    figma.selection = [card];
    const result = await restyleFrame(plugin(figma), env.client, { prompt: 'neon' });
    const rect = stack.children.find((c) => c.id === result.nodeId) as FakeRectangle;
    expect(stack.children.map((c) => c.name)).toEqual(['Card', 'Kirie · neon']);
    expect(rect.layoutPositioning).toBe('ABSOLUTE');
    expect([rect.x, rect.y]).toEqual([24, 32]);
  });
});

describe('repaint the region of a shape named "mask"', () => {
  it('only the mask region changes; the mask is hidden from the picture and shown again', async () => {
    const figma = new FakeFigma();
    const frame = frameWithContent(figma, 333, 251);
    const mask = figma.shape('ELLIPSE', 'Mask', frame, 200, 120, 70, 50, solid(255, 0, 255));
    const result = await restyleFrame(plugin(figma), env.client, { prompt: 'a moon', colorMatch: false });
    expect(result.mode).toBe('mask');
    expect(mask.visible).toBe(true);
    const rect = resultNode(figma, result.nodeId);
    // The patch is the context crop: inside the frame, containing the mask.
    expect(rect.x).toBeGreaterThanOrEqual(40);
    expect(rect.y).toBeGreaterThanOrEqual(60);
    expect(rect.x + rect.width).toBeLessThanOrEqual(40 + 333);
    expect(rect.y + rect.height).toBeLessThanOrEqual(60 + 251);
    const at = (fx: number, fy: number) => pixelOf(figma, rect, 40 + fx - rect.x, 60 + fy - rect.y);
    expect(at(235, 145)).toEqual([...GENERATED_RGB, 255]);
    expect(at(Math.max(0, rect.x - 40), Math.max(0, rect.y - 60))[3]).toBe(0);
    // The bridge saw the frame without the magenta mask shape, and a mask that is white at its centre.
    const job = env.runner.jobs.at(-1)!;
    const init = job.initImage!;
    let magenta = 0;
    for (let i = 0; i < init.width * init.height; i++) if (init.data[i * init.channels] === 255 && init.data[i * init.channels + 1] === 0) magenta++;
    expect(magenta).toBe(0);
    expect(job.mask).toBeDefined();
    expect(job.input.request.strength).toBe(1);
  });

  it('a see-through mask shape (opacity 40 %) still marks its region fully', async () => {
    const figma = new FakeFigma();
    const frame = frameWithContent(figma, 240, 200);
    figma.shape('RECTANGLE', 'mask', frame, 100, 80, 40, 30, solid(255, 0, 0)).opacity = 0.4;
    const result = await restyleFrame(plugin(figma), env.client, { prompt: 'a door', colorMatch: false });
    const rect = resultNode(figma, result.nodeId);
    expect(pixelOf(figma, rect, 40 + 120 - rect.x, 60 + 95 - rect.y)).toEqual([...GENERATED_RGB, 255]);
  });

  it('a fully transparent mask shape is reported, nothing is generated', async () => {
    const figma = new FakeFigma();
    const frame = frameWithContent(figma);
    figma.shape('RECTANGLE', 'mask', frame, 10, 10, 30, 30, solid(0, 0, 0)).opacity = 0;
    const jobs = env.runner.jobs.length;
    await expect(restyleFrame(plugin(figma), env.client, { prompt: 'x' })).rejects.toThrow(/renders fully transparent: give it a visible fill/);
    expect(env.runner.jobs.length).toBe(jobs);
  });

  it('a hidden mask shape is reported, nothing is generated', async () => {
    const figma = new FakeFigma();
    const frame = frameWithContent(figma);
    figma.shape('RECTANGLE', 'mask', frame, 10, 10, 30, 30, solid(0, 0, 0)).visible = false;
    const jobs = env.runner.jobs.length;
    await expect(restyleFrame(plugin(figma), env.client, { prompt: 'x' })).rejects.toThrow(/"mask" shape in "Card" is hidden/);
    expect(env.runner.jobs.length).toBe(jobs);
  });
});

describe('what the user did wrong, said plainly; the document never changes on failure', () => {
  const cases: [string, (f: FakeFigma) => void, RegExp][] = [
    ['nothing selected', (f) => void (f.selection = []), /select a frame first/],
    ['two frames selected', (f) => void (f.selection = [frameWithContent(f), f.frame('B', 0, 0, 10, 10, solid(0, 0, 0))]), /select one frame \(2 layers are selected\)/],
    ['a text layer selected', (f) => void (f.selection = [f.shape('TEXT', 'Title', frameWithContent(f), 0, 0, 50, 10, solid(0, 0, 0))]), /"Title" is a text: select a frame/],
    ['a rotated frame', (f) => void (frameWithContent(f).rotation = 15), /rotated 15°/],
    ['a frame over 4096 px', (f) => void (f.selection = [f.frame('Huge', 0, 0, 5000, 100, solid(0, 0, 0))]), /at most 4096 px/],
  ];
  it.each(cases)('%s', async (_name, arrange, message) => {
    const figma = new FakeFigma();
    arrange(figma);
    const before = figma.page.children.length;
    await expect(restyleFrame(plugin(figma), env.client, { prompt: 'x' })).rejects.toThrow(message);
    expect(figma.page.children.length).toBe(before);
  });

  it('the bridge fails: no new layer', async () => {
    const figma = new FakeFigma();
    frameWithContent(figma);
    env.runner.fail = 'the model could not be loaded';
    await expect(restyleFrame(plugin(figma), env.client, { prompt: 'x' })).rejects.toThrow(/the model could not be loaded/);
    expect(figma.page.children.map((c) => c.name)).toEqual(['Card']);
    expect(figma.images.size).toBe(0);
  });

  it('the frame is deleted while generating: a clear message, nothing placed', async () => {
    const figma = new FakeFigma();
    const frame = frameWithContent(figma);
    env.runner.onStep = () => {
      if (!frame.removed) figma.remove(frame);
    };
    await expect(restyleFrame(plugin(figma), env.client, { prompt: 'x' })).rejects.toThrow(/frame was deleted while Kirie was working/);
    expect(figma.page.children).toHaveLength(0);
  });
});

describe('settings and messages', () => {
  it('bridge settings round-trip through clientStorage', async () => {
    const figma = new FakeFigma();
    const host = createFigmaHost(figma.api());
    expect(await host.loadSettings()).toBeNull();
    await plugin(figma).saveSettings({ url: 'http://127.0.0.1:7860', token: 'abc' });
    expect(await host.loadSettings()).toEqual({ url: 'http://127.0.0.1:7860', token: 'abc' });
  });

  it('the selection is described for the UI', () => {
    const figma = new FakeFigma();
    const host = createFigmaHost(figma.api());
    expect(host.describeSelection()).toEqual({ frame: null, hasMask: false, problem: 'select a frame first' });
    const frame = frameWithContent(figma);
    expect(host.describeSelection()).toEqual({ frame: 'Card', hasMask: false, problem: null });
    figma.shape('ELLIPSE', ' MASK ', frame, 1, 1, 5, 5, solid(0, 0, 0));
    expect(host.describeSelection().hasMask).toBe(true);
  });

  it('the exported PNGs are what Figma renders: frame fill under its children', async () => {
    const figma = new FakeFigma();
    const frame = frameWithContent(figma, 120, 80);
    const png = decodePng(await frame.exportAsync({ format: 'PNG', constraint: { type: 'SCALE', value: 1 } }));
    expect([png.width, png.height]).toEqual([120, 80]);
    expect(Array.from(png.data.subarray((30 * 120 + 30) * 4, (30 * 120 + 30) * 4 + 4))).toEqual([250, 120, 30, 255]);
    expect(Array.from(png.data.subarray((70 * 120 + 100) * 4, (70 * 120 + 100) * 4 + 4))).toEqual([240, 200, 120, 255]);
  });
});

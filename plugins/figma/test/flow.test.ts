// The Figma plugin end to end: UI flow → RPC messages → main-thread handler → host → fake `figma`, and
// UI flow → shared client → a real bridge with a scripted runner (and one running the tiny SDXL model).
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { decodePng } from '@kirie/core/image/png';
import { STYLE_PRESETS } from '@kirie/core/styles/presets';
import { fetchBridgeChoices } from '../../shared/src/adapters.js';
import { optionsFromForm } from '../../shared/src/settings.js';
import { GENERATED_RGB, type PluginBridge, startPluginBridge, TEST_EMBEDDING, TEST_LORA } from '../../shared/test/bridge.js';
import { startSdxlBridge, TINY_XL } from '../../shared/test/sdxl-bridge.js';
import { remake, restyleFrame } from '../src/flow.js';
import { createFigmaHost, RECIPE_KEY } from '../src/host.js';
import { parseRecipe } from '../src/recipe.js';
import { displayP3ToSrgb, type FakeContainer, FakeFigma, type FakeNode, FakeRectangle, solid } from './fake-figma.js';
import { pluginRpc as plugin } from './plugin-rpc.js';

let env: PluginBridge;
beforeAll(async () => {
  env = await startPluginBridge({ adapters: true });
});
afterAll(() => env.dispose());
beforeEach(() => {
  env.runner.fail = null;
  env.runner.onStep = null;
});

/** Both sides of the plugin wired as Figma wires them: messages, not calls, between UI and main. */

function frameWithContent(figma: FakeFigma, w = 301, h = 203): FakeContainer {
  const frame = figma.frame('Card', 40, 60, w, h, solid(240, 200, 120));
  figma.shape('RECTANGLE', 'Sun', frame, 20, 20, 60, 40, solid(250, 120, 30));
  figma.selection = [frame];
  return frame;
}

function resultNode(figma: FakeFigma, nodeId: string): FakeRectangle {
  const node = [...figma.page.subtree()].find((c) => c.id === nodeId);
  if (!(node instanceof FakeRectangle)) throw new Error(`no rectangle ${nodeId} in the document`);
  return node;
}

const boxOf = (node: FakeNode) => {
  const b = node.absoluteBoundingBox;
  return [b.x, b.y, b.width, b.height];
};

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
    const since = figma.mutations.length;
    const result = await restyleFrame(plugin(figma), env.client, { prompt: 'a fox', style: 'kirie', colorMatch: false });
    expect(result).toMatchObject({ name: `Kirie · paper-cut · seed ${result.seed}`, mode: 'style' });
    expect(figma.page.children.map((c) => c.name)).toEqual(['Card', result.name, 'Other']);
    expect(figma.changesTo([frame, other], since)).toEqual([]);
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
    expect(figma.notifications).toEqual([{ message: `Kirie: added "${result.name}"`, error: false }]);
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
    expect(stack.children.map((c) => c.name)).toEqual(['Card', result.name]);
    expect(rect.layoutPositioning).toBe('ABSOLUTE');
    expect([rect.x, rect.y]).toEqual([24, 32]);
  });
});

describe('repaint the region of a shape named "mask"', () => {
  it('only the mask region changes; the picture leaves the mask out without a single change to the frame', async () => {
    const figma = new FakeFigma();
    const frame = frameWithContent(figma, 333, 251);
    const mask = figma.shape('ELLIPSE', 'Mask', frame, 200, 120, 70, 50, solid(255, 0, 255));
    const since = figma.mutations.length;
    const result = await restyleFrame(plugin(figma), env.client, { prompt: 'a moon', colorMatch: false });
    expect(result.mode).toBe('mask');
    expect(mask.visible).toBe(true);
    // Not one write to the frame or anything in it (the old hide-and-show of the mask was two).
    expect(figma.changesTo([frame], since)).toEqual([]);
    // A copy was exported instead, and is gone again.
    const cloned = figma.mutations.slice(since).find((m) => m.change === `clone of ${frame.id}`)!;
    expect(figma.mutations.slice(since).filter((m) => m.nodeId === cloned.nodeId).at(-1)!.change).toBe('remove');
    expect(figma.page.children.map((c) => c.name)).toEqual(['Card', result.name]);
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

  it('the Fast choice round-trips through clientStorage, off until set', async () => {
    const figma = new FakeFigma();
    const host = createFigmaHost(figma.api());
    expect(await host.loadPrefs()).toEqual({ fast: false });
    await plugin(figma).savePrefs({ fast: true });
    expect(await host.loadPrefs()).toEqual({ fast: true });
  });

  it('the selection is described for the UI', () => {
    const figma = new FakeFigma();
    const host = createFigmaHost(figma.api());
    expect(host.describeSelection()).toEqual({ frame: null, hasMask: false, problem: 'select a frame first', recipe: null });
    const frame = frameWithContent(figma);
    expect(host.describeSelection()).toEqual({ frame: 'Card', hasMask: false, problem: null, recipe: null });
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

describe('colour: the model gets sRGB whatever the file\'s profile', () => {
  it('a Display P3 file: the frame is exported converted to sRGB, not as P3 numbers', async () => {
    const figma = new FakeFigma();
    figma.documentColorProfile = 'DISPLAY_P3';
    const frame = figma.frame('Card', 0, 0, 64, 64, solid(200, 80, 40));
    figma.selection = [frame];
    await restyleFrame(plugin(figma), env.client, { prompt: 'x', colorMatch: false });
    expect(figma.exports.map((e) => e.settings.colorProfile)).toEqual(['SRGB']);
    const init = env.runner.jobs.at(-1)!.initImage!;
    const srgb = displayP3ToSrgb([200, 80, 40, 255]);
    expect(srgb.slice(0, 3)).not.toEqual([200, 80, 40]);
    expect(Array.from(init.data.subarray(0, 3))).toEqual(srgb.slice(0, 3));
  });

  it('the mask and the masked frame are exported in sRGB too', async () => {
    const figma = new FakeFigma();
    const frame = frameWithContent(figma, 120, 90);
    figma.shape('RECTANGLE', 'mask', frame, 30, 30, 20, 20, solid(0, 0, 0));
    await restyleFrame(plugin(figma), env.client, { prompt: 'x' });
    expect(figma.exports.map((e) => e.settings.colorProfile)).toEqual(['SRGB', 'SRGB']);
  });
});

describe('a mask inside an instance: overrides are changes too', () => {
  it('the instance gets no override; the copy that is exported is an instance, its mask hidden, then removed', async () => {
    const figma = new FakeFigma();
    const card = figma.container('INSTANCE', 'Card', 40, 60, 160, 120, solid(240, 200, 120));
    const mask = figma.shape('RECTANGLE', 'mask', card, 50, 40, 30, 30, solid(255, 0, 255));
    figma.selection = [card];
    const since = figma.mutations.length;
    const result = await restyleFrame(plugin(figma), env.client, { prompt: 'a window', colorMatch: false });
    expect(figma.changesTo([card], since)).toEqual([]);
    expect(mask.visible).toBe(true);
    expect(figma.mutations.slice(since).some((m) => m.change === 'visible=false (instance override)')).toBe(true);
    const init = env.runner.jobs.at(-1)!.initImage!;
    let magenta = 0;
    for (let i = 0; i < init.width * init.height; i++) if (init.data[i * init.channels] === 255 && init.data[i * init.channels + 1] === 0) magenta++;
    expect(magenta).toBe(0);
    expect(figma.page.children.map((c) => c.name)).toEqual(['Card', result.name]);
  });
});

describe('parents that refuse new layers: the result goes to the nearest one that takes it, above the frame', () => {
  it('a variant in a component set: above the set, on the page', async () => {
    const figma = new FakeFigma();
    const set = figma.container('COMPONENT_SET', 'Button', 100, 50, 300, 200, null);
    const variant = figma.container('COMPONENT', 'State=Default', 10, 20, 80, 40, solid(30, 90, 200), set);
    figma.selection = [variant];
    const since = figma.mutations.length;
    const result = await restyleFrame(plugin(figma), env.client, { prompt: 'x' });
    expect(figma.page.children.map((c) => c.name)).toEqual(['Button', result.name]);
    expect(set.children).toHaveLength(1);
    expect(boxOf(resultNode(figma, result.nodeId))).toEqual([110, 70, 80, 40]);
    expect(figma.changesTo([set], since)).toEqual([]);
  });

  it('a frame inside an instance: above the instance', async () => {
    const figma = new FakeFigma();
    const instance = figma.container('INSTANCE', 'Card instance', 300, 40, 200, 200, solid(255, 255, 255));
    const inner = figma.frame('Inner', 5, 6, 50, 30, solid(9, 9, 9), instance);
    figma.selection = [inner];
    const result = await restyleFrame(plugin(figma), env.client, { prompt: 'x' });
    expect(figma.page.children.map((c) => c.name)).toEqual(['Card instance', result.name]);
    expect(boxOf(resultNode(figma, result.nodeId))).toEqual([305, 46, 50, 30]);
  });

  it('a frame inside a main component: above the component (a layer in it would show in every instance)', async () => {
    const figma = new FakeFigma();
    const board = figma.frame('Board', 0, 0, 1000, 1000, solid(255, 255, 255));
    const component = figma.container('COMPONENT', 'Card', 100, 100, 200, 200, solid(250, 250, 250), board);
    const inner = figma.frame('Art', 10, 10, 40, 40, solid(9, 9, 9), component);
    figma.selection = [inner];
    const result = await restyleFrame(plugin(figma), env.client, { prompt: 'x' });
    expect(board.children.map((c) => c.name)).toEqual(['Card', result.name]);
    expect(component.children.map((c) => c.name)).toEqual(['Art']);
    expect(boxOf(resultNode(figma, result.nodeId))).toEqual([110, 110, 40, 40]);
  });

  it('a frame in a group: into the group right above it, where groups put coordinates (their containing frame\'s)', async () => {
    const figma = new FakeFigma();
    const outer = figma.frame('Outer', 1000, 200, 800, 600, solid(255, 255, 255));
    const group = figma.container('GROUP', 'Group', 0, 0, 0, 0, null, outer);
    const card = figma.frame('Card', 30, 40, 100, 80, solid(9, 9, 9), group);
    figma.shape('RECTANGLE', 'Label', group, 30, 130, 100, 20, solid(0, 0, 0));
    figma.selection = [card];
    const result = await restyleFrame(plugin(figma), env.client, { prompt: 'x' });
    expect(group.children.map((c) => c.name)).toEqual(['Card', result.name, 'Label']);
    expect(boxOf(resultNode(figma, result.nodeId))).toEqual([1030, 240, 100, 80]);
  });

  it('a frame in a section: into the section', async () => {
    const figma = new FakeFigma();
    const section = figma.container('SECTION', 'Section', 500, 500, 900, 900, solid(240, 240, 240));
    const card = figma.frame('Card', 20, 20, 60, 60, solid(9, 9, 9), section);
    figma.selection = [card];
    const result = await restyleFrame(plugin(figma), env.client, { prompt: 'x' });
    expect(section.children.map((c) => c.name)).toEqual(['Card', result.name]);
    expect(boxOf(resultNode(figma, result.nodeId))).toEqual([520, 520, 60, 60]);
  });

  it('an instance in an auto-layout stack: above the instance, positioned absolutely', async () => {
    const figma = new FakeFigma();
    const stack = figma.frame('Stack', 0, 0, 400, 400, solid(255, 255, 255));
    stack.layoutMode = 'HORIZONTAL';
    const instance = figma.container('INSTANCE', 'Chip', 16, 16, 120, 40, solid(9, 9, 9), stack);
    const inner = figma.frame('Icon', 4, 4, 32, 32, solid(200, 0, 0), instance);
    figma.selection = [inner];
    const result = await restyleFrame(plugin(figma), env.client, { prompt: 'x' });
    const rect = resultNode(figma, result.nodeId);
    expect(stack.children.map((c) => c.name)).toEqual(['Chip', result.name]);
    expect(rect.layoutPositioning).toBe('ABSOLUTE');
    expect(boxOf(rect)).toEqual([20, 20, 32, 32]);
  });
});

describe('every result carries its recipe: Remake and Variations', () => {
  it('the recipe is on the layer; selecting it offers it; Remake repeats the seed, Variations picks another', async () => {
    const figma = new FakeFigma();
    const frame = frameWithContent(figma, 96, 64);
    const rpc = plugin(figma);
    const first = await restyleFrame(rpc, env.client, { prompt: 'a fox', style: 'kirie', steps: 3 });
    const rect = resultNode(figma, first.nodeId);
    const recipe = parseRecipe(rect.getPluginData(RECIPE_KEY));
    expect(recipe).toEqual({ kirie: 1, frameId: frame.id, mode: 'style', options: { prompt: 'a fox', style: 'kirie', steps: 3, seed: first.seed } });
    expect(rect.name).toBe(`Kirie · paper-cut · seed ${first.seed}`);

    figma.selection = [rect];
    const host = createFigmaHost(figma.api());
    expect(host.describeSelection()).toEqual({ frame: null, hasMask: false, problem: null, recipe: rect.getPluginData(RECIPE_KEY) });

    const again = await remake(rpc, env.client, recipe, 'remake');
    const [a, b] = env.runner.jobs.slice(-2).map((j) => j.input.request);
    expect(again.seed).toBe(first.seed);
    expect(b).toEqual(a);
    const variation = await remake(rpc, env.client, recipe, 'variation');
    expect(variation.seed).not.toBe(first.seed);
    expect(env.runner.jobs.at(-1)!.input.request.prompt).toBe(a!.prompt);
    // New layers go above the source frame, the newest first.
    expect(figma.page.children.map((c) => c.name)).toEqual(['Card', variation.name, again.name, first.name]);
  });

  it('a recipe whose frame is gone says so; a damaged recipe says so; nothing is generated', async () => {
    const figma = new FakeFigma();
    const frame = frameWithContent(figma);
    const rpc = plugin(figma);
    const first = await restyleFrame(rpc, env.client, { prompt: 'x' });
    const recipe = parseRecipe(resultNode(figma, first.nodeId).getPluginData(RECIPE_KEY));
    figma.remove(frame);
    const jobs = env.runner.jobs.length;
    await expect(remake(rpc, env.client, recipe, 'remake')).rejects.toThrow(/the frame this was made from is gone/);
    expect(() => parseRecipe('{"kirie":1,"frameId":"1:1","mode":"style","options":{"prompt":"x","seed":-5}}')).toThrow(/recipe is unusable \(options\.seed: /);
    expect(() => parseRecipe('not json')).toThrow(/not valid JSON/);
    expect(env.runner.jobs.length).toBe(jobs);
  });
});

describe('the fake keeps Figma\'s rules (a kinder fake would hide bugs)', () => {
  it('exportAsync refuses an unknown colorProfile; children and selection are frozen', async () => {
    const figma = new FakeFigma();
    const frame = frameWithContent(figma);
    await expect(frame.exportAsync({ format: 'PNG', colorProfile: 'P3' as 'SRGB' })).rejects.toThrow(/Invalid value for colorProfile/);
    expect(Object.isFrozen(frame.children)).toBe(true);
    expect(Object.isFrozen(figma.api().currentPage.selection)).toBe(true);
  });

  it('instances, their sublayers and component sets refuse children; instance sublayers cannot be removed', () => {
    const figma = new FakeFigma();
    const instance = figma.container('INSTANCE', 'I', 0, 0, 10, 10, null);
    const sub = figma.shape('RECTANGLE', 'r', instance, 0, 0, 5, 5, solid(0, 0, 0));
    const set = figma.container('COMPONENT_SET', 'S', 0, 0, 10, 10, null);
    const rect = figma.api().createRectangle();
    expect(() => instance.insertChild(0, rect)).toThrow(/New parent is an instance/);
    expect(() => set.insertChild(0, rect)).toThrow(/COMPONENT_SET can only have children of type COMPONENT/);
    expect(() => figma.page.insertChild(0, sub)).toThrow(/Node is inside of an instance/);
    expect(() => sub.remove()).toThrow(/inside of an instance/);
    expect(() => rect.setPluginData('k', 5 as unknown as string)).toThrow(/must be a string/);
  });
});

describe('Fast (DeepCache)', () => {
  it('Fast on sends DeepCache, the recipe keeps it and Remake sends it again; Fast off sends none', async () => {
    const figma = new FakeFigma();
    frameWithContent(figma, 96, 64);
    const rpc = plugin(figma);
    const first = await restyleFrame(rpc, env.client, optionsFromForm({ prompt: 'a fox', steps: '3', fast: true }));
    const deepCache = { deepCache: { interval: 3, branch: 0 } };
    expect(env.runner.jobs.at(-1)!.input.request.acceleration).toEqual(deepCache);
    const recipe = parseRecipe(resultNode(figma, first.nodeId).getPluginData(RECIPE_KEY));
    expect(recipe.options.fast).toBe(true);
    await remake(rpc, env.client, recipe, 'remake');
    expect(env.runner.jobs.at(-1)!.input.request).toMatchObject({ seed: first.seed, acceleration: deepCache });
    await restyleFrame(rpc, env.client, optionsFromForm({ prompt: 'a fox', steps: '3', fast: false }));
    expect(env.runner.jobs.at(-1)!.input.request.acceleration).toBeUndefined();
  });
});

describe("LoRAs and embeddings from the bridge's models folder", () => {
  it('a restyle sends the slider\'s LoRA and the embedding in the prompt; the recipe keeps the LoRA; Remake and Variations send it again', async () => {
    const choices = await fetchBridgeChoices(env.client);
    expect(choices.loras).toMatchObject([{ name: TEST_LORA.name, weight: TEST_LORA.preferredWeight }]);
    expect(choices.embeddings).toEqual([TEST_EMBEDDING]);
    const figma = new FakeFigma();
    frameWithContent(figma, 96, 64);
    const rpc = plugin(figma);
    const options = optionsFromForm({ prompt: `a fox, ${TEST_EMBEDDING}`, loras: [{ name: TEST_LORA.name, percent: '45' }], steps: '3' });
    const first = await restyleFrame(rpc, env.client, options);
    const sent = { prompt: `a fox, ${TEST_EMBEDDING}`, loras: [{ name: TEST_LORA.name, weight: 0.45 }] };
    expect(env.runner.jobs.at(-1)!.input.request).toMatchObject(sent);
    const recipe = parseRecipe(resultNode(figma, first.nodeId).getPluginData(RECIPE_KEY));
    expect(recipe.options.loras).toEqual([{ name: TEST_LORA.name, weight: 0.45 }]);
    await remake(rpc, env.client, recipe, 'remake');
    expect(env.runner.jobs.at(-1)!.input.request).toMatchObject({ ...sent, seed: first.seed });
    await remake(rpc, env.client, recipe, 'variation');
    expect(env.runner.jobs.at(-1)!.input.request).toMatchObject(sent);
  });

  it('a LoRA style brings its LoRA at the preferred weight and its trigger words', async () => {
    const figma = new FakeFigma();
    frameWithContent(figma, 96, 64);
    const result = await restyleFrame(plugin(figma), env.client, { prompt: 'a fox', style: `lora:${TEST_LORA.name}`, steps: 3 });
    expect(env.runner.jobs.at(-1)!.input.request).toMatchObject({ prompt: `a fox, ${TEST_LORA.trigger}`, loras: [{ name: TEST_LORA.name, weight: TEST_LORA.preferredWeight }] });
    expect(result.name).toBe(`Kirie · ${TEST_LORA.name} · seed ${result.seed}`);
  });
});

// The same flows on an SDXL checkpoint through a bridge running the tiny SDXL model: the plugin learns the
// family only from the bridge's model list, so what it sends is SDXL's native size and the style's SDXL settings.
describe('an SDXL checkpoint (tiny model, real bridge)', () => {
  let xl: Awaited<ReturnType<typeof startSdxlBridge>>;
  beforeAll(async () => {
    xl = await startSdxlBridge();
  }, 120_000);
  afterAll(() => xl?.bridge.dispose());

  it('the region under "mask" repainted with a style: placed, sized and set for SDXL', async () => {
    const figma = new FakeFigma();
    const frame = frameWithContent(figma, 120, 90);
    figma.shape('ELLIPSE', 'mask', frame, 60, 40, 30, 30, solid(255, 0, 255));
    const result = await restyleFrame(plugin(figma), xl.client, { prompt: 'a moon', style: 'mosaic', model: TINY_XL, steps: 2, seed: 5 });
    expect(result.mode).toBe('mask');
    const rect = resultNode(figma, result.nodeId);
    expect(rect.x).toBeGreaterThanOrEqual(40);
    expect(rect.x + rect.width).toBeLessThanOrEqual(40 + 120);
    const [sent] = xl.client.sent;
    for (const side of [sent!.width!, sent!.height!]) {
      expect(side % 64).toBe(0);
      expect(side).toBeGreaterThanOrEqual(1024);
      expect(side).toBeLessThanOrEqual(1536);
    }
    const mosaic = STYLE_PRESETS.find((s) => s.id === 'mosaic')!.settings.sdxl;
    expect(sent).toMatchObject({ model: TINY_XL, guidance: mosaic.guidance, scheduler: mosaic.scheduler, strength: mosaic.strength, steps: 2, mask: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(xl.client.done.map((d) => d.recipe.model.family)).toEqual(['sdxl']);
    expect(figma.notifications.filter((n) => n.error)).toEqual([]);
  }, 600_000);
});

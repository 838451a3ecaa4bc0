// Photoshop as it really is, against the flows: groups, documents switched mid-job, a host that stays
// modal, hosts without the release Imaging API, signals without events, and the recipe each result
// layer carries for Remake and Variations.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { bounds } from '@kirie/core/image/bounds';
import { nonZeroBounds } from '@kirie/core/image/masks';
import { GenerationCancelled } from '../../shared/src/job.js';
import { GENERATED_RGB, type PluginBridge, startPluginBridge } from '../../shared/test/bridge.js';
import { fillSelection, img2imgLayer, parseRecipe, regenerate, ResultNotPlaced } from '../src/flows.js';
import { createPhotoshopHost, RECIPE_NS } from '../src/host.js';
import { FakeXmpMeta, fakeUxp } from './fake-uxp.js';
import { ellipseSelection, ORIGINAL, pixel, setup } from './scenes.js';

let env: PluginBridge;
beforeAll(async () => {
  env = await startPluginBridge({ openpose: true });
});
afterAll(() => env.dispose());
beforeEach(() => {
  env.runner.fail = null;
  env.runner.onStep = null;
});

const NO_WAIT = { placeRetryMs: [1, 1] };

describe('layers inside groups', () => {
  it('restyles the active layer two groups deep; document.layers alone does not reach it', async () => {
    const { doc, host } = setup(240, 180);
    const outer = doc.addGroup('Artwork');
    const inner = doc.addGroup('Logo', outer);
    const mark = doc.addLayer('Mark', bounds(40, 30, 100, 80), () => [10, 20, 30, 255], 'pixel', inner);
    expect(doc.layers.map((l) => l.name)).toEqual(['Artwork', 'Background']);
    const result = await img2imgLayer(host, env.client, { prompt: 'chrome', colorMatch: false });
    expect(pixel(doc, 80, 60)).toEqual([...GENERATED_RGB, 255]);
    expect(pixel(doc, 200, 150)).toEqual(ORIGINAL);
    // The new layer sits in the restyled layer's group, right above it.
    const placed = doc.layer(result.layerId);
    expect(placed.parentId).toBe(inner.id);
    expect(doc.layersState.indexOf(placed)).toBe(doc.layersState.indexOf(mark) + 1);
  });
});

describe('the document the user works in while the model runs', () => {
  it('switching documents and layers mid-job: the result lands in the document and layer it was made for', async () => {
    const { ps, doc, host } = setup(220, 160);
    ellipseSelection(doc, 110, 80, 30, 25);
    const top = doc.addLayer('Notes', bounds(0, 0, 20, 20), () => [1, 2, 3, 255]);
    const other = ps.openDocument('other.psd', 300, 200);
    other.addLayer('Background', bounds(0, 0, 300, 200), () => [9, 9, 9, 255], 'background');
    ps.activeDocument = doc;
    env.runner.onStep = () => {
      doc.activeId = doc.layersState[0]!.id; // the user clicks the background…
      ps.activeDocument = other; // …then goes to work in another document
    };
    const result = await fillSelection(host, env.client, { prompt: 'kite', colorMatch: false });
    const placed = doc.layer(result.layerId);
    expect(placed.mask![80 * 220 + 110]).toBe(255);
    expect(doc.layer(top.id).mask).toBeNull();
    expect(other.layersState).toHaveLength(1);
    expect(other.history).toEqual(['Open']);
    expect(doc.history).toEqual(['Open', result.layerName]);
    // The user's document is active again afterwards.
    expect(ps.activeDocument).toBe(other);
  });
});

describe('a busy Photoshop when the result arrives (executeAsModal error 9)', () => {
  it('keeps trying and places the result once the dialog is closed', async () => {
    const { ps, doc, host } = setup(200, 150);
    ellipseSelection(doc, 100, 75, 30, 20);
    env.runner.onStep = () => {
      ps.busyCalls = 2;
    };
    const result = await fillSelection(host, env.client, { prompt: 'x', colorMatch: false }, NO_WAIT);
    expect(ps.busyCalls).toBe(0);
    expect(doc.history).toEqual(['Open', result.layerName]);
  });

  it('busy through every try: the result is kept and placed later with "Place result"', async () => {
    const { ps, doc, host } = setup(200, 150);
    ellipseSelection(doc, 100, 75, 30, 20);
    env.runner.onStep = () => {
      ps.otherPluginModal = true;
    };
    const failure = await fillSelection(host, env.client, { prompt: 'x', colorMatch: false }, NO_WAIT).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(ResultNotPlaced);
    expect((failure as Error).message).toMatch(/Photoshop is busy .*"Place result"/);
    expect(doc.history).toEqual(['Open']);
    const jobs = env.runner.jobs.length;
    await expect((failure as ResultNotPlaced).place()).rejects.toBeInstanceOf(ResultNotPlaced);
    ps.otherPluginModal = false;
    const placed = await (failure as ResultNotPlaced).place();
    expect(doc.history).toEqual(['Open', placed.layerName]);
    expect(pixel(doc, 100, 75)).toEqual([...GENERATED_RGB, 255]);
    // Placing again generates nothing new.
    expect(env.runner.jobs.length).toBe(jobs);
  });
});

describe('the Imaging API exists only in Photoshop 25.0+ release builds', () => {
  it.each([
    ['24.2/24.4 prerelease (imaging_beta only)', 'beta' as const],
    ['older than 24.2 (no imaging at all)', 'none' as const],
  ])('%s: a clear message naming the version, nothing sent', async (_name, api) => {
    const { ps, doc } = setup(100, 80);
    ps.imagingApi = api;
    ellipseSelection(doc, 50, 40, 20, 20);
    const host = createPhotoshopHost(ps.module(), fakeUxp().module.xmp);
    const jobs = env.runner.jobs.length;
    await expect(fillSelection(host, env.client, { prompt: 'x' })).rejects.toThrow(/this Photoshop is too old for Kirie: it has no Imaging API .*Photoshop 25\.0 or later/);
    expect(env.runner.jobs.length).toBe(jobs);
  });
});

describe('cancel with a signal that has no events (UXP AbortSignal)', () => {
  it('a plain { aborted } object cancels the job on the bridge', async () => {
    const { doc, host } = setup(200, 150);
    ellipseSelection(doc, 100, 75, 30, 20);
    const signal = { aborted: false };
    env.runner.stepMs = 60;
    env.runner.onStep = () => {
      signal.aborted = true;
    };
    try {
      await expect(fillSelection(host, env.client, { prompt: 'x', steps: 4 }, { signal })).rejects.toBeInstanceOf(GenerationCancelled);
    } finally {
      env.runner.stepMs = 1;
    }
    expect(doc.history).toEqual(['Open']);
  });
});

describe('the recipe travels with the result layer', () => {
  it('the layer is named with prompt and seed and its XMP holds the full recipe', async () => {
    const { doc, host } = setup(200, 150);
    ellipseSelection(doc, 100, 75, 30, 20);
    const result = await fillSelection(host, env.client, { prompt: 'a paper crane', steps: 3, negativePrompt: 'blurry', colorMatch: false });
    const packet = doc.layer(result.layerId).xmp!;
    FakeXmpMeta.registerNamespace(RECIPE_NS, 'kirie');
    const recipe = parseRecipe(new FakeXmpMeta(packet).getProperty(RECIPE_NS, 'recipe')!.value);
    expect(recipe).toEqual({ kirie: 1, mode: 'fill', options: { prompt: 'a paper crane', steps: 3, negativePrompt: 'blurry', colorMatch: false, seed: result.seed } });
    expect(doc.history).toEqual(['Open', result.layerName]);
  });

  it('Remake runs the same recipe with the same seed into the layer\'s own mask; Variations with a new seed', async () => {
    const { doc, host } = setup(200, 150);
    ellipseSelection(doc, 100, 75, 30, 20);
    const first = await fillSelection(host, env.client, { prompt: 'a paper crane', steps: 3, seed: 1234, colorMatch: false });
    doc.selection = null;
    doc.activeId = first.layerId;
    const again = await regenerate(host, env.client, 'remake', null, NO_WAIT);
    const remade = env.runner.jobs.at(-1)!;
    expect(remade.input.request).toMatchObject({ prompt: 'a paper crane', steps: 3, seed: 1234 });
    expect(again.seed).toBe(1234);
    // The selection came from the first result's mask: the same place, grown only by the fill's feather.
    const solid = (mask: Uint8Array) => nonZeroBounds(mask.map((v) => (v > 127 ? 1 : 0)), bounds(0, 0, 200, 150));
    const [before, after] = [solid(doc.layer(first.layerId).mask!), solid(doc.layer(again.layerId).mask!)];
    expect(doc.layer(again.layerId).mask![75 * 200 + 100]).toBe(255);
    expect(after.x).toBeLessThanOrEqual(before.x);
    expect(after.x + after.width).toBeGreaterThanOrEqual(before.x + before.width);
    expect(after.width - before.width).toBeLessThanOrEqual(24);
    expect(after.height - before.height).toBeLessThanOrEqual(24);
    doc.activeId = first.layerId;
    await regenerate(host, env.client, 'variation', null, NO_WAIT);
    const varied = env.runner.jobs.at(-1)!.input.request;
    expect(varied.prompt).toBe('a paper crane');
    expect(varied.seed).not.toBe(1234);
  });

  it('Remake of a restyle works on the layer it restyled', async () => {
    const { doc, host } = setup(240, 180);
    const logo = doc.addLayer('Logo', bounds(40, 30, 100, 80), () => [10, 20, 30, 255]);
    const first = await img2imgLayer(host, env.client, { prompt: 'chrome', strength: 0.4, colorMatch: false });
    doc.activeId = first.layerId;
    const again = await regenerate(host, env.client, 'remake', null, NO_WAIT);
    expect(env.runner.jobs.at(-1)!.input.request).toMatchObject({ prompt: 'chrome', strength: 0.4, seed: first.seed });
    expect(doc.layer(again.layerId).parentId).toBe(logo.parentId);
  });

  it('a layer without a recipe: a clear message, nothing sent', async () => {
    const { doc, host } = setup(120, 90);
    doc.addLayer('Sketch', bounds(0, 0, 50, 50), () => [0, 0, 0, 255]);
    const jobs = env.runner.jobs.length;
    await expect(regenerate(host, env.client, 'remake', null)).rejects.toThrow(/the selected layer has no Kirie recipe/);
    expect(env.runner.jobs.length).toBe(jobs);
  });

  it.each([
    ['not JSON', '{', /not valid JSON/],
    ['another tool', '{"kirie":2}', /not a Kirie recipe/],
    ['unknown mode', '{"kirie":1,"mode":"outpaint","options":{"prompt":"x"}}', /unknown mode "outpaint"/],
    ['no prompt', '{"kirie":1,"mode":"fill","options":{}}', /no prompt/],
  ])('a damaged recipe (%s) is named', (_name, raw, message) => {
    expect(() => parseRecipe(raw)).toThrow(message);
  });
});

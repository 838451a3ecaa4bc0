// The panel's flows end to end: fake Photoshop (host quirks) → shared client → a real bridge with a
// scripted runner → back into the document as one masked layer in one history step.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { bounds } from '@kirie/core/image/bounds';
import { decodePng } from '@kirie/core/image/png';
import { GenerationCancelled } from '../../shared/src/job.js';
import { fetchBridgeChoices } from '../../shared/src/adapters.js';
import { optionsFromForm } from '../../shared/src/settings.js';
import { GENERATED_RGB, type PluginBridge, startPluginBridge, TEST_EMBEDDING, TEST_LORA } from '../../shared/test/bridge.js';
import { fillSelection, img2imgLayer, poseFill, posePhotoFill, regenerate } from '../src/flows.js';
import { createPhotoshopHost } from '../src/host.js';
import { FakePhotoshop } from './fake-photoshop.js';
import { fakeUxp } from './fake-uxp.js';
import { ellipseSelection, ORIGINAL, pixel, setup } from './scenes.js';

let env: PluginBridge;
beforeAll(async () => {
  env = await startPluginBridge({ openpose: true, adapters: true });
});
afterAll(() => env.dispose());
beforeEach(() => {
  env.runner.fail = null;
  env.runner.onStep = null;
  env.runner.stepMs = 1;
});

describe('fill selection', () => {
  it.each([
    ['odd canvas, centred selection', 333, 251, 160, 120, 40, 30],
    ['selection on the top-left edge', 301, 199, 10, 8, 30, 25],
    ['selection on the bottom-right edge', 517, 389, 505, 380, 40, 30],
    ['canvas larger than the model', 1203, 901, 600, 450, 150, 90],
  ])('%s: one new masked layer, one history step, original kept', async (_name, w, h, cx, cy, rx, ry) => {
    const { ps, doc, host } = setup(w, h);
    ellipseSelection(doc, cx, cy, rx, ry);
    const before = doc.composite();
    const result = await fillSelection(host, env.client, { prompt: 'a red kite', colorMatch: false });

    expect(doc.layersState).toHaveLength(2);
    expect(result.layerName).toBe(`Kirie · a red kite · seed ${result.seed}`);
    expect(doc.history).toEqual(['Open', result.layerName]);
    expect(ps.live.size).toBe(0);
    const layer = doc.layer(result.layerId);
    expect(layer.name).toBe(result.layerName);
        // The layer covers the context crop, inside the canvas, and its mask is the selection, feathered.
    expect(layer.bounds.x).toBeGreaterThanOrEqual(0);
    expect(layer.bounds.y).toBeGreaterThanOrEqual(0);
    expect(layer.bounds.x + layer.bounds.width).toBeLessThanOrEqual(w);
    expect(layer.bounds.y + layer.bounds.height).toBeLessThanOrEqual(h);
    const cxI = Math.min(w - 1, Math.round(cx));
    const cyI = Math.min(h - 1, Math.round(cy));
    expect(layer.mask![cyI * w + cxI]).toBe(255);
    expect(pixel(doc, cxI, cyI)).toEqual([...GENERATED_RGB, 255]);
    // Far from the selection nothing changed, bit for bit.
    const after = doc.composite();
    const far = (x: number, y: number) => Math.hypot((x - cx) / rx, (y - cy) / ry) > 3;
    let checked = 0;
    let changed = 0;
    for (let y = 0; y < h; y += 3) {
      for (let x = 0; x < w; x += 3) {
        if (!far(x, y)) continue;
        checked++;
        const i = (y * w + x) * 4;
        if (after.subarray(i, i + 4).some((v, c) => v !== before[i + c])) changed++;
      }
    }
    expect(changed).toBe(0);
    expect(checked).toBeGreaterThan(10);
    // What the bridge got: a model-size RGB crop and a mask, white at the selection's centre.
    const job = env.runner.jobs.at(-1)!;
    const { width: mw, height: mh } = job.input.request;
    expect(Math.min(mw, mh)).toBeGreaterThanOrEqual(512);
    expect(Math.max(mw, mh)).toBeLessThanOrEqual(768);
    expect([mw % 8, mh % 8]).toEqual([0, 0]);
    expect(job.initImage).toMatchObject({ width: mw, height: mh });
    expect(job.mask).toMatchObject({ width: mw, height: mh, channels: 1 });
    expect(job.input.request.strength).toBe(1);
  });

  it('colour matching on (the default): a flat generation takes the colour of its surroundings', async () => {
    const { doc, host } = setup(240, 200);
    ellipseSelection(doc, 120, 100, 30, 25);
    await fillSelection(host, env.client, { prompt: 'a kite' });
    const [r, g, b] = pixel(doc, 120, 100);
    expect(Math.max(Math.abs(r! - ORIGINAL[0]), Math.abs(g! - ORIGINAL[1]), Math.abs(b! - ORIGINAL[2]))).toBeLessThanOrEqual(2);
    expect(doc.layersState).toHaveLength(2);
  });

  it('16-bit document: the selection arrives at 0..32768, pixels and mask are written as 16-bit', async () => {
    const { doc, host } = setup(200, 160, 16);
    ellipseSelection(doc, 100, 80, 30, 20);
    const result = await fillSelection(host, env.client, { prompt: 'moon', colorMatch: false });
    // The fake refuses 8-bit data in a 16-bit document, so getting here means the write was 16-bit.
    expect(doc.layer(result.layerId).mask![80 * 200 + 100]).toBe(255);
    expect(pixel(doc, 100, 80)).toEqual([...GENERATED_RGB, 255]);
  });

  it('32-bit document: refused with a clear message before anything is sent', async () => {
    const { doc, host } = setup(120, 90, 32);
    ellipseSelection(doc, 60, 45, 20, 20);
    const jobs = env.runner.jobs.length;
    await expect(fillSelection(host, env.client, { prompt: 'x' })).rejects.toThrow(/32-bit \(HDR\) document: Kirie works on 8- and 16-bit documents/);
    expect(env.runner.jobs.length).toBe(jobs);
    expect(doc.history).toEqual(['Open']);
  });

  it('a style preset sets the prompt, settings and the layer name', async () => {
    const { doc, host } = setup(256, 256);
    ellipseSelection(doc, 128, 128, 40, 40);
    const result = await fillSelection(host, env.client, { prompt: 'a fox', style: 'kirie' });
    expect(result.layerName).toBe(`Kirie · paper-cut · seed ${result.seed}`);
    const req = env.runner.jobs.at(-1)!.input.request;
    expect(req.prompt).toContain('a fox, paper-cut art');
    expect(req.steps).toBe(25);
    expect(req.strength).toBe(0.75);
    expect(doc.history.at(-1)).toBe(result.layerName);
  });

  it('no selection: a clear message and nothing sent or changed', async () => {
    const { doc, host } = setup(128, 96);
    const jobs = env.runner.jobs.length;
    await expect(fillSelection(host, env.client, { prompt: 'x' })).rejects.toThrow(/nothing is selected in "poster.psd"/);
    expect(env.runner.jobs.length).toBe(jobs);
    expect(doc.layersState).toHaveLength(1);
    expect(doc.history).toEqual(['Open']);
  });

  it('no document: a clear message', async () => {
    const ps = new FakePhotoshop();
    await expect(fillSelection(createPhotoshopHost(ps.module(), fakeUxp().module.xmp), env.client, { prompt: 'x' })).rejects.toThrow(/no document is open/);
  });

  it('a failed generation leaves the document untouched', async () => {
    const { ps, doc, host } = setup(200, 150);
    ellipseSelection(doc, 100, 75, 30, 20);
    env.runner.fail = 'out of memory on the GPU';
    await expect(fillSelection(host, env.client, { prompt: 'x' })).rejects.toThrow(/out of memory on the GPU/);
    expect(doc.layersState).toHaveLength(1);
    expect(doc.history).toEqual(['Open']);
    expect(ps.live.size).toBe(0);
  });

  it.each(['createPixelLayer', 'putPixels', 'batchPlay', 'putLayerMask'] as const)('%s failing mid-way rolls the document back', async (op) => {
    const { ps, doc, host } = setup(200, 150);
    ellipseSelection(doc, 100, 75, 30, 20);
    const before = doc.composite();
    ps.failNext = op;
    await expect(fillSelection(host, env.client, { prompt: 'x' })).rejects.toThrow(`${op} failed`);
    expect(doc.layersState).toHaveLength(1);
    expect(doc.history).toEqual(['Open']);
    expect(doc.composite()).toEqual(before);
    expect(ps.live.size).toBe(0);
  });

  it('another plugin holding the modal scope: rejected, nothing changed', async () => {
    const { ps, doc, host } = setup(200, 150);
    ellipseSelection(doc, 100, 75, 30, 20);
    ps.otherPluginModal = true;
    await expect(fillSelection(host, env.client, { prompt: 'x' })).rejects.toThrow(/Photoshop is busy with another plugin or a dialog/);
    expect(doc.layersState).toHaveLength(1);
    expect(doc.history).toEqual(['Open']);
  });

  it('the document closed during generation: a clear message', async () => {
    const { ps, doc, host } = setup(200, 150);
    ellipseSelection(doc, 100, 75, 30, 20);
    env.runner.onStep = () => ps.closeDocument(doc);
    await expect(fillSelection(host, env.client, { prompt: 'x' })).rejects.toThrow(/document was closed/);
  });

  it('cancel: the job is cancelled on the bridge and the document is untouched', async () => {
    const { doc, host } = setup(200, 150);
    ellipseSelection(doc, 100, 75, 30, 20);
    const abort = new AbortController();
    const phases: string[] = [];
    env.runner.onStep = () => abort.abort();
    // Steps slower than the cancel poll, as real ones are: otherwise the fake job ends before any cancel lands.
    env.runner.stepMs = 150;
    await expect(fillSelection(host, env.client, { prompt: 'x' }, { signal: abort.signal, onProgress: (p) => phases.push(p.phase) })).rejects.toBeInstanceOf(GenerationCancelled);
    expect(phases).toContain('denoising');
    expect(doc.layersState).toHaveLength(1);
    expect(doc.history).toEqual(['Open']);
  });
});

describe('img2img of a layer', () => {
  it('a layer with a non-zero origin reaching past the canvas: restyled within its alpha', async () => {
    const { ps, doc, host } = setup(300, 220);
    // A 110×90 opaque block whose layer starts off-canvas to the left and runs past the bottom.
    doc.addLayer('Logo', bounds(-20, 150, 110, 90), () => [10, 10, 10, 255]);
    const read = await host.call('readLayerPixels', { documentId: doc.id, layerId: doc.activeId! });
    expect(read.bounds).toEqual(bounds(-20, 150, 110, 90));
    const result = await img2imgLayer(host, env.client, { prompt: 'gold foil', colorMatch: false });
    expect(doc.layersState.map((l) => l.name)).toEqual(['Background', 'Logo', result.layerName]);
    expect(doc.history).toEqual(['Open', result.layerName]);
    const layer = doc.layer(result.layerId);
    expect(layer.bounds.x).toBeGreaterThanOrEqual(0);
    expect(layer.bounds.y + layer.bounds.height).toBeLessThanOrEqual(220);
    expect(layer.mask![200 * 300 + 40]).toBe(255);
    expect(pixel(doc, 40, 200)).toEqual([...GENERATED_RGB, 255]);
    expect(pixel(doc, 280, 20)).toEqual(ORIGINAL);
    const job = env.runner.jobs.at(-1)!;
    expect(job.mask).toBeUndefined();
    expect(job.input.request.strength).toBe(0.6);
    expect(ps.live.size).toBe(0);
  });

  it('an empty active layer: a clear message, nothing sent', async () => {
    const { doc, host } = setup(120, 90);
    doc.addLayer('Empty', bounds(0, 0, 10, 10), () => [0, 0, 0, 0]);
    const jobs = env.runner.jobs.length;
    await expect(img2imgLayer(host, env.client, { prompt: 'x' })).rejects.toThrow(/cannot read the pixels of layer "Empty" .*pick a pixel layer that is not empty/);
    expect(env.runner.jobs.length).toBe(jobs);
    expect(doc.history).toEqual(['Open']);
  });

  it('with a selection, the selection limits the change', async () => {
    const { doc, host } = setup(300, 220);
    doc.addLayer('Photo', bounds(0, 0, 300, 220), () => [50, 60, 70, 255]);
    ellipseSelection(doc, 60, 60, 25, 25);
    await img2imgLayer(host, env.client, { prompt: 'snow', strength: 0.5, colorMatch: false });
    expect(pixel(doc, 60, 60)).toEqual([...GENERATED_RGB, 255]);
    expect(pixel(doc, 250, 180)).toEqual([50, 60, 70, 255]);
    expect(env.runner.jobs.at(-1)!.input.request.strength).toBe(0.5);
  });
});

describe('pose fill', () => {
  it('places the skeleton into the selection in the model frame and asks the OpenPose ControlNet', async () => {
    const { doc, host } = setup(400, 300);
    ellipseSelection(doc, 200, 150, 40, 80);
    const neckAndNose = [50, 20, 1, 50, 40, 1, ...new Array(16 * 3).fill(0)];
    await poseFill(host, env.client, { prompt: 'a dancer' }, { canvas_width: 100, canvas_height: 200, people: [{ pose_keypoints_2d: neckAndNose }] });
    const req = env.runner.jobs.at(-1)!.input.request;
    expect(req.control).toHaveLength(1);
    expect(req.control[0]!.model).toBe('control_v11p_sd15_openpose.safetensors');
    const pose = req.control[0]!.pose as { canvas_width: number; canvas_height: number; people: { pose_keypoints_2d: number[] }[] };
    expect([pose.canvas_width, pose.canvas_height]).toEqual([req.width, req.height]);
    // The nose lies on the selection's vertical centre line, mapped into the model frame.
    const [noseX] = pose.people[0]!.pose_keypoints_2d;
    expect(Math.abs(noseX! - req.width / 2)).toBeLessThan(req.width * 0.1);
    expect(doc.layersState).toHaveLength(2);
  });

  it('bad pose JSON: the parser names the problem, nothing is sent', async () => {
    const { doc, host } = setup(200, 200);
    ellipseSelection(doc, 100, 100, 30, 30);
    const jobs = env.runner.jobs.length;
    await expect(poseFill(host, env.client, { prompt: 'x' }, { people: [{ pose_keypoints_2d: [1, 2] }] })).rejects.toThrow(/pose_keypoints_2d/);
    expect(env.runner.jobs.length).toBe(jobs);
    expect(doc.history).toEqual(['Open']);
  });
});

describe('pose fill from a reference photo', () => {
  // A portrait photo: white, so where it lands on the black canvas is plain to see.
  const photo = { width: 50, height: 100, channels: 3 as const, data: new Uint8Array(50 * 100 * 3).fill(255) };

  it('uploads the photo fitted into the selection on a black model-size canvas, with the openpose preprocessor', async () => {
    const { doc, host } = setup(400, 300);
    ellipseSelection(doc, 200, 150, 60, 60);
    await posePhotoFill(host, env.client, { prompt: 'a dancer' }, { name: 'dancer.png', image: photo });
    const job = env.runner.jobs.at(-1)!;
    const req = job.input.request;
    expect(req.control).toHaveLength(1);
    const unit = req.control[0]!;
    expect(unit).toMatchObject({ model: 'control_v11p_sd15_openpose.safetensors', preprocessor: { type: 'openpose', full: false } });
    expect(unit.pose).toBeUndefined();
    const control = decodePng(new Uint8Array(readFileSync(job.input.imagePaths[unit.image!]!)));
    expect([control.width, control.height]).toEqual([req.width, req.height]);
    // White where the photo went: centred, as tall as the selection, half as wide; black around it.
    const lit = (x: number, y: number) => control.data[(y * control.width + x) * control.channels]! > 128;
    const columns = Array.from({ length: control.width }, (_, x) => x).filter((x) => lit(x, control.height >> 1));
    const rows = Array.from({ length: control.height }, (_, y) => y).filter((y) => lit(control.width >> 1, y));
    const [w, h] = [columns.length, rows.length];
    expect(Math.abs(h - 2 * w)).toBeLessThanOrEqual(2);
    expect(Math.abs((columns[0]! + columns.at(-1)!) / 2 - control.width / 2)).toBeLessThanOrEqual(2);
    expect(Math.abs((rows[0]! + rows.at(-1)!) / 2 - control.height / 2)).toBeLessThanOrEqual(2);
    expect(lit(0, 0)).toBe(false);
    expect(h).toBeLessThan(control.height);
    expect(doc.layersState).toHaveLength(2);
  });

  it('nobody in the photo: the bridge says so and the document is untouched', async () => {
    const { doc, host } = setup(200, 200);
    ellipseSelection(doc, 100, 100, 30, 30);
    env.runner.fail = 'no person found in the reference photo: use a photo where a whole body (or at least head and shoulders) is clearly visible';
    await expect(posePhotoFill(host, env.client, { prompt: 'x' }, { name: 'crowd.png', image: photo })).rejects.toThrow(/no person found in the reference photo/);
    expect(doc.history).toEqual(['Open']);
    expect(doc.layersState).toHaveLength(1);
  });
});

describe("LoRAs and embeddings from the bridge's models folder", () => {
  it('the panel offers the LoRA (slider at its preferred weight, and as a style) and the embedding', async () => {
    const choices = await fetchBridgeChoices(env.client);
    expect(choices.loras).toEqual([{ name: TEST_LORA.name, weight: TEST_LORA.preferredWeight, hint: `unknown; trigger words: ${TEST_LORA.trigger}` }]);
    expect(choices.embeddings).toEqual([TEST_EMBEDDING]);
    expect(choices.styles.find((s) => s.id === `lora:${TEST_LORA.name}`)).toMatchObject({ loras: [{ name: TEST_LORA.name, weight: TEST_LORA.preferredWeight }] });
  });

  it('a fill sends the slider\'s LoRA and the embedding in the prompt; Remake sends them again', async () => {
    const { doc, host } = setup(200, 150);
    ellipseSelection(doc, 100, 75, 30, 20);
    const options = optionsFromForm({ prompt: `a fox, ${TEST_EMBEDDING}`, loras: [{ name: TEST_LORA.name, percent: '90' }], colorMatch: false });
    const first = await fillSelection(host, env.client, options);
    expect(env.runner.jobs.at(-1)!.input.request).toMatchObject({ prompt: `a fox, ${TEST_EMBEDDING}`, loras: [{ name: TEST_LORA.name, weight: 0.9 }] });
    doc.selection = null;
    doc.activeId = first.layerId;
    await regenerate(host, env.client, 'remake', null);
    expect(env.runner.jobs.at(-1)!.input.request).toMatchObject({ prompt: `a fox, ${TEST_EMBEDDING}`, seed: first.seed, loras: [{ name: TEST_LORA.name, weight: 0.9 }] });
  });

  it('a LoRA style restyles a layer with its LoRA at the preferred weight and its trigger words; the slider overrides the weight', async () => {
    const { doc, host } = setup(160, 120);
    doc.selection = null;
    await img2imgLayer(host, env.client, { prompt: `a fox, ${TEST_EMBEDDING}`, style: `lora:${TEST_LORA.name}`, colorMatch: false });
    expect(env.runner.jobs.at(-1)!.input.request).toMatchObject({ prompt: `a fox, ${TEST_EMBEDDING}, ${TEST_LORA.trigger}`, loras: [{ name: TEST_LORA.name, weight: TEST_LORA.preferredWeight }] });
    await img2imgLayer(host, env.client, { prompt: 'a fox', style: `lora:${TEST_LORA.name}`, loras: [{ name: TEST_LORA.name, weight: 1.2 }], colorMatch: false });
    expect(env.runner.jobs.at(-1)!.input.request.loras).toEqual([{ name: TEST_LORA.name, weight: 1.2 }]);
  });

  it('a LoRA the bridge does not have is refused, named, and the document is untouched', async () => {
    const { doc, host } = setup(200, 150);
    ellipseSelection(doc, 100, 75, 30, 20);
    await expect(fillSelection(host, env.client, { prompt: 'x', loras: [{ name: 'nope', weight: 1 }] })).rejects.toThrow(/no LoRA named "nope"/);
    expect(doc.layersState).toHaveLength(1);
  });
});

describe('Fast (DeepCache)', () => {
  it('a fill with Fast on sends DeepCache, Remake sends it again, and with Fast off none is sent', async () => {
    const { doc, host } = setup(200, 150);
    ellipseSelection(doc, 100, 75, 30, 20);
    const first = await fillSelection(host, env.client, optionsFromForm({ prompt: 'a kite', fast: true, colorMatch: false }));
    expect(env.runner.jobs.at(-1)!.input.request.acceleration).toEqual({ deepCache: { interval: 3, branch: 0 } });
    doc.selection = null;
    doc.activeId = first.layerId;
    await regenerate(host, env.client, 'remake', null);
    expect(env.runner.jobs.at(-1)!.input.request).toMatchObject({ seed: first.seed, acceleration: { deepCache: { interval: 3, branch: 0 } } });
    ellipseSelection(doc, 100, 75, 30, 20);
    await fillSelection(host, env.client, optionsFromForm({ prompt: 'a kite', fast: false, colorMatch: false }));
    expect(env.runner.jobs.at(-1)!.input.request.acceleration).toBeUndefined();
  });

  it('a pose fill with Fast on is refused before anything is sent (DeepCache cannot run with a ControlNet)', async () => {
    const { doc, host } = setup(200, 150);
    ellipseSelection(doc, 100, 75, 30, 20);
    const jobs = env.runner.jobs.length;
    const pose = { canvas_width: 100, canvas_height: 200, people: [{ pose_keypoints_2d: [50, 20, 1, 50, 40, 1, ...new Array(48).fill(0)] }] };
    await expect(poseFill(host, env.client, { prompt: 'a dancer', fast: true }, pose)).rejects.toThrow(/Fast \(DeepCache\) cannot be combined with a pose guide/);
    expect(env.runner.jobs.length).toBe(jobs);
    expect(doc.layersState).toHaveLength(1);
  });
});

// Inpainting quality without a model: synthetic scenes repainted by an analytic "generator" (new texture
// in the hole plus a colour cast, as sampling drift and the VAE give), composited by Kirie and by a hard
// paste of the same pixels. Figures: seam energy across the selection's edge, Lab mean difference in the
// ring around the mask and inside the hole, and the time planning and compositing take. One more scene
// runs the real pipeline on the golden tiny SD1.5 (random weights: its output is noise-like, which makes
// seams and colour shifts as large as they get) at a small model resolution.
import { bounds, type Bounds } from '@kirie/core/image/bounds';
import { applyPatch, compositeInpaint, planInpaint } from '@kirie/core/image/inpaint';
import type { CanvasMask } from '@kirie/core/image/masks';
import { analyticGenerate, boundaryBand, ellipseSelection, hardPaste, labMeanDifference, sceneImage, seamEnergy } from '@kirie/core/image/quality';
import type { ModelResolution } from '@kirie/core/image/options';
import { cropImage } from '@kirie/core/image/raster';
import { generateFromRequest } from '@kirie/core/pipeline/request';
import { parseGenerateRequest } from '@kirie/core/request/parse';
import * as ort from 'onnxruntime-node';
import { fileURLToPath } from 'node:url';
import { openModel } from '../models/load.js';
import { loadClipTokenizer } from '../models/tokenizer-files.js';
import type { BenchFigure, BenchSuite } from './types.js';

const GOLDEN = fileURLToPath(new URL('../../tests/golden/', import.meta.url));
/** The tiny UNet is cheap at small sizes only; its native size does not matter for geometry. */
const TINY_RESOLUTION: ModelResolution = { minSide: 128, maxSide: 192, multiple: 8 };

interface Scene {
  name: string;
  canvas: [number, number];
  selection: CanvasMask;
  strength: number;
}

const rect = (b: Bounds): CanvasMask => ({ bounds: b, data: new Uint8Array(b.width * b.height).fill(255) });

const SCENES: Scene[] = [
  { name: 'ellipse fill 1024×768', canvas: [1024, 768], selection: ellipseSelection(bounds(380, 260, 240, 190)), strength: 1 },
  { name: 'rectangle at the edge 1001×667', canvas: [1001, 667], selection: rect(bounds(860, 480, 141, 187)), strength: 1 },
  { name: 'large ellipse 2400×1600 (downscaled)', canvas: [2400, 1600], selection: ellipseSelection(bounds(500, 300, 1300, 1000)), strength: 1 },
  { name: 'refine small ellipse 1200×900 at 0.6', canvas: [1200, 900], selection: ellipseSelection(bounds(600, 500, 90, 70)), strength: 0.6 },
];

const CAST = [18, -6, -14] as const;
const TEXTURE = 12;

export const inpaintSuite: BenchSuite = {
  name: 'inpaint',
  description: 'inpainting seams and colour: Kirie composite vs hard paste (synthetic scenes: analytic generator, and the tiny SD1.5)',
  async run(report) {
    for (const scene of SCENES) await analyticScene(scene, report);
    await tinyModelScene(report);
  },
};

async function analyticScene(scene: Scene, report: (f: BenchFigure) => void): Promise<void> {
  const [w, h] = scene.canvas;
  const original = sceneImage(w, h);
  let start = performance.now();
  const plan = await planInpaint(original, scene.selection, scene.strength);
  const planMs = performance.now() - start;
  const raw = await planInpaint(original, scene.selection, scene.strength, { colorMatch: false });
  const generated = analyticGenerate(plan, w, h, { cast: CAST, texture: TEXTURE });

  start = performance.now();
  const hardPatch = await hardPaste(plan, original, generated, scene.selection);
  const hardMs = performance.now() - start;
  start = performance.now();
  const matched = await compositeInpaint(plan, original, generated);
  const compositeMs = performance.now() - start;
  const unmatched = await compositeInpaint(raw, original, generated);

  const band = boundaryBand(scene.selection, w, h, plan.feather + plan.options.grow);
  const seamHard = seamEnergy(applyPatch(original, hardPatch), original, band);
  const hard = { name: 'hard paste', value: seamHard };
  report({ name: `${scene.name}: seam energy, blend only`, value: seamEnergy(applyPatch(original, unmatched), original, band), unit: 'lv²/px', baseline: hard, target: 'below hard paste' });
  report({ name: `${scene.name}: seam energy, blend + colour match`, value: seamEnergy(applyPatch(original, matched), original, band), unit: 'lv²/px', baseline: hard, target: 'below hard paste' });

  const crop = cropImage(original, plan.transform.context);
  const ringRaw = labMeanDifference(unmatched.image, crop, plan.ring);
  report({ name: `${scene.name}: ΔE of Lab means in the ring, matched`, value: labMeanDifference(matched.image, crop, plan.ring), unit: 'ΔE', baseline: { name: 'unmatched', value: ringRaw } });
  // The hole: what the scene really holds there is the original, so the cast shows as a mean shift.
  const hole = plan.denoiseMask.data.map((v) => (v === 255 ? 1 : 0));
  const holeRaw = labMeanDifference(unmatched.image, crop, hole);
  report({ name: `${scene.name}: ΔE of Lab means in the hole, matched`, value: labMeanDifference(matched.image, crop, hole), unit: 'ΔE', baseline: { name: 'unmatched', value: holeRaw } });

  const { context, model } = plan.transform;
  report({ name: `${scene.name}: planInpaint (context ${context.width}×${context.height} → model ${model.width}×${model.height})`, value: planMs, unit: 'ms' });
  report({ name: `${scene.name}: compositeInpaint`, value: compositeMs, unit: 'ms', baseline: { name: 'hard paste', value: hardMs } });
}

async function tinyModelScene(report: (f: BenchFigure) => void): Promise<void> {
  const [w, h] = [400, 300];
  const original = sceneImage(w, h);
  const selection = ellipseSelection(bounds(150, 110, 90, 70));
  const plan = await planInpaint(original, selection, 1, {}, TINY_RESOLUTION);
  const raw = await planInpaint(original, selection, 1, { colorMatch: false }, TINY_RESOLUTION);
  const model = await openModel(`${GOLDEN}tiny-sd15/tiny-sd15.safetensors`, { device: 'cpu' });
  try {
    const tokenizer = await loadClipTokenizer(`${GOLDEN}tokenizer`);
    const { width, height } = plan.transform.model;
    const images: Record<string, typeof plan.image> = { init: plan.image, mask: plan.mask };
    const request = parseGenerateRequest({ model: 'tiny', prompt: 'a red door', width, height, steps: 10, scheduler: 'ddim', seed: 1, strength: 1, initImage: 'init', mask: 'mask' });
    const start = performance.now();
    const result = await generateFromRequest(request, { ort, model: { ...model, tokenizer }, controlNet: () => Promise.reject(new Error('no ControlNet here')), image: async (id) => images[id], previewEvery: 0 });
    const generateMs = performance.now() - start;
    const generated = result.images[0];
    const name = `tiny SD1.5 ${w}×${h} → ${width}×${height}`;
    const band = boundaryBand(selection, w, h, plan.feather + plan.options.grow);
    const hard = { name: 'hard paste', value: seamEnergy(applyPatch(original, await hardPaste(plan, original, generated, selection)), original, band) };
    const matched = await compositeInpaint(plan, original, generated);
    const unmatched = await compositeInpaint(raw, original, generated);
    // Random weights give noise-like pixels: their own gradients dominate this metric wherever the blend
    // lets generated pixels in, so here it shows that the blend widens the repainted area more than seams.
    report({ name: `${name}: seam energy, blend only`, value: seamEnergy(applyPatch(original, unmatched), original, band), unit: 'lv²/px', baseline: hard });
    report({ name: `${name}: seam energy, blend + colour match`, value: seamEnergy(applyPatch(original, matched), original, band), unit: 'lv²/px', baseline: hard });
    const crop = cropImage(original, plan.transform.context);
    report({ name: `${name}: ΔE of Lab means in the ring, matched`, value: labMeanDifference(matched.image, crop, plan.ring), unit: 'ΔE', baseline: { name: 'unmatched', value: labMeanDifference(unmatched.image, crop, plan.ring) } });
    report({ name: `${name}: generate (10 DDIM steps, CPU)`, value: generateMs, unit: 'ms' });
  } finally {
    await model.release();
  }
}

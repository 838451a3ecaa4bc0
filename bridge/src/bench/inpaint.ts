// Inpainting quality without a model: synthetic scenes repainted by an analytic "generator" (new texture
// in the hole plus a colour cast, as sampling drift and the VAE give), composited by Kirie and by a hard
// paste of the same pixels. Figures: seam energy across the selection's edge, Lab mean difference in the
// ring around the mask and inside the hole, and the time planning and compositing take.
import { bounds, type Bounds } from '@kirie/core/image/bounds';
import { applyPatch, compositeInpaint, planInpaint } from '@kirie/core/image/inpaint';
import type { CanvasMask } from '@kirie/core/image/masks';
import { analyticGenerate, boundaryBand, ellipseSelection, hardPaste, labMeanDifference, sceneImage, seamEnergy } from '@kirie/core/image/quality';
import { cropImage } from '@kirie/core/image/raster';
import type { BenchSuite } from './types.js';

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
  description: 'inpainting seams and colour on synthetic scenes: Kirie composite vs hard paste (analytic generator, no model)',
  async run(report) {
    for (const scene of SCENES) {
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
  },
};
